"""Independent float64 NumPy implementations used as references by the tests."""
from __future__ import annotations

import numpy as np


def same_padding(length: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'same': ceil(length / stride) outputs, the odd zero at the end."""
    out = int(np.ceil(length / stride))
    total = max((out - 1) * stride + kernel - length, 0)
    return total // 2, total - total // 2


def conv1d(x, w, b, *, stride=1, pad=(0, 0), activation="relu", pool=1):
    """Cross-correlation over time, channels last, then activation and max-pool, in float64.

    x: (t, c_in); w: (c_out, c_in, k); b: (c_out,). Returns the pooled map (t_pool, c_out).
    The order here is the textbook one (activate, then pool), unlike the fused kernels.
    """
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    x = np.concatenate([np.zeros((pad[0], x.shape[1])), x, np.zeros((pad[1], x.shape[1]))])
    k = w.shape[2]
    n_out = (x.shape[0] - k) // stride + 1
    y = np.zeros((n_out, w.shape[0]))
    for tap in range(k):
        rows = x[tap: tap + (n_out - 1) * stride + 1: stride]  # (n_out, c_in)
        y += rows @ w[:, :, tap].T
    y += np.asarray(b, np.float64)
    if activation == "relu":
        y = np.maximum(y, 0.0)
    n_pool = n_out // pool
    return y[: n_pool * pool].reshape(n_pool, pool, -1).max(axis=1)


def sample_level(clip, params):
    """Sample-level network (PAPER.md 1.4 g) from its parameters; returns float64 features."""
    x = np.asarray(clip, np.float64).reshape(-1, 1)
    x = conv1d(x, params["conv0.weight"], params["conv0.bias"], stride=3)
    features = [x.mean(axis=0)]
    for i in range(1, 7):
        w = params[f"conv{i}.weight"]
        x = conv1d(x, w, params[f"conv{i}.bias"], pad=same_padding(x.shape[0], w.shape[2], 1), pool=3)
        features.append(x.mean(axis=0))
    return np.concatenate(features)
