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

from .. import _core
from ..network.frames import FrameGrid, FrameMeans
from ..network.layers import Concat, Conv, MaxPoolTime, MeanFrequency, Network, conv_length

__all__ = ["NativeRunner", "run_native", "run_native_frames"]

# Tiles of twice the default input: every clip up to ~58 s (waveform) or 2752 frames runs as one
# chunk, exactly as an untiled run, and longer ones keep a working set of about twice today's.
TILE_FACTOR = 2

_Range = tuple[int, int]  # [start, stop) along time; empty when stop <= start


class NativeRunner:
    """A network and its parameters on the native core, the counterpart of
    :class:`randcnn_fast.backends.onnx_runtime.OnnxRunner`.

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

    Attributes
    ----------
    network, precision, algorithm
        As given.
    layers : dict of str to _core.ConvLayer
        The packed convolutions, by layer name.

    Examples
    --------
    >>> import numpy as np
    >>> from randcnn_fast.network import architectures, weights
    >>> network = architectures.build("sample_level", "small")
    >>> x = np.zeros((12000, 1, 1), np.float32)  # one second of waveform
    >>> runner = NativeRunner(network, weights.make_parameters(network, seed=0))
    >>> runner.embed(x, n_threads=1).shape
    (161,)
    """

    #: Clips may run side by side, one thread each (:meth:`randcnn_fast.Embedder.embed_files`).
    parallel_clips = True

    def __init__(self, network: Network, params: Mapping[str, np.ndarray], *,
                 precision: str = "fp32", algorithm: str = "auto"):
        self.network, self.precision, self.algorithm = network, precision, algorithm
        self.layers = {layer.name: _make_conv_layer(params[f"{layer.name}.weight"],
                                                   params[f"{layer.name}.bias"])
                       for layer in network.layers if isinstance(layer, Conv)}

    def embed(self, x: np.ndarray, n_threads: int, tile_length: int | None = None) -> np.ndarray:
        """Embed one validated input map.

        The input runs in chunks of ``tile_length`` rows. Within a chunk a map is kept only
        while a later layer still reads it; a convolution that no layer reads is never written
        out, only its channel sums are.

        Parameters
        ----------
        x : numpy.ndarray
            The input map (time, frequency, 1), float32: (samples, 1, 1) for a waveform,
            (frames, 96, 1) for a log-mel spectrogram, at least ``network.min_length`` long.
        n_threads : int
            Threads for the convolutions; 0 uses every core.
        tile_length : int, optional
            Rows per chunk; ``TILE_FACTOR * network.default_length`` when None.

        Returns
        -------
        numpy.ndarray
            float32 (n_features,).

        Raises
        ------
        ValueError
            When ``tile_length`` is not positive.

        Examples
        --------
        >>> import numpy as np
        >>> from randcnn_fast.network import architectures, weights
        >>> network = architectures.build("sample_level", "small")
        >>> runner = NativeRunner(network, weights.make_parameters(network, seed=0))
        >>> x = np.zeros((12000, 1, 1), np.float32)
        >>> embedding = runner.embed(x, n_threads=1, tile_length=4000)
        >>> embedding.dtype, embedding.shape
        (dtype('float32'), (161,))
        """
        shapes = _network_shapes(self.network, x.shape[0])
        sums = _ChannelSums(self.network)
        self._forward(x, n_threads, tile_length, sums)
        means = {name: total / (shapes[name][0] * shapes[name][1])
                 for name, total in sums.totals.items()}
        return _feature_vector(self.network, means)

    def embed_frames(self, x: np.ndarray, grid: FrameGrid, n_threads: int,
                     tile_length: int | None = None) -> np.ndarray:
        """Embed each frame of one validated input map.

        The same single tiled pass as :meth:`embed`, reduced per frame of ``grid`` (the
        alignment is in :mod:`randcnn_fast.network.frames`) instead of over the whole input.

        Parameters
        ----------
        x : numpy.ndarray
            The input map, as :meth:`embed` takes it.
        grid : FrameGrid
            The frames, in samples of the waveform.
        n_threads, tile_length
            As :meth:`embed`.

        Returns
        -------
        numpy.ndarray
            float32 (grid.n_frames, n_features).

        Examples
        --------
        >>> import numpy as np
        >>> from randcnn_fast.network.frames import frame_grid
        >>> from randcnn_fast.network import architectures, weights
        >>> network = architectures.build("sample_level", "small")
        >>> runner = NativeRunner(network, weights.make_parameters(network, seed=0))
        >>> x = np.zeros((12000, 1, 1), np.float32)
        >>> runner.embed_frames(x, frame_grid(12000, 0.25, 0.5), n_threads=1).shape
        (3, 161)
        """
        frames = FrameMeans(self.network, x.shape[0], grid, _reduced_layers(self.network))
        self._forward(x, n_threads, tile_length, frames)
        return _feature_vector(self.network, frames.means())

    def run(self, maps, n_threads: int) -> np.ndarray:
        """Embed input maps of any lengths, one after another.

        Parameters
        ----------
        maps : iterable of numpy.ndarray
            Input maps, as :meth:`embed` takes them.
        n_threads : int
            Threads for the convolutions; 0 uses every core.

        Returns
        -------
        numpy.ndarray
            float32 (n_maps, n_features).

        Examples
        --------
        >>> import numpy as np
        >>> from randcnn_fast.network import architectures, weights
        >>> network = architectures.build("sample_level", "small")
        >>> runner = NativeRunner(network, weights.make_parameters(network, seed=0))
        >>> runner.run([np.zeros((12000, 1, 1), np.float32)] * 2, n_threads=1).shape
        (2, 161)
        """
        return np.stack([self.embed(x, n_threads) for x in maps])

    def _forward(self, x, n_threads, tile_length, reducer) -> None:
        _forward(self.network, self.layers, x, n_threads, tile_length, self.precision,
                self.algorithm, reducer)


def run_native(network: Network, params: Mapping[str, np.ndarray], x: np.ndarray,
               n_threads: int, tile_length: int | None = None,
               precision: str = "fp32", algorithm: str = "auto") -> np.ndarray:
    """Embed one input map on a runner made for this call.

    Parameters
    ----------
    network, params, precision, algorithm
        As :class:`NativeRunner`.
    x, n_threads, tile_length
        As :meth:`NativeRunner.embed`.

    Returns
    -------
    numpy.ndarray
        float32 (n_features,).

    Examples
    --------
    >>> import numpy as np
    >>> from randcnn_fast.network import architectures, weights
    >>> network = architectures.build("sample_level", "small")
    >>> x = np.zeros((12000, 1, 1), np.float32)  # one second of waveform
    >>> run_native(network, weights.make_parameters(network, seed=0), x, n_threads=1).shape
    (161,)
    """
    runner = NativeRunner(network, params, precision=precision, algorithm=algorithm)
    return runner.embed(x, n_threads, tile_length)


def run_native_frames(network: Network, params: Mapping[str, np.ndarray], x: np.ndarray,
                      grid: FrameGrid, n_threads: int, tile_length: int | None = None,
                      precision: str = "fp32") -> np.ndarray:
    """Embed each frame of one input map on a runner made for this call.

    Parameters
    ----------
    network, params, precision
        As :class:`NativeRunner`.
    x, grid, n_threads, tile_length
        As :meth:`NativeRunner.embed_frames`.

    Returns
    -------
    numpy.ndarray
        float32 (grid.n_frames, n_features).

    Examples
    --------
    >>> import numpy as np
    >>> from randcnn_fast.network.frames import frame_grid
    >>> from randcnn_fast.network import architectures, weights
    >>> network = architectures.build("sample_level", "small")
    >>> x = np.zeros((12000, 1, 1), np.float32)  # one second of waveform
    >>> params = weights.make_parameters(network, seed=0)
    >>> run_native_frames(network, params, x, frame_grid(12000, 0.5, 0.5), n_threads=1).shape
    (2, 161)
    """
    return NativeRunner(network, params, precision=precision).embed_frames(
        x, grid, n_threads, tile_length)


def _forward(network: Network, layers: Mapping[str, "_core.ConvLayer"], x: np.ndarray,
            n_threads: int, tile_length: int | None, precision: str, algorithm: str,
            reducer) -> None:
    """One forward pass over the whole input in time tiles, handing each chunk's owned rows of
    every tensor in ``reducer.layers`` to the reducer (see :class:`_ChannelSums`)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    total = x.shape[0]
    tile = TILE_FACTOR * network.default_length if tile_length is None else int(tile_length)
    if tile < 1:
        raise ValueError(f"tile_length must be a positive integer, got {tile_length!r}")
    shapes = _network_shapes(network, total)
    readers, chunks = _chunk_plan(network, total, tile)
    for owned, required in chunks:
        _run_chunk(network, layers, x[slice(*required["input"])], shapes, owned, required,
                  Counter(readers), reducer, n_threads, precision, algorithm)


# The plans below are pure functions of the network and the lengths, and a clip at a small size
# runs in a few milliseconds: computed once, not on every clip. Callers never modify them.

@functools.lru_cache(maxsize=64)
def _network_shapes(network: Network, length: int) -> dict:
    """``network.shapes(length)``, kept."""
    return network.shapes(length)


@functools.lru_cache(maxsize=64)
def _reader_counts(network: Network) -> Counter:
    """How many layers read each tensor (callers that count down take a copy)."""
    return Counter(source for layer in network.layers for source in layer.sources)


@functools.lru_cache(maxsize=64)
def _sibling_members(network: Network) -> frozenset:
    """The names of every convolution in a run of siblings (see _sibling_groups)."""
    return frozenset(c.name for convs, _ in _sibling_groups(network).values() for c in convs)


@functools.lru_cache(maxsize=64)
def _chunk_plan(network: Network, total: int, tile: int):
    """(readers, chunks) for an input of ``total`` rows in tiles of ``tile``: how many layers
    read each tensor, and per chunk the (owned, required) ranges of every tensor."""
    shapes = _network_shapes(network, total)
    scales = time_scales(network)
    readers = _reader_counts(network)
    bounds = list(range(0, total, tile)) + [total]
    chunks = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        owned = {name: _owned_range(start, stop, scales[name], shape[0], stop == total)
                 for name, shape in shapes.items()}
        chunks.append((owned, _required_ranges(network, shapes, owned)))
    return readers, tuple(chunks)


def _reduced_layers(network: Network) -> set[str]:
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


class _ChannelSums:
    """The clip reduction: per tensor, the sum of every output over time and frequency."""

    def __init__(self, network: Network):
        self.layers = _reduced_layers(network)
        self.totals = {name: 0.0 for name in self.layers}

    def wants_map(self, name: str) -> bool:
        """False: the kernels' own channel sums serve, so no map needs writing for them."""
        return False

    def add_sums(self, name: str, sums: np.ndarray) -> None:
        self.totals[name] = self.totals[name] + sums

    def add_rows(self, name: str, rows: np.ndarray, first: int) -> None:
        self.totals[name] = self.totals[name] + rows.sum(axis=(0, 1), dtype=np.float64)


def _feature_vector(network: Network, means: Mapping[str, np.ndarray]) -> np.ndarray:
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


def _owned_range(start: int, stop: int, scale: int, length: int, last: bool) -> _Range:
    """The positions of a tensor (``length`` long, ``scale`` input rows each) that the chunk of
    input rows [start, stop) owns: those whose first input row falls in it; the last chunk also
    owns any remainder, so the chunks partition [0, length)."""
    end = length if last else min(length, -(-stop // scale))
    return min(length, -(-start // scale)), end


def _source_rows(layer, out: _Range, shapes) -> list[tuple[str, _Range]]:
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


def _required_ranges(network: Network, shapes, owned: dict[str, _Range]) -> dict[str, _Range]:
    """Per tensor, the rows a chunk computes: its owned rows and what later layers read of it
    (the hull, clipped to the tensor), found walking the layers backwards."""
    required = dict(owned)
    for layer in reversed(network.layers):
        a, b = required[layer.name]
        if a >= b:
            continue
        for source, (na, nb) in _source_rows(layer, (a, b), shapes):
            lo, hi = max(na, 0), min(nb, shapes[source][0])
            sa, sb = required[source]
            required[source] = (lo, hi) if sa >= sb else (min(sa, lo), max(sb, hi))
    return required


def _run_chunk(network: Network, layers, x: np.ndarray, shapes, owned, required, readers,
              reducer, n_threads: int, precision: str, algorithm: str) -> None:
    """One chunk, layer by layer: hands the owned rows of each reduced tensor to ``reducer``.
    ``x`` holds the input's required rows; ``readers`` counts the layers still to read each
    tensor."""
    tensors = {"input": (x, required["input"][0])}  # name -> (rows, time index of row 0)
    siblings, pairs = _sibling_groups(network), _fused_pairs(network)
    pooled = _pooled_convs(network)
    done = {}  # layer name -> (map or None, sums) computed with its siblings or its reader
    for layer in network.layers:
        rows = required[layer.name]
        reduced = layer.name in reducer.layers
        y = None
        if layer.name in siblings:
            done.update(_run_siblings(siblings[layer.name], layers, tensors, shapes, owned,
                                      required, readers, reducer, n_threads, precision,
                                      algorithm))
        elif layer.name in pairs:
            done.update(_run_pair(layer, pairs[layer.name], layers, tensors, shapes, owned,
                                  required, readers, reducer, n_threads, precision, algorithm))
        elif layer.name in pooled:
            done.update(_run_pooled(layer, pooled[layer.name], layers, tensors, shapes, owned,
                                    required, reducer, n_threads, precision, algorithm))
        if rows[0] < rows[1]:
            from_kernel = _kernel_sums_serve(layer.name, rows, owned, reducer)
            write = readers[layer.name] > 0 or not from_kernel
            if layer.name in done:
                y, kernel_sums = done.pop(layer.name)
            elif isinstance(layer, Conv):
                y, kernel_sums = _run_conv(layer, layers[layer.name], tensors, shapes, rows, write,
                                          n_threads, precision, algorithm)
            elif isinstance(layer, MeanFrequency):
                y, kernel_sums = _mean_frequency(_take(tensors[layer.source], rows), write, n_threads)
            elif isinstance(layer, MaxPoolTime):
                y = _max_pool_time(layer, tensors[layer.source], rows)
            elif readers[layer.name] > 0:  # Concat: its means are its sources' (taken at the end)
                y = np.concatenate([_take(tensors[s], rows) for s in layer.sources], axis=2)
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


@functools.lru_cache(maxsize=64)
def _sibling_groups(network: Network) -> dict:
    """Sibling convolutions: runs of two or more consecutive convolutions of one source with
    the same stride, activation and pool and no residual (filters of several widths over one
    map), each read by nothing but the concatenation that follows them, if one does. Keyed by
    the run's first layer: (its layers, the concatenation or None)."""
    concats = {layer.sources: layer.name for layer in network.layers if isinstance(layer, Concat)}
    readers = _reader_counts(network)
    groups, run = {}, []

    def close():
        names = tuple(layer.name for layer in run)
        concat = concats.get(names)
        if len(run) > 1 and all(readers[name] == (concat is not None) for name in names):
            groups[names[0]] = (run[:], concat)
        run.clear()

    for layer in network.layers:
        if run and not (isinstance(layer, Conv) and _siblings(run[0], layer)):
            close()
        if isinstance(layer, Conv) and layer.residual is None:
            run.append(layer)
    close()
    return groups


def _siblings(a: Conv, b: Conv) -> bool:
    return (b.residual is None and a.source == b.source and a.stride == b.stride
            and a.activation == b.activation and a.pool == b.pool)


def _run_siblings(group, layers, tensors, shapes, owned, required, readers, reducer,
                  n_threads: int, precision: str, algorithm: str) -> dict:
    """A chunk's sibling convolutions in one native pass (their tasks share the threads, and
    their maps are written side by side as the concatenation's), where every one's channel
    sums come from the kernel; {} otherwise, and they run one by one. Returns layer name ->
    (map or None, sums), with the concatenation's map under its name."""
    convs, concat = group
    rows = required[convs[0].name]
    if rows[0] >= rows[1] or any(required[c.name] != rows for c in convs):
        return {}
    if not all(_kernel_sums_serve(c.name, rows, owned, reducer) for c in convs):
        return {}  # sums over rows other than the owned ones: from the maps, one by one
    write = concat is not None and readers[concat] > 0
    if write and required[concat] != rows:
        return {}
    source = shapes[convs[0].source]
    geometry = [_conv_geometry(c, source, rows) for c in convs]
    if any(read is None for read, *_ in geometry) or len({pool for *_, pool in geometry}) > 1:
        return {}
    y, sums = _core.conv_siblings(
        [layers[c.name] for c in convs], [_take(tensors[convs[0].source], read)
                                         for read, *_ in geometry],
        [padding for _, _, padding, _ in geometry], stride=convs[0].stride,
        activation=convs[0].activation, pool=geometry[0][3], write_output=write,
        n_threads=n_threads, algorithm=algorithm, precision=precision)
    done = {c.name: (None, total) for c, total in zip(convs, sums)}
    if write:
        done[concat] = (y, None)
    return done


@functools.lru_cache(maxsize=64)
def _fused_pairs(network: Network) -> dict:
    """Convolutions over time whose map only the next convolution reads and whose reduction is
    short enough to fuse (``_core.PAIR_MAX_REDUCTION``: sample_level's first layer, 3 taps over
    one channel, and the second), paired from the first layer on: producer name -> consumer.
    Neither has a residual input or belongs to a run of siblings."""
    readers = _reader_counts(network)
    in_siblings = _sibling_members(network)
    channels = {name: shape[2]
                for name, shape in _network_shapes(network, network.default_length).items()}
    pairs, used = {}, set()
    for a, b in zip(network.layers, network.layers[1:]):
        if (isinstance(a, Conv) and isinstance(b, Conv) and b.source == a.name
                and a.kernel[0] * a.kernel[1] * channels[a.source] <= _core.PAIR_MAX_REDUCTION
                and readers[a.name] == 1 and a.dims == b.dims == 1
                and a.residual is None and b.residual is None
                and not {a.name, b.name} & (in_siblings | used)):
            pairs[a.name] = b
            used.update((a.name, b.name))
    return pairs


def _run_pair(producer: Conv, consumer: Conv, layers, tensors, shapes, owned, required, readers,
              reducer, n_threads: int, precision: str, algorithm: str) -> dict:
    """A chunk's producer and consumer in one native pass (``_core.conv_pair``: the producer's
    map stays in cache), where the producer's channel sums come from the kernel; {} otherwise,
    and they run one by one. Returns layer name -> (map or None, sums) for both."""
    rows, consumer_rows = required[producer.name], required[consumer.name]
    if rows[0] >= rows[1] or consumer_rows[0] >= consumer_rows[1]:
        return {}
    if not _kernel_sums_serve(producer.name, rows, owned, reducer):
        return {}  # sums over rows other than the owned ones: from the map
    read, _, padding, pool = _conv_geometry(producer, shapes[producer.source], rows)
    consumer_read, _, consumer_padding, consumer_pool = _conv_geometry(
        consumer, shapes[producer.name], consumer_rows)
    if read is None or consumer_read is None:
        return {}
    y, producer_sums, consumer_sums = _core.conv_pair(
        layers[producer.name], _take(tensors[producer.source], read), stride=producer.stride,
        padding=padding, activation=producer.activation, pool=pool,
        consumer=layers[consumer.name], offset=consumer_read[0] - rows[0],
        rows=consumer_read[1] - consumer_read[0], consumer_stride=consumer.stride,
        consumer_padding=consumer_padding, consumer_activation=consumer.activation,
        consumer_pool=consumer_pool,
        write_output=(readers[consumer.name] > 0
                      or not _kernel_sums_serve(consumer.name, consumer_rows, owned, reducer)),
        n_threads=n_threads, algorithm=algorithm, precision=precision)
    return {producer.name: (None, producer_sums), consumer.name: (y, consumer_sums)}


@functools.lru_cache(maxsize=64)
def _pooled_convs(network: Network) -> dict:
    """Convolutions read by nothing but a max-pool over time (frame_level's second back-end
    layer), outside runs of siblings and fused pairs: conv name -> the pool, which the
    convolution's epilogue can make instead of writing its own map."""
    readers = _reader_counts(network)
    taken = set(_sibling_members(network))
    taken.update(name for a, b in _fused_pairs(network).items() for name in (a, b.name))
    convs = {layer.name for layer in network.layers if isinstance(layer, Conv)}
    return {layer.source: layer for layer in network.layers
            if isinstance(layer, MaxPoolTime) and layer.source in convs
            and readers[layer.source] == 1 and layer.source not in taken}


def _run_pooled(conv: Conv, pool: MaxPoolTime, layers, tensors, shapes, owned, required,
                reducer, n_threads: int, precision: str, algorithm: str) -> dict:
    """A chunk's convolution writing its max-pooled map straight from the epilogue, where its
    channel sums come from the kernel and its rows are the pool's windows (the last one may
    hold a row the pool drops); {} otherwise. Returns layer name -> (map or None, sums) for
    both."""
    rows, pooled_rows = required[conv.name], required[pool.name]
    first, windows = rows[0] // pool.pool, (rows[1] - rows[0]) // pool.pool
    if rows[0] % pool.pool or (first, first + windows) != pooled_rows or not windows:
        return {}
    if not _kernel_sums_serve(conv.name, rows, owned, reducer):
        return {}  # sums over rows other than the owned ones: from the map
    if _conv_geometry(conv, shapes[conv.source], rows)[0] is None:
        return {}  # rows that read only padding: the convolution on its own
    y, sums = _run_conv(conv, layers[conv.name], tensors, shapes, rows, True, n_threads,
                        precision, algorithm, out_pool=pool.pool)
    return {conv.name: (None, sums), pool.name: (y, None)}


def _kernel_sums_serve(name: str, rows: _Range, owned, reducer) -> bool:
    """Whether a layer computed over ``rows`` in this chunk needs no map for the reducer:
    it is not reduced, or the kernel's channel sums over exactly its owned rows serve."""
    return name not in reducer.layers or (rows == owned[name] and not reducer.wants_map(name))


def _take(tensor, rows: _Range) -> np.ndarray:
    """Rows [a, b) (time indices) of a chunk's tensor: a contiguous view."""
    y, first = tensor
    return y[rows[0] - first:rows[1] - first]


def _run_conv(layer: Conv, native: "_core.ConvLayer", tensors, shapes, rows: _Range, write: bool,
             n_threads: int, precision: str, algorithm: str, out_pool: int = 1):
    """Output rows ``rows`` of a convolution: the source rows they read, with the zeros the
    full-length map would have where those rows fall outside it; with ``out_pool`` > 1 the map
    written is max-pooled over time by that factor (see _run_pooled)."""
    source = shapes[layer.source]
    read, zero_rows, padding, pool = _conv_geometry(layer, source, rows)
    if read is not None:
        x = _take(tensors[layer.source], read)
    else:  # rows that read only padding (an explicit pad past the end): zeros
        x = np.zeros((zero_rows, source[1], source[2]), np.float32)
    return native(
        x, stride=layer.stride, padding=padding,
        activation=layer.activation, pool=pool, write_output=write, n_threads=n_threads,
        precision=precision, algorithm=algorithm, out_pool=out_pool,
        residual=_take(tensors[layer.residual], rows) if layer.residual else None)


@functools.lru_cache(maxsize=1024)
def _conv_geometry(layer: Conv, source: tuple, rows: _Range):
    """(read, zero_rows, padding, pool) for output rows ``rows`` of ``layer`` on a source of
    shape ``source``: the source rows read, with the zeros the full-length map would have
    where they fall outside it as padding; or, where no row read lies inside the map (an
    explicit pad past the end), read None and zero_rows rows of zeros to convolve instead."""
    na, nb = _source_rows(layer, rows, {layer.source: source})[0][1]
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


def _make_conv_layer(w: np.ndarray, b: np.ndarray) -> "_core.ConvLayer":
    """The native layer for weights ``w`` (out, in, kh, kw), or (out, in, k) for a 1-D layer,
    and bias ``b``: a copy of both that keeps the packed forms of the weights."""
    w4 = w[..., None] if w.ndim == 3 else w  # (out, in, k) -> (out, in, k, 1): a view
    return _core.ConvLayer(np.ascontiguousarray(w4), b)


def _mean_frequency(x: np.ndarray, write: bool, n_threads: int):
    """The mean over frequency as a (1 x F) convolution with weights 1/F per channel, so it
    runs on the same tested kernels as every other layer; returns (map or None, sums)."""
    _, f, c = x.shape
    w, bias = _mean_frequency_weights(c, f)
    return _core.conv(x, w, bias, stride=(1, 1), padding=(0, 0, 0, 0), activation="none",
                      pool=(1, 1), write_output=write, n_threads=n_threads)


@functools.lru_cache(maxsize=16)
def _mean_frequency_weights(channels: int, freqs: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights (channels, channels, 1, freqs) and zero bias of the mean over frequency,
    read-only: made once per shape rather than on every chunk of every clip."""
    w = np.zeros((channels, channels, 1, freqs), np.float32)
    w[np.arange(channels), np.arange(channels)] = 1.0 / freqs
    bias = np.zeros(channels, np.float32)
    w.flags.writeable = bias.flags.writeable = False
    return w, bias


def _max_pool_time(layer: MaxPoolTime, tensor, rows: _Range) -> np.ndarray:
    """'valid' max-pool over time, in one native pass (numpy's strided maxima took a twentieth
    of a small frame-level network's call)."""
    return _core.max_pool_time(_take(tensor, (rows[0] * layer.pool, rows[1] * layer.pool)),
                               layer.pool)
