"""Peer implementations of randcnn_fast networks for side-by-side benchmarks.

:class:`TorchNetwork` rebuilds any :class:`randcnn_fast.network.layers.Network` as a PyTorch module
from the description alone, with the exact weights of :meth:`randcnn_fast.Embedder.parameters`;
:class:`OnnxPeer` runs the same network on ONNX Runtime (CPU). Both are built as a user of
those frameworks would write them, so that the comparison does not flatter randcnn_fast:

* a waveform network (every layer 1-D over time, :func:`is_waveform_1d`) runs in 1-D: torch
  ``conv1d`` / ``max_pool1d`` on (N, C, T), and an ONNX graph of 1-D Conv and MaxPool nodes
  (:func:`waveform_onnx_model`, built here from the description);
* a spectrogram network runs in 2-D, NCHW with H = time and W = frequency: torch ``conv2d``
  (a 1-D layer's (out, in, k) weight becomes (out, in, k, 1)), and the package's own ONNX
  export (:func:`randcnn_fast.backends.onnx_runtime.build_model`).

Per convolution, TensorFlow 'same' and explicit paddings are resolved for the length the peer
is built for, passed to the convolution when symmetric and applied with ``F.pad`` when not
(ONNX takes asymmetric pads directly); the epilogue is the activation (ReLU or ELU), a 'valid'
max-pool whose stride is its window (a frequency pool of ``None`` spans every frequency
position), then the residual add. :class:`~randcnn_fast.network.layers.MaxPoolTime` is a max-pool over
time, :class:`~randcnn_fast.network.layers.MeanFrequency` a mean over W,
:class:`~randcnn_fast.network.layers.Concat` a concatenation over channels. A feature is the mean of
each channel over every position, or with ``collapse=c`` one mean over every channel and
position followed by ``c - 1`` zeros (as :func:`randcnn_fast.backends.native.run_native`).

Both peers take the input maps the native executor takes, (time, freq, 1), and return the same
embedding. torch, onnx and onnxruntime are imported lazily: importing this module needs none.
"""
from __future__ import annotations

from collections import Counter
from typing import Mapping

import numpy as np

from randcnn_fast.network.layers import Concat, Conv, MaxPoolTime, MeanFrequency, Network


def _torch():
    import torch

    return torch


def is_waveform_1d(network: Network) -> bool:
    """True if every layer of ``network`` is 1-D over time on a waveform: what torch and ONNX
    users write with 1-D convolutions and pools."""
    return network.input_kind == "waveform" and all(
        layer.dims == 1 if isinstance(layer, Conv) else isinstance(layer, (MaxPoolTime, Concat))
        for layer in network.layers)


def TorchNetwork(network: Network, params: Mapping[str, np.ndarray], length: int | None = None):
    """A ``torch.nn.Module`` computing ``network``'s embedding with ``params``.

    ``length`` (samples or frames; default the network's default length) fixes the 'same'
    paddings, which for strided layers depend on it; the module then accepts only that length.
    Calling it on a (time, freq, 1) map (numpy array or tensor) returns a float32 tensor
    (n_features,); :meth:`embed` does the same under ``torch.inference_mode`` and returns numpy.
    ``module.to(torch.bfloat16)`` runs it in bf16 (the input is cast to the weights' type, the
    channel means are accumulated in float32).
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
            self.one_d = is_waveform_1d(network)
            self.conv = F.conv1d if self.one_d else F.conv2d
            self.max_pool = F.max_pool1d if self.one_d else F.max_pool2d
            shapes = network.shapes(self.length)
            self.input_shape = shapes["input"]
            self.n_features = network.n_features
            # Per convolution: its stride, the padding the convolution takes (symmetric part),
            # the F.pad amounts (asymmetric case) and the max-pool window (None: no pool).
            self.plans: dict[str, dict] = {}
            for layer in network.layers:
                if not isinstance(layer, Conv):
                    continue
                shape = shapes[layer.source]
                weight = np.asarray(params[f"{layer.name}.weight"], dtype=np.float32)
                expected = layer.weight_shape(shape[2])
                if weight.shape != expected:
                    raise ValueError(f"{layer.name}.weight has shape {weight.shape}, expected {expected}")
                if layer.dims == 1 and not self.one_d:
                    weight = weight[..., None]  # (out, in, k) -> (out, in, k, 1)
                bias = np.asarray(params[f"{layer.name}.bias"], dtype=np.float32)
                key = layer.name.replace(".", "_")
                self.register_buffer(f"w_{key}", torch.from_numpy(np.ascontiguousarray(weight)))
                self.register_buffer(f"b_{key}", torch.from_numpy(bias.copy()))
                t0, t1, f0, f1 = layer.paddings(shape)
                window = layer.pool_window(shape)
                if self.one_d:
                    stride, pool = layer.stride[0], window[0]
                    conv_pad, pre_pad = (t0, None) if t0 == t1 else (0, (t0, t1))
                else:  # F.pad takes the last axis (W = frequency) first
                    stride, pool = layer.stride, window
                    conv_pad, pre_pad = (((t0, f0), None) if t0 == t1 and f0 == f1
                                         else ((0, 0), (f0, f1, t0, t1)))
                self.plans[layer.name] = dict(key=key, stride=stride, conv_pad=conv_pad,
                                              pre_pad=pre_pad,
                                              pool=None if window == (1, 1) else pool)
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
            y = self.conv(x, getattr(self, f"w_{plan['key']}"), getattr(self, f"b_{plan['key']}"),
                          stride=plan["stride"], padding=plan["conv_pad"])
            if layer.activation == "relu":
                y = F.relu(y)
            elif layer.activation == "elu":
                y = F.elu(y)
            if plan["pool"] is not None:
                y = self.max_pool(y, kernel_size=plan["pool"], stride=plan["pool"])
            if residual is not None:
                y = y + residual
            return y

        def forward(self, x):
            if isinstance(x, np.ndarray):
                x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
            if tuple(x.shape) != self.input_shape:
                raise ValueError(f"expected an input map of shape {self.input_shape}, got "
                                 f"{tuple(x.shape)}")
            x = x.to(self.w_dtype)
            # (T, 1, 1) -> (1, 1, T) in 1-D; (T, F, 1) -> (1, 1, T, F) in 2-D
            tensors = {"input": x[:, 0, 0][None, None] if self.one_d else x[..., 0][None, None]}
            means = {}
            features = {f.name for f in self.network.features}
            for layer in self.network.layers:
                if isinstance(layer, Conv):
                    residual = tensors[layer.residual] if layer.residual else None
                    y = self._conv(layer, tensors[layer.source], residual)
                elif isinstance(layer, MaxPoolTime):
                    window = layer.pool if self.one_d else (layer.pool, 1)
                    y = self.max_pool(tensors[layer.source], kernel_size=window, stride=window)
                elif isinstance(layer, MeanFrequency):
                    y = tensors[layer.source].mean(dim=3, keepdim=True)
                elif isinstance(layer, Concat):
                    y = torch.cat([tensors[s] for s in layer.sources], dim=1)
                else:
                    raise TypeError(f"{self.network.arch}: no torch peer for layer {layer!r}")
                if layer.name in features:  # per channel over every position, in float32
                    means[layer.name] = y[0].flatten(1).mean(1, dtype=torch.float32)
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

        @property
        def w_dtype(self):
            """The weights' dtype (float32, or bfloat16 after ``.to(torch.bfloat16)``)."""
            return next(self.buffers()).dtype

        def embed(self, x) -> np.ndarray:
            """The embedding of one (time, freq, 1) map as float32 numpy (n_features,)."""
            with torch.inference_mode():
                return self(x).numpy()

    _TORCH_CLASS = _TorchNetwork
    return _TORCH_CLASS


def waveform_onnx_model(network: Network, params: Mapping[str, np.ndarray], length: int):
    """A waveform network (:func:`is_waveform_1d`) as the ONNX graph a user would write.

    Input ``"input"`` float32 [1, 1, samples] with samples = ``length`` fixed, so every padding
    is a constant; 1-D Conv nodes with the (out, in, k) weights as they are, Relu or Elu, 1-D
    MaxPool, Add for residuals, Concat over channels; output ``"embedding"`` [1, n_features].
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from randcnn_fast.backends.onnx_runtime import IR_VERSION, OPSET

    if not is_waveform_1d(network):
        raise ValueError(f"{network.arch} is not a 1-D waveform network")
    length = int(length)
    if not network.accepts(length):
        raise ValueError(f"{network.arch} needs at least {network.min_length} "
                         f"{network.input_unit}, got {length}")
    shapes = network.shapes(length)
    nodes, initializers = [], []

    def add(op, inputs, output, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def constant(name, value):
        initializers.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    for layer in network.layers:
        if isinstance(layer, Conv):
            shape = shapes[layer.source]
            t0, t1, _, _ = layer.paddings(shape)
            y = add("Conv", [layer.source, constant(f"{layer.name}.weight", params[f"{layer.name}.weight"]),
                             constant(f"{layer.name}.bias", params[f"{layer.name}.bias"])],
                    f"{layer.name}/conv", kernel_shape=[layer.kernel[0]],
                    strides=[layer.stride[0]], pads=[t0, t1])
            if layer.activation != "none":
                op = {"relu": "Relu", "elu": "Elu"}[layer.activation]
                y = add(op, [y], f"{layer.name}/{layer.activation}")
            pool = layer.pool_window(shape)[0]
            if pool > 1:
                y = add("MaxPool", [y], f"{layer.name}/pool", kernel_shape=[pool], strides=[pool])
            if layer.residual is not None:
                y = add("Add", [y, layer.residual], f"{layer.name}/residual")
            add("Identity", [y], layer.name)
        elif isinstance(layer, MaxPoolTime):
            add("MaxPool", [layer.source], layer.name, kernel_shape=[layer.pool],
                strides=[layer.pool])
        else:  # Concat: is_waveform_1d admits nothing else
            add("Concat", list(layer.sources), layer.name, axis=1)

    parts = []
    for i, feature in enumerate(network.features):
        means = add("ReduceMean", [feature.name], f"feature{i}/means", axes=[2], keepdims=0)
        if feature.collapse:  # one mean of everything, then collapse - 1 zeros
            parts.append(add("ReduceMean", [means], f"feature{i}/all", axes=[1], keepdims=1))
            if feature.collapse > 1:
                parts.append(constant(f"feature{i}/zeros", np.zeros((1, feature.collapse - 1))))
        else:
            parts.append(means)
    add("Concat", parts, "embedding", axis=1)

    graph = helper.make_graph(
        nodes, f"{network.arch}_{network.size}_1d",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, length])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, network.n_features])],
        initializer=initializers)
    model = helper.make_model(graph, producer_name="randcnn_fast-benchmarks",
                              ir_version=IR_VERSION, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model, full_check=True)
    return model


class OnnxPeer:
    """ONNX Runtime (CPU) on an embedder's network and weights: the 1-D graph of
    :func:`waveform_onnx_model` for a waveform network, the package's 2-D export otherwise.

    The session runs ``n_threads`` intra-op threads, one inter-op thread, nodes in sequence.
    """

    def __init__(self, embedder, n_threads: int):
        import onnxruntime

        from randcnn_fast.backends.onnx_runtime import build_model

        network, params = embedder.network, embedder.parameters()
        self.one_d = is_waveform_1d(network)
        build = waveform_onnx_model if self.one_d else build_model
        self.model = build(network, params, embedder.length)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = n_threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self.session = onnxruntime.InferenceSession(self.model.SerializeToString(), options,
                                                    providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def embed(self, x: np.ndarray) -> np.ndarray:
        """The embedding of one (time, freq, 1) map as float32 numpy (n_features,)."""
        x = np.asarray(x, dtype=np.float32)
        batch = x[None, None, :, 0, 0] if self.one_d else x[None, None, :, :, 0]
        return self.session.run(None, {self.input_name: np.ascontiguousarray(batch)})[0][0]


def user_input_map(embedder, path) -> np.ndarray:
    """A file's (time, freq, 1) map as a user of a peer would make it: ``soundfile.read``, the
    mean of the channels, soxr's HQ resampling to 12 kHz, the log-mel for a spectrogram model
    (the network's defined input), repeat-padded to the embedder's length. Lighter than
    randcnn_fast's decoding, which also checks the file (truncation, NaN, header lengths)."""
    import soundfile
    import soxr

    from randcnn_fast.frontend.spectrogram import logmel
    from randcnn_fast.input.clips import fix_length

    samples, sr = soundfile.read(path, dtype="float32", always_2d=True)
    clip = samples.mean(axis=1)
    if sr != 12000:
        clip = soxr.resample(clip, sr, 12000, quality="HQ")
    data = clip if embedder.network.input_kind == "waveform" else logmel(clip)
    return input_map(embedder, fix_length(data, embedder.length, "repeat", name=str(path)))


def input_map(embedder, data: np.ndarray) -> np.ndarray:
    """The (time, freq, 1) map the three implementations take: a waveform (samples,) or
    log-mel frames (frames, 96) already at the embedder's length."""
    data = np.ascontiguousarray(data, dtype=np.float32)
    if data.ndim == 1:
        return data.reshape(-1, 1, 1)
    return data[:, :, None]
