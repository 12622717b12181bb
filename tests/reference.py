"""Independent float64 NumPy implementations used as references by the tests."""
from __future__ import annotations

import numpy as np


def same_padding(length: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'same': ceil(length / stride) outputs, the odd zero at the end."""
    out = int(np.ceil(length / stride))
    total = max((out - 1) * stride + kernel - length, 0)
    return total // 2, total - total // 2


def activate(y, activation):
    if activation == "relu":
        return np.maximum(y, 0.0)
    if activation == "elu":
        return np.where(y > 0, y, np.expm1(np.minimum(y, 0.0)))
    return y


def conv2d(x, w, b, *, stride=(1, 1), padding=(0, 0, 0, 0), activation="relu", pool=(1, 1)):
    """Cross-correlation over (time, freq), channels last, activation, then max-pool; float64.

    x: (t, f, c_in); w: (c_out, c_in, kh, kw); b: (c_out,). Returns (t_pool, f_pool, c_out).
    The order here is the textbook one (activate, then pool), unlike the fused kernels.
    """
    x = np.pad(np.asarray(x, np.float64), ((padding[0], padding[1]), (padding[2], padding[3]), (0, 0)))
    w = np.asarray(w, np.float64)
    kh, kw = w.shape[2:]
    st, sf = stride
    t_out = (x.shape[0] - kh) // st + 1
    f_out = (x.shape[1] - kw) // sf + 1
    y = np.zeros((t_out, f_out, w.shape[0]))
    for dt in range(kh):
        for df in range(kw):
            patch = x[dt: dt + (t_out - 1) * st + 1: st, df: df + (f_out - 1) * sf + 1: sf]
            y += patch @ w[:, :, dt, df].T
    y = activate(y + np.asarray(b, np.float64), activation)
    pt, pf = pool
    tp, fp = t_out // pt, f_out // pf
    y = y[: tp * pt, : fp * pf].reshape(tp, pt, fp, pf, -1)
    return y.max(axis=(1, 3))


def conv1d(x, w, b, *, stride=1, pad=(0, 0), activation="relu", pool=1):
    """conv2d over time only: x (t, c_in), w (c_out, c_in, k); returns (t_pool, c_out)."""
    y = conv2d(np.asarray(x)[:, None, :], np.asarray(w)[..., None], b, stride=(stride, 1),
               padding=(pad[0], pad[1], 0, 0), activation=activation, pool=(pool, 1))
    return y[:, 0, :]


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
