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


# ---------------------------------------------------------------- spectrogram models
# x is a log-mel map (frames, 96); params as Embedder.parameters() returns them.

def vgg(x, params):
    h = np.asarray(x, np.float64)[:, :, None]
    features = []
    for i, pool in enumerate([(4, 2), (4, 3), (5, 2), (4, 2), (4, 4)], start=1):
        h = conv2d(h, params[f"conv{i}.weight"], params[f"conv{i}.bias"], padding=(1, 1, 1, 1),
                   activation="elu", pool=pool)
        features.append(h.mean(axis=(0, 1)))
    return np.concatenate(features)


def single_conv(x, params, freq_pool):
    h = conv2d(np.asarray(x)[:, :, None], params["conv1.weight"], params["conv1.bias"], pool=(1, freq_pool))
    return h.mean(axis=(0, 1))


def timbral(x, params):
    features = []
    for width in (86, 38):
        for frames in (7, 3, 1):
            name = f"timbral_{frames}x{width}"
            h = conv2d(np.asarray(x)[:, :, None], params[f"{name}.weight"], params[f"{name}.bias"],
                       padding=(frames // 2, frames // 2, 0, 0))
            features.append(h.max(axis=1).mean(axis=0))  # max over frequency, mean over time
    return np.concatenate(features)


def temporal(x, params, kernels=(165, 128, 64, 32)):
    signal = np.asarray(x, np.float64).mean(axis=1)[:, None]
    features = []
    for k in kernels:
        w = params[f"temporal_k{k}.weight"]
        h = conv1d(signal, w, params[f"temporal_k{k}.bias"], pad=same_padding(len(signal), k, 1))
        features.append(h.mean(axis=0))
    return np.concatenate(features)


# ---------------------------------------------------------------- waveform models

def backend_as_image(front, params, filters, faithful):
    """The frame-level back-end as the original wrote it: 2-D convs with a [7, channels]
    kernel over the front-end map seen as a one-channel image, transposed back after each."""
    def conv_image(h, name, pad):
        w = params[f"{name}.weight"]  # (out, in, 7) -> (out, 1, 7, in)
        w2d = np.transpose(w, (0, 2, 1))[:, None, :, :]
        y = conv2d(h[:, :, None], w2d, params[f"{name}.bias"], padding=(pad, pad, 0, 0))
        return y[:, 0, :]  # [T, 1, filters] transposed to [T, filters, 1], squeezed

    b1 = conv_image(front, "backend1", 0)
    b2 = conv_image(b1, "backend2", 3) + b1
    pooled = b2[: len(b2) // 2 * 2].reshape(-1, 2, b2.shape[1]).max(axis=1)
    b3 = conv_image(pooled, "backend3", 3) + pooled
    rows = []
    for layer in (b1, b2, b3):
        if faithful:
            row = np.zeros(filters)
            row[0] = layer.mean()
            rows.append(row)
        else:
            rows.append(layer.mean(axis=0))
    return rows


def frame_level(clip, params, filters, faithful=True):
    x = np.asarray(clip, np.float64)[:, None]
    front = conv1d(x, params["conv1.weight"], params["conv1.bias"], stride=32)
    return np.concatenate([front.mean(axis=0)] + backend_as_image(front, params, filters, faithful))


def frame_level_many(clip, params, filters, faithful=True):
    x = np.asarray(clip, np.float64)[:, None]
    fronts = []
    for k in (512, 256, 128, 64, 32):
        fronts.append(conv1d(x, params[f"front_k{k}.weight"], params[f"front_k{k}.bias"], stride=32,
                             pad=same_padding(len(x), k, 32)))
    front = np.concatenate(fronts, axis=1)
    return np.concatenate([f.mean(axis=0) for f in fronts] + backend_as_image(front, params, filters, faithful))


# ---------------------------------------------------------------- any network description

def _pads(length, kernel, stride, padding):
    if padding == "valid":
        return 0, 0
    if padding == "same":
        return same_padding(length, kernel, stride)
    return int(padding[0]), int(padding[1])


def _max_pool(y, pt, pf):
    """'valid' max-pool with stride = window over (time, freq) of a (t, f, c) map."""
    tp, fp = y.shape[0] // pt, y.shape[1] // pf
    return y[: tp * pt, : fp * pf].reshape(tp, pt, fp, pf, -1).max(axis=(1, 3))


def bf16(x):
    """float32 values rounded to the nearest bfloat16 (ties to even), as float64."""
    bits = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return rounded.astype(np.uint32).view(np.float32).astype(np.float64)


def network(x, net, params, precision="fp32"):
    """Any randcnn_fast Network on an input map x (time, freq), in float64, layer by layer as
    its description reads: conv, bias, activation, max-pool, then the residual sum. "bf16"
    rounds every convolution's input and weights to bfloat16 first (the rest stays exact)."""
    round_to = bf16 if precision == "bf16" else (lambda v: np.asarray(v, np.float64))
    tensors = {"input": np.asarray(x, np.float64)[:, :, None]}
    for layer in net.layers:
        kind = type(layer).__name__
        if kind == "Conv":
            h = round_to(tensors[layer.source])
            w = round_to(params[f"{layer.name}.weight"])
            w = w[..., None] if w.ndim == 3 else w
            (kt, kf), (st, sf) = layer.kernel, layer.stride
            pt0, pt1 = _pads(h.shape[0], kt, st, layer.padding[0])
            pf0, pf1 = _pads(h.shape[1], kf, sf, layer.padding[1])
            y = conv2d(h, w, params[f"{layer.name}.bias"], stride=(st, sf),
                       padding=(pt0, pt1, pf0, pf1), activation=layer.activation)
            pool_f = y.shape[1] if layer.pool[1] is None else layer.pool[1]
            y = _max_pool(y, layer.pool[0], pool_f)
            if layer.residual is not None:
                y = y + tensors[layer.residual]
        elif kind == "MaxPoolTime":
            y = _max_pool(tensors[layer.source], layer.pool, 1)
        elif kind == "MeanFrequency":
            y = tensors[layer.source].mean(axis=1, keepdims=True)
        else:  # Concat
            y = np.concatenate([tensors[s] for s in layer.sources], axis=2)
        tensors[layer.name] = y
    parts = []
    for feature in net.features:
        means = tensors[feature.name].mean(axis=(0, 1))
        if feature.collapse:
            row = np.zeros(feature.collapse)
            row[0] = means.mean()  # equal-size maps: the mean of the means is the mean of all
            parts.append(row)
        else:
            parts.append(means)
    return np.concatenate(parts)
