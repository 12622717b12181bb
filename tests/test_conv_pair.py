"""A convolution and the one that alone reads its map, in one native pass (_core.conv_pair, and
the executor's use of it for sample_level's first two layers): the consumer's output and both
layers' sums are bit for bit those of the two calls, on every instruction set and thread count,
whatever rows of the map the consumer reads and however its tiles fall on the producer's."""
from __future__ import annotations

import numpy as np
import pytest

import randcnn_fast as rf
from randcnn_fast import _core
from randcnn_fast.backends import native

import reference
from cases import assert_same_bits_without


def layer(rng, c_out, c_in, k):
    w = (rng.standard_normal((c_out, c_in, k, 1)) / np.sqrt(k * c_in)).astype(np.float32)
    b = (0.1 * rng.standard_normal(c_out)).astype(np.float32)
    return _core.ConvLayer(w, b), w, b


def two_calls(producer, consumer, x, p, c, first, last, n_threads):
    """The consumer on rows [first, len - last) of the producer's map, as two conv calls."""
    y0, s0 = producer(x, write_output=True, n_threads=n_threads, **p)
    rows = np.ascontiguousarray(y0[first:y0.shape[0] - last])
    y1, s1 = consumer(rows, write_output=True, n_threads=n_threads, **c)
    return y1, s0, s1, rows.shape[0]


def one_pass(producer, consumer, x, p, c, offset, rows, n_threads, write=True):
    return _core.conv_pair(producer, x, **p, consumer=consumer, offset=offset, rows=rows,
                           **{f"consumer_{k}": v for k, v in c.items()}, write_output=write,
                           n_threads=n_threads)


# (producer taps, stride, channels; consumer taps, stride, padding, pool, channels): the first
# is sample_level's (a 3-tap stride-3 layer over the waveform, then 3 taps 'same' with pool 3,
# Winograd); the others move the consumer's tiles off the producer's (stride 2, valid
# padding, a direct consumer, an 8-tap producer at stride 2, one channel).
CASES = [
    (3, 3, 23, 3, 1, (1, 1), 3, 23),
    (3, 3, 7, 3, 1, (1, 1), 1, 5),
    (3, 3, 23, 5, 2, (0, 0), 1, 40),
    (8, 2, 16, 7, 1, (3, 3), 2, 40),
    (16, 1, 1, 9, 3, (4, 4), 1, 3),
]


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
# Input samples: producer rows from a handful to several producer and consumer tiles, odd and
# prime counts, and 40,000 (over a chunk of consumer tiles).
@pytest.mark.parametrize("t", [61, 97 * 3, 289, 1153 * 3 + 1, 40_000])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_pair_equals_two_calls(isa, case, t, n_threads):
    kp, sp, cp, kc, sc, padding, pool, cc = case
    rng = np.random.default_rng(t + kc)
    producer, *_ = layer(rng, cp, 1, kp)
    consumer, *_ = layer(rng, cc, cp, kc)
    x = rng.standard_normal((t, 1, 1)).astype(np.float32)
    p = dict(stride=(sp, 1), padding=(0, 0, 0, 0), activation="relu", pool=(1, 1))
    c = dict(stride=(sc, 1), padding=(*padding, 0, 0), activation="relu", pool=(pool, 1))
    # The whole map, and a middle stretch of it (a chunk of a long clip reads rows the producer
    # made for its neighbours' halos).
    for first, last in ((0, 0), (2, 5)):
        y, s0, s1, rows = two_calls(producer, consumer, x, p, c, first, last, n_threads)
        got, got_s0, got_s1 = one_pass(producer, consumer, x, p, c, first, rows, n_threads)
        np.testing.assert_array_equal(got, y)
        np.testing.assert_array_equal(got_s0, s0)
        np.testing.assert_array_equal(got_s1, s1)


def test_pair_against_the_float64_reference(isa):
    rng = np.random.default_rng(7)
    producer, wp, bp = layer(rng, 23, 1, 3)
    consumer, wc, bc = layer(rng, 23, 23, 3)
    x = rng.standard_normal((3 * 1001, 1, 1)).astype(np.float32)
    y, s0, s1 = one_pass(producer, consumer, x,
                         dict(stride=(3, 1), padding=(0, 0, 0, 0), activation="relu", pool=(1, 1)),
                         dict(stride=(1, 1), padding=(1, 1, 0, 0), activation="relu", pool=(3, 1)),
                         0, 1001, n_threads=2)
    y0 = reference.conv1d(x[:, 0, :], wp[..., 0], bp, stride=3)
    expected = reference.conv1d(y0, wc[..., 0], bc, pad=(1, 1), pool=3)
    np.testing.assert_allclose(y[:, 0, :], expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(s0, y0.sum(axis=0), rtol=1e-4)
    np.testing.assert_allclose(s1, expected.sum(axis=0), rtol=1e-4)


def test_a_producer_that_does_not_fuse_gives_the_two_calls(isa):
    # 3 taps over 23 channels at stride 1: Winograd, and a reduction past PAIR_MAX_REDUCTION;
    # without the output, only the sums come back.
    rng = np.random.default_rng(11)
    producer, *_ = layer(rng, 23, 23, 3)
    consumer, *_ = layer(rng, 9, 23, 3)
    x = rng.standard_normal((500, 1, 23)).astype(np.float32)
    p = dict(stride=(1, 1), padding=(1, 1, 0, 0), activation="relu", pool=(1, 1))
    c = dict(stride=(1, 1), padding=(1, 1, 0, 0), activation="relu", pool=(3, 1))
    _, s0, s1, rows = two_calls(producer, consumer, x, p, c, 0, 0, 2)
    y, got_s0, got_s1 = one_pass(producer, consumer, x, p, c, 0, rows, 2, write=False)
    assert y is None
    np.testing.assert_array_equal(got_s0, s0)
    np.testing.assert_array_equal(got_s1, s1)


def test_rows_outside_the_map_and_2d_producers_are_errors():
    rng = np.random.default_rng(2)
    producer, *_ = layer(rng, 4, 1, 3)
    consumer, *_ = layer(rng, 4, 4, 3)
    x = np.zeros((30, 1, 1), np.float32)
    p = dict(stride=(1, 1), padding=(0, 0, 0, 0), activation="relu", pool=(1, 1))
    c = dict(stride=(1, 1), padding=(0, 0, 0, 0), activation="relu", pool=(1, 1))
    with pytest.raises(ValueError, match=r"rows \[5, 34\) lie outside the producer's 28"):
        one_pass(producer, consumer, x, p, c, 5, 29, 1)
    with pytest.raises(ValueError, match="over time only"):
        one_pass(producer, consumer, np.zeros((30, 2, 1), np.float32), p, c, 0, 28, 1)
    with pytest.raises(ValueError, match="over time only"):
        one_pass(producer, layer(rng, 4, 3, 3)[0], x, p, c, 0, 28, 1)
    # Checked before anything is planned from it (a pool of 0 divided by zero there).
    with pytest.raises(ValueError, match="pool must be >= 1"):
        one_pass(producer, consumer, x, {**p, "pool": (0, 1)}, c, 0, 28, 1)


def test_sample_level_gives_the_same_bits_with_and_without_the_pair(isa, monkeypatch):
    # Clips of one chunk and of several (each chunk's pair reads its own stretch), embeddings
    # and frames (whose producer map is reduced per frame, so the pair stands aside).
    assert native._fused_pairs(rf.Embedder("sample_level", size="small").network)
    assert_same_bits_without(monkeypatch, "sample_level", native, "_fused_pairs")
