"""Sibling convolutions in one native pass (_core.conv_siblings, and the executor's use of it
for filters of several widths over one map): each layer's bits are those of calling it alone,
written side by side as their concatenation, on every instruction set and thread count."""
from __future__ import annotations

import numpy as np
import pytest

import randcnn_fast as rf
from randcnn_fast import _core
from randcnn_fast.backends import native

from cases import assert_same_bits_without

KERNELS = (165, 128, 64, 32, 1)  # temporal's widths, and one tap
CHANNELS = (6, 14, 30, 62, 3)


def siblings(c_in=1, f=1, kw=1, seed=0):
    rng = np.random.default_rng(seed)
    return [_core.ConvLayer((rng.standard_normal((c, c_in, k, kw)) / np.sqrt(k * c_in * kw))
                            .astype(np.float32), (0.1 * rng.standard_normal(c)).astype(np.float32))
            for k, c in zip(KERNELS, CHANNELS)]


def same(k):
    return ((k - 1) // 2, k // 2, 0, 0)


@pytest.mark.parametrize("t", [1, 7, 97, 1376, 40000])  # 40000 rows: several chunks, one by one
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("write", [True, False])
def test_siblings_equal_each_layer_alone(isa, t, n_threads, write):
    layers = siblings(seed=t)
    x = np.random.default_rng(t).standard_normal((t, 1, 1)).astype(np.float32)
    kw = dict(stride=(1, 1), activation="relu", pool=(1, 1), n_threads=n_threads)
    y, sums = _core.conv_siblings(layers, [x] * len(layers), [same(k) for k in KERNELS],
                                  write_output=write, **kw)
    alone = [layer(x, padding=same(k), write_output=True, **kw) for layer, k in zip(layers, KERNELS)]
    for s, (_, s_alone) in zip(sums, alone):
        np.testing.assert_array_equal(s, s_alone)
    if write:
        np.testing.assert_array_equal(y, np.concatenate([y_alone for y_alone, _ in alone], axis=2))
    else:
        assert y is None


def test_siblings_of_2d_layers_with_their_own_inputs(isa):
    # Timbral's shape: filters over the mel axis, each reading its own rows with its padding.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((200, 96, 1)).astype(np.float32)
    layers = [_core.ConvLayer(rng.standard_normal((c, 1, kh, 86)).astype(np.float32),
                              np.zeros(c, np.float32)) for kh, c in ((7, 5), (3, 9), (1, 2))]
    inputs = [x[3 - kh // 2: 200 - 3 + kh // 2] for kh in (7, 3, 1)]
    kw = dict(stride=(1, 1), activation="relu", pool=(1, 11), n_threads=2)
    y, sums = _core.conv_siblings(layers, inputs, [(0, 0, 0, 0)] * 3, write_output=True, **kw)
    alone = [layer(xi, padding=(0, 0, 0, 0), write_output=True, **kw)
             for layer, xi in zip(layers, inputs)]
    np.testing.assert_array_equal(y, np.concatenate([a[0] for a in alone], axis=2))
    for s, a in zip(sums, alone):
        np.testing.assert_array_equal(s, a[1])


def test_siblings_of_different_output_shapes_are_an_error():
    layers = siblings()[:2]
    x = np.zeros((300, 1, 1), np.float32)
    with pytest.raises(ValueError, match="differ in shape"):
        _core.conv_siblings(layers, [x, x], [(0, 0, 0, 0)] * 2, stride=(1, 1), activation="relu",
                            pool=(1, 1), write_output=True, n_threads=1)
    with pytest.raises(ValueError, match="one input and one padding per layer"):
        _core.conv_siblings(layers, [x], [(0, 0, 0, 0)] * 2, stride=(1, 1), activation="relu",
                            pool=(1, 1), write_output=True, n_threads=1)


@pytest.mark.parametrize("arch", ["frame_level_many", "temporal", "timbral", "cnn_audio"])
def test_networks_give_the_same_bits_with_and_without_siblings(isa, arch, monkeypatch):
    # Clips of one chunk (siblings in one pass) and of several (in one chunk's halo they run
    # one by one), embeddings and frames.
    assert_same_bits_without(monkeypatch, arch, native, "_sibling_groups")
