"""The public embedding API: :class:`Embedder` (build once, embed many) and :func:`embed`."""
from __future__ import annotations

import functools
import os
import threading
import time
import warnings
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .. import _core
from ..backends.native import NativeRunner
from ..frontend import spectrogram as frontend
from ..input import audio as audio_io
from ..input import clips as clips_io
from ..input import decode as decode_io
from ..network.archfile import builtin_of, load_architecture
from ..network.frames import DEFAULT_HOP, DEFAULT_WINDOW, frame_grid
from ..network.layers import Network, NetworkSummary
from ..network.weights import check_seed, make_parameters
from .file_processes import FileProcesses, WorkerError
from .ordered import attempt, in_order

__all__ = ["Embedder", "FileEmbedding", "embed", "embed_frames", "PRECISIONS"]

INPUTS = ("audio", "logmel")
PRECISIONS = ("fp32", "bf16")
BACKENDS = ("native", "onnx")


@dataclass(frozen=True)
class FileEmbedding:
    """One file's embedding, as :meth:`Embedder.embed_file` returns it.

    Parameters
    ----------
    vector : numpy.ndarray
        float32 (n_features,).
    seconds : float
        Seconds of audio decoded.
    warnings : tuple of str
        What decoding noticed, each naming the file.

    Attributes
    ----------
    vector, seconds, warnings
        As given.

    Examples
    --------
    >>> import numpy as np
    >>> result = FileEmbedding(np.zeros(160, np.float32), 2.5)
    >>> result.seconds, result.warnings
    (2.5, ())
    """

    vector: np.ndarray
    seconds: float
    warnings: tuple[str, ...] = ()


#: Below this many multiply-adds per clip, :meth:`Embedder.embed_files` may run clips side by
#: side on one thread each: such a network's layers are short (a few ms at size "small") to
#: share between threads, while whole clips share perfectly. Above it, always one at a time.
CLIP_PARALLEL_MACS = 5 * 10**9

#: Files of a turn when :meth:`Embedder.embed_files` times its arrangements: each embeds two
#: turns (of a 25th of the list, if more, so that a busy machine's noise averages out), then
#: the faster one the rest; only for a list of at least 8 turns. Which is faster depends on more
#: than size: how well the network's layers share two threads, how much of a file's time is
#: decoding and log-mel (overlapped with the network one at a time, run by each clip's own
#: thread side by side, where its Python work contends for the GIL), and what else the machine
#: runs.
TRIAL_FILES = 8

#: The two ways :meth:`Embedder.embed_files` times for small networks (see there).
ARRANGEMENTS = ("side_by_side", "one_at_a_time")

#: Below this many multiply-adds per clip, :meth:`Embedder.embed_files` runs a long list of
#: files (:data:`PROCESS_MIN_FILES`) in worker processes, one file each at a time: the forward
#: pass then lasts about as long as the file's decoding, log-mel and calls from Python, which
#: threads side by side would take in turns at the GIL. On FSDD at size small (Zen 5, 2 cores)
#: processes ran 7x96 (147 million) about 1.2x and temporal (9 million) 1.5-1.8x faster than
#: threads, and the networks of 200-1,500 million 0.95-1.05x (frame_level's 529 million 0.75x).
PROCESS_MACS = 2 * 10**8
#: Files a list needs before its workers' start (about 0.2 s) pays: about the time temporal
#: takes for 256 files on threads. A pool already running serves shorter lists too.
PROCESS_MIN_FILES = 256


def _is_path_list(value) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) > 0
            and all(isinstance(item, (str, os.PathLike)) for item in value))


def check_threads(n_threads) -> int:
    """``n_threads`` as an int; ValueError unless it is an integer >= 0 (0: all cores)."""
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) or n_threads < 0:
        raise ValueError(f"n_threads must be an integer >= 0 (0 = all cores), got {n_threads!r}")
    return int(n_threads)


class Embedder:
    """A random-weight CNN, built once, that turns audio into embeddings.

    Parameters
    ----------
    arch : str, os.PathLike or Network
        A built-in architecture's name (:func:`randcnn_fast.architectures` lists them), the
        path of a TOML or JSON architecture file (docs/architectures.md), or a
        :class:`~randcnn_fast.network.layers.Network`.
    size : {"paper", "small"}
        A built-in's size: "paper" gives the study's ~3585-d features, "small" its ~160-d
        ones. A file or a Network has its own widths.
    features : int, optional
        Scale the network's channels so that the embedding has this many entries (the
        nearest count one common factor reaches; see :mod:`randcnn_fast.network.width`), to compare
        designs at the same size. Overrides a file's own ``features``.
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
        The log-mel front-end (:func:`randcnn_fast.frontend.spectrogram.logmel`); "elmarc" is the paper's.
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
        :data:`randcnn_fast.input.audio.MIN_SECONDS`, 0.1 s: shorter is more likely a damaged
        or misread input than a sound); 0 accepts any clip.

    Attributes
    ----------
    network : Network
        The architecture, at its size and width.
    arch, size, seed, length, pad, input, backend, device, precision, n_threads
        The settings, resolved.
    n_features : int
        The embedding size.

    Raises
    ------
    ValueError
        Naming the parameter and the choices, for any setting out of range.

    Examples
    --------
    >>> import numpy as np
    >>> embedder = Embedder("vgg", size="small")
    >>> embedder.n_features
    160
    >>> embedder.embed(np.zeros(12000, np.float32), sr=12000).shape
    (160,)
    """

    def __init__(self, arch: str = "sample_level", *, size: str = "paper", seed: int = 0,
                 length: int | None = None, pad: str = "repeat", input: str = "audio",
                 logmel_preset: str = "elmarc", backend_features: str = "faithful",
                 n_threads: int = 0, backend: str = "native", device: str = "cpu",
                 precision: str = "fp32", features: int | None = None,
                 min_seconds: float = audio_io.MIN_SECONDS):
        self.network: Network = load_architecture(arch, size=size, backend_features=backend_features,
                                                  features=features)
        # A network equal to a built-in (its name, or a file saved from it) is that built-in.
        builtin = builtin_of(self.network, prefer=(size, backend_features))
        self.builtin = builtin is not None
        self.arch = self.network.arch
        self.size, self.backend_features = builtin[1:] if builtin else (self.network.size,
                                                                         backend_features)
        self.seed = check_seed(seed)
        self.length = self.network.default_length if length is None else length
        if isinstance(self.length, bool) or not isinstance(self.length, (int, np.integer)) or self.length < 1:
            raise ValueError(f"length must be a positive integer, got {length!r}")
        if pad not in clips_io.PAD_MODES:
            raise ValueError(f"unknown pad {pad!r}; choose one of {clips_io.PAD_MODES}")
        if input not in INPUTS:
            raise ValueError(f"unknown input {input!r}; choose one of {INPUTS}")
        if input == "logmel" and self.network.input_kind != "logmel":
            raise ValueError(f"{self.arch} reads the waveform; input='logmel' is for spectrogram models")
        if logmel_preset not in frontend.LOGMEL_PRESETS:
            raise ValueError(f"unknown logmel_preset {logmel_preset!r}; choose one of {frontend.LOGMEL_PRESETS}")
        self.pad, self.input, self.logmel_preset = pad, input, logmel_preset
        self.min_seconds = audio_io.check_min_seconds(min_seconds)
        self.n_threads = check_threads(n_threads)
        if pad not in ("crop", "none") and not self.network.accepts(self.length):
            raise ValueError(self._too_short(f"length={self.length}"))
        self._params = _cached_parameters(self.network, self.seed)
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
        if backend == "native" and device != "cpu":
            raise ValueError(f"device={device!r} needs backend='onnx' (the native core runs on the CPU)")
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
        if precision != "fp32" and backend != "native":
            raise ValueError(f"precision={precision!r} needs backend='native'")
        self.backend, self.device, self.precision = backend, device, precision
        self._macs_per_clip = None
        # embed_files' arrangement for small networks, once timed (one of ARRANGEMENTS), or
        # "processes".
        self._arrangement = None
        # embed_files' worker processes, started on first need and kept (see _in_processes).
        self._processes: FileProcesses | None = None
        self._processes_lock = threading.Lock()
        self._processes_failed = False
        # The one runner of the network: native (shared by every Embedder of the same network,
        # seed and precision, so weights are packed once per process) or ONNX Runtime.
        if backend == "onnx":
            from ..backends.onnx_runtime import OnnxRunner, dynamic_time
            if pad == "none" and not dynamic_time(self.network, self.length):
                raise ValueError(f"pad='none' needs any input length, but the ONNX model of "
                                 f"{self.arch} has a fixed time axis; use backend='native' or "
                                 f"another pad mode")
            self._runner = OnnxRunner(self.network, self._params, length=self.length,
                                      device=device, n_threads=self.n_threads)
        else:
            self._runner = _cached_native_runner(self.network, self.seed, precision)

    @property
    def n_features(self) -> int:
        """The embedding size."""
        return self.network.n_features

    def parameters(self) -> "OrderedDict[str, np.ndarray]":
        """Return copies of the weights and biases, by name, in layer order.

        Returns
        -------
        collections.OrderedDict of str to numpy.ndarray
            PyTorch/ONNX layout: convolution weights (out_channels, in_channels, *kernel) and
            biases (out_channels,), float32, so the same network can be rebuilt in another
            framework.

        Examples
        --------
        >>> params = Embedder("vgg", size="small").parameters()
        >>> params["conv1.weight"].shape
        (32, 1, 3, 3)
        """
        return OrderedDict((name, value.copy()) for name, value in self._params.items())

    def to_onnx(self, path) -> None:
        """Write the network with its weights as an ONNX model.

        The opset is pinned and the batch axis dynamic: input "input" float32 (batch, 1,
        time, freq), output "embedding" float32 (batch, n_features). The log-mel front-end
        stays outside the graph: spectrogram models take log-mel frames (as from
        :func:`randcnn_fast.logmel`), waveform models samples.

        Parameters
        ----------
        path : str or os.PathLike
            The ``.onnx`` file to write.

        Raises
        ------
        ImportError
            Naming the install command, without onnx and onnxruntime.

        Examples
        --------
        >>> Embedder("vgg", size="small").to_onnx("vgg.onnx")  # doctest: +SKIP
        """
        from ..backends.onnx_runtime import build_model, require_onnx
        require_onnx()
        import onnx

        onnx.save(build_model(self.network, self._params, self.length), str(path))

    def describe(self, length: int | None = None) -> NetworkSummary:
        """Summarise layers, output shapes, parameters and MACs for an input length.

        Parameters
        ----------
        length : int, optional
            Samples or frames; the embedder's length when None.

        Returns
        -------
        NetworkSummary
            ``print()`` it for a table.

        Examples
        --------
        >>> summary = Embedder("vgg", size="small").describe()
        >>> summary.input_length, summary.n_features
        (1376, 160)
        """
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

        Raises
        ------
        AudioError, ValueError
            For unusable audio (naming the clip or file) or a clip too short for the network.

        Examples
        --------
        >>> import numpy as np
        >>> embedder = Embedder("vgg", size="small")
        >>> embedder.embed(np.zeros(12000, np.float32), sr=12000).shape
        (160,)
        >>> embedder.embed(np.zeros((3, 8000), np.float32), sr=8000).shape
        (3, 160)
        """
        if self.input == "audio" and sr is None and channel_axis is None and _is_path_list(clips):
            return self._embed_files(list(clips))
        return self._run(*self._input_maps(clips, sr, channel_axis))

    def embed_file(self, path) -> FileEmbedding:
        """Embed one audio file and report what its decoding noticed.

        The same vector as ``embed(path)``, with the decoded duration and the warnings of
        :func:`randcnn_fast.input.decode.decode_file` returned instead of issued, for callers that
        record them (corpus extraction, evaluation).

        Parameters
        ----------
        path : str or os.PathLike
            An audio file.

        Returns
        -------
        FileEmbedding
            ``vector`` float32 (n_features,), ``seconds`` of decoded audio, ``warnings``.

        Raises
        ------
        AudioError, ValueError
            As :meth:`embed`; messages name the path.

        Examples
        --------
        >>> import numpy as np, soundfile
        >>> soundfile.write("tone.wav", np.zeros(16000, np.float32), 16000)
        >>> result = Embedder("vgg", size="small").embed_file("tone.wav")
        >>> result.vector.shape, result.seconds, result.warnings
        ((160,), 1.0, ())
        """
        return self._embed_file_on(path, self.n_threads)

    def embed_files(self, paths) -> Iterator[tuple[str, FileEmbedding | Exception]]:
        """Embed audio files one after another, yielding each as soon as it is ready.

        Large networks run one file at a time on every thread while the next file is decoded.
        Small ones (under :data:`CLIP_PARALLEL_MACS` multiply-adds per clip, such as every
        architecture at size "small") may instead embed several files side by side, one thread
        each, since one short forward pass may not keep several cores busy: on a list of
        files long enough, each way embeds two turns of :data:`TRIAL_FILES` (or a 25th of the
        list), timed, and the faster one the rest, and this embedder keeps that choice (side by
        side until one is made). The smallest networks (under :data:`PROCESS_MACS`, such as 7x96
        and temporal at size "small") embed a list of at least :data:`PROCESS_MIN_FILES` files in
        worker processes instead, one per thread, which this embedder keeps for later lists
        until :meth:`close`: their files' Python work would otherwise take turns at the GIL.
        Every way, the vectors are those of :meth:`embed_file`, bit for bit.

        Parameters
        ----------
        paths : sequence of str or os.PathLike
            Audio files.

        Yields
        ------
        (str, FileEmbedding or Exception)
            Each path, in the order given, with its result or the error that file raised (an
            unusable file does not stop the others).

        Examples
        --------
        >>> import numpy as np, soundfile
        >>> for name in ("a.wav", "b.wav"):
        ...     soundfile.write(name, np.zeros(12000, np.float32), 12000)
        >>> embedder = Embedder("vgg", size="small")
        >>> for path, result in embedder.embed_files(["a.wav", "b.wav", "missing.wav"]):
        ...     print(path, getattr(result, "vector", result).shape
        ...           if not isinstance(result, Exception) else type(result).__name__)
        a.wav (160,)
        b.wav (160,)
        missing.wav AudioError
        """
        paths = [os.fspath(p) for p in paths]
        workers = self._clips_at_once(len(paths))
        if workers == 1:
            yield from self._one_at_a_time(paths)
            return
        if self._wants_processes(len(paths)):
            self._arrangement = "processes"
            yield from self._in_processes(paths, workers)
            return
        # Processes chosen, but this list is too short to start them: side by side.
        arrangement = "side_by_side" if self._arrangement == "processes" else self._arrangement
        start = 0
        if arrangement is None and len(paths) >= 8 * TRIAL_FILES:
            # Turns in the order A B B A, so that a load that rises or falls meanwhile weighs on
            # both alike. The trial's files are embedded like the others, not thrown away.
            turn = max(TRIAL_FILES, len(paths) // 25)
            seconds = dict.fromkeys(ARRANGEMENTS, 0.0)
            for name in ARRANGEMENTS + ARRANGEMENTS[::-1]:
                began = time.perf_counter()
                yield from self._arranged(name, paths[start:start + turn], workers)
                seconds[name] += time.perf_counter() - began
                start += turn
            arrangement = self._arrangement = min(seconds, key=seconds.get)
        yield from self._arranged(arrangement or "side_by_side", paths[start:], workers)

    def _arranged(self, arrangement: str, paths, workers: int):
        """embed_files' results for ``paths`` in one of the :data:`ARRANGEMENTS`."""
        if arrangement == "one_at_a_time":
            yield from self._one_at_a_time(paths)
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            yield from in_order(pool, lambda p: attempt(self._embed_file_on, p, 1), paths,
                                 ahead=2 * workers)

    def _wants_processes(self, n_files: int) -> bool:
        """Whether a list of this many files runs in worker processes (see PROCESS_MACS): not
        once a timed arrangement was chosen or forced, nor after the processes failed."""
        return (self._arrangement in (None, "processes") and self._macs() < PROCESS_MACS
                and not self._processes_failed
                and (n_files >= PROCESS_MIN_FILES or self._processes is not None))

    def _in_processes(self, paths, workers: int):
        """embed_files' results from worker processes; side by side on threads while another
        call has the workers, and from the first file they could not take if they fail."""
        if not self._processes_lock.acquire(blocking=False):
            yield from self._arranged("side_by_side", paths, workers)
            return
        done = 0
        try:
            self._ensure_processes(workers)
            for item in self._processes.run(paths):
                yield item
                done += 1
        except WorkerError as error:
            # A worker that cannot start here will not start next time either.
            self._close_processes()
            self._processes_failed = True
            warnings.warn(f"embedding files in worker processes failed, continuing on threads: "
                          f"{error}", RuntimeWarning, stacklevel=3)
            yield from self._arranged("side_by_side", paths[done:], workers)
        finally:
            if self._processes is not None and self._processes.n_workers == 0:
                self._processes = None  # closed by a call stopped early
            self._processes_lock.release()

    def _start_processes(self, n_files: int) -> None:
        """Start the worker processes embed_files will use for a list of this many files, if
        any, so that they get ready while the caller prepares (extract's set-up)."""
        workers = self._clips_at_once(n_files)
        if workers < 2 or not self._wants_processes(n_files):
            return
        with self._processes_lock:
            try:
                self._ensure_processes(workers)
            except WorkerError:
                pass  # embed_files meets it again, and warns

    def _ensure_processes(self, workers: int) -> None:
        """Have ``workers`` worker processes (started, not necessarily ready); the caller
        holds the lock."""
        if self._processes is None or self._processes.n_workers != workers:
            self._close_processes()
            self._processes = FileProcesses(self._file_job(), workers)

    def _file_job(self) -> "_FileJob":
        """What a worker process runs for embed_files (see FileProcesses)."""
        return _FileJob({"arch": self.network, "size": self.size, "seed": self.seed,
                         "length": self.length, "pad": self.pad,
                         "logmel_preset": self.logmel_preset,
                         "backend_features": self.backend_features,
                         "precision": self.precision, "min_seconds": self.min_seconds})

    def _close_processes(self) -> None:
        if self._processes is not None:
            self._processes.close()
            self._processes = None

    def close(self) -> None:
        """End the worker processes :meth:`embed_files` may have started for a long list of
        files and a small network (they also end with the embedder, or the interpreter). The
        embedder stays usable: a later long list starts them again.

        Examples
        --------
        >>> embedder = Embedder("temporal", size="small")
        >>> embedder.close()  # nothing started: nothing to do
        """
        with self._processes_lock:
            self._close_processes()

    def _one_at_a_time(self, paths):
        """Each file on every thread, the next one decoded meanwhile on a reader thread."""
        with ThreadPoolExecutor(max_workers=1) as reader:
            for path, prepared in in_order(reader, lambda p: attempt(self._prepare_file, p),
                                            paths, ahead=1):
                yield path, (prepared if isinstance(prepared, Exception)
                             else attempt(self._finish_file, prepared, self.n_threads))

    def embed_frames(self, clips, *, sr: float | None = None, hop: float = DEFAULT_HOP,
                     window: float = DEFAULT_WINDOW):
        """Frame-wise embeddings: one vector per window of the audio, with its time.

        Each clip is embedded whole (whatever ``pad`` says) in one forward pass, in time
        tiles for long clips so memory does not grow with the length; each frame's vector is,
        per feature layer, the mean of that layer's outputs at the positions whose input-time
        centre falls in the frame's window. Frame ``i`` covers samples ``[i * hop, i * hop +
        window)`` at 12 kHz, frames run while the whole window fits, and a layer with no
        position centred in a window (its step is longer) gives that frame its position
        nearest the window's centre. :mod:`randcnn_fast.network.frames` states the alignment exactly.
        A window of the whole clip gives the clip's ``pad="none"`` embedding.

        Parameters
        ----------
        clips : numpy.ndarray, str, os.PathLike or list of paths
            As for :meth:`embed`: a 1-D array (``sr`` required), a 2-D batch, a path or a list
            of paths (read one at a time). Audio only: not log-mel frames.
        sr : float, optional
            Sample rate of array input in Hz; audio is resampled to 12 kHz.
        hop : float
            Seconds between frame starts, default 0.1; rounded to whole samples at 12 kHz.
        window : float
            Seconds each frame spans, default 1.0; rounded to whole samples at 12 kHz.

        Returns
        -------
        frames : numpy.ndarray or list of numpy.ndarray
            float32 (n_frames, n_features) for one clip, a list of them for several.
        timestamps : numpy.ndarray or list of numpy.ndarray
            The centre of each frame in seconds, float64 (n_frames,), ``(i * hop + window /
            2) / 12000`` computed from integer sample positions (no drift); the last frame
            ends at or before the end of the clip.

        Raises
        ------
        ValueError
            A hop or window that is not positive or is longer than a clip (naming the value
            and the clip's duration), a clip too short for the network, ``input="logmel"`` or
            the ONNX backend.

        Examples
        --------
        >>> import numpy as np
        >>> embedder = Embedder("sample_level", size="small", pad="none")
        >>> frames, timestamps = embedder.embed_frames(np.zeros(12000, np.float32), sr=12000,
        ...                                            hop=0.25, window=0.5)
        >>> frames.shape, timestamps
        ((3, 161), array([0.25, 0.5 , 0.75]))
        """
        if self.input == "logmel":
            raise ValueError("embed_frames takes audio, which places frames in time; "
                             "input='logmel' frames carry no sample positions")
        if not isinstance(self._runner, NativeRunner):
            raise ValueError("embed_frames runs on backend='native' (the ONNX model returns "
                             "clip means only)")
        if sr is None and _is_path_list(clips):
            results = [self._frames_of(*clips_io.load_clips(path, sr=None, length=None, pad="none")[:2],
                                       hop, window) for path in clips]
            return [r[0] for r in results], [r[1] for r in results]
        waves, names, single = clips_io.load_clips(clips, sr=sr, length=None, pad="none")
        results = [self._frames_of([wave], [name], hop, window) for wave, name in zip(waves, names)]
        if single:
            return results[0]
        return [r[0] for r in results], [r[1] for r in results]

    def _frames_of(self, waves, names, hop, window):
        """(frames, timestamps) of the one 12 kHz clip in ``waves``."""
        wave, name = waves[0], names[0]
        grid = frame_grid(wave.size, hop, window, name=name)
        x = self._whole_map(wave)
        if x.shape[0] < self.network.min_length:
            raise ValueError(self._too_short(f"{name}: {x.shape[0]} {self.network.input_unit}"))
        frames = self._runner.embed_frames(x, grid, self.n_threads)
        return frames, grid.timestamps

    def _embed_file_on(self, path, n_threads: int) -> FileEmbedding:
        return self._finish_file(self._prepare_file(path), n_threads)

    def _prepare_file(self, path):
        """Decode a file and make its input map: (map, name, decoded)."""
        if self.input != "audio":
            raise ValueError("embedding files needs input='audio'; this embedder takes log-mel "
                             "frames")
        decoded = decode_io.decode_file(path, min_seconds=self.min_seconds)
        name = os.fspath(path)
        return self._wave_maps([decoded.samples], [name])[0], name, decoded

    def _finish_file(self, prepared, n_threads: int) -> FileEmbedding:
        x, name, decoded = prepared
        vector = self._run([x], [name], True, n_threads=n_threads)
        return FileEmbedding(vector, decoded.seconds, decoded.warnings)

    def _clips_at_once(self, n_clips: int) -> int:
        """How many clips (files, or rows of a batch) run side by side."""
        if n_clips < 2 or not self._runner.parallel_clips or self._macs() >= CLIP_PARALLEL_MACS:
            return 1
        return min(n_clips, _core.resolve_threads(self.n_threads))

    def _macs(self) -> int:
        """Multiply-adds of one clip at the embedder's length (computed once)."""
        if self._macs_per_clip is None:
            self._macs_per_clip = self.network.describe(self.length).macs
        return self._macs_per_clip

    def _embed_files(self, paths) -> np.ndarray:
        """Files in order (see :meth:`embed_files`); the first unusable one raises its error."""
        rows = []
        for _, result in self.embed_files(paths):
            if isinstance(result, Exception):
                raise result
            for message in result.warnings:
                warnings.warn(message, audio_io.AudioWarning, stacklevel=3)
            rows.append(result.vector)
        return np.stack(rows)

    def _run(self, maps, names, single, n_threads: int | None = None) -> np.ndarray:
        """The network on input maps, after checking their lengths."""
        for name, x in zip(names, maps):
            if x.shape[0] < self.network.min_length:
                raise ValueError(self._too_short(f"{name}: {x.shape[0]} {self.network.input_unit}"))
        side_by_side = 1 if n_threads is not None else self._clips_at_once(len(maps))
        if side_by_side > 1:
            # A batch of small clips: side by side, one thread each (see embed_files).
            with ThreadPoolExecutor(max_workers=side_by_side) as pool:
                out = np.concatenate(list(pool.map(lambda x: self._runner.run([x], 1), maps)))
        else:
            out = self._runner.run(maps, self.n_threads if n_threads is None else n_threads)
        return out[0] if single else out

    __call__ = embed

    def _input_maps(self, clips, sr, channel_axis=None):
        """(time, frequency, 1) input maps at the network's length, their names, single."""
        if self.input == "logmel":
            if channel_axis is not None:
                raise ValueError("channel_axis is for audio; log-mel frames have no channels")
            frames, names, single = frontend.check_logmel(clips)
            return self._fixed_maps(frames, names), names, single
        waves, names, single = clips_io.load_clips(clips, sr=sr, length=None, pad=self.pad,
                                                   channel_axis=channel_axis,
                                                   min_seconds=self.min_seconds)
        return self._wave_maps(waves, names), names, single

    def _wave_maps(self, waves, names):
        """Input maps of 12 kHz clips at the embedder's length: the log-mel is taken over the
        whole clip, then its frames are cropped or padded, as in the paper."""
        return self._fixed([self._whole_map(w) for w in waves], names)

    def _whole_map(self, wave):
        """The (time, frequency, 1) input map of a whole 12 kHz clip."""
        if self.network.input_kind == "waveform":
            return wave.reshape(-1, 1, 1)
        return frontend.logmel(wave, preset=self.logmel_preset)[:, :, None]

    def _whole_map_key(self) -> tuple:
        """What :meth:`_whole_map` depends on besides the clip: embedders with equal keys can
        share a clip's map (the waveform, or its log-mel of one preset)."""
        if self.network.input_kind == "waveform":
            return ("waveform",)
        return ("logmel", self.logmel_preset)

    def _embed_whole_map(self, whole, name: str, n_threads: int) -> np.ndarray:
        """The embedding of a clip's whole input map (see :meth:`_whole_map`)."""
        return self._run(self._fixed([whole], [name]), [name], True, n_threads=n_threads)

    def _fixed_maps(self, frames, names):
        return self._fixed([f[:, :, None] for f in frames], names)

    def _fixed(self, inputs, names):
        return [clips_io.fix_length(x, self.length, self.pad, name=n) for x, n in zip(inputs, names)]

    def _too_short(self, subject: str) -> str:
        """'<subject> is too short for <arch>', with the minimum and the fix."""
        minimum = self.network.min_length
        return (f"{subject} is too short for {self.arch}, which needs at least {minimum} "
                f"{self.network.input_unit}; pass length={max(minimum, self.length)} with "
                f"pad='repeat' or pad='zero'")

    def __repr__(self) -> str:
        where = (f"isa={_core.isa_info()['active']!r}" if self.backend == "native"
                 else f"onnx {self.device}")
        return (f"Embedder(arch={self.arch!r}, size={self.size!r}, seed={self.seed}, "
                f"length={self.length}, pad={self.pad!r}, n_threads={self.n_threads}, "
                f"precision={self.precision!r}, n_features={self.n_features}, {where})")


class _FileJob:
    """A worker process's part of :meth:`Embedder.embed_files`: build the embedder once, then
    embed files one at a time on one thread."""

    def __init__(self, kwargs: dict):
        self.kwargs = kwargs
        self.embedder = None

    def start(self) -> None:
        self.embedder = Embedder(**self.kwargs, n_threads=1)

    def __call__(self, path) -> FileEmbedding:
        return self.embedder._embed_file_on(path, 1)


@functools.lru_cache(maxsize=8)
def _cached_native_runner(network: Network, seed: int, precision: str) -> NativeRunner:
    return NativeRunner(network, _cached_parameters(network, seed), precision=precision)


@functools.lru_cache(maxsize=8)
def _cached_parameters(network: Network, seed: int):
    params = make_parameters(network, seed)
    for value in params.values():
        value.flags.writeable = False  # shared between embedders: never mutated in place
    return params


def embed(audio, arch: str = "sample_level", *, sr: float | None = None, size: str = "paper",
          seed: int = 0, length: int | None = None, pad: str = "repeat", input: str = "audio",
          logmel_preset: str = "elmarc", backend_features: str = "faithful",
          n_threads: int = 0, backend: str = "native", device: str = "cpu",
          precision: str = "fp32", features: int | None = None,
          channel_axis: int | None = None, min_seconds: float = audio_io.MIN_SECONDS) -> np.ndarray:
    """Embed audio with a random-weight CNN, in one call.

    The same as ``Embedder(arch, ...).embed(audio, sr=sr, channel_axis=channel_axis)``;
    weights are cached per (network, seed), so repeated calls do not redraw them.

    Parameters
    ----------
    audio : array_like, str, os.PathLike or list of paths
        As :meth:`Embedder.embed` takes it.
    arch : str, os.PathLike or Network
        A built-in name, an architecture file or a Network.
    sr, channel_axis
        As :meth:`Embedder.embed`.
    size, seed, length, pad, input, logmel_preset, backend_features, n_threads, backend, \
device, precision, features, min_seconds
        As :class:`Embedder`.

    Returns
    -------
    numpy.ndarray
        float32, (n_features,) for one clip, (n_clips, n_features) for a batch.

    Examples
    --------
    >>> import numpy as np
    >>> embed(np.zeros(12000, np.float32), "vgg", sr=12000, size="small").shape
    (160,)
    """
    embedder = Embedder(arch, size=size, seed=seed, length=length, pad=pad, input=input,
                        logmel_preset=logmel_preset, backend_features=backend_features,
                        n_threads=n_threads, backend=backend, device=device, precision=precision,
                        features=features, min_seconds=min_seconds)
    return embedder.embed(audio, sr=sr, channel_axis=channel_axis)


def embed_frames(audio, arch: str = "sample_level", *, sr: float | None = None,
                 hop: float = DEFAULT_HOP, window: float = DEFAULT_WINDOW, size: str = "paper",
                 seed: int = 0, logmel_preset: str = "elmarc",
                 backend_features: str = "faithful", n_threads: int = 0,
                 precision: str = "fp32"):
    """Embed each frame of audio with a random-weight CNN, in one call.

    The same as ``Embedder(arch, ..., pad="none").embed_frames(audio, sr=sr, hop=hop,
    window=window)``; weights are cached per (arch, size, seed).

    Parameters
    ----------
    audio : numpy.ndarray, str, os.PathLike or list of paths
        As :meth:`Embedder.embed_frames` takes it.
    arch : str, os.PathLike or Network
        A built-in name, an architecture file or a Network.
    sr, hop, window
        As :meth:`Embedder.embed_frames` (which states the alignment).
    size, seed, logmel_preset, backend_features, n_threads, precision
        As :class:`Embedder`.

    Returns
    -------
    frames : numpy.ndarray or list of numpy.ndarray
        float32 (n_frames, n_features) per clip.
    timestamps : numpy.ndarray or list of numpy.ndarray
        Each frame's centre in seconds, float64 (n_frames,).

    Examples
    --------
    >>> import numpy as np
    >>> frames, timestamps = embed_frames(np.zeros(24000, np.float32), "sample_level",
    ...                                   sr=12000, size="small", hop=0.5, window=1.0)
    >>> frames.shape, timestamps
    ((3, 161), array([0.5, 1. , 1.5]))
    """
    embedder = Embedder(arch, size=size, seed=seed, pad="none", logmel_preset=logmel_preset,
                        backend_features=backend_features, n_threads=n_threads,
                        precision=precision)
    return embedder.embed_frames(audio, sr=sr, hop=hop, window=window)
