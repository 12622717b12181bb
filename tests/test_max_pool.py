"""The native 'valid' max-pool over time (_core.max_pool_time) against numpy, at edge sizes."""
from __future__ import annotations

import numpy as np
import pytest

from randcnn_fast import _core


@pytest.mark.parametrize("t", [1, 2, 7, 13, 97, 10916])
@pytest.mark.parametrize("pool", [1, 2, 3, 97])
@pytest.mark.parametrize("f,c", [(1, 1), (1, 40), (5, 3), (96, 1)])
def test_max_pool_time_matches_numpy(t, pool, f, c):
    x = np.random.default_rng(t * pool).standard_normal((t, f, c)).astype(np.float32)
    x[::3] = np.round(x[::3])  # ties between rows
    rows = t // pool
    expected = x[:rows * pool].reshape(rows, pool, f, c).max(axis=1)
    y = _core.max_pool_time(x, pool)
    assert y.dtype == np.float32 and y.shape == (rows, f, c)
    np.testing.assert_array_equal(y, expected)


def test_max_pool_time_rejects_bad_arguments():
    with pytest.raises(ValueError, match="3-D"):
        _core.max_pool_time(np.zeros((4, 2), np.float32), 2)
    with pytest.raises(ValueError, match="pool"):
        _core.max_pool_time(np.zeros((4, 1, 2), np.float32), 0)
