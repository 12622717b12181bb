"""The float64 product, Gram, Cholesky and triangular-solve kernels (the ELM read-out) on every
instruction set."""
from __future__ import annotations

import numpy as np
import pytest

from randcnn_fast import _core
KC = 256  # reduction block, cpp/core/linalg.cpp
TASK_ROWS = 48
BLOCK = 96  # Cholesky block (its diagonal tiles are inverted per float64 panel width)
SOLVE_BLOCK = 32  # rows substituted between two products in a triangular solve


@pytest.mark.parametrize("n", [1, 2, 13, KC - 1, KC, KC + 1, 2 * KC + 3])
@pytest.mark.parametrize("h", [1, 3, 7, 8, 17, TASK_ROWS - 1, TASK_ROWS, TASK_ROWS + 1, 101])
def test_gram_matches_numpy(isa, n, h):
    a = np.random.default_rng(n * 1000 + h).standard_normal((n, h))
    want = a.T @ a
    got = _core.row_gram(np.ascontiguousarray(a.T), 2)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    np.testing.assert_array_equal(got, got.T)
    lower_only = _core.row_gram(np.ascontiguousarray(a.T), 2, mirror=False)
    np.testing.assert_array_equal(np.tril(lower_only), np.tril(got))


@pytest.mark.parametrize("m", [1, 7, TASK_ROWS - 1, TASK_ROWS, TASK_ROWS + 1, 101])
@pytest.mark.parametrize("k", [1, 2, 13, KC + 1])
@pytest.mark.parametrize("r", [1, 3, 10, 16, 17])
def test_matmul_matches_float64(isa, m, k, r):
    rng = np.random.default_rng(m * 10000 + k * 100 + r)
    a = rng.standard_normal((m + 5, k + 3))
    b = rng.standard_normal((k, r))
    view = a[:m, :k]  # strided rows
    np.testing.assert_allclose(_core.matmul(view, b, 2), view @ b, rtol=1e-12, atol=1e-12 * k)
    rows = np.sort(rng.choice(m + 5, size=m, replace=False))
    np.testing.assert_allclose(_core.matmul(a[:, :k], b, 1, rows), a[rows, :k] @ b, rtol=1e-12, atol=1e-12 * k)


@pytest.mark.parametrize("n", [1, 2, 5, 31, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 7, 301])
def test_cholesky_and_solve_match_numpy(isa, n):
    rng = np.random.default_rng(n)
    m = rng.standard_normal((n + 3, n))
    spd = m.T @ m + 0.5 * np.eye(n)
    lower = _core.cholesky(spd, 2)
    want = np.linalg.cholesky(spd)
    np.testing.assert_allclose(lower, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())
    factor = _core.cholesky(spd, 2, mirror=True)  # L below the diagonal, L^T above it
    np.testing.assert_array_equal(np.tril(factor), lower)
    np.testing.assert_array_equal(np.triu(factor), lower.T)
    b = rng.standard_normal((n, 4))
    forward = _core.triangular_solve(factor, b)
    np.testing.assert_allclose(lower @ forward, b, rtol=1e-9, atol=1e-9)
    x = _core.triangular_solve(factor, forward, upper=True)
    np.testing.assert_allclose(x, np.linalg.solve(spd, b), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("n", [1, 2, 7, SOLVE_BLOCK - 1, SOLVE_BLOCK, SOLVE_BLOCK + 1, 3 * SOLVE_BLOCK + 5, 257])
@pytest.mark.parametrize("r", [1, 3, 8, 10, 16, 17, 33])
def test_triangular_solves_match_float64(isa, n, r):
    # Right-hand sides wider and narrower than a panel; each solve reads its own triangle only.
    rng = np.random.default_rng(n * 100 + r)
    lower = np.tril(rng.standard_normal((n, n))) + np.diag(n + rng.random(n))
    upper = np.triu(rng.standard_normal((n, n))) + np.diag(n + rng.random(n))
    b = rng.standard_normal((n, r))
    for t, is_upper in ((lower, False), (upper, True)):
        noise = rng.standard_normal((n, n))
        other = np.tril(noise, -1) if is_upper else np.triu(noise, 1)
        x = _core.triangular_solve(t + other, b, upper=is_upper, n_threads=2)
        np.testing.assert_allclose(x, np.linalg.solve(t, b), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k", [1, 7, BLOCK, 150])
def test_leading_blocks_and_column_subsets_are_used_in_place(isa, k):
    # A leading block of a factor (a strided view) is the factor of the leading block, and the
    # Gram of chosen rows of a taller array is the Gram of those rows.
    rng = np.random.default_rng(k)
    tall = rng.standard_normal((200, 260))
    rows = np.sort(rng.choice(200, size=170, replace=False))
    g = _core.row_gram(tall, 2, rows)
    want = tall[rows] @ tall[rows].T
    np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    lower = _core.cholesky(g, 2)
    block = lower[:k, :k]
    assert not block.flags.c_contiguous or k == 1
    np.testing.assert_allclose(block, np.linalg.cholesky(want[:k, :k]), rtol=1e-9, atol=1e-10)
    b = rng.standard_normal((k, 3))
    mirrored = _core.cholesky(g, 2, mirror=True)[:k, :k]
    np.testing.assert_allclose(_core.triangular_solve(mirrored, b, upper=True),
                               np.linalg.solve(block.T, b), rtol=1e-8, atol=1e-9)
    # Strided rows: the first 40 columns of every other row.
    view = tall[::2, :40]
    np.testing.assert_allclose(_core.row_gram(view, 1), view @ view.T, rtol=1e-12, atol=1e-10)
    # In place: the Gram's padded rows take the factor; anything else is factored in a copy.
    factor = _core.cholesky(g, 2, overwrite=True)
    assert np.shares_memory(factor, g)
    np.testing.assert_allclose(factor[:k, :k], np.linalg.cholesky(want[:k, :k]), rtol=1e-9, atol=1e-10)
    dense = np.ascontiguousarray(want[:k, :k])  # rows maybe too short for panels: copied if so
    np.testing.assert_allclose(_core.cholesky(dense, 2, overwrite=True), np.linalg.cholesky(want[:k, :k]),
                               rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("p", [0, 1, 17, BLOCK - 1, BLOCK, BLOCK + 3, 140])
def test_partial_cholesky_factors_the_leading_block(isa, p):
    # A negative pivot at p: the leading p x p block is still factored, upper triangle included.
    rng = np.random.default_rng(p)
    m = rng.standard_normal((170, 150))
    spd = m.T @ m
    spd[p, p] = -1.0
    for mirror in (False, True):
        factor, factored = _core.cholesky_partial(spd, 2, mirror=mirror)
        assert factored == p
        assert _core.cholesky(spd, 2, mirror=mirror) is None
        want = np.linalg.cholesky(spd[:p, :p]) if p else np.zeros((0, 0))
        np.testing.assert_allclose(np.tril(factor[:p, :p]), want, rtol=1e-9, atol=1e-10)
        lower = np.tril(factor[:p, :p])
        np.testing.assert_array_equal(np.triu(factor[:p, :p], 1), np.triu(lower.T, 1) if mirror else 0)
    factor, factored = _core.cholesky_partial(m.T @ m, 2)
    assert factored == 150


def test_cholesky_refuses_matrices_that_are_not_positive_definite(isa):
    assert _core.cholesky(-np.eye(3), 1) is None
    singular = np.ones((150, 150))
    assert _core.cholesky(singular, 1) is None
    nan = np.eye(4)
    nan[2, 2] = np.nan
    assert _core.cholesky(nan, 1) is None


def test_results_do_not_depend_on_threads(isa):
    a = np.random.default_rng(3).standard_normal((700, 230))
    rows = np.ascontiguousarray(a.T)
    np.testing.assert_array_equal(_core.row_gram(rows, 1), _core.row_gram(rows, 2))
    spd = _core.row_gram(rows, 1) + np.eye(230)
    np.testing.assert_array_equal(_core.cholesky(spd, 1), _core.cholesky(spd, 3))
    b = a[:230, :37].copy()
    np.testing.assert_array_equal(_core.triangular_solve(spd, b, n_threads=1),
                                  _core.triangular_solve(spd, b, n_threads=3))


def test_bad_arguments():
    with pytest.raises(TypeError):
        _core.row_gram(np.ones((3, 3), np.float32), 1)
    with pytest.raises(ValueError, match="square"):
        _core.cholesky(np.ones((3, 4)), 1)
    with pytest.raises(ValueError, match="rows"):
        _core.triangular_solve(np.eye(3), np.ones((4, 1)))
    with pytest.raises(ValueError, match="contiguous rows"):
        _core.row_gram(np.ones((4, 6))[:, ::2], 1)
    with pytest.raises(ValueError, match="out of range"):
        _core.row_gram(np.ones((6, 4)), 1, np.array([0, 6]))
    with pytest.raises(ValueError, match="as many rows"):
        _core.matmul(np.ones((3, 4)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="out of range"):
        _core.matmul(np.ones((3, 4)), np.ones((4, 2)), 1, np.array([3]))
    for call in (lambda: _core.row_gram(np.ones((3, 3)), -1), lambda: _core.cholesky(np.eye(3), -1),
                 lambda: _core.matmul(np.ones((3, 3)), np.ones((3, 1)), -1),
                 lambda: _core.triangular_solve(np.eye(3), np.ones((3, 1)), n_threads=-1)):
        with pytest.raises(ValueError, match="n_threads"):
            call()
