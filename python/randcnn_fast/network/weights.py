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

__all__ = ["make_parameters"]


def _layer_generator(seed: int, arch: str, layer: str) -> np.random.Generator:
    """numpy's PCG64 keyed by (seed, arch, layer); crc32 keeps the key stable across runs."""
    key = [seed, zlib.crc32(arch.encode()), zlib.crc32(layer.encode())]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))


def _truncated_normal(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    """Normal(0, std) samples with every value beyond 2 std re-drawn, as float32."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return (values * std).astype(np.float32)


def check_seed(seed) -> int:
    """``seed`` as an int; ValueError unless it is a non-negative integer (bools refused)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def make_parameters(network: Network, seed: int) -> "OrderedDict[str, np.ndarray]":
    """Draw a network's random weights and biases, in PyTorch/ONNX layout, in layer order.

    Parameters
    ----------
    network : Network
        The architecture; only its :class:`~randcnn_fast.network.layers.Conv` layers have
        parameters.
    seed : int
        A non-negative integer; the same seed always gives the same weights.

    Returns
    -------
    collections.OrderedDict of str to numpy.ndarray
        ``<layer>.weight`` of shape (out_channels, in_channels, *kernel) and ``<layer>.bias``
        of shape (out_channels,), both float32.

    Raises
    ------
    ValueError
        When ``seed`` is not a non-negative integer.

    Examples
    --------
    >>> from randcnn_fast.network.architectures import build
    >>> params = make_parameters(build("vgg", "small"), seed=0)
    >>> list(params)[:2]
    ['conv1.weight', 'conv1.bias']
    >>> params["conv1.weight"].shape, params["conv1.weight"].dtype
    ((32, 1, 3, 3), dtype('float32'))
    """
    seed = check_seed(seed)
    params: OrderedDict[str, np.ndarray] = OrderedDict()
    shapes = network.shapes(network.default_length)
    for layer in network.layers:
        if not isinstance(layer, Conv):
            continue
        shape = layer.weight_shape(shapes[layer.source][2])
        fan_in = int(np.prod(shape[1:]))
        rng = _layer_generator(seed, network.arch, layer.name)
        params[f"{layer.name}.weight"] = _truncated_normal(rng, shape, np.sqrt(2.6 / fan_in))
        params[f"{layer.name}.bias"] = np.zeros(layer.out_channels, dtype=np.float32)
    return params
