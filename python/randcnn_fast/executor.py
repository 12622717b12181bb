"""Runs a network description on the native core, in time tiles of the input map.

A long input is cut into chunks along time; each chunk computes, for every tensor, the rows it
OWNS (a partition of the tensor's time axis) plus the halo that later layers read, and adds the
owned rows to per-channel sums. Means are taken once at the end, so the embedding is that of the
whole input while memory is bounded by the tile, not by the input length.
"""
from __future__ import annotations

import functools
from collections import Counter
from typing import Mapping

import numpy as np

from . import _core
from .frames import FrameGrid, FrameMeans
from .network import Concat, Conv, MaxPoolTime, MeanFrequency, Network, conv_length

# Tiles of twice the default input: every clip up to ~58 s (waveform) or 2752 frames runs as one
# chunk, exactly as an untiled run, and longer ones keep a working set of about twice today's.
TILE_FACTOR = 2

Range = tuple[int, int]  # [start, stop) along time; empty when stop <= start


class NativeRunner:
    """A network and its parameters on the native core, the counterpart of
    :class:`randcnn_fast.onnx_backend.OnnxRunner`.

    It owns one ``_core.ConvLayer`` per convolution: each copies its weights once and keeps
    their packed forms (made on first use for each instruction set), so a network packs its
    weights once, not on every clip. Safe to share between threads.

    Parameters
    ----------
    network, params
        The description and its parameters (name -> array, PyTorch/ONNX layout).
    precision : {"fp32", "bf16"}
        The convolutions' multiply precision (see :class:`randcnn_fast.Embedder`).
    algorithm : {"auto", "direct"}
        "direct" turns Winograd off everywhere (for comparisons); "auto" is the fast choice.
    """

    #: Clips may run side by side, one thread each (:meth:`randcnn_fast.Embedder.embed_files`).
    parallel_clips = True

    def __init__(self, network: Network, params: Mapping[str, np.ndarray], *,
                 precision: str = "fp32", algorithm: str = "auto"):
        self.network, self.precision, self.algorithm = network, precision, algorithm
        self.layers = {layer.name: make_conv_layer(params[f"{layer.name}.weight"],
                                                   params[f"{layer.name}.bias"])
                       for layer in network.layers if isinstance(layer, Conv)}

    def embed(self, x: np.ndarray, n_threads: int, tile_length: int | None = None) -> np.ndarray:
        """The embedding of one validated input map (time, frequency, 1), float32 (n_features,).

        The input runs in chunks of ``tile_length`` rows (default ``TILE_FACTOR *
        network.default_length``). Within a chunk a map is kept only while a later layer still
        reads it; a convolution that no layer reads is never written out, only its channel sums
        are.
        """
        shapes = network_shapes(self.network, x.shape[0])
        sums = ChannelSums(self.network)
        self._forward(x, n_threads, tile_length, sums)
        means = {name: total / (shapes[name][0] * shapes[name][1])
                 for name, total in sums.totals.items()}
        return feature_vector(self.network, means)

    def embed_frames(self, x: np.ndarray, grid: FrameGrid, n_threads: int,
                     tile_length: int | None = None) -> np.ndarray:
        """Frame embeddings of one validated input map, float32 (grid.n_frames, n_features): the
        same single tiled pass as :meth:`embed`, reduced per frame of ``grid`` (the alignment is
        in :mod:`randcnn_fast.frames`) instead of over the whole input."""
        frames = FrameMeans(self.network, x.shape[0], grid, reduced_layers(self.network))
        self._forward(x, n_threads, tile_length, frames)
        return feature_vector(self.network, frames.means())

    def run(self, maps, n_threads: int) -> np.ndarray:
        """Embeddings of input maps of any lengths, one after another: (n_maps, n_features)."""
        return np.stack([self.embed(x, n_threads) for x in maps])

    def _forward(self, x, n_threads, tile_length, reducer) -> None:
        forward(self.network, self.layers, x, n_threads, tile_length, self.precision,
                self.algorithm, reducer)


def run_native(network: Network, params: Mapping[str, np.ndarray], x: np.ndarray,
               n_threads: int, tile_length: int | None = None,
               precision: str = "fp32", algorithm: str = "auto") -> np.ndarray:
    """One input map's embedding on a runner made for this call (see :class:`NativeRunner`)."""
    runner = NativeRunner(network, params, precision=precision, algorithm=algorithm)
    return runner.embed(x, n_threads, tile_length)


def run_native_frames(network: Network, params: Mapping[str, np.ndarray], x: np.ndarray,
                      grid: FrameGrid, n_threads: int, tile_length: int | None = None,
                      precision: str = "fp32") -> np.ndarray:
    """One input map's frame embeddings on a runner made for this call (see
    :meth:`NativeRunner.embed_frames`)."""
    return NativeRunner(network, params, precision=precision).embed_frames(
        x, grid, n_threads, tile_length)


def forward(network: Network, layers: Mapping[str, "_core.ConvLayer"], x: np.ndarray,
            n_threads: int, tile_length: int | None, precision: str, algorithm: str,
            reducer) -> None:
    """One forward pass over the whole input in time tiles, handing each chunk's owned rows of
    every tensor in ``reducer.layers`` to the reducer (see :class:`ChannelSums`)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    total = x.shape[0]
    tile = TILE_FACTOR * network.default_length if tile_length is None else int(tile_length)
    if tile < 1:
        raise ValueError(f"tile_length must be a positive integer, got {tile_length!r}")
    shapes = network_shapes(network, total)
    readers, chunks = chunk_plan(network, total, tile)
    for owned, required in chunks:
        run_chunk(network, layers, x[slice(*required["input"])], shapes, owned, required,
                  Counter(readers), reducer, n_threads, precision, algorithm)


# The plans below are pure functions of the network and the lengths, and a clip at a small size
# runs in a few milliseconds: computed once, not on every clip. Callers never modify them.

@functools.lru_cache(maxsize=64)
def network_shapes(network: Network, length: int) -> dict:
    """``network.shapes(length)``, kept."""
    return network.shapes(length)


@functools.lru_cache(maxsize=64)
def chunk_plan(network: Network, total: int, tile: int):
    """(readers, chunks) for an input of ``total`` rows in tiles of ``tile``: how many layers
    read each tensor, and per chunk the (owned, required) ranges of every tensor."""
    shapes = network_shapes(network, total)
    scales = time_scales(network)
    readers = Counter(source for layer in network.layers for source in layer.sources)
    bounds = list(range(0, total, tile)) + [total]
    chunks = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        owned = {name: owned_range(start, stop, scales[name], shape[0], stop == total)
                 for name, shape in shapes.items()}
        chunks.append((owned, required_ranges(network, shapes, owned)))
    return readers, tuple(chunks)


def reduced_layers(network: Network) -> set[str]:
    """The tensors whose channel means make the features: every feature layer, and for a
    concatenation its sources instead (its means are theirs, side by side)."""
    names, pending = set(), [feature.name for feature in network.features]
    by_name = {layer.name: layer for layer in network.layers}
    while pending:
        name = pending.pop()
        if isinstance(by_name[name], Concat):
            pending.extend(by_name[name].sources)
        else:
            names.add(name)
    return names


class ChannelSums:
    """The clip reduction: per tensor, the sum of every output over time and frequency."""

    def __init__(self, network: Network):
        self.layers = reduced_layers(network)
        self.totals = {name: 0.0 for name in self.layers}

    def wants_map(self, name: str) -> bool:
        """False: the kernels' own channel sums serve, so no map needs writing for them."""
        return False

    def add_sums(self, name: str, sums: np.ndarray) -> None:
        self.totals[name] = self.totals[name] + sums

    def add_rows(self, name: str, rows: np.ndarray, first: int) -> None:
        self.totals[name] = self.totals[name] + rows.sum(axis=(0, 1), dtype=np.float64)


def feature_vector(network: Network, means: Mapping[str, np.ndarray]) -> np.ndarray:
    """The features from the channel means of the reduced tensors, along the last axis, so
    one clip's means (channels,) give (n_features,) and frames' (n_frames, channels) give
    (n_frames, n_features)."""
    means = dict(means)
    for layer in network.layers:
        if isinstance(layer, Concat) and all(s in means for s in layer.sources):
            means[layer.name] = np.concatenate([means[s] for s in layer.sources], axis=-1)
    parts = []
    for feature in network.features:
        mean = means[feature.name]
        if feature.collapse:  # one mean over everything, zero-padded (PAPER.md 1.3 quirk)
            row = np.zeros(mean.shape[:-1] + (feature.collapse,), mean.dtype)
            row[..., 0] = mean.mean(axis=-1, dtype=np.float64)
            parts.append(row)
        else:
            parts.append(mean)
    return np.concatenate(parts, axis=-1).astype(np.float32, copy=False)


def time_scales(network: Network) -> dict[str, int]:
    """Input rows per time position of every tensor (the product of the strides and pools)."""
    scales = {"input": 1}
    for layer in network.layers:
        scale = scales[layer.sources[0]]
        if isinstance(layer, Conv):
            scale *= layer.stride[0] * layer.pool[0]
        elif isinstance(layer, MaxPoolTime):
            scale *= layer.pool
        scales[layer.name] = scale
    return scales


def owned_range(start: int, stop: int, scale: int, length: int, last: bool) -> Range:
    """The positions of a tensor (``length`` long, ``scale`` input rows each) that the chunk of
    input rows [start, stop) owns: those whose first input row falls in it; the last chunk also
    owns any remainder, so the chunks partition [0, length)."""
    end = length if last else min(length, -(-stop // scale))
    return min(length, -(-start // scale)), end


def source_rows(layer, out: Range, shapes) -> list[tuple[str, Range]]:
    """(source, rows) pairs, unclipped, that rows ``out`` of the layer's output read, in the
    order of ``layer.sources`` (a residual layer may read its source twice, with two ranges)."""
    a, b = out
    if isinstance(layer, Conv):
        k, s, p = layer.kernel[0], layer.stride[0], layer.pool[0]
        t0 = layer.paddings(shapes[layer.source])[0]
        return [(layer.source, (a * p * s - t0, (b * p - 1) * s - t0 + k))] + (
            [(layer.residual, out)] if layer.residual else [])
    if isinstance(layer, MaxPoolTime):
        return [(layer.source, (a * layer.pool, b * layer.pool))]
    return [(source, out) for source in layer.sources]  # MeanFrequency, Concat


def required_ranges(network: Network, shapes, owned: dict[str, Range]) -> dict[str, Range]:
    """Per tensor, the rows a chunk computes: its owned rows and what later layers read of it
    (the hull, clipped to the tensor), found walking the layers backwards."""
    required = dict(owned)
    for layer in reversed(network.layers):
        a, b = required[layer.name]
        if a >= b:
            continue
        for source, (na, nb) in source_rows(layer, (a, b), shapes):
            lo, hi = max(na, 0), min(nb, shapes[source][0])
            sa, sb = required[source]
            required[source] = (lo, hi) if sa >= sb else (min(sa, lo), max(sb, hi))
    return required


def run_chunk(network: Network, layers, x: np.ndarray, shapes, owned, required, readers,
              reducer, n_threads: int, precision: str, algorithm: str) -> None:
    """One chunk, layer by layer: hands the owned rows of each reduced tensor to ``reducer``.
    ``x`` holds the input's required rows; ``readers`` counts the layers still to read each
    tensor."""
    tensors = {"input": (x, required["input"][0])}  # name -> (rows, time index of row 0)
    for layer in network.layers:
        rows = required[layer.name]
        reduced = layer.name in reducer.layers
        y = None
        if rows[0] < rows[1]:
            exact = rows == owned[layer.name]  # then the kernel's sums are the owned rows'
            from_kernel = reduced and exact and not reducer.wants_map(layer.name)
            write = readers[layer.name] > 0 or (reduced and not from_kernel)
            if isinstance(layer, Conv):
                y, kernel_sums = run_conv(layer, layers[layer.name], tensors, shapes, rows, write,
                                          n_threads, precision, algorithm)
            elif isinstance(layer, MeanFrequency):
                y, kernel_sums = mean_frequency(take(tensors[layer.source], rows), write, n_threads)
            elif isinstance(layer, MaxPoolTime):
                y = max_pool_time(layer, tensors[layer.source], rows)
            elif readers[layer.name] > 0:  # Concat: its means are its sources' (taken at the end)
                y = np.concatenate([take(tensors[s], rows) for s in layer.sources], axis=2)
            if reduced and from_kernel and isinstance(layer, (Conv, MeanFrequency)):
                reducer.add_sums(layer.name, kernel_sums)
            elif reduced:
                a, b = owned[layer.name]
                reducer.add_rows(layer.name, y[a - rows[0]:b - rows[0]], a)
        for source in layer.sources:
            readers[source] -= 1
            if readers[source] == 0:
                tensors.pop(source, None)
        if y is not None and readers[layer.name] > 0:
            tensors[layer.name] = (y, rows[0])


def take(tensor, rows: Range) -> np.ndarray:
    """Rows [a, b) (time indices) of a chunk's tensor: a contiguous view."""
    y, first = tensor
    return y[rows[0] - first:rows[1] - first]


def run_conv(layer: Conv, native: "_core.ConvLayer", tensors, shapes, rows: Range, write: bool,
             n_threads: int, precision: str, algorithm: str):
    """Output rows ``rows`` of a convolution: the source rows they read, with the zeros the
    full-length map would have where those rows fall outside it."""
    source = shapes[layer.source]
    read, zero_rows, padding, pool = conv_geometry(layer, source, rows)
    if read is not None:
        x = take(tensors[layer.source], read)
    else:  # rows that read only padding (an explicit pad past the end): zeros
        x = np.zeros((zero_rows, source[1], source[2]), np.float32)
    return native(
        x, stride=layer.stride, padding=padding,
        activation=layer.activation, pool=pool, write_output=write, n_threads=n_threads,
        precision=precision, algorithm=algorithm,
        residual=take(tensors[layer.residual], rows) if layer.residual else None)


@functools.lru_cache(maxsize=1024)
def conv_geometry(layer: Conv, source: tuple, rows: Range):
    """(read, zero_rows, padding, pool) for output rows ``rows`` of ``layer`` on a source of
    shape ``source``: the source rows read, with the zeros the full-length map would have
    where they fall outside it as padding; or, where no row read lies inside the map (an
    explicit pad past the end), read None and zero_rows rows of zeros to convolve instead."""
    na, nb = source_rows(layer, rows, {layer.source: source})[0][1]
    _, _, f0, f1 = layer.paddings(source)  # frequency padding as for the whole map
    if max(na, 0) < min(nb, source[0]):
        read, zero_rows = (max(na, 0), min(nb, source[0])), 0
        padding = (max(0, -na), max(0, nb - source[0]), f0, f1)
        n_rows = read[1] - read[0]
    else:
        read, zero_rows, padding, n_rows = None, nb - na, (0, 0, f0, f1), nb - na
    pool = layer.pool_window(source)
    out_rows = conv_length(n_rows, layer.kernel[0], layer.stride[0], padding[:2]) // pool[0]
    if out_rows != rows[1] - rows[0]:
        raise AssertionError(f"{layer.name}: chunk rows {rows} do not match the source rows read")
    return read, zero_rows, padding, pool


def make_conv_layer(w: np.ndarray, b: np.ndarray) -> "_core.ConvLayer":
    """The native layer for weights ``w`` (out, in, kh, kw), or (out, in, k) for a 1-D layer,
    and bias ``b``: a copy of both that keeps the packed forms of the weights."""
    w4 = w[..., None] if w.ndim == 3 else w  # (out, in, k) -> (out, in, k, 1): a view
    return _core.ConvLayer(np.ascontiguousarray(w4), b)


def mean_frequency(x: np.ndarray, write: bool, n_threads: int):
    """The mean over frequency as a (1 x F) convolution with weights 1/F per channel, so it
    runs on the same tested kernels as every other layer; returns (map or None, sums)."""
    t, f, c = x.shape
    w = np.zeros((c, c, 1, f), np.float32)
    w[np.arange(c), np.arange(c)] = 1.0 / f
    return _core.conv(x, w, np.zeros(c, np.float32), stride=(1, 1), padding=(0, 0, 0, 0),
                      activation="none", pool=(1, 1), write_output=write, n_threads=n_threads)


def max_pool_time(layer: MaxPoolTime, tensor, rows: Range) -> np.ndarray:
    """'valid' max-pool over time: memory-bound and a few percent of a convolution's time.
    Element-wise maxima of the window's rows (numpy's reduction over a short middle axis is
    several times slower)."""
    x = take(tensor, (rows[0] * layer.pool, rows[1] * layer.pool))
    y = x[0::layer.pool].copy()
    for i in range(1, layer.pool):
        np.maximum(y, x[i::layer.pool], out=y)
    return y
