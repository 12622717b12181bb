"""The public embedding API: :class:`Embedder` (build once, embed many) and :func:`embed`."""
from __future__ import annotations

import functools
import os
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _core, frontend
from . import audio as audio_io
from .architectures import build
from .executor import run_native
from .network import Network, NetworkSummary
from .weights import check_seed, make_parameters

INPUTS = ("audio", "logmel")
PRECISIONS = ("fp32", "bf16")
BACKENDS = ("native", "onnx")


def _is_path_list(value) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) > 0
            and all(isinstance(item, (str, os.PathLike)) for item in value))


def check_threads(n_threads) -> int:
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) or n_threads < 0:
        raise ValueError(f"n_threads must be an integer >= 0 (0 = all cores), got {n_threads!r}")
    return int(n_threads)


class Embedder:
    """A random-weight CNN, built once, that turns audio into embeddings.

    Parameters
    ----------
    arch : str
        Architecture name; :func:`randcnn_fast.architectures` lists them.
    size : {"paper", "small"}
        "paper" gives the study's ~3585-d features, "small" its ~160-d ones.
    seed : int
        Weights are a pure function of (seed, arch, layer): the same seed gives the same
        network in every process.
    length : int, optional
        Input length in the architecture's unit: samples at 12 kHz for the waveform models
        (default 350,000, 29.17 s), log-mel frames for the spectrogram models (default 1376).
    pad : {"repeat", "zero", "crop", "none"}
        How inputs are brought to ``length``: "repeat" tiles a short one, "zero" appends
        zeros, both crop a long one; "crop" only cuts long inputs and leaves short ones as
        they are (an error if shorter than the network accepts); "none" keeps every input
        whole (the same error if too short) and embeds it all, a long one in time tiles
        whose memory does not grow with its length (native backend; the ONNX backend runs
        each clip whole, one at a time).
    input : {"audio", "logmel"}
        For the spectrogram models, "logmel" takes precomputed log-mel frames, (frames, 96)
        or a (clips, frames, 96) batch, instead of audio.
    logmel_preset : {"elmarc", "librosa"}
        The log-mel front-end (:func:`randcnn_fast.frontend.logmel`); "elmarc" is the paper's.
    backend_features : {"faithful", "per_filter"}
        Frame-level models only. "faithful" (default) reproduces the original code, which
        keeps one number per back-end layer (its mean over time and filters, zero-padded to
        the row width), so paper-size vectors and results match the study; "per_filter"
        keeps a mean per filter, the evidently intended features.
    n_threads : int
        Threads for the forward pass; 0 uses every core. Results do not depend on it.
    backend : {"native", "onnx"}
        "native" runs the SIMD C++ kernels; "onnx" runs the same network, with the same
        weights, on ONNX Runtime (``pip install 'randcnn_fast[onnx]'``, or onnxruntime-gpu
        for CUDA). The session is built once, here.
    precision : {"fp32", "bf16"}
        "fp32" (default) multiplies in float32. "bf16" rounds the convolutions' inputs and
        weights to bfloat16 and accumulates in float32: about twice as fast where the CPU has
        AVX512-BF16 (``randcnn_fast.isa_info()["bf16"]``), with features within about 1 % of
        fp32's; elsewhere it computes in float32. Native backend only.
    device : {"cpu", "cuda"}
        ONNX Runtime's device. "cuda" raises an error explaining what to install when the
        CUDA provider is not available; it never falls back to the CPU silently.
    min_seconds : float
        Audio arrays shorter than this are refused (default
        :data:`randcnn_fast.audio.MIN_SECONDS`, 0.1 s: shorter is more likely a damaged or
        misread input than a sound); 0 accepts any clip.
    """

    def __init__(self, arch: str = "sample_level", *, size: str = "paper", seed: int = 0,
                 length: int | None = None, pad: str = "repeat", input: str = "audio",
                 logmel_preset: str = "elmarc", backend_features: str = "faithful",
                 n_threads: int = 0, backend: str = "native", device: str = "cpu",
                 precision: str = "fp32", min_seconds: float = audio_io.MIN_SECONDS):
        self.network: Network = build(arch, size, backend_features)
        self.arch, self.size, self.backend_features = arch, size, backend_features
        self.seed = check_seed(seed)
        self.length = self.network.default_length if length is None else length
        if isinstance(self.length, bool) or not isinstance(self.length, (int, np.integer)) or self.length < 1:
            raise ValueError(f"length must be a positive integer, got {length!r}")
        if pad not in audio_io.PAD_MODES:
            raise ValueError(f"unknown pad {pad!r}; choose one of {audio_io.PAD_MODES}")
        if input not in INPUTS:
            raise ValueError(f"unknown input {input!r}; choose one of {INPUTS}")
        if input == "logmel" and self.network.input_kind != "logmel":
            raise ValueError(f"{arch} reads the waveform; input='logmel' is for spectrogram models")
        if logmel_preset not in frontend.LOGMEL_PRESETS:
            raise ValueError(f"unknown logmel_preset {logmel_preset!r}; choose one of {frontend.LOGMEL_PRESETS}")
        self.pad, self.input, self.logmel_preset = pad, input, logmel_preset
        self.min_seconds = audio_io.check_min_seconds(min_seconds)
        self.n_threads = check_threads(n_threads)
        if pad not in ("crop", "none") and not self.network.accepts(self.length):
            raise ValueError(self._too_short(f"length={self.length}"))
        self._params = _cached_parameters(arch, size, backend_features, self.seed)
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
        if backend == "native" and device != "cpu":
            raise ValueError(f"device={device!r} needs backend='onnx' (the native core runs on the CPU)")
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
        if precision != "fp32" and backend != "native":
            raise ValueError(f"precision={precision!r} needs backend='native'")
        self.backend, self.device, self.precision = backend, device, precision
        self._onnx = None
        if backend == "onnx":
            from .onnx_backend import OnnxRunner, dynamic_time
            if pad == "none" and not dynamic_time(self.network, self.length):
                raise ValueError(f"pad='none' needs any input length, but the ONNX model of "
                                 f"{arch} has a fixed time axis; use backend='native' or "
                                 f"another pad mode")
            self._onnx = OnnxRunner(self.network, self._params, length=self.length, device=device,
                                    n_threads=self.n_threads)

    @property
    def n_features(self) -> int:
        return self.network.n_features

    def parameters(self) -> "OrderedDict[str, np.ndarray]":
        """Weights and biases by name, in PyTorch/ONNX layout and layer order (copies).

        Convolution weights are (out_channels, in_channels, *kernel) and biases
        (out_channels,), so the same network can be rebuilt in another framework.
        """
        return OrderedDict((name, value.copy()) for name, value in self._params.items())

    def to_onnx(self, path) -> None:
        """Write the network with its weights as an ONNX model (opset pinned, dynamic batch
        axis): input "input" float32 (batch, 1, time, freq), output "embedding" float32
        (batch, n_features). The log-mel front-end stays outside the graph: spectrogram models
        take log-mel frames (as from :func:`randcnn_fast.logmel`), waveform models samples."""
        from .onnx_backend import build_model, require_onnx
        require_onnx()
        import onnx

        onnx.save(build_model(self.network, self._params, self.length), str(path))

    def describe(self, length: int | None = None) -> NetworkSummary:
        """Layers, output shapes, parameters and MACs for ``length`` (default: the embedder's
        length); ``print()`` it for a table."""
        return self.network.describe(self.length if length is None else length)

    def embed(self, clips, *, sr: float | None = None, channel_axis: int | None = None) -> np.ndarray:
        """Embed audio: a 1-D array (``sr`` required), a 2-D batch of equal-length clips, a
        path, or a list of paths; or, with ``input="logmel"``, log-mel frames.

        Parameters
        ----------
        clips : array_like, str, os.PathLike or list of paths
            The audio (see above).
        sr : float, optional
            Sample rate of an array in Hz; files carry their own.
        channel_axis : {None, 0, 1}
            For a 2-D array that is one multichannel clip: the axis of its channels, which
            are averaged to mono (1 for soundfile's (samples, channels), 0 for librosa's
            (channels, samples)). None: a 2-D array is a batch (n_clips, n_samples), and one
            with at most 8 columns is refused as a likely (samples, channels) clip.

        Returns
        -------
        numpy.ndarray
            float32, (n_features,) for one clip, (n_clips, n_features) for a batch.
        """
        if self.input == "audio" and sr is None and channel_axis is None and _is_path_list(clips):
            return self._embed_files(list(clips))
        return self._run(*self._input_maps(clips, sr, channel_axis))

    def _embed_files(self, paths) -> np.ndarray:
        """Files one at a time, reading and decoding the next one while the network runs on
        this one (the native core releases the GIL): memory holds two clips, not the list."""
        rows = []
        with ThreadPoolExecutor(max_workers=1) as reader:
            pending = reader.submit(self._input_maps, paths[0], None)
            for i in range(len(paths)):
                loaded = pending.result()
                if i + 1 < len(paths):
                    pending = reader.submit(self._input_maps, paths[i + 1], None)
                rows.append(self._run(*loaded))
        return np.stack(rows)

    def _run(self, maps, names, single) -> np.ndarray:
        """The network on input maps, after checking their lengths."""
        for name, x in zip(names, maps):
            if x.shape[0] < self.network.min_length:
                raise ValueError(self._too_short(f"{name}: {x.shape[0]} {self.network.input_unit}"))
        if self._onnx is not None and len({x.shape for x in maps}) == 1:
            out = self._onnx.run(maps)
        elif self._onnx is not None:  # 'crop' and 'none' can leave clips of different lengths
            out = np.concatenate([self._onnx.run([x]) for x in maps])
        else:
            out = np.stack([run_native(self.network, self._params, x, self.n_threads,
                                       precision=self.precision) for x in maps])
        return out[0] if single else out

    __call__ = embed

    def _input_maps(self, clips, sr, channel_axis=None):
        """(time, frequency, 1) input maps at the network's length, their names, single."""
        if self.input == "logmel":
            if channel_axis is not None:
                raise ValueError("channel_axis is for audio; log-mel frames have no channels")
            frames, names, single = frontend.check_logmel(clips)
        elif self.network.input_kind == "waveform":
            waves, names, single = audio_io.load_clips(clips, sr=sr, length=self.length, pad=self.pad,
                                                       channel_axis=channel_axis,
                                                       min_seconds=self.min_seconds)
            return [w.reshape(-1, 1, 1) for w in waves], names, single
        else:  # the log is taken over the whole clip, then frames are cropped or padded
            waves, names, single = audio_io.load_clips(clips, sr=sr, length=None, pad=self.pad,
                                                       channel_axis=channel_axis,
                                                       min_seconds=self.min_seconds)
            frames = [frontend.logmel(w, preset=self.logmel_preset) for w in waves]
        fixed = [audio_io.fix_length(f, self.length, self.pad, name=n) for f, n in zip(frames, names)]
        return [f[:, :, None] for f in fixed], names, single

    def _too_short(self, subject: str) -> str:
        """'<subject> is too short for <arch>', with the minimum and the fix."""
        minimum = self.network.min_length
        return (f"{subject} is too short for {self.arch}, which needs at least {minimum} "
                f"{self.network.input_unit}; pass length={max(minimum, self.length)} with "
                f"pad='repeat' or pad='zero'")

    def __repr__(self) -> str:
        where = f"isa={_core.isa_info()['active']!r}" if self._onnx is None else f"onnx {self.device}"
        return (f"Embedder(arch={self.arch!r}, size={self.size!r}, seed={self.seed}, "
                f"length={self.length}, pad={self.pad!r}, n_threads={self.n_threads}, "
                f"precision={self.precision!r}, n_features={self.n_features}, {where})")


@functools.lru_cache(maxsize=8)
def _cached_parameters(arch: str, size: str, backend_features: str, seed: int):
    params = make_parameters(build(arch, size, backend_features), seed)
    for value in params.values():
        value.flags.writeable = False  # shared between embedders: never mutated in place
    return params


def embed(audio, arch: str = "sample_level", *, sr: float | None = None, size: str = "paper",
          seed: int = 0, length: int | None = None, pad: str = "repeat", input: str = "audio",
          logmel_preset: str = "elmarc", backend_features: str = "faithful",
          n_threads: int = 0, backend: str = "native", device: str = "cpu",
          precision: str = "fp32", channel_axis: int | None = None,
          min_seconds: float = audio_io.MIN_SECONDS) -> np.ndarray:
    """Embed audio with a random-weight CNN:
    ``Embedder(arch, ...).embed(audio, sr=sr, channel_axis=channel_axis)``.

    See :class:`Embedder` and :meth:`Embedder.embed` for the parameters. Weights are cached
    per (arch, size, seed).
    """
    embedder = Embedder(arch, size=size, seed=seed, length=length, pad=pad, input=input,
                        logmel_preset=logmel_preset, backend_features=backend_features,
                        n_threads=n_threads, backend=backend, device=device, precision=precision,
                        min_seconds=min_seconds)
    return embedder.embed(audio, sr=sr, channel_axis=channel_axis)
