"""Kept packed weights (_core.ConvLayer, and the NativeRunner that owns one per convolution):
the same results as packing on every call, per instruction set, algorithm and precision, and
never stale."""
from __future__ import annotations

import numpy as np
import pytest

from randcnn_fast import _core

from randcnn_fast.backends import native as executor
def case(seed=0, t=120, c_in=40, c_out=36, k=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((t, 1, c_in)).astype(np.float32)
    w = (rng.standard_normal((c_out, c_in, k, 1)) / np.sqrt(c_in * k)).astype(np.float32)
    b = (0.1 * rng.standard_normal(c_out)).astype(np.float32)
    return x, w, b


ARGS = dict(stride=(1, 1), padding=(1, 1, 0, 0), activation="relu", pool=(3, 1),
            write_output=True, n_threads=1)


@pytest.mark.parametrize("algorithm", ["direct", "winograd"])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_kept_layer_equals_a_fresh_packing_on_every_isa(algorithm, precision):
    x, w, b = case()
    layer = _core.ConvLayer(w, b)
    before = _core.isa_info()["active"]
    try:
        # One layer object across instruction sets: each gets its own packing.
        for isa in _core.isa_info()["supported"] * 2:
            _core.set_isa(isa)
            kept = layer(x, **ARGS, algorithm=algorithm, precision=precision)
            fresh = _core.conv(x, w, b, **ARGS, algorithm=algorithm, precision=precision)
            np.testing.assert_array_equal(kept[0], fresh[0])
            np.testing.assert_array_equal(kept[1], fresh[1])
    finally:
        _core.set_isa(before)


def test_layer_copies_its_weights():
    x, w, b = case(1)
    layer = _core.ConvLayer(w, b)
    expected = layer(x, **ARGS)[0]
    w[:] = 0.0  # the caller's array changes; the layer keeps what it was given
    np.testing.assert_array_equal(layer(x, **ARGS)[0], expected)


def test_an_embedder_holds_one_runner_with_one_layer_per_convolution():
    import randcnn_fast as rf
    from randcnn_fast.network.architectures import build

    embedder = rf.Embedder("sample_level", size="small", seed=3)
    runner = embedder._runner
    assert isinstance(runner, executor.NativeRunner)
    convs = [layer.name for layer in build("sample_level", "small").layers]
    assert sorted(runner.layers) == sorted(convs)
    # The same network, seed and precision share the runner, so weights are packed once.
    assert rf.Embedder("sample_level", size="small", seed=3)._runner is runner
    assert rf.Embedder("sample_level", size="small", seed=4)._runner is not runner
    assert rf.Embedder("sample_level", size="small", seed=3, precision="bf16")._runner is not runner


def test_a_runner_keeps_its_own_copy_of_the_weights():
    from randcnn_fast.network.architectures import build
    from randcnn_fast.network.weights import make_parameters

    network = build("sample_level", "small")
    params = make_parameters(network, 0)
    x = np.random.default_rng(5).standard_normal((3000, 1, 1)).astype(np.float32)
    runner = executor.NativeRunner(network, params)
    expected = runner.embed(x, 1)
    for value in params.values():
        value[...] = 0.0  # the caller's arrays change; the runner keeps what it was given
    np.testing.assert_array_equal(runner.embed(x, 1), expected)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_one_layer_on_inputs_that_pack_differently(precision):
    # A 1-wide kernel over a 1-wide input reads its taps as one run; over a wider input, tap by
    # tap. With an odd run, bf16 pads each run to whole pairs, so the two layouts differ.
    rng = np.random.default_rng(4)
    w = (rng.standard_normal((20, 17, 3, 1)) / 7).astype(np.float32)
    b = np.zeros(20, np.float32)
    narrow = rng.standard_normal((30, 1, 17)).astype(np.float32)
    wide = rng.standard_normal((30, 3, 17)).astype(np.float32)
    args = dict(ARGS, pool=(1, 1), algorithm="direct", precision=precision)
    for order in ((narrow, wide), (wide, narrow)):
        layer = _core.ConvLayer(w, b)
        for x in order * 2:
            np.testing.assert_array_equal(layer(x, **args)[0], _core.conv(x, w, b, **args)[0])
