"""The native frame reduction (_core.add_frame_sums) against a float64 NumPy reference on every
instruction set, at the sizes where it could go wrong: channels around each vector width,
frames cut by either end of the rows, frames wider than the rows, many frames open at once."""
from __future__ import annotations

import numpy as np
import pytest

from randcnn_fast import _core

from conftest import SUPPORTED_ISAS
from cases import noise


def reference_sums(rows, first, lo, hi):
    """Per frame, the float64 sum of the rows (and frequencies) it shares with positions
    [first, first + n)."""
    per_row = rows.astype(np.float64).sum(axis=1)
    out = np.zeros((lo.size, rows.shape[2]))
    for i, (a, b) in enumerate(zip(lo, hi)):
        a, b = max(a, first) - first, min(b, first + rows.shape[0]) - first
        if a < b:
            out[i] = per_row[a:b].sum(axis=0)
    return out


def ranges(rng, n_frames, span, longest):
    """Random non-decreasing, non-empty position ranges [lo, hi) inside [0, span)."""
    lo = np.sort(rng.integers(0, span - 1, n_frames))
    hi = np.maximum.accumulate(np.minimum(lo + rng.integers(1, longest + 1, n_frames), span))
    return lo.astype(np.int64), hi.astype(np.int64)


def added(rows, first, lo, hi, start=None):
    totals = np.zeros((lo.size, rows.shape[2]), np.float32) if start is None else start.copy()
    _core.add_frame_sums(rows, first, lo, hi, totals)
    return totals


@pytest.mark.parametrize("channels", [1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40])
@pytest.mark.parametrize("cols", [1, 3])
def test_frame_sums_equal_a_float64_reference(isa, channels, cols):
    rng = np.random.default_rng(channels * 10 + cols)
    n, first = 257, 100
    rows = noise((n, cols, channels), seed=channels + cols) + 0.5  # a mean away from zero
    # Frames from before the rows to past them: cut at both ends, inside, and wider than them.
    for n_frames, longest in ((40, 30), (7, 2), (300, 1), (5, 900)):
        lo, hi = ranges(rng, n_frames, first + n + 150, longest)
        expected = reference_sums(rows, first, lo, hi)
        np.testing.assert_allclose(added(rows, first, lo, hi), expected, rtol=2e-7,
                                   atol=1e-6 * np.abs(expected).max())


def test_frame_sums_add_to_the_totals_and_leave_other_frames(isa):
    rows = noise((50, 1, 9), seed=1)
    lo, hi = np.array([0, 10, 60, 70], np.int64), np.array([20, 65, 80, 90], np.int64)
    start = noise((4, 9), seed=2)
    got = added(rows, 5, lo, hi, start)
    np.testing.assert_allclose(got[:2], start[:2] + reference_sums(rows, 5, lo, hi)[:2], rtol=1e-6,
                               atol=1e-6)
    assert np.array_equal(got[2:], start[2:])  # frames starting at or after the rows' end


def test_frame_sums_are_the_same_on_every_instruction_set():
    rows = noise((1000, 2, 23), seed=4)
    lo, hi = ranges(np.random.default_rng(4), 120, 1000, 60)
    before = _core.isa_info()["active"]
    try:
        results = []
        for name in SUPPORTED_ISAS:
            _core.set_isa(name)
            results.append(added(rows, 0, lo, hi))
    finally:
        _core.set_isa(before)
    for result in results[1:]:
        assert np.array_equal(result, results[0])


def test_frame_sums_of_no_rows_or_no_frames_add_nothing():
    lo, hi = np.array([0, 3], np.int64), np.array([4, 8], np.int64)
    assert not added(np.zeros((0, 1, 5), np.float32), 2, lo, hi).any()
    assert not added(np.ones((4, 1, 5), np.float32), 8, lo, hi).any()  # rows after every frame
    empty = np.zeros(0, np.int64)
    assert added(np.ones((4, 1, 5), np.float32), 0, empty, empty).shape == (0, 5)


@pytest.mark.parametrize("lo, hi", [([0, 5], [3, 3]), ([4, 2], [6, 7]), ([2, 3], [2, 5])],
                         ids=["hi decreases", "lo decreases", "empty range"])
def test_frame_sums_refuse_ranges_that_are_not_non_decreasing_and_non_empty(lo, hi):
    rows = np.ones((10, 1, 2), np.float32)
    with pytest.raises(ValueError, match="non-empty and non-decreasing"):
        added(rows, 0, np.array(lo, np.int64), np.array(hi, np.int64))


def test_frame_sums_refuse_mismatched_shapes():
    rows = np.ones((10, 1, 2), np.float32)
    lo, hi = np.array([0], np.int64), np.array([4], np.int64)
    with pytest.raises(ValueError, match="totals must be"):
        _core.add_frame_sums(rows, 0, lo, hi, np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="lo and hi"):
        _core.add_frame_sums(rows, 0, lo, np.array([4, 5], np.int64), np.zeros((1, 2), np.float32))
    with pytest.raises(TypeError):  # no silent conversion of the totals it adds to
        _core.add_frame_sums(rows, 0, lo, hi, np.zeros((1, 2)))
