"""Kept packed weights (_core.ConvLayer and executor.conv_layer): the same results as packing
on every call, per instruction set, algorithm and precision, and never stale."""
from __future__ import annotations

import gc

import numpy as np
import pytest

from randcnn_fast import _core, executor


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


def test_read_only_weights_share_one_layer_and_writable_ones_do_not():
    _, w, b = case(2)
    w4 = w[..., 0]  # a 1-D layer's (out, in, k) weight
    writable = executor.conv_layer(w4, b)
    assert executor.conv_layer(w4, b) is not writable  # could have changed in between
    w4.flags.writeable = False
    b.flags.writeable = False
    kept = executor.conv_layer(w4, b)
    assert executor.conv_layer(w4, b) is kept


def test_a_dead_array_leaves_no_entry_behind():
    _, w, b = case(3)
    w.flags.writeable = False
    b.flags.writeable = False
    executor.conv_layer(w, b)
    key = (id(w), id(b))
    assert key in executor._kept_layers
    del w
    gc.collect()
    assert key not in executor._kept_layers  # a recycled id cannot find the old layer


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
