"""A convolution that writes its map max-pooled over time (out_pool, and the executor's use of
it for a convolution read only by a max-pool layer): the pooled map is bit for bit
max_pool_time of the whole map, and the sums are the whole map's, on every instruction set
and thread count, whether each task's rows hold whole windows or not."""
from __future__ import annotations

import numpy as np
import pytest

from randcnn_fast import _core
from randcnn_fast.backends import native

from cases import assert_same_bits_without, conv_case

# (kernel, channels, padding, pool, residual, freq): frame_level's second back-end layer
# (7 taps 'same' over 40 channels, Winograd, with its residual), a direct layer (stride-1 taps
# too few for Winograd), a pooled 2-D layer, and one channel.
CASES = [
    ((7, 1), 40, (3, 3, 0, 0), (1, 1), True, 1),
    ((2, 1), 9, (0, 1, 0, 0), (1, 1), False, 1),
    ((3, 3), 16, (1, 1, 1, 1), (2, 2), False, 12),
    ((5, 1), 1, (2, 2, 0, 0), (1, 1), False, 1),
]


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
@pytest.mark.parametrize("out_pool", [2, 3, 5])
# Rows: a single window, odd and prime counts (the last window incomplete), and enough for
# several tasks.
@pytest.mark.parametrize("t", [6, 61, 397, 5000])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_out_pool_equals_max_pool_of_the_map(isa, case, out_pool, t, n_threads):
    (kh, kw), c_out, padding, pool, residual, freq = case
    rng = np.random.default_rng(t + out_pool)
    x, w, b = conv_case(rng, t, freq, 3 if c_out > 1 else 1, c_out, kh, kw)
    layer = _core.ConvLayer(w, b)
    kw_args = dict(stride=(1, 1), padding=padding, activation="relu", pool=pool,
                   write_output=True, n_threads=n_threads)
    y, sums = layer(x, **kw_args)
    if residual:
        kw_args["residual"] = rng.standard_normal(y.shape).astype(np.float32)
        y, sums = layer(x, **kw_args)
    if y.shape[0] < out_pool:
        return
    got, got_sums = layer(x, out_pool=out_pool, **kw_args)
    np.testing.assert_array_equal(got, _core.max_pool_time(y, out_pool))
    np.testing.assert_array_equal(got_sums, sums)


def test_out_pool_below_one_is_an_error():
    x, w, b = conv_case(np.random.default_rng(0), 20, 1, 1, 4, 3, 1)
    with pytest.raises(ValueError, match="out_pool must be >= 1"):
        _core.ConvLayer(w, b)(x, stride=(1, 1), padding=(0, 0, 0, 0), activation="relu",
                              pool=(1, 1), write_output=True, n_threads=1, out_pool=0)


def test_frame_level_gives_the_same_bits_with_and_without_the_pooled_epilogue(isa, monkeypatch):
    from randcnn_fast.network.architectures import build

    assert native._pooled_convs(build("frame_level", "small"))
    assert_same_bits_without(monkeypatch, "frame_level", native, "_pooled_convs")
