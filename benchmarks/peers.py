"""Peer implementations of randcnn_fast networks for side-by-side benchmarks.

:class:`TorchNetwork` rebuilds any :class:`randcnn_fast.network.Network` as a PyTorch module
from the description alone, with the exact weights of :meth:`randcnn_fast.Embedder.parameters`;
:func:`onnx_runner` wraps the package's own ONNX Runtime export. Both take the input maps the
native executor takes, (time, frequency, 1), and return the same embedding.

The torch module works in NCHW with H = time and W = frequency, as the ONNX export does:

* a convolution is ``conv2d`` (a 1-D layer's (out, in, k) weight becomes (out, in, k, 1));
  TensorFlow 'same' and explicit paddings are resolved per layer for the length the module is
  built for, passed to ``conv2d`` when symmetric and applied with ``F.pad`` when not;
* the epilogue is the activation (ReLU or ELU), a 'valid' ``max_pool2d`` whose stride is its
  window (a frequency pool of ``None`` spans every frequency position), then the residual add;
* :class:`~randcnn_fast.network.MaxPoolTime` is ``max_pool2d`` over time,
  :class:`~randcnn_fast.network.MeanFrequency` a mean over W, :class:`~randcnn_fast.network.Concat`
  a ``cat`` over channels;
* a feature is the mean of each channel over (H, W), or with ``collapse=c`` one mean over every
  channel and position followed by ``c - 1`` zeros (as :func:`randcnn_fast.executor.run_native`).

torch is imported lazily: importing this module never requires it.
"""
from __future__ import annotations

from collections import Counter
from typing import Mapping

import numpy as np

from randcnn_fast.network import Concat, Conv, MaxPoolTime, MeanFrequency, Network


def _torch():
    import torch

    return torch


def TorchNetwork(network: Network, params: Mapping[str, np.ndarray], length: int | None = None):
    """A ``torch.nn.Module`` computing ``network``'s embedding with ``params``.

    ``length`` (samples or frames; default the network's default length) fixes the 'same'
    paddings, which for strided layers depend on it; the module then accepts only that length.
    Calling it on a (time, freq, 1) map (numpy array or tensor) returns a float32 tensor
    (n_features,); :meth:`embed` does the same under ``torch.inference_mode`` and returns numpy.
    """
    return _build_torch_network()(network, params, length)


_TORCH_CLASS = None


def _build_torch_network():
    """The module class, defined on first use so that torch is only imported when needed."""
    global _TORCH_CLASS
    if _TORCH_CLASS is not None:
        return _TORCH_CLASS
    torch = _torch()
    import torch.nn.functional as F

    class _TorchNetwork(torch.nn.Module):
        def __init__(self, network: Network, params: Mapping[str, np.ndarray], length=None):
            super().__init__()
            self.network = network
            self.length = network.default_length if length is None else int(length)
            if not network.accepts(self.length):
                raise ValueError(f"{network.arch} needs at least {network.min_length} "
                                 f"{network.input_unit}, got {self.length}")
            shapes = network.shapes(self.length)
            self.input_shape = shapes["input"]
            self.n_features = network.n_features
            # Per convolution: the conv2d padding (symmetric part) and the F.pad amounts
            # (asymmetric case), and the max-pool window.
            self.plans: dict[str, dict] = {}
            for layer in network.layers:
                if not isinstance(layer, Conv):
                    continue
                shape = shapes[layer.source]
                weight = np.asarray(params[f"{layer.name}.weight"], dtype=np.float32)
                expected = layer.weight_shape(shape[2])
                if weight.shape != expected:
                    raise ValueError(f"{layer.name}.weight has shape {weight.shape}, expected {expected}")
                if layer.dims == 1:
                    weight = weight[..., None]  # (out, in, k) -> (out, in, k, 1)
                bias = np.asarray(params[f"{layer.name}.bias"], dtype=np.float32)
                key = layer.name.replace(".", "_")
                self.register_buffer(f"w_{key}", torch.from_numpy(np.ascontiguousarray(weight)))
                self.register_buffer(f"b_{key}", torch.from_numpy(bias.copy()))
                t0, t1, f0, f1 = layer.paddings(shape)
                if t0 == t1 and f0 == f1:
                    conv_pad, pre_pad = (t0, f0), None
                else:  # F.pad takes the last axis (W = frequency) first
                    conv_pad, pre_pad = (0, 0), (f0, f1, t0, t1)
                self.plans[layer.name] = dict(key=key, conv_pad=conv_pad, pre_pad=pre_pad,
                                              pool=layer.pool_window(shape))
            # Drop each tensor after its last reader, as the native executor does.
            readers = Counter(s for layer in network.layers for s in layer.sources)
            self.keep = set(readers)
            self.last_use: dict[str, list[str]] = {}
            remaining = Counter(readers)
            for layer in network.layers:
                done = []
                for s in layer.sources:
                    remaining[s] -= 1
                    if remaining[s] == 0:
                        done.append(s)
                self.last_use[layer.name] = done

        def _conv(self, layer: Conv, x, residual):
            plan = self.plans[layer.name]
            if plan["pre_pad"] is not None:
                x = F.pad(x, plan["pre_pad"])
            y = F.conv2d(x, getattr(self, f"w_{plan['key']}"), getattr(self, f"b_{plan['key']}"),
                         stride=layer.stride, padding=plan["conv_pad"])
            if layer.activation == "relu":
                y = F.relu(y)
            elif layer.activation == "elu":
                y = F.elu(y)
            if plan["pool"] != (1, 1):
                y = F.max_pool2d(y, kernel_size=plan["pool"], stride=plan["pool"])
            if residual is not None:
                y = y + residual
            return y

        def forward(self, x):
            if isinstance(x, np.ndarray):
                x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
            if tuple(x.shape) != self.input_shape:
                raise ValueError(f"expected an input map of shape {self.input_shape}, got "
                                 f"{tuple(x.shape)}")
            tensors = {"input": x[..., 0][None, None]}  # (T, F, 1) -> (1, 1, T, F)
            means = {}
            features = {f.name for f in self.network.features}
            for layer in self.network.layers:
                if isinstance(layer, Conv):
                    residual = tensors[layer.residual] if layer.residual else None
                    y = self._conv(layer, tensors[layer.source], residual)
                elif isinstance(layer, MaxPoolTime):
                    y = F.max_pool2d(tensors[layer.source], kernel_size=(layer.pool, 1),
                                     stride=(layer.pool, 1))
                elif isinstance(layer, MeanFrequency):
                    y = tensors[layer.source].mean(dim=3, keepdim=True)
                elif isinstance(layer, Concat):
                    y = torch.cat([tensors[s] for s in layer.sources], dim=1)
                else:
                    raise TypeError(f"{self.network.arch}: no torch peer for layer {layer!r}")
                if layer.name in features:
                    means[layer.name] = y.mean(dim=(0, 2, 3))
                for s in self.last_use[layer.name]:
                    tensors.pop(s, None)
                if layer.name in self.keep:
                    tensors[layer.name] = y
            parts = []
            for feature in self.network.features:
                m = means[feature.name]
                if feature.collapse:
                    row = torch.zeros(feature.collapse, dtype=m.dtype)
                    row[0] = m.mean()
                    m = row
                parts.append(m)
            return torch.cat(parts)

        def embed(self, x) -> np.ndarray:
            """The embedding of one (time, freq, 1) map as float32 numpy (n_features,)."""
            with torch.inference_mode():
                return self(x).numpy()

    _TORCH_CLASS = _TorchNetwork
    return _TORCH_CLASS


def onnx_runner(embedder, n_threads: int = 2):
    """ONNX Runtime (CPU) on the embedder's exported network and weights."""
    from randcnn_fast.onnx_backend import OnnxRunner

    return OnnxRunner(embedder.network, embedder.parameters(), length=embedder.length,
                      device="cpu", n_threads=n_threads)


def input_map(embedder, data: np.ndarray) -> np.ndarray:
    """The (time, freq, 1) map the three implementations take: a waveform (samples,) or
    log-mel frames (frames, 96) already at the embedder's length."""
    data = np.ascontiguousarray(data, dtype=np.float32)
    if data.ndim == 1:
        return data.reshape(-1, 1, 1)
    return data[:, :, None]


def print_section(config, title: str, lines) -> None:
    """Write a titled block of lines to the terminal with pytest's output capture suspended
    (for session-scoped fixtures that report at teardown, after every row was timed)."""
    lines = list(lines)
    reporter = config.pluginmanager.getplugin("terminalreporter")
    capture = config.pluginmanager.getplugin("capturemanager")

    def write():
        if reporter is not None:
            reporter.write_line("")
            reporter.section(title)
            for line in lines:
                reporter.write_line(line)
        else:
            print(f"\n== {title} ==")
            for line in lines:
                print(line)

    if capture is not None:
        with capture.global_and_fixture_disabled():
            write()
    else:
        write()
