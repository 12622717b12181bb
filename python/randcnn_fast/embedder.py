"""The public embedding API: :class:`Embedder` (build once, embed many) and :func:`embed`."""
from __future__ import annotations

import functools
from collections import OrderedDict

import numpy as np

from . import _core
from . import audio as audio_io
from .architectures import build
from .executor import run_native
from .network import Network, NetworkSummary
from .weights import check_seed, make_parameters


def check_threads(n_threads) -> int:
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) or n_threads < 0:
        raise ValueError(f"n_threads must be an integer >= 0 (0 = all cores), got {n_threads!r}")
    return int(n_threads)


class Embedder:
    """A random-weight CNN, built once, that turns audio into embeddings.

    Parameters
    ----------
    arch : str
        Architecture name, e.g. ``"sample_level"``.
    size : {"paper", "small"}
        "paper" gives the study's ~3585-d features, "small" its ~160-d ones.
    seed : int
        Weights are a pure function of (seed, arch, layer): the same seed gives the same
        network in every process.
    length : int, optional
        Input length in samples at 12 kHz; defaults to the architecture's (350,000 for the
        waveform models, 29.17 s).
    pad : {"repeat", "zero", "crop"}
        How clips are brought to ``length``: "repeat" tiles a short clip, "zero" appends
        silence, both crop a long one; "crop" only cuts long clips and leaves short ones as
        they are (an error if shorter than the network accepts).
    n_threads : int
        Threads for the forward pass; 0 uses every core. Results do not depend on it.
    """

    def __init__(self, arch: str = "sample_level", *, size: str = "paper", seed: int = 0,
                 length: int | None = None, pad: str = "repeat", n_threads: int = 0):
        self.network: Network = build(arch, size)
        self.arch = arch
        self.size = size
        self.seed = check_seed(seed)
        self.length = self.network.default_length if length is None else length
        if isinstance(self.length, bool) or not isinstance(self.length, (int, np.integer)) or self.length < 1:
            raise ValueError(f"length must be a positive integer, got {length!r}")
        if pad not in audio_io.PAD_MODES:
            raise ValueError(f"unknown pad {pad!r}; choose one of {audio_io.PAD_MODES}")
        self.pad = pad
        self.n_threads = check_threads(n_threads)
        if pad != "crop" and not self.network.accepts(self.length):
            raise ValueError(
                f"length={self.length} is too short for {arch}: it needs at least "
                f"{self.network.min_length()} samples")
        self._params = _cached_parameters(arch, size, self.seed)

    @property
    def n_features(self) -> int:
        return self.network.n_features

    def parameters(self) -> "OrderedDict[str, np.ndarray]":
        """Weights and biases by name, in PyTorch/ONNX layout and layer order (copies).

        Convolution weights are (out_channels, in_channels, kernel) and biases
        (out_channels,), so the same network can be rebuilt in another framework.
        """
        return OrderedDict((name, value.copy()) for name, value in self._params.items())

    def describe(self, length: int | None = None) -> NetworkSummary:
        """Layers, output shapes, parameters and MACs for ``length`` samples (default: the
        embedder's length); ``print()`` it for a table."""
        return self.network.describe(self.length if length is None else length)

    def embed(self, clips, *, sr: float | None = None) -> np.ndarray:
        """Embed audio: a 1-D array (``sr`` required), a 2-D batch of equal-length clips, a
        path, or a list of paths.

        Returns
        -------
        numpy.ndarray
            float32, (n_features,) for one clip, (n_clips, n_features) for a batch.
        """
        loaded, names, single = audio_io.load_clips(clips, sr=sr, length=self.length, pad=self.pad)
        minimum = self.network.min_length()
        for name, clip in zip(names, loaded):
            if clip.shape[0] < minimum:
                raise ValueError(
                    f"{name}: {clip.shape[0]} samples at 12 kHz is too short for {self.arch}, "
                    f"which needs at least {minimum}; pass length={max(minimum, self.length)} "
                    f"with pad='repeat' or pad='zero'")
        out = np.stack([run_native(self.network, self._params, clip, self.n_threads) for clip in loaded])
        return out[0] if single else out

    __call__ = embed

    def __repr__(self) -> str:
        return (f"Embedder(arch={self.arch!r}, size={self.size!r}, seed={self.seed}, "
                f"length={self.length}, pad={self.pad!r}, n_threads={self.n_threads}, "
                f"n_features={self.n_features}, isa={_core.isa_info()['active']!r})")


@functools.lru_cache(maxsize=8)
def _cached_parameters(arch: str, size: str, seed: int):
    params = make_parameters(build(arch, size), seed)
    for value in params.values():
        value.flags.writeable = False  # shared between embedders: never mutated in place
    return params


def embed(audio, arch: str = "sample_level", *, sr: float | None = None,
          size: str = "paper", seed: int = 0, length: int | None = None, pad: str = "repeat",
          n_threads: int = 0) -> np.ndarray:
    """Embed audio with a random-weight CNN: ``Embedder(arch, ...).embed(audio, sr=sr)``.

    See :class:`Embedder` for the parameters. Weights are cached per (arch, size, seed).
    """
    embedder = Embedder(arch, size=size, seed=seed, length=length, pad=pad, n_threads=n_threads)
    return embedder.embed(audio, sr=sr)
