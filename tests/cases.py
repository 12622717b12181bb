"""Test inputs shared by the test modules: seeded noise and random convolution cases."""
from __future__ import annotations

import numpy as np


def noise(shape, seed: int = 0, scale: float = 0.3) -> np.ndarray:
    """Seeded Gaussian noise, float32, of standard deviation ``scale``."""
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def conv_case(rng: np.random.Generator, t: int, f: int, c_in: int, c_out: int, kh: int, kw: int):
    """A random convolution: input (t, f, c_in), weights (c_out, c_in, kh, kw) scaled by
    1/sqrt(fan_in), biases (c_out,), all float32."""
    x = rng.standard_normal((t, f, c_in)).astype(np.float32)
    w = (rng.standard_normal((c_out, c_in, kh, kw)) / np.sqrt(c_in * kh * kw)).astype(np.float32)
    b = (0.1 * rng.standard_normal(c_out)).astype(np.float32)
    return x, w, b
