"""Networks as data: layer descriptions, shape inference and cost accounting.

A network is a tuple of layers plus the names of the layers whose per-channel means form the
embedding. The same description drives weight creation (:mod:`randcnn_fast.weights`), the native
executor (:mod:`randcnn_fast.executor`) and :meth:`Network.describe`.
"""
from __future__ import annotations

from dataclasses import dataclass

ACTIVATIONS = ("none", "relu")
PADDINGS = ("valid", "same")


@dataclass(frozen=True)
class Conv1d:
    """A 1-D convolution over time (channels last) with its fused epilogue.

    The layer computes ``pool(activation(conv(x) + bias))``: TensorFlow-style 'valid' or 'same'
    padding, then a 'valid' max-pool over time whose window and stride are both ``pool``
    (1 = no pooling). The layer's output, and its feature means, are the pooled map.
    """

    name: str
    source: str
    out_channels: int
    kernel: int
    stride: int = 1
    padding: str = "valid"
    activation: str = "relu"
    pool: int = 1

    def __post_init__(self):
        if self.padding not in PADDINGS:
            raise ValueError(f"{self.name}: padding must be one of {PADDINGS}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"{self.name}: activation must be one of {ACTIVATIONS}")
        if min(self.out_channels, self.kernel, self.stride, self.pool) < 1:
            raise ValueError(f"{self.name}: channels, kernel, stride and pool must be >= 1")

    def padding_amounts(self, length: int) -> tuple[int, int]:
        """Zeros (before, after) the input of ``length`` rows, as TensorFlow pads.

        'same' gives ``ceil(length / stride)`` outputs and puts the odd zero at the end.
        """
        if self.padding == "valid":
            return 0, 0
        out = -(-length // self.stride)
        total = max((out - 1) * self.stride + self.kernel - length, 0)
        return total // 2, total - total // 2

    def conv_length(self, length: int) -> int:
        """Rows of the convolution output (before pooling) for ``length`` input rows."""
        left, right = self.padding_amounts(length)
        padded = length + left + right
        return 0 if padded < self.kernel else (padded - self.kernel) // self.stride + 1

    def output_length(self, length: int) -> int:
        """Rows of the pooled output for ``length`` input rows."""
        return self.conv_length(length) // self.pool


@dataclass(frozen=True)
class LayerSummary:
    name: str
    operation: str
    output_shape: tuple[int, int]
    parameters: int
    macs: int


@dataclass(frozen=True)
class NetworkSummary:
    """What :meth:`Network.describe` returns; ``str()`` renders it as a table."""

    arch: str
    size: str
    input_length: int
    layers: tuple[LayerSummary, ...]
    n_features: int

    @property
    def parameters(self) -> int:
        return sum(layer.parameters for layer in self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def __str__(self) -> str:
        head = f"{self.arch} ({self.size}) on {self.input_length} samples"
        rows = [("layer", "operation", "output (T x C)", "parameters", "MACs")]
        for layer in self.layers:
            shape = f"{layer.output_shape[0]} x {layer.output_shape[1]}"
            rows.append((layer.name, layer.operation, shape, f"{layer.parameters:,}", f"{layer.macs:,}"))
        rows.append(("total", f"{self.n_features} features", "", f"{self.parameters:,}", f"{self.macs:,}"))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [head]
        for row in rows:
            cells = [cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)


@dataclass(frozen=True)
class Network:
    """An architecture at one size: layers in execution order and the feature layers."""

    arch: str
    size: str
    input_kind: str
    default_length: int
    layers: tuple[Conv1d, ...]
    features: tuple[str, ...]

    def __post_init__(self):
        known = {"input"}
        for layer in self.layers:
            if layer.source not in known:
                raise ValueError(f"{self.arch}: {layer.name} reads unknown tensor {layer.source!r}")
            known.add(layer.name)
        missing = [name for name in self.features if name not in known]
        if missing:
            raise ValueError(f"{self.arch}: feature layers {missing} are not in the network")

    @property
    def n_features(self) -> int:
        channels = {layer.name: layer.out_channels for layer in self.layers}
        return sum(channels[name] for name in self.features)

    def input_channels(self) -> dict[str, int]:
        """Input channels of every layer, by layer name."""
        channels = {"input": 1}
        result = {}
        for layer in self.layers:
            result[layer.name] = channels[layer.source]
            channels[layer.name] = layer.out_channels
        return result

    def output_lengths(self, length: int) -> dict[str, int]:
        """Pooled output rows of every layer for an input of ``length`` samples."""
        lengths = {"input": length}
        for layer in self.layers:
            lengths[layer.name] = layer.output_length(lengths[layer.source])
        del lengths["input"]
        return lengths

    def accepts(self, length: int) -> bool:
        """True if every layer gives at least one output row for ``length`` input samples."""
        return length >= 1 and min(self.output_lengths(length).values()) >= 1

    def min_length(self) -> int:
        """The shortest input (in samples) the network can embed."""
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
        """Layers, output shapes, parameter counts and MACs for an input of ``length`` samples.

        MACs count convolutions only, densely ('same' padding zeros included).
        """
        length = self.default_length if length is None else int(length)
        if not self.accepts(length):
            raise ValueError(
                f"{self.arch} needs at least {self.min_length()} samples, got {length}")
        in_channels = self.input_channels()
        lengths = {"input": length}
        rows = []
        for layer in self.layers:
            c_in = in_channels[layer.name]
            conv_rows = layer.conv_length(lengths[layer.source])
            lengths[layer.name] = layer.output_length(lengths[layer.source])
            operation = f"conv k{layer.kernel} s{layer.stride} {layer.padding}, {layer.activation}"
            if layer.pool > 1:
                operation += f", maxpool {layer.pool}"
            rows.append(LayerSummary(
                name=layer.name,
                operation=operation,
                output_shape=(lengths[layer.name], layer.out_channels),
                parameters=layer.out_channels * (c_in * layer.kernel + 1),
                macs=conv_rows * layer.out_channels * c_in * layer.kernel,
            ))
        return NetworkSummary(self.arch, self.size, length, tuple(rows), self.n_features)
