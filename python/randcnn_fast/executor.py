"""Runs a network description on the native core, one input map at a time."""
from __future__ import annotations

import threading
import weakref
from collections import Counter
from typing import Mapping

import numpy as np

from . import _core
from .network import Concat, Conv, MaxPoolTime, MeanFrequency, Network


def run_native(network: Network, params: Mapping[str, np.ndarray], x: np.ndarray,
               n_threads: int) -> np.ndarray:
    """The embedding of one validated input map (time, frequency, 1), float32 (n_features,).

    A map is kept only while a later layer still reads it; a convolution that no layer reads
    is never written out, only its channel sums are (its means are all the features need).
    """
    readers = Counter(source for layer in network.layers for source in layer.sources)
    tensors = {"input": np.ascontiguousarray(x, dtype=np.float32)}
    means: dict[str, np.ndarray] = {}
    for layer in network.layers:
        wanted = readers[layer.name] > 0
        if isinstance(layer, Conv):
            y, means[layer.name] = run_conv(layer, params, tensors, wanted, n_threads)
        elif isinstance(layer, Concat):
            means[layer.name] = np.concatenate([means[s] for s in layer.sources])
            y = np.concatenate([tensors[s] for s in layer.sources], axis=2) if wanted else None
        elif isinstance(layer, MeanFrequency):
            y, means[layer.name] = mean_frequency(tensors[layer.source], wanted, n_threads)
        else:
            y = max_pool_time(layer, tensors[layer.source])
            means[layer.name] = y.mean(axis=(0, 1), dtype=np.float64)
        for source in layer.sources:
            readers[source] -= 1
            if readers[source] == 0:
                tensors.pop(source, None)
        if y is not None and wanted:
            tensors[layer.name] = y
    parts = []
    for feature in network.features:
        if feature.collapse:  # one mean over everything, zero-padded (PAPER.md 1.3 quirk)
            row = np.zeros(feature.collapse)
            row[0] = means[feature.name].mean()
            parts.append(row)
        else:
            parts.append(means[feature.name])
    return np.concatenate(parts).astype(np.float32)


def run_conv(layer: Conv, params, tensors, wanted: bool, n_threads: int):
    x = tensors[layer.source]
    pool = layer.pool_window(x.shape)
    y, sums = conv_layer(params[f"{layer.name}.weight"], params[f"{layer.name}.bias"])(
        x, stride=layer.stride, padding=layer.paddings(x.shape),
        activation=layer.activation, pool=pool, write_output=wanted, n_threads=n_threads,
        residual=tensors[layer.residual] if layer.residual else None)
    t, f = layer.conv_shape(x.shape)
    return y, sums / ((t // pool[0]) * (f // pool[1]))


_kept_layers: dict[tuple[int, int], tuple[weakref.ref, weakref.ref, "_core.ConvLayer"]] = {}
_kept_lock = threading.Lock()


def conv_layer(w: np.ndarray, b: np.ndarray) -> "_core.ConvLayer":
    """The native layer for weights ``w`` (out, in, kh, kw), or (out, in, k) for a 1-D layer,
    and bias ``b``; it keeps the packed forms of the weights.

    Read-only arrays (every Embedder's weights are) get one layer for as long as they live,
    so weights are packed once per process, not once per clip; writable arrays, which could
    change between calls, get a fresh one.
    """
    if w.flags.writeable or b.flags.writeable:
        return _new_layer(w, b)
    key = (id(w), id(b))
    with _kept_lock:
        kept = _kept_layers.get(key)
        if kept is not None and kept[0]() is w and kept[1]() is b:
            return kept[2]
        layer = _new_layer(w, b)
        # The entry goes when either array does, so a recycled id never finds a stale layer.
        _kept_layers[key] = (weakref.ref(w, lambda _: _forget(key)),
                             weakref.ref(b, lambda _: _forget(key)), layer)
        return layer


def _new_layer(w: np.ndarray, b: np.ndarray) -> "_core.ConvLayer":
    w4 = w[..., None] if w.ndim == 3 else w  # (out, in, k) -> (out, in, k, 1): a view
    return _core.ConvLayer(np.ascontiguousarray(w4), b)


def _forget(key) -> None:
    with _kept_lock:
        _kept_layers.pop(key, None)


def mean_frequency(x: np.ndarray, wanted: bool, n_threads: int):
    """The mean over frequency as a (1 x F) convolution with weights 1/F per channel, so it
    runs on the same tested kernels as every other layer."""
    t, f, c = x.shape
    w = np.zeros((c, c, 1, f), np.float32)
    w[np.arange(c), np.arange(c)] = 1.0 / f
    y, sums = _core.conv(x, w, np.zeros(c, np.float32), stride=(1, 1), padding=(0, 0, 0, 0),
                         activation="none", pool=(1, 1), write_output=wanted, n_threads=n_threads)
    return y, sums / t


def max_pool_time(layer: MaxPoolTime, x: np.ndarray) -> np.ndarray:
    """'valid' max-pool over time: memory-bound and a few percent of a convolution's time."""
    rows = x.shape[0] // layer.pool * layer.pool
    return x[:rows].reshape(-1, layer.pool, *x.shape[1:]).max(axis=1)
