"""An ONNX Runtime backend: a network description exported as an ONNX graph and run on it.

:func:`build_model` turns a :class:`~randcnn_fast.network.layers.Network` and its parameters (the
PyTorch/ONNX layout of :meth:`randcnn_fast.Embedder.parameters`) into an ``onnx.ModelProto``
(opset :data:`OPSET`); :class:`OnnxRunner` holds one ``onnxruntime.InferenceSession`` for it
and embeds the same input maps the native executor takes, with the same result up to float32
rounding.

The graph works in NCHW with H = time and W = frequency:

* input ``"input"``: float32 ``[batch, 1, time, freq]`` (freq 1 for waveform models, 96 for
  log-mel models);
* output ``"embedding"``: float32 ``[batch, n_features]``, the per-channel means of each feature
  layer in order; a feature with ``collapse=c`` gives one mean over every channel, time and
  frequency position followed by ``c - 1`` zeros (as :func:`randcnn_fast.backends.native.run_native`).

The batch axis is always dynamic. The time axis is dynamic whenever no layer's padding depends on
the input length: 'valid', explicit and stride-1 TensorFlow 'same' padding are constants, and a
strided 'same' convolution whose other (frequency) axis would get the same zeros from ONNX
``auto_pad="SAME_UPPER"`` (which is TensorFlow's rule: the odd zero at the end) is exported with
that attribute, computed at run time. Every architecture of the package qualifies; a network
with a strided 'same' layer that SAME_UPPER cannot express gets its time axis fixed to
``length`` instead (:func:`dynamic_time` says which).

onnx and onnxruntime are optional: they are imported inside the functions that need them, so
importing :mod:`randcnn_fast` never requires them (``pip install onnx onnxruntime``).
"""
from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np

from ..network.layers import Concat, Conv, MaxPoolTime, MeanFrequency, Network, tf_padding

__all__ = ["OPSET", "OnnxRunner", "available_providers", "build_model"]

OPSET = 17  # the ONNX operator set of the exported graphs (pinned)
IR_VERSION = 8  # the IR version of ONNX 1.12, the first release with opset 17
DEVICES = ("cpu", "cuda")
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
INPUT_NAME = "input"
OUTPUT_NAME = "embedding"

_CUDA_HELP = ("ONNX Runtime's CUDA provider is needed for device='cuda': replace the CPU build "
              "with the GPU one (pip uninstall onnxruntime && pip install onnxruntime-gpu) and "
              "install the CUDA and cuDNN versions that onnxruntime-gpu release is built for")


def require_onnx() -> None:
    """Raise ImportError naming the install command unless onnx and onnxruntime import."""
    missing = []
    for module in ("onnx", "onnxruntime"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ImportError(f"the ONNX backend needs {' and '.join(missing)}: "
                          f"pip install onnx onnxruntime")


def available_providers() -> list[str]:
    """List onnxruntime's available execution providers.

    Returns
    -------
    list of str
        Provider names; empty when onnxruntime is not installed.

    Examples
    --------
    >>> "CPUExecutionProvider" in available_providers()
    True
    """
    try:
        import onnxruntime
    except ImportError:
        return []
    return list(onnxruntime.get_available_providers())


def _time_pads(layer: Conv, shape) -> "tuple[int, int] | None":
    """The layer's time-axis zeros if they do not depend on the input length, else None."""
    padding, kernel, stride = layer.padding[0], layer.kernel[0], layer.stride[0]
    if padding == "same" and stride > 1:
        return None
    return tf_padding(shape[0], kernel, stride, padding)  # a constant in every other case


def _same_upper_ok(layer: Conv, shape) -> bool:
    """True if ONNX SAME_UPPER reproduces the layer's padding on both axes: the time axis is
    TF 'same' (SAME_UPPER's own rule) and the frequency axis gets the zeros SAME_UPPER would
    give it (for a 1-D layer, kernel 1 and stride 1 on a width-1 map: none)."""
    if layer.padding[0] != "same":
        return False
    freq = tf_padding(shape[1], layer.kernel[1], layer.stride[1], layer.padding[1])
    return freq == tf_padding(shape[1], layer.kernel[1], layer.stride[1], "same")


def dynamic_time(network: Network, length: int) -> bool:
    """True if the exported model takes any time length (else its time axis is ``length``)."""
    shapes = network.shapes(length)
    return all(_time_pads(layer, shapes[layer.source]) is not None
               or _same_upper_ok(layer, shapes[layer.source])
               for layer in network.layers if isinstance(layer, Conv))


def _check_params(network: Network, params: Mapping[str, np.ndarray], shapes) -> None:
    for layer in network.layers:
        if not isinstance(layer, Conv):
            continue
        expected = {f"{layer.name}.weight": layer.weight_shape(shapes[layer.source][2]),
                    f"{layer.name}.bias": (layer.out_channels,)}
        for name, shape in expected.items():
            if name not in params:
                raise ValueError(f"{network.arch}: parameter {name!r} is missing")
            if tuple(np.shape(params[name])) != shape:
                raise ValueError(f"{network.arch}: {name} has shape {tuple(np.shape(params[name]))}, "
                                 f"expected {shape}")


def build_model(network: Network, params: Mapping[str, np.ndarray], length: int):
    """Export a network as an ONNX model (opset :data:`OPSET`), weights as initializers.

    Parameters
    ----------
    network : Network
        The description.
    params : mapping of str to numpy.ndarray
        Its parameters, as :func:`randcnn_fast.network.weights.make_parameters` draws them.
    length : int
        Samples or frames; it resolves the shapes that depend on it: the 'all frequency
        positions' pools, the feature count and, for a network whose padding needs it, the
        fixed time axis (:func:`dynamic_time`).

    Returns
    -------
    onnx.ModelProto
        Input "input" float32 (batch, 1, time, freq), output "embedding" float32
        (batch, n_features); it passes ``onnx.checker.check_model``.

    Raises
    ------
    ImportError
        Naming the install command, without onnx and onnxruntime.

    Examples
    --------
    >>> from randcnn_fast.network.architectures import build
    >>> from randcnn_fast.network.weights import make_parameters
    >>> network = build("sample_level", "small")
    >>> params = make_parameters(network, seed=0)
    >>> model = build_model(network, params, length=12000)
    >>> model.graph.output[0].name
    'embedding'
    """
    require_onnx()
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    length = int(length)
    if not network.accepts(length):
        raise ValueError(f"{network.arch} needs at least {network.min_length} "
                         f"{network.input_unit}, got length={length}")
    shapes = network.shapes(length)
    _check_params(network, params, shapes)
    dynamic = dynamic_time(network, length)

    nodes, initializers = [], []

    def node(op, inputs, output, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def constant(name, value):
        initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    for layer in network.layers:
        name = layer.name
        if isinstance(layer, Conv):
            shape = shapes[layer.source]
            weight = np.asarray(params[f"{name}.weight"], dtype=np.float32)
            if layer.dims == 1:
                weight = weight[..., None]  # (out, in, k) -> (out, in, k, 1)
            attrs = dict(kernel_shape=list(layer.kernel), strides=list(layer.stride))
            t0, t1, f0, f1 = layer.paddings(shape)
            if dynamic and _time_pads(layer, shape) is None:
                attrs["auto_pad"] = "SAME_UPPER"  # TF 'same', computed from the run's length
            else:
                attrs["pads"] = [t0, f0, t1, f1]  # ONNX order: begins, then ends
            inputs = [layer.source, constant(f"{name}.weight", weight),
                      constant(f"{name}.bias", np.asarray(params[f"{name}.bias"], np.float32))]
            y = node("Conv", inputs, f"{name}/conv", **attrs)
            if layer.activation == "relu":
                y = node("Relu", [y], f"{name}/relu")
            elif layer.activation == "elu":
                y = node("Elu", [y], f"{name}/elu", alpha=1.0)
            pool = layer.pool_window(shape)
            if pool != (1, 1):
                y = node("MaxPool", [y], f"{name}/pool", kernel_shape=list(pool), strides=list(pool))
            if layer.residual is not None:
                y = node("Add", [y, layer.residual], f"{name}/residual")
            node("Identity", [y], name)
        elif isinstance(layer, MaxPoolTime):
            node("MaxPool", [layer.source], name, kernel_shape=[layer.pool, 1],
                 strides=[layer.pool, 1])
        elif isinstance(layer, MeanFrequency):
            node("ReduceMean", [layer.source], name, axes=[3], keepdims=1)
        elif isinstance(layer, Concat):
            node("Concat", list(layer.sources), name, axis=1)
        else:
            raise TypeError(f"{network.arch}: no ONNX export for layer {layer!r}")

    parts = []
    for i, feature in enumerate(network.features):
        means = node("ReduceMean", [feature.name], f"feature{i}/{feature.name}/means",
                     axes=[2, 3], keepdims=0)  # [batch, channels]
        if feature.collapse:
            means = node("ReduceMean", [means], f"feature{i}/{feature.name}/collapse",
                         axes=[1], keepdims=1)  # [batch, 1]: the mean of everything
            if feature.collapse > 1:
                zeros = constant(f"feature{i}/{feature.name}/pads",
                                 np.array([0, 0, 0, feature.collapse - 1], np.int64))
                means = node("Pad", [means, zeros], f"feature{i}/{feature.name}/padded")
        parts.append(means)
    node("Concat", parts, OUTPUT_NAME, axis=1)

    n_features = sum(f.collapse or shapes[f.name][2] for f in network.features)
    time_dim = "time" if dynamic else length
    graph = helper.make_graph(
        nodes, f"randcnn_fast_{network.arch}_{network.size}",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT,
                                       ["batch", 1, time_dim, shapes["input"][1]])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", n_features])],
        initializer=initializers)
    model = helper.make_model(graph, producer_name="randcnn_fast", ir_version=IR_VERSION,
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.doc_string = (f"randcnn_fast {network.arch} ({network.size}): input [batch, 1, "
                        f"{'time' if dynamic else length}, {shapes['input'][1]}] "
                        f"({network.input_unit} x frequency), output [batch, {n_features}]")
    onnx.checker.check_model(model, full_check=True)
    return model


class OnnxRunner:
    """One exported network and one ``onnxruntime.InferenceSession`` for it.

    Parameters
    ----------
    network, params
        The network description and its parameters (``Embedder.network`` and
        ``Embedder.parameters()``).
    length : int
        The input length (samples or frames) the model is built for; with a dynamic time axis
        (:attr:`dynamic_time`) other lengths run too.
    device : {"cpu", "cuda"}
        "cuda" needs onnxruntime-gpu; a RuntimeError says so instead of falling back to the CPU.
    n_threads : int
        onnxruntime's intra-op threads; 0 keeps its default.

    Attributes
    ----------
    model : onnx.ModelProto
        The exported network.
    session : onnxruntime.InferenceSession
        The session that runs it.
    dynamic_time : bool
        Whether the model takes any time length.
    n_features : int
        The embedding size.
    providers : list of str
        The session's execution providers, in priority order.

    Raises
    ------
    ValueError
        For an unknown ``device`` or a negative ``n_threads``.
    RuntimeError
        For ``device="cuda"`` without a working CUDA provider.

    Examples
    --------
    >>> import numpy as np
    >>> from randcnn_fast.network.architectures import build
    >>> from randcnn_fast.network.weights import make_parameters
    >>> network = build("sample_level", "small")
    >>> params = make_parameters(network, seed=0)
    >>> runner = OnnxRunner(network, params, length=12000)
    >>> runner.run([np.zeros((12000, 1, 1), np.float32)]).shape
    (1, 161)
    """

    def __init__(self, network: Network, params: Mapping[str, np.ndarray], *, length: int,
                 device: str = "cpu", n_threads: int = 0):
        if device not in DEVICES:
            raise ValueError(f"unknown device {device!r}; choose one of {DEVICES}")
        if (isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer))
                or n_threads < 0):
            raise ValueError(f"n_threads must be an integer >= 0 (0 = onnxruntime's default), "
                             f"got {n_threads!r}")
        require_onnx()
        import onnxruntime

        provider = PROVIDERS[device]
        if device == "cuda" and provider not in onnxruntime.get_available_providers():
            raise RuntimeError(f"{_CUDA_HELP}; this onnxruntime offers "
                               f"{onnxruntime.get_available_providers()}")
        self.network, self.length, self.device = network, int(length), device
        self.n_threads = int(n_threads)
        self.model = build_model(network, params, self.length)
        self.dynamic_time = dynamic_time(network, self.length)
        self.n_features = self.model.graph.output[0].type.tensor_type.shape.dim[1].dim_value
        self._freq = network.input_shape(self.length)[1]

        options = onnxruntime.SessionOptions()
        if self.n_threads > 0:
            options.intra_op_num_threads = self.n_threads
        try:
            self.session = onnxruntime.InferenceSession(self.model.SerializeToString(), options,
                                                        providers=[provider])
        except Exception as error:
            if device == "cuda":
                raise RuntimeError(f"{_CUDA_HELP}; creating the CUDA session failed: {error}") from error
            raise
        providers = self.session.get_providers()
        if device == "cuda" and (not providers or providers[0] != provider):
            raise RuntimeError(f"{_CUDA_HELP}; the session runs on {providers} instead")

    @classmethod
    def from_embedder(cls, embedder, *, device: str = "cpu", n_threads: int = 0) -> "OnnxRunner":
        """Make a runner for an :class:`randcnn_fast.Embedder`'s network, weights and length.

        Parameters
        ----------
        embedder : Embedder
            The embedder whose network runs.
        device, n_threads
            As :class:`OnnxRunner`.

        Returns
        -------
        OnnxRunner
            The runner.

        Examples
        --------
        >>> from randcnn_fast import Embedder
        >>> OnnxRunner.from_embedder(Embedder("vgg", size="small"))  # doctest: +ELLIPSIS
        OnnxRunner(arch='vgg', size='small', length=1376, ...n_features=160)
        """
        return cls(embedder.network, embedder.parameters(), length=embedder.length,
                   device=device, n_threads=n_threads)

    @property
    def providers(self) -> list[str]:
        """The execution providers of the session, in priority order."""
        return list(self.session.get_providers())

    #: Clips do not run side by side: the session has its own threads.
    parallel_clips = False

    def run(self, maps: Sequence[np.ndarray], n_threads: int | None = None) -> np.ndarray:
        """Embed input maps, the (time, freq, 1) float arrays the native executor takes.

        Maps of one shape run as one batch, others one at a time (pad modes "crop" and
        "none" leave clips of different lengths).

        Parameters
        ----------
        maps : sequence of numpy.ndarray
            Input maps (time, freq, 1).
        n_threads : int, optional
            Accepted for the runners' common interface; the session's threads were set when
            it was made.

        Returns
        -------
        numpy.ndarray
            float32 (n_maps, n_features).

        Raises
        ------
        ValueError
            For a map of the wrong shape, a length the model's fixed time axis refuses, or
            one too short for the network.

        Examples
        --------
        >>> import numpy as np
        >>> from randcnn_fast.network.architectures import build
        >>> from randcnn_fast.network.weights import make_parameters
        >>> network = build("sample_level", "small")
        >>> params = make_parameters(network, seed=0)
        >>> runner = OnnxRunner(network, params, length=12000)
        >>> maps = [np.zeros((12000, 1, 1), np.float32), np.zeros((6000, 1, 1), np.float32)]
        >>> runner.run(maps).shape
        (2, 161)
        """
        if len({np.shape(m) for m in maps}) > 1:
            return np.concatenate([self._run_batch([m]) for m in maps])
        return self._run_batch(maps)

    def _run_batch(self, maps: Sequence[np.ndarray]) -> np.ndarray:
        """One batch of maps of one shape."""
        arrays = [np.asarray(m) for m in maps]
        if not arrays:
            return np.zeros((0, self.n_features), np.float32)
        first = arrays[0].shape
        for i, a in enumerate(arrays):
            if a.ndim != 3 or a.shape[1:] != (self._freq, 1):
                raise ValueError(f"map {i}: expected shape (time, {self._freq}, 1), got {a.shape}")
            if a.shape != first:
                raise ValueError(f"map {i}: shape {a.shape} differs from map 0's {first}")
        time = first[0]
        if not self.dynamic_time and time != self.length:
            raise ValueError(f"this {self.network.arch} model has a fixed time axis of "
                             f"{self.length} {self.network.input_unit}, got {time}")
        if not self.network.accepts(time):
            raise ValueError(f"{time} {self.network.input_unit} is too short for "
                             f"{self.network.arch}, which needs at least {self.network.min_length}")
        x = np.stack(arrays).astype(np.float32, copy=False)[..., 0][:, None]  # (n, 1, T, F)
        (out,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(x)})
        return np.asarray(out, dtype=np.float32)

    __call__ = run

    def save(self, path) -> None:
        """Write the model to an ``.onnx`` file.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write.

        Examples
        --------
        >>> import onnx
        >>> from randcnn_fast.network.architectures import build
        >>> from randcnn_fast.network.weights import make_parameters
        >>> network = build("sample_level", "small")
        >>> params = make_parameters(network, seed=0)
        >>> OnnxRunner(network, params, length=12000).save("sample_level.onnx")
        >>> onnx.load("sample_level.onnx").graph.input[0].name
        'input'
        """
        import onnx

        onnx.save_model(self.model, os.fspath(path))

    def __repr__(self) -> str:
        time = "dynamic" if self.dynamic_time else self.length
        return (f"OnnxRunner(arch={self.network.arch!r}, size={self.network.size!r}, "
                f"length={self.length}, time={time}, device={self.device!r}, "
                f"n_features={self.n_features})")
