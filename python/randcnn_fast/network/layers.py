"""Networks as data: layer descriptions, shape inference and cost accounting.

Every tensor is a map (time, frequency, channels); a waveform is (samples, 1, 1), a log-mel
spectrogram (frames, 96, 1) and a 1-D layer's output (time, 1, channels). A network is a tuple
of layers in execution order plus the features: the layers whose per-channel means form the
embedding. The same description drives weight creation (:mod:`randcnn_fast.network.weights`), the
native executor (:mod:`randcnn_fast.backends.native`) and :meth:`Network.describe`.
"""
from __future__ import annotations

import functools
import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

__all__ = ["Network", "NetworkSummary", "Feature"]

ACTIVATIONS = ("none", "relu", "elu")
_Shape = tuple[int, int, int]  # (time, frequency, channels)


def tf_padding(length: int, kernel: int, stride: int, padding) -> tuple[int, int]:
    """Zeros (before, after) an axis of ``length``: 'valid', TensorFlow 'same' (ceil(length /
    stride) outputs, the odd zero at the end) or an explicit (before, after) pair."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        out = -(-length // stride)
        total = max((out - 1) * stride + kernel - length, 0)
        return total // 2, total - total // 2
    return int(padding[0]), int(padding[1])


def _check_name(value, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")


def _check_positive(value, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")


def _check_padding(value, what: str) -> None:
    """'valid', 'same' or a (before, after) pair of non-negative integers."""
    if value in ("valid", "same"):
        return
    if (isinstance(value, tuple) and len(value) == 2
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0
                    for v in value)):
        return
    raise ValueError(f"{what} must be 'valid', 'same' or a (before, after) pair of integers "
                     f">= 0, got {value!r}")


def conv_length(length: int, kernel: int, stride: int, pads: tuple[int, int]) -> int:
    padded = length + pads[0] + pads[1]
    return 0 if padded < kernel else (padded - kernel) // stride + 1


@dataclass(frozen=True)
class Conv:
    """A convolution over (time, frequency), channels last, with its fused epilogue.

    Computes ``pool(activation(conv(x) + bias)) + residual``. ``kernel``, ``stride`` and
    ``pool`` are (time, frequency) pairs; a 1-D layer (``dims=1``) has kernel (k, 1) and stores
    its weight as (out, in, k) instead of (out, in, k, 1). ``padding`` per axis is 'valid',
    'same' (TensorFlow) or a (before, after) pair. ``pool`` is a 'valid' max-pool whose stride
    is its window; a frequency pool of ``None`` takes the max over every frequency position.
    ``residual`` names a tensor of the output's shape added after the activation.
    """

    name: str
    source: str
    out_channels: int
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple = ("valid", "valid")
    activation: str = "relu"
    pool: tuple[int, Union[int, None]] = (1, 1)
    residual: Union[str, None] = None
    dims: int = 2

    def __post_init__(self):
        _check_name(self.name, "layer name")
        _check_name(self.source, f"{self.name}: source")
        _check_positive(self.out_channels, f"{self.name}: out_channels")
        if self.dims not in (1, 2):
            raise ValueError(f"{self.name}: dims must be 1 or 2, got {self.dims!r}")
        for what, pair in (("kernel", self.kernel), ("stride", self.stride)):
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise ValueError(f"{self.name}: {what} must be a (time, frequency) pair, got {pair!r}")
            for value in pair:
                _check_positive(value, f"{self.name}: {what}")
        if not isinstance(self.padding, tuple) or len(self.padding) != 2:
            raise ValueError(f"{self.name}: padding must be a (time, frequency) pair, got {self.padding!r}")
        for axis, padding in zip(("time", "frequency"), self.padding):
            _check_padding(padding, f"{self.name}: {axis} padding")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"{self.name}: activation must be one of {ACTIVATIONS}, "
                             f"got {self.activation!r}")
        if not isinstance(self.pool, tuple) or len(self.pool) != 2:
            raise ValueError(f"{self.name}: pool must be a (time, frequency) pair, got {self.pool!r}")
        _check_positive(self.pool[0], f"{self.name}: time pool")
        if self.pool[1] is not None:
            _check_positive(self.pool[1], f"{self.name}: frequency pool")
        if self.dims == 1 and (self.kernel[1], self.stride[1], self.pool[1]) != (1, 1, 1):
            raise ValueError(f"{self.name}: a 1-D layer has kernel, stride and pool 1 over "
                             f"frequency")
        if self.residual is not None:
            _check_name(self.residual, f"{self.name}: residual")
            if self.pool != (1, 1):
                raise ValueError(f"{self.name}: a residual layer cannot pool")

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,) if self.residual is None else (self.source, self.residual)

    def weight_shape(self, in_channels: int) -> tuple[int, ...]:
        kernel = self.kernel[:1] if self.dims == 1 else self.kernel
        return (self.out_channels, in_channels, *kernel)

    def paddings(self, shape: _Shape) -> tuple[int, int, int, int]:
        t0, t1 = tf_padding(shape[0], self.kernel[0], self.stride[0], self.padding[0])
        f0, f1 = tf_padding(shape[1], self.kernel[1], self.stride[1], self.padding[1])
        return t0, t1, f0, f1

    def conv_shape(self, shape: _Shape) -> tuple[int, int]:
        """(time, frequency) of the convolution output, before pooling."""
        pads = self.paddings(shape)
        return (conv_length(shape[0], self.kernel[0], self.stride[0], pads[:2]),
                conv_length(shape[1], self.kernel[1], self.stride[1], pads[2:]))

    def pool_window(self, shape: _Shape) -> tuple[int, int]:
        t, f = self.conv_shape(shape)
        return self.pool[0], (max(f, 1) if self.pool[1] is None else self.pool[1])

    def output_shape(self, shapes: dict[str, _Shape]) -> _Shape:
        t, f = self.conv_shape(shapes[self.source])
        pt, pf = self.pool_window(shapes[self.source])
        return t // pt, f // pf, self.out_channels

    def macs(self, shapes: dict[str, _Shape]) -> int:
        """Multiply-adds of the dense convolution ('same' zeros included, as TensorFlow)."""
        t, f = self.conv_shape(shapes[self.source])
        return t * f * self.out_channels * shapes[self.source][2] * self.kernel[0] * self.kernel[1]

    def describe(self) -> str:
        k = f"k{self.kernel[0]}" if self.dims == 1 else f"{self.kernel[0]}x{self.kernel[1]}"
        s = f" s{self.stride[0]}" if self.stride[0] > 1 else ""
        pad = self.padding[0] if self.dims == 1 else "/".join(str(p) for p in self.padding)
        text = f"conv {k}{s} {pad}, {self.activation}"
        if self.pool != (1, 1):
            pf = "all" if self.pool[1] is None else self.pool[1]
            text += f", maxpool {self.pool[0]}" if self.dims == 1 else f", maxpool {self.pool[0]}x{pf}"
        if self.residual:
            text += f", + {self.residual}"
        return text


def conv1d(name, source, out_channels, kernel, *, stride=1, padding="valid", activation="relu",
           pool=1, residual=None) -> Conv:
    """A 1-D convolution over time on a (time, 1, channels) map."""
    return Conv(name, source, out_channels, (kernel, 1), (stride, 1), (padding, "valid"),
                activation, (pool, 1), residual, dims=1)


@dataclass(frozen=True)
class MaxPoolTime:
    """'valid' max-pool over time with window = stride = ``pool``."""

    name: str
    source: str
    pool: int

    def __post_init__(self):
        _check_name(self.name, "layer name")
        _check_name(self.source, f"{self.name}: source")
        _check_positive(self.pool, f"{self.name}: pool")

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,)

    def output_shape(self, shapes: dict[str, _Shape]) -> _Shape:
        t, f, c = shapes[self.source]
        return t // self.pool, f, c

    def describe(self) -> str:
        return f"maxpool {self.pool} over time"


@dataclass(frozen=True)
class MeanFrequency:
    """The mean over every frequency position (the temporal branch's mel average)."""

    name: str
    source: str

    def __post_init__(self):
        _check_name(self.name, "layer name")
        _check_name(self.source, f"{self.name}: source")

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,)

    def output_shape(self, shapes: dict[str, _Shape]) -> _Shape:
        t, f, c = shapes[self.source]
        return t, 1, c

    def describe(self) -> str:
        return "mean over frequency"


@dataclass(frozen=True)
class Concat:
    """Concatenation on the channel axis of maps with the same time and frequency extent."""

    name: str
    sources: tuple[str, ...]

    def __post_init__(self):
        _check_name(self.name, "layer name")
        if not isinstance(self.sources, tuple) or not self.sources:
            raise ValueError(f"{self.name}: sources must be a non-empty tuple of layer names, "
                             f"got {self.sources!r}")
        for source in self.sources:
            _check_name(source, f"{self.name}: source")
        if "input" in self.sources:  # its means would be the input's, never a feature
            raise ValueError(f"{self.name}: a concatenation joins layers, not the input; put a "
                             f"layer between")

    def output_shape(self, shapes: dict[str, _Shape]) -> _Shape:
        first = shapes[self.sources[0]]
        if any(shapes[s][:2] != first[:2] for s in self.sources):
            extents = ", ".join(f"{s} {shapes[s][0]} x {shapes[s][1]}" for s in self.sources)
            raise ValueError(f"{self.name}: inputs differ in time or frequency extent ({extents}); "
                             f"a concatenation joins maps of the same time x frequency")
        return first[0], first[1], sum(shapes[s][2] for s in self.sources)

    def describe(self) -> str:
        return "concat " + " ".join(self.sources)


_Layer = Union[Conv, MaxPoolTime, MeanFrequency, Concat]


@dataclass(frozen=True)
class Feature:
    """A feature layer: a layer whose means enter the embedding.

    Parameters
    ----------
    name : str
        The layer's name.
    collapse : int or None
        None (default): the mean of each channel. An int: one mean over time, frequency and
        every channel, zero-padded to ``collapse`` entries (the original frame-level
        back-end's one-number-per-layer behaviour, PAPER.md 1.3).

    Attributes
    ----------
    name, collapse
        As given.

    Raises
    ------
    ValueError
        When ``name`` is empty or ``collapse`` is not a positive integer.

    Examples
    --------
    >>> Feature("conv1")
    Feature(name='conv1', collapse=None)
    >>> Feature("backend1", collapse=40).collapse
    40
    """

    name: str
    collapse: Union[int, None] = None

    def __post_init__(self):
        _check_name(self.name, "feature layer")
        if self.collapse is not None:
            _check_positive(self.collapse, f"feature {self.name}: collapse")


@dataclass(frozen=True)
class _LayerSummary:
    name: str
    operation: str
    output_shape: _Shape
    parameters: int
    macs: int


@dataclass(frozen=True)
class NetworkSummary:
    """A network's layers, output shapes, parameters and MACs, as :meth:`Network.describe`
    returns them; ``str()`` renders it as a table.

    Parameters
    ----------
    arch, size : str
        The network's name and size.
    input_length : int
        The input length described.
    input_unit : str
        "samples" or "frames".
    layers : tuple
        Per layer: name, operation, output shape, parameters and MACs.
    n_features : int
        The embedding size.
    min_length : int
        The shortest input the network embeds.

    Attributes
    ----------
    parameters : int
        Weights and biases of every layer.
    macs : int
        Multiply-accumulates of every convolution.

    Examples
    --------
    >>> from randcnn_fast.network.architectures import build
    >>> summary = build("vgg", "small").describe(1280)
    >>> summary.n_features, summary.parameters
    (160, 37312)
    >>> print(summary)  # doctest: +ELLIPSIS
    vgg (small) on 1280 frames (minimum 1280)
    layer  operation ...
    """

    arch: str
    size: str
    input_length: int
    input_unit: str
    layers: tuple[_LayerSummary, ...]
    n_features: int
    min_length: int = 1

    @property
    def parameters(self) -> int:
        return sum(layer.parameters for layer in self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def __str__(self) -> str:
        head = (f"{self.arch} ({self.size}) on {self.input_length} {self.input_unit} "
                f"(minimum {self.min_length})")
        rows = [("layer", "operation", "output (T x F x C)", "parameters", "MACs")]
        for layer in self.layers:
            shape = " x ".join(str(n) for n in layer.output_shape)
            rows.append((layer.name, layer.operation, shape, f"{layer.parameters:,}", f"{layer.macs:,}"))
        rows.append(("total", f"{self.n_features} features", "", f"{self.parameters:,}", f"{self.macs:,}"))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [head]
        for row in rows:
            cells = [c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)


INPUT_KINDS = {"waveform": ("samples", 1), "logmel": ("frames", 96)}


@dataclass(frozen=True)
class Network:
    """An architecture at one size: layers in execution order and the feature layers.

    Parameters
    ----------
    arch : str
        The network's name.
    size : str
        Its size ("small", "paper" or a name of one's own).
    input_kind : str
        "waveform" (samples at 12 kHz) or "logmel" (frames of the 96-band spectrogram).
    default_length : int
        The input length (samples or frames) the network is checked and described at.
    layers : tuple
        The layers in execution order; each reads "input" or layers before it.
    features : tuple of Feature
        The layers whose means form the embedding.
    notes : str
        A free description, kept in the architecture file.

    Attributes
    ----------
    input_unit : str
        "samples" or "frames".
    n_features : int
        The embedding size.
    min_length : int
        The shortest input (samples or frames) the network can embed.

    Raises
    ------
    ValueError
        Naming the first inconsistency: a layer name used twice, a layer reading an unknown
        tensor, a kernel longer than its input, shapes that do not add up.

    Examples
    --------
    >>> from randcnn_fast.network.architectures import build
    >>> network = build("sample_level", "small")
    >>> network.input_kind, network.default_length, network.n_features
    ('waveform', 350000, 161)
    >>> network.min_length
    2187
    """

    arch: str
    size: str
    input_kind: str  # "waveform" or "logmel"
    default_length: int  # samples for a waveform, frames for a log-mel spectrogram
    layers: tuple[_Layer, ...]
    features: tuple[Feature, ...]
    notes: str = field(default="", compare=False)

    def __post_init__(self):
        _check_name(self.arch, "network name")
        _check_name(self.size, f"{self.arch}: size")
        if self.input_kind not in INPUT_KINDS:
            raise ValueError(f"{self.arch}: input must be one of {list(INPUT_KINDS)}, "
                             f"got {self.input_kind!r}")
        _check_positive(self.default_length, f"{self.arch}: default length")
        if not self.layers:
            raise ValueError(f"{self.arch}: the network has no layers")
        known = {"input"}
        names = [layer.name for layer in self.layers]
        for layer in self.layers:
            if layer.name in known:
                raise ValueError(f"{self.arch}: layer name {layer.name!r} is used twice "
                                 f"('input' is the network's input); give each layer its own name")
            missing = [s for s in layer.sources if s not in known]
            if missing:
                later = [s for s in missing if s in names]
                why = ("which come after it: a layer reads only layers before it" if later
                       else "not in the network")
                raise ValueError(f"{self.arch}: {layer.name} reads unknown tensors {missing}, {why}")
            known.add(layer.name)
        if not self.features:
            raise ValueError(f"{self.arch}: no feature layers: name the layers whose per-channel "
                             f"means form the embedding")
        missing = [f.name for f in self.features if f.name not in known or f.name == "input"]
        if missing:
            raise ValueError(f"{self.arch}: feature layers {missing} are not in the network")
        self._check_shapes()

    def _check_shapes(self) -> None:
        """Every layer at the default length: a ValueError naming the first layer whose kernel
        is longer than its padded input, whose pooling leaves nothing, or whose residual or
        concatenation inputs do not fit."""
        length = self.default_length
        shapes = {"input": self.input_shape(length)}
        for layer in self.layers:
            source = shapes[layer.sources[0]]
            where = f"{self.arch}: {layer.name}"
            if isinstance(layer, Conv):
                pads = layer.paddings(source)
                padded = (source[0] + pads[0] + pads[1], source[1] + pads[2] + pads[3])
                for axis, size, kernel in zip(("time", "frequency"), padded, layer.kernel):
                    if size < kernel:
                        raise ValueError(
                            f"{where}: its {axis} kernel ({kernel}) is longer than its padded "
                            f"input ({size}) at the default length {length}; use a smaller "
                            f"kernel, more padding or a longer default length")
            shape = layer.output_shape(shapes)
            if shape[0] < 1 or shape[1] < 1:
                raise ValueError(f"{where}: pooling leaves nothing of its {source[0]} x "
                                 f"{source[1]} input at the default length {length}; use a "
                                 f"smaller pool or a longer default length")
            if isinstance(layer, Conv) and layer.residual is not None:
                other = shapes[layer.residual]
                if other != shape:
                    raise ValueError(f"{where}: its output ({' x '.join(map(str, shape))}) and "
                                     f"the residual {layer.residual} "
                                     f"({' x '.join(map(str, other))}) differ in shape; a "
                                     f"residual adds a map of the output's time x frequency x "
                                     f"channels")
            shapes[layer.name] = shape

    def save(self, path) -> None:
        """Write the network as an architecture file.

        Parameters
        ----------
        path : str or os.PathLike
            Ends in ``.toml`` or ``.json``, which decides the form;
            :func:`randcnn_fast.load_architecture` reads it back into an equal network.

        Raises
        ------
        ValueError
            For any other suffix.

        Examples
        --------
        >>> from randcnn_fast import load_architecture
        >>> from randcnn_fast.network.architectures import build
        >>> network = build("vgg", "small")
        >>> network.save("vgg.toml")
        >>> load_architecture("vgg.toml") == network
        True
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".toml", ".json"):
            raise ValueError(f"{path}: an architecture file ends in .toml or .json")
        data = self.to_dict()
        text = _to_toml(data) if suffix == ".toml" else json.dumps(data, indent=1) + "\n"
        path.write_text(text, encoding="utf-8")

    def to_dict(self) -> dict:
        """Return the description as an architecture file holds it.

        Returns
        -------
        dict
            ``name``, ``size``, ``input``, ``length``, ``embedding``, ``layer`` (and
            ``description`` when there are notes);
            :func:`randcnn_fast.network.archfile.network_from_dict` reads it back.

        Examples
        --------
        >>> from randcnn_fast.network.architectures import build
        >>> data = build("vgg", "small").to_dict()
        >>> data["name"], data["input"], len(data["layer"])
        ('vgg', 'logmel', 5)
        """
        data = {"name": self.arch, "size": self.size, "input": self.input_kind,
                "length": self.default_length}
        if self.notes:
            data["description"] = self.notes
        data["embedding"] = [f.name if f.collapse is None else {"layer": f.name, "collapse": f.collapse}
                             for f in self.features]
        data["layer"] = [_layer_dict(layer) for layer in self.layers]
        return data

    @property
    def input_unit(self) -> str:
        return INPUT_KINDS[self.input_kind][0]

    def input_shape(self, length: int) -> _Shape:
        """Return the (time, frequency, channels) shape of an input of ``length``.

        Parameters
        ----------
        length : int
            Samples or frames.

        Returns
        -------
        tuple of int
            (length, 1, 1) for a waveform, (length, 96, 1) for a log-mel spectrogram.

        Examples
        --------
        >>> from randcnn_fast.network.architectures import build
        >>> build("vgg", "small").input_shape(100)
        (100, 96, 1)
        """
        return int(length), INPUT_KINDS[self.input_kind][1], 1

    def shapes(self, length: int) -> dict[str, _Shape]:
        """Infer the (time, frequency, channels) of every tensor for an input of ``length``.

        Parameters
        ----------
        length : int
            Samples or frames.

        Returns
        -------
        dict of str to tuple of int
            "input" and every layer, in execution order.

        Examples
        --------
        >>> from randcnn_fast.network.architectures import build
        >>> build("vgg", "small").shapes(1000)["conv1"]
        (250, 48, 32)
        """
        shapes = {"input": self.input_shape(length)}
        for layer in self.layers:
            shapes[layer.name] = layer.output_shape(shapes)
        return shapes

    @property
    def n_features(self) -> int:
        shapes = self.shapes(self.default_length)
        return sum(f.collapse or shapes[f.name][2] for f in self.features)

    def accepts(self, length: int) -> bool:
        """Tell whether an input of ``length`` leaves every tensor non-empty.

        Parameters
        ----------
        length : int
            Samples or frames.

        Returns
        -------
        bool
            True if every tensor has at least one time and one frequency position.

        Examples
        --------
        >>> from randcnn_fast.network.architectures import build
        >>> network = build("vgg", "small")
        >>> network.accepts(1280), network.accepts(1279)
        (True, False)
        """
        return length >= 1 and all(t >= 1 and f >= 1 for t, f, _ in self.shapes(length).values())

    @functools.cached_property
    def min_length(self) -> int:
        """The shortest input (samples or frames) the network can embed (computed once)."""
        high = 1
        while not self.accepts(high):
            high *= 2
        low = high // 2  # accepts() is monotone in the length, so bisect
        while low + 1 < high:
            mid = (low + high) // 2
            if self.accepts(mid):
                high = mid
            else:
                low = mid
        return high

    def describe(self, length: int | None = None) -> NetworkSummary:
        """Summarise layers, output shapes, parameter counts and MACs for an input.

        MACs count convolutions only, densely ('same' padding zeros included).

        Parameters
        ----------
        length : int, optional
            Samples or frames; the network's default length when None.

        Returns
        -------
        NetworkSummary
            ``str()`` of it is a table.

        Raises
        ------
        ValueError
            When the network cannot embed an input of ``length``.

        Examples
        --------
        >>> from randcnn_fast.network.architectures import build
        >>> summary = build("vgg", "small").describe()
        >>> summary.input_length, summary.n_features
        (1376, 160)
        """
        length = self.default_length if length is None else int(length)
        if not self.accepts(length):
            raise ValueError(f"{self.arch} needs at least {self.min_length} {self.input_unit}, "
                             f"got {length}")
        shapes = self.shapes(length)
        rows = []
        for layer in self.layers:
            is_conv = isinstance(layer, Conv)
            c_in = shapes[layer.sources[0]][2]
            params = 0
            if is_conv:
                k = layer.kernel[0] * layer.kernel[1]
                params = layer.out_channels * (c_in * k + 1)
            rows.append(_LayerSummary(layer.name, layer.describe(), shapes[layer.name], params,
                                      layer.macs(shapes) if is_conv else 0))
        return NetworkSummary(self.arch, self.size, length, self.input_unit, tuple(rows),
                              self.n_features, self.min_length)


# --------------------------------------------------------------------------- the file form


def _padding_value(padding):
    return padding if isinstance(padding, str) else [int(padding[0]), int(padding[1])]


def _layer_dict(layer) -> dict:
    if isinstance(layer, MeanFrequency):
        return {"name": layer.name, "type": "mean_frequency", "source": layer.source}
    if isinstance(layer, MaxPoolTime):
        return {"name": layer.name, "type": "maxpool_time", "source": layer.source,
                "pool": int(layer.pool)}
    if isinstance(layer, Concat):
        return {"name": layer.name, "type": "concat", "sources": list(layer.sources)}
    table = {"name": layer.name, "type": f"conv{layer.dims}d", "source": layer.source,
             "channels": int(layer.out_channels)}
    if layer.dims == 1:
        table.update(kernel=int(layer.kernel[0]), stride=int(layer.stride[0]),
                     padding=_padding_value(layer.padding[0]), activation=layer.activation,
                     pool=int(layer.pool[0]))
    else:
        table.update(kernel=[int(k) for k in layer.kernel], stride=[int(s) for s in layer.stride],
                     padding=[_padding_value(p) for p in layer.padding],
                     activation=layer.activation,
                     pool=[int(layer.pool[0]), "all" if layer.pool[1] is None else int(layer.pool[1])])
    if layer.residual is not None:
        table["residual"] = layer.residual
    return table


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {value!r}")


def _to_toml(data: dict) -> str:
    """A description as TOML: the top-level fields, then one [[layer]] table per layer."""
    lines = ["# A randcnn_fast architecture; docs/architectures.md lists every field."]
    lines += [f"{key} = {_toml_value(value)}" for key, value in data.items() if key != "layer"]
    for table in data["layer"]:
        lines += ["", "[[layer]]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"
