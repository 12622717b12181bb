"""Features for a dataset: CNN embeddings or the MFCC baseline, cached on disk per file.

A clip's features are stored under a key made of everything they depend on (the feature
configuration, the package version and native build, the file's absolute path, size and
modification time), each written to a temporary name and renamed into place, so an interrupted
run loses nothing and never leaves a half-written entry. An entry keeps the warnings of the
clip's decoding with its features, so a cached run reports them as a fresh one does. A clip that
cannot be read is recorded, not fatal. Several configurations are computed in one pass over the
files, each file decoded once and each of its log-mels computed once.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import _core
from .._version import __version__
from ..atomic import atomic_write
from ..frontend.spectrogram import mfcc_features
from ..input.audio import MIN_SECONDS
from ..input.decode import decode_file
from ..network.archfile import network_from_dict
from .embedder import Embedder
from .ordered import attempt, in_order
from .stage_clock import StageClock

__all__ = ["MFCC", "FeatureConfig", "dataset_features", "configs_features"]

#: The ``arch`` of :class:`FeatureConfig` that names the 120-d MFCC baseline.
MFCC = "mfcc"

#: Part of every cache key: raised whenever what an entry holds, or the decoding behind it,
#: changes, so that no entry written otherwise is ever read.
CACHE_FORMAT = 2


@dataclass(frozen=True)
class FeatureConfig:
    """What a clip's features depend on; part of every cache key.

    Parameters
    ----------
    arch : str
        A built-in architecture's name, or :data:`MFCC` for the 120-d MFCC baseline.
    size, seed, length, pad, logmel_preset, backend_features, precision, features
        As :class:`randcnn_fast.Embedder` takes them.
    network : str
        The canonical JSON description of a network that is not a built-in (an
        architecture file, a Network, a width set by ``features``); "" for a built-in's name.

    Attributes
    ----------
    label : str
        How results name the features, such as "vgg (small)" or "MFCC (120)".

    Examples
    --------
    >>> FeatureConfig("vgg").label, FeatureConfig(MFCC).label
    ('vgg (small)', 'MFCC (120)')
    """

    arch: str
    size: str = "small"
    seed: int = 0
    length: int | None = None
    pad: str = "repeat"
    logmel_preset: str = "elmarc"
    backend_features: str = "faithful"
    precision: str = "fp32"
    features: int | None = None
    network: str = ""

    @property
    def label(self) -> str:
        """How results name the features."""
        return "MFCC (120)" if self.arch == MFCC else f"{self.arch} ({self.size})"


def _default_cache_dir() -> Path:
    return Path(os.environ.get("RANDCNN_FAST_CACHE", Path.home() / ".cache" / "randcnn_fast")) / "features"


@functools.lru_cache(maxsize=1)
def _native_build() -> str:
    """A digest of the native core this process loaded (read once, at first use): a core with
    other kernels gets new keys; reinstalling while a run goes on does not disturb it."""
    with open(_core.__file__, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


_OPTIONAL_KEYS = ("features", "network")  # left out of a cache key while unset


def _cache_path(cache_dir: Path, config: FeatureConfig, path: str) -> Path:
    return _entry_path(cache_dir, config, _file_identity(path))


def _file_identity(path: str) -> dict:
    """The part of a cache key that names the file (read once per file, whatever the number
    of configurations); OSError for a file that cannot be stat'ed."""
    stat = os.stat(path)
    return {"path": os.path.abspath(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _entry_path(cache_dir: Path, config: FeatureConfig, identity: dict) -> Path:
    described = {k: v for k, v in asdict(config).items()
                 if not (k in _OPTIONAL_KEYS and v in (None, ""))}
    key = json.dumps({"format": CACHE_FORMAT, "version": __version__, "native": _native_build(),
                      "config": described, **identity}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()
    return cache_dir / digest[:2] / f"{digest}.npz"


def _save(path: Path, value: np.ndarray, warnings: tuple[str, ...]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, features=value, warnings=np.array(warnings, dtype=str))


def _load(path: Path | None) -> tuple[np.ndarray, tuple[str, ...]] | None:
    """An entry's (features, warnings); None for no entry, or none readable."""
    if path is None:
        return None
    try:
        with np.load(path) as entry:
            return entry["features"], tuple(str(w) for w in entry["warnings"])
    # An empty file raises EOFError and a cut-short one BadZipFile: damaged entries, recomputed.
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None


def dataset_features(paths, config: FeatureConfig, *, cache_dir: Path | None = None,
                     n_threads: int = 0, progress: bool = True):
    """Compute, or read from the cache, the features of every file.

    Parameters
    ----------
    paths : sequence of str
        Audio files.
    config : FeatureConfig
        The features to compute.
    cache_dir : str or os.PathLike, optional
        Where entries are kept; ``$RANDCNN_FAST_CACHE/features`` (default
        ``~/.cache/randcnn_fast/features``) when None.
    n_threads : int
        Threads for embedding; 0 uses every core.
    progress : bool
        Show a progress bar.

    Returns
    -------
    X : numpy.ndarray
        float32 (n_files, n_features), NaN rows for failures.
    failures : list of dict
        ``{"path", "features", "error"}`` per file that could not be used.
    warnings : list of dict
        ``{"path", "warning"}`` per thing decoding noticed in a clip that was embedded (such
        as an MP3 length other than its header's).

    Examples
    --------
    >>> import numpy as np, soundfile
    >>> soundfile.write("tone.wav", np.zeros(12000, np.float32), 12000)
    >>> X, failures, warnings = dataset_features(
    ...     ["tone.wav", "missing.wav"], FeatureConfig(MFCC), cache_dir="cache", progress=False)
    >>> X.shape, bool(np.isnan(X[1]).all()), [f["path"] for f in failures]
    ((2, 120), True, ['missing.wav'])
    """
    return configs_features(paths, [config], cache_dir=cache_dir, n_threads=n_threads,
                            progress=progress)[config]


def configs_features(paths, configs, *, cache_dir: Path | None = None, n_threads: int = 0,
                     progress: bool = True, clock: StageClock | None = None) -> dict:
    """The features of every file for several configurations, in one pass over the files.

    Each file is decoded once for all the configurations whose cache entry it lacks, and
    its log-mel computed once per preset, however many networks read it. Small networks
    (those :class:`~randcnn_fast.Embedder` runs side by side) run on the worker that
    prepared the file, one thread each; larger ones one file at a time on every thread while
    the workers prepare the next files. Results equal :func:`dataset_features`' one
    configuration at a time.

    Parameters
    ----------
    paths : sequence of str
        Audio files.
    configs : sequence of FeatureConfig
        The features to compute.
    cache_dir, n_threads, progress
        As for :func:`dataset_features`.
    clock : StageClock, optional
        Receives the thread-seconds of "decode", "front-end" and "forward <arch> <size>
        seed <seed>" for each network.

    Returns
    -------
    dict
        FeatureConfig to ``(X, failures, warnings)``, as :func:`dataset_features` returns.

    Examples
    --------
    >>> import numpy as np, soundfile
    >>> soundfile.write("tone.wav", np.zeros(12000, np.float32), 12000)
    >>> configs = [FeatureConfig(MFCC), FeatureConfig("vgg", seed=1)]
    >>> clock = StageClock()
    >>> out = configs_features(["tone.wav"], configs, cache_dir="cache", progress=False,
    ...                        clock=clock)
    >>> [out[c][0].shape for c in configs], sorted(clock.seconds)
    ([(1, 120), (1, 160)], ['decode', 'forward vgg small seed 1', 'front-end'])
    """
    cache_dir = _default_cache_dir() if cache_dir is None else Path(cache_dir)
    clock = StageClock() if clock is None else clock
    embedders = {config: _embedder(config, n_threads) for config in configs}
    out = {config: (np.full((len(paths), 120 if embedder is None else embedder.n_features),
                            np.nan, dtype=np.float32), [], [])
           for config, embedder in embedders.items()}
    missing: dict[int, list] = {}  # file index -> (config, cache entry or None) to compute
    for i, path in enumerate(paths):
        try:
            identity = _file_identity(path)
        except (OSError, ValueError, TypeError):
            identity = None  # a file that cannot be keyed is not cached: decoding names its problem
        for config in configs:
            X, _, warnings = out[config]
            entry = None if identity is None else _entry_path(cache_dir, config, identity)
            cached = _load(entry)
            if cached is None:
                missing.setdefault(i, []).append((config, entry))
                continue
            X[i], noticed = cached
            warnings += [{"path": str(path), "warning": w} for w in noticed]
    workers = _core.resolve_threads(n_threads)
    on_worker = {config for config, embedder in embedders.items()
                 if embedder is None or embedder._clips_at_once(2) > 1}

    def prepare(i):
        """Decode file i and compute what runs on a worker: (decoded or error, maps, results)."""
        try:
            with clock("decode"):
                decoded = decode_file(paths[i], min_seconds=MIN_SECONDS)
        except Exception as error:  # noqa: BLE001 - the file's failure, in every configuration
            return error, {}, {}
        maps = {}
        results = {config: attempt(_features_of, embedders[config], decoded.samples, paths[i],
                                    maps, 1, clock, config)
                   for config, _ in missing[i] if config in on_worker}
        return decoded, maps, results

    bar = tqdm(total=len(missing), desc="features", unit="clip", disable=not progress,
               leave=False)
    with bar, ThreadPoolExecutor(max_workers=workers) as pool:
        for i, (decoded, maps, results) in in_order(pool, prepare, sorted(missing),
                                                    ahead=2 * workers):
            bar.update()
            for config, entry in missing[i]:
                X, failures, warnings = out[config]
                if isinstance(decoded, Exception):
                    result = decoded
                elif config in results:
                    result = results[config]
                else:
                    result = attempt(_features_of, embedders[config], decoded.samples,
                                      paths[i], maps, n_threads, clock, config)
                # Whatever goes wrong with one clip (MemoryError included) is that clip's failure.
                if isinstance(result, Exception):
                    failures.append({"path": str(paths[i]), "features": config.label,
                                     "error": str(result) or type(result).__name__})
                    continue
                if entry is not None:
                    _save(entry, result, decoded.warnings)
                X[i] = result
                warnings += [{"path": str(paths[i]), "warning": w} for w in decoded.warnings]
    return out


def _embedder(config: FeatureConfig, n_threads: int) -> Embedder | None:
    """The Embedder of a CNN configuration; None for the MFCC baseline."""
    if config.arch == MFCC:
        return None
    arch = network_from_dict(json.loads(config.network))[0] if config.network else config.arch
    return Embedder(arch, size=config.size, seed=config.seed, length=config.length,
                    pad=config.pad, logmel_preset=config.logmel_preset,
                    backend_features=config.backend_features, n_threads=n_threads,
                    precision=config.precision)


def _features_of(embedder: Embedder | None, wave: np.ndarray, path, maps: dict, n_threads: int,
                 clock: StageClock, config: FeatureConfig) -> np.ndarray:
    """One clip's features for one configuration; ``maps`` keeps the clip's whole input maps
    (such as its log-mel) for the other configurations that read the same."""
    if embedder is None:
        with clock("front-end"):
            return mfcc_features(wave)
    key = embedder._whole_map_key()
    if key not in maps:
        with clock("front-end"):
            maps[key] = embedder._whole_map(wave)
    with clock(f"forward {config.arch} {config.size} seed {config.seed}"):
        return embedder._embed_whole_map(maps[key], os.fspath(path), n_threads)
