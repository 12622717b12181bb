"""Test inputs shared by the test modules: seeded noise and random convolution cases."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


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


def tone_folder(root: Path, clips_per_class: int = 5) -> Path:
    """A dataset folder of two classes, "low" and "high": half-second tones near 200 and
    2000 Hz with a little noise, at 12 kHz."""
    rng = np.random.default_rng(0)
    t = np.arange(6000) / 12000
    for label, freq in (("low", 200.0), ("high", 2000.0)):
        (root / label).mkdir(parents=True)
        for i in range(clips_per_class):
            clip = 0.3 * np.sin(2 * np.pi * freq * (1 + 0.05 * i) * t) + 0.01 * rng.standard_normal(6000)
            sf.write(root / label / f"{i}.wav", clip, 12000)
    return root


def assert_same_bits_without(monkeypatch, arch: str, module, plan: str) -> None:
    """Embeddings (a clip of one chunk and one of several) and frames of ``arch`` at size small
    are bit for bit the same when ``module.plan`` (an executor shortcut keyed by the network,
    such as sibling groups) finds nothing to do."""
    import randcnn_fast as rf

    embedder = rf.Embedder(arch, size="small", n_threads=2, pad="none")
    rng = np.random.default_rng(5)
    clips = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (350_000, 1_050_007)]

    def run():
        return ([embedder.embed(c, sr=12000) for c in clips]
                + [embedder.embed_frames(clips[0], sr=12000, hop=1.0, window=2.0)[0]])

    with_plan = run()
    monkeypatch.setattr(module, plan, lambda network: {})
    for got, expected in zip(run(), with_plan):
        np.testing.assert_array_equal(got, expected)
