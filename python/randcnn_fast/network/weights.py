"""Random weights, drawn as the paper's TensorFlow initialiser draws them (PAPER.md 1.2).

Kernels: truncated normal with standard deviation sqrt(1.3 * 2 / fan_in), values beyond two
standard deviations re-drawn (so the effective variance is about 2 / fan_in, He scaling).
Biases: zero. Each layer has its own generator keyed by (seed, architecture, layer name), so a
layer's weights do not change when another layer is added or removed.
"""
from __future__ import annotations

import zlib
from collections import OrderedDict

import numpy as np

from .layers import Conv, Network


def layer_generator(seed: int, arch: str, layer: str) -> np.random.Generator:
    """numpy's PCG64 keyed by (seed, arch, layer); crc32 keeps the key stable across runs."""
    key = [seed, zlib.crc32(arch.encode()), zlib.crc32(layer.encode())]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))


def truncated_normal(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    """Normal(0, std) samples with every value beyond 2 std re-drawn, as float32."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return (values * std).astype(np.float32)


def check_seed(seed) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def make_parameters(network: Network, seed: int) -> "OrderedDict[str, np.ndarray]":
    """Weights and biases in PyTorch/ONNX layout, in layer order.

    ``<layer>.weight`` is (out_channels, in_channels, *kernel) and ``<layer>.bias`` is
    (out_channels,), both float32.
    """
    seed = check_seed(seed)
    params: OrderedDict[str, np.ndarray] = OrderedDict()
    shapes = network.shapes(network.default_length)
    for layer in network.layers:
        if not isinstance(layer, Conv):
            continue
        shape = layer.weight_shape(shapes[layer.source][2])
        fan_in = int(np.prod(shape[1:]))
        rng = layer_generator(seed, network.arch, layer.name)
        params[f"{layer.name}.weight"] = truncated_normal(rng, shape, np.sqrt(2.6 / fan_in))
        params[f"{layer.name}.bias"] = np.zeros(layer.out_channels, dtype=np.float32)
    return params
