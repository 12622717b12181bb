"""Corpus-scale embedding extraction into sharded Parquet files, resumable and crash-safe.

:func:`extract` embeds every clip of a folder or a CSV manifest and writes ``out_dir``::

    out_dir/
      config.json                    embedding configuration, package version, config hash
      manifest.parquet               clip_id, path, the manifest's extra columns
      shards/part-00000.parquet      clip_id, path, seconds, warning, embedding (fixed_size_list)
                                     (with hop and window: one row per frame, and its time)
      errors/part-00000.parquet      clip_id, path, error_type, error  (clips that failed)
      ...

Clips are numbered 0..n-1 in manifest order (a folder is listed recursively and sorted by
relative path). Shard ``i`` holds the clips with ``clip_id`` in ``[i*shard_size,
(i+1)*shard_size)``, less the ones that failed, which go to the errors part of the same
index: the files are a deterministic function of the manifest and the configuration, whoever
computes them and in whatever order.

Crash safety and resume
-----------------------
Every file is written to a hidden temporary name in its final folder (``.part-00003.parquet.
tmp-<pid>-<random>``), flushed to disk, and renamed into place with :func:`os.replace`, which is
atomic: a final name only ever holds a complete file. A shard's errors part is written first,
its embeddings part last, so the embeddings part is the shard's "done" marker: a shard counts as
done when both parts exist, and a run killed between the two redoes the shard (rewriting the
same errors part). At start a run removes temporary files left by a killed one, skips the done
shards and computes the others. A lock file (``.extract.lock``, held with ``flock`` while a run
is writing, released by the kernel even on SIGKILL, removed when the run ends) refuses a second
run into the same folder. A folder the process cannot write is only read: a finished run there
is checked and summarised, anything else is refused with the reason.

``config.json`` keys the run: the sha256 of its canonical JSON (the "config hash") is checked
against the existing one, and a run with another configuration, package version or shard size,
or over other files, is refused unless ``overwrite=True``, which first deletes the previous
run's files (only files this module writes; nothing else in ``out_dir`` is touched).

A clip that cannot be read or embedded (whatever the error, a ``MemoryError`` included) is
recorded in the errors part with the reason, and the run goes on. A later run retries the
recorded failures (``retry_failed=False`` keeps them): it rewrites the shard's embeddings part
with the clips that now succeed, then its errors part with those that still fail; a kill between
the two leaves a clip in both parts, where the embeddings part wins.

Scale-out: ``workers=N`` runs shards on a local Dask cluster, ``scheduler="tcp://host:8786"`` on
an existing one (``pip install 'dask[distributed]'``; workers need this package and the same
file system paths). Every shard goes through :func:`embed_shard`, the function the local path
runs, so results are identical.

pyarrow (and pandas for :func:`load_embeddings`) are imported when needed:
``pip install 'randcnn_fast[extract]'``.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .._version import __version__
from ..atomic import TMP_MARK, atomic_write
from ..datasets.loaders import AUDIO_EXTENSIONS, audio_files, normalise_extensions, read_csv
from ..features.embedder import Embedder, check_threads
from ..input.audio import MIN_SECONDS, SAMPLE_RATE, decode_file
from ..network.archfile import network_from_dict
from ..network.frames import to_samples

__all__ = ["ExtractSummary", "extract", "embed_shard", "load_embeddings", "FORMAT_VERSION"]

#: Version of the on-disk layout and of the decoding behind it; part of the configuration hash,
#: so a store written under another version is refused rather than mixed with this one.
FORMAT_VERSION = 2

CONFIG_FILE = "config.json"
MANIFEST_FILE = "manifest.parquet"
SHARDS_DIR = "shards"
ERRORS_DIR = "errors"
LOCK_FILE = ".extract.lock"
#: Columns a CSV manifest may not use: extract writes them itself.
RESERVED_COLUMNS = ("clip_id", "seconds", "warning", "embedding", "error", "error_type")

_HASH_KEY = b"randcnn_fast.config_hash"
_SHARD_KEY = b"randcnn_fast.shard"
_INSTALL_HINT = "pip install 'randcnn_fast[extract]' (that is, pyarrow and pandas)"


# --------------------------------------------------------------------------- optional imports


def _pyarrow():
    """(pyarrow, pyarrow.parquet), or an ImportError saying what to install."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as error:
        raise ImportError(f"randcnn_fast.extraction.extract writes Parquet files with pyarrow, which is not "
                          f"installed: {_INSTALL_HINT}") from error
    return pa, pq


def _pandas():
    try:
        import pandas as pd
    except ImportError as error:
        raise ImportError(f"load_embeddings returns a pandas DataFrame; pandas is not installed: "
                          f"{_INSTALL_HINT}") from error
    return pd


# --------------------------------------------------------------------------- summary


@dataclass
class ExtractSummary:
    """What a run did. ``done + skipped + failed == n_clips`` once a run completes.

    Attributes:
        out_dir: the output folder.
        n_clips: clips in the manifest.
        done: clips embedded by this run.
        skipped: clips embedded by an earlier run (their shard was already complete).
        retried: clips an earlier run recorded as failed, embedded again by this one.
        failed: clips recorded as failed in the output, by this run or an earlier one (with
            ``retry_failed=False`` the failures of earlier runs are kept as they are);
            non-zero means the output is missing clips.
        seconds: wall-clock seconds of this run.
        audio_seconds: seconds of audio (as decoded) embedded by this run.
        errors: every failed clip, as dicts with clip_id, path, error_type and error.
        warnings: every embedded clip whose decoding noticed something (for example a decoded
            length other than the header's, normal for MP3), as dicts with clip_id, path and
            warning; kept in the shards' ``warning`` column.
        config_hash: sha256 of the canonical configuration JSON.
    """

    out_dir: str
    n_clips: int
    done: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    seconds: float = 0.0
    audio_seconds: float = 0.0
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    config_hash: str = ""
    failed_this_run: int = 0

    @property
    def clips_per_second(self) -> float:
        """Clips (embedded or failed) per wall-clock second in this run."""
        return (self.done + self.failed_this_run) / self.seconds if self.seconds > 0 else 0.0

    @property
    def audio_seconds_per_second(self) -> float:
        """Seconds of audio embedded per wall-clock second in this run."""
        return self.audio_seconds / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        retried = f" ({self.retried} failed before and retried)" if self.retried else ""
        text = (f"extract: {self.n_clips} clips into {self.out_dir}: {self.done} embedded"
                f"{retried}, {self.skipped} skipped (done before), {self.failed} failed; "
                f"{self.seconds:.1f} s, {self.clips_per_second:.1f} clips/s, "
                f"{self.audio_seconds_per_second:.1f} audio-s/s")
        shown = self.errors[:5]
        for e in shown:
            text += f"\n  failed: clip {e['clip_id']}: {e['error']}"
        if len(self.errors) > len(shown):
            text += f"\n  ... and {len(self.errors) - len(shown)} more (errors/*.parquet)"
        if self.warnings:
            text += (f"\n  {len(self.warnings)} clip(s) embedded with a warning (the shards' "
                     f"'warning' column), first: {self.warnings[0]['warning']}")
        return text


# --------------------------------------------------------------------------- manifest


def _folder_manifest(root: Path, extensions) -> tuple[list[str], dict[str, list[str]]]:
    """Audio files under ``root`` (recursive; hidden files and folders skipped), sorted by
    path relative to ``root``."""
    exts = normalise_extensions(extensions)
    found = audio_files(root, exts)
    if not found:
        raise ValueError(f"{root}: no audio files ({', '.join(exts)}) found")
    found.sort(key=lambda p: p.relative_to(root).as_posix())
    return [str(p) for p in found], {}


def _csv_manifest(csv_path: Path) -> tuple[list[str], dict[str, list[str]]]:
    """Paths (relative ones taken relative to the CSV's folder) and the extra columns, as
    text, of a CSV with a ``path`` column."""
    columns, rows = read_csv(csv_path)
    if "path" not in columns:
        raise ValueError(f"{csv_path}: a manifest needs a 'path' column; the CSV has columns "
                         f"{columns}")
    clash = [c for c in columns if c in RESERVED_COLUMNS]
    if clash:
        raise ValueError(f"{csv_path}: column(s) {clash} are written by extract; rename them")
    dup = sorted({c for c in columns if columns.count(c) > 1})
    if dup:
        raise ValueError(f"{csv_path}: repeated column(s) {dup}")
    if not rows:
        raise ValueError(f"{csv_path} lists no clips")
    base = csv_path.parent
    extra = [c for c in columns if c != "path"]
    paths, values = [], {c: [] for c in extra}
    for lineno, row in enumerate(rows, start=2):
        if None in row:  # more fields than the header has
            raise ValueError(f"{csv_path}:{lineno}: more fields than the header's {len(columns)}")
        rel = (row["path"] or "").strip()
        if not rel:
            raise ValueError(f"{csv_path}:{lineno}: empty 'path'")
        paths.append(os.path.abspath(base / os.path.expanduser(rel)))
        for c in extra:
            values[c].append(row[c] if row[c] is not None else "")
    return paths, values


def _read_source(source, extensions) -> tuple[list[str], dict[str, list[str]]]:
    path = Path(os.path.abspath(os.path.expanduser(os.fspath(source))))
    if path.is_dir():
        return _folder_manifest(path, extensions)
    if path.is_file():
        if path.suffix.lower() == ".csv":
            return _csv_manifest(path)
        raise ValueError(f"{path}: extract reads a folder of audio files or a .csv manifest "
                         "with a 'path' column")
    raise FileNotFoundError(f"source {path} does not exist")


def _manifest_table(paths, extra):
    pa, _ = _pyarrow()
    columns = {"clip_id": pa.array(np.arange(len(paths), dtype=np.int64)),
               "path": pa.array(paths, type=pa.string())}
    for name, values in extra.items():
        columns[name] = pa.array(values, type=pa.string())
    return pa.table(columns)


# --------------------------------------------------------------------------- configuration


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def config_hash(config: dict) -> str:
    """sha256 of the canonical JSON of a configuration dict."""
    return hashlib.sha256(_canonical(config).encode()).hexdigest()


def _make_config(embedder: Embedder, shard_size: int, frames=None) -> dict:
    """Everything the files depend on (not n_threads: results do not depend on it).
    ``frames`` is (hop, window) in seconds for frame embeddings, None for clip ones. A network
    that is not a built-in (a file, a Network, a width) is stored whole, so that every worker
    rebuilds it; a built-in's configuration stays as it always was."""
    network = {} if embedder.builtin else {"network": embedder.network.to_dict()}
    return _frames_config(frames) | network | {
        "format": FORMAT_VERSION,
        "randcnn_fast": __version__,
        "arch": embedder.arch,
        "size": embedder.size,
        "seed": int(embedder.seed),
        "length": int(embedder.length),
        "pad": embedder.pad,
        "logmel_preset": embedder.logmel_preset,
        "backend_features": embedder.backend_features,
        "precision": embedder.precision,
        "n_features": int(embedder.n_features),
        "sample_rate": SAMPLE_RATE,
        "shard_size": int(shard_size),
        "min_seconds": embedder.min_seconds,
    }


def _frames_config(frames) -> dict:
    """The keys of a frame-embedding run, checked before anything is written; none for clip
    embeddings, so their configuration (and hash) is what it always was."""
    if frames is None:
        return {}
    hop, window = frames
    to_samples(hop, "hop")
    to_samples(window, "window")
    return {"frames": {"hop": float(hop), "window": float(window)}}


def _describe_difference(stored: dict, wanted: dict) -> str:
    keys = sorted(set(stored) | set(wanted))
    diffs = [f"{k}: {stored.get(k, '<absent>')!r} there, {wanted.get(k, '<absent>')!r} now"
             for k in keys if stored.get(k) != wanted.get(k)]
    return "; ".join(diffs)


# --------------------------------------------------------------------------- files


def _shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def _write_parquet(table, final: Path) -> None:
    _, pq = _pyarrow()
    with atomic_write(final) as tmp:
        pq.write_table(table, tmp)


def _write_json(obj, final: Path) -> None:
    with atomic_write(final) as tmp:
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n")


def _temporary_files(out_dir: Path) -> list[Path]:
    found = []
    for folder in (out_dir, out_dir / SHARDS_DIR, out_dir / ERRORS_DIR):
        if folder.is_dir():
            found += [p for p in folder.iterdir()
                      if p.name.startswith(".") and TMP_MARK in p.name and p.is_file()]
    return found


def _remove_temporary_files(out_dir: Path) -> int:
    removed = 0
    for path in _temporary_files(out_dir):
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def _remove_run(out_dir: Path) -> None:
    """Delete the files a run writes (and only those)."""
    _remove_temporary_files(out_dir)
    for sub in (SHARDS_DIR, ERRORS_DIR):
        folder = out_dir / sub
        if folder.is_dir():
            for p in folder.glob("part-*.parquet"):
                p.unlink()
            try:
                folder.rmdir()
            except OSError:  # something else lives there: leave it
                pass
    for name in (MANIFEST_FILE, CONFIG_FILE):
        try:
            (out_dir / name).unlink()
        except FileNotFoundError:
            pass


@contextmanager
def _run_lock(out_dir: Path):
    """Hold an exclusive flock on out_dir/.extract.lock while the run works (the kernel releases
    it if the process dies), refusing a second concurrent run into the same folder; the file is
    removed when the run ends, so a finished folder holds only its results.

    Yields True, or False where out_dir cannot be written (a read-only folder): such a run may
    only read and check what is there.
    """
    try:
        import fcntl
    except ImportError:  # no flock (Windows): no protection against concurrent runs
        yield True
        return
    path = out_dir / LOCK_FILE
    fh = _open_lock(path, fcntl)
    if fh is None:
        yield False
        return
    try:
        yield True
    finally:
        try:
            path.unlink()  # while still holding the lock: see _open_lock
        except OSError:
            pass
        fh.close()


def _open_lock(path: Path, fcntl):
    """The lock file, open and locked; None where its folder cannot be written."""
    while True:
        try:
            fh = open(path, "a+b")
        except OSError as error:
            if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                return None
            raise
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise RuntimeError(f"another extraction is writing into {path.parent} (it holds "
                               f"{path}); wait for it or stop it") from None
        # A run that ended between our open and flock has removed the file we locked; a lock
        # on it would not exclude a run that creates the file anew, so lock that one instead.
        try:
            if os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino:
                return fh
        except FileNotFoundError:
            pass
        fh.close()


def _shard_done(out_dir: Path, index: int) -> bool:
    name = _shard_name(index)
    return (out_dir / ERRORS_DIR / name).is_file() and (out_dir / SHARDS_DIR / name).is_file()


# --------------------------------------------------------------------------- the shard worker

_EMBEDDERS: dict = {}
_EMBEDDERS_LOCK = threading.Lock()


def _embedder_for(config: dict, n_threads: int) -> Embedder:
    """The Embedder for ``config``, built once per process (each Dask worker keeps its own)."""
    version = __version__
    if config["randcnn_fast"] != version:
        raise RuntimeError(f"this process runs randcnn_fast {version} but the extraction was "
                           f"configured with {config['randcnn_fast']}; install the same version "
                           "everywhere")
    key = (config_hash(config), n_threads)
    with _EMBEDDERS_LOCK:
        embedder = _EMBEDDERS.get(key)
        if embedder is None:
            arch = network_from_dict(config["network"])[0] if "network" in config else config["arch"]
            embedder = Embedder(arch, size=config["size"], seed=config["seed"],
                                length=config["length"], pad=config["pad"],
                                logmel_preset=config["logmel_preset"],
                                backend_features=config["backend_features"], n_threads=n_threads,
                                precision=config["precision"], min_seconds=config["min_seconds"])
            if embedder.n_features != config["n_features"]:
                raise RuntimeError(f"{config['arch']} gives {embedder.n_features} features here "
                                   f"but {config['n_features']} where the run was configured")
            _EMBEDDERS[key] = embedder
    return embedder


def embed_shard(shard_index: int, rows, config: dict, out_dir, *, n_threads: int = 0,
                on_clip=None) -> dict:
    """Embed clips of one shard and write the shard's errors part and embeddings part.

    This is the unit of work of :func:`extract`, locally and on Dask workers alike. ``rows``
    are all the shard's clips for a new shard, or, for a retry, clips that an earlier run
    recorded as failed: the shard's other clips then keep what is recorded for them.

    Args:
        shard_index: the shard's index ``i``.
        rows: the clips to embed as ``(clip_id, path)`` pairs, clip_ids in
            ``[i*shard_size, (i+1)*shard_size)``.
        config: the run's configuration (``config.json``'s ``"config"``).
        out_dir: the output folder (on a file system this process can write).
        n_threads: threads for the forward pass (0 = all cores); results do not depend on it.
        on_clip: optional callback ``on_clip(audio_seconds_or_None)`` after each clip.

    Returns:
        dict with ``shard``, ``done`` and ``failed`` (of ``rows``), ``audio_seconds`` (of the
        clips embedded now), and the whole shard's ``errors`` (dicts with clip_id, path,
        error_type, error) and ``warnings`` (dicts with clip_id, path, warning).
    """
    pa, pq = _pyarrow()
    out_dir = Path(out_dir)
    size, n_features = config["shard_size"], config["n_features"]
    rows = [(int(c), str(p)) for c, p in rows]
    lo, hi = shard_index * size, (shard_index + 1) * size
    outside = [c for c, _ in rows if not lo <= c < hi]
    if outside:
        raise ValueError(f"shard {shard_index} holds clip_ids [{lo}, {hi}); got {outside[:5]}")
    embedder = _embedder_for(config, n_threads)

    embedded, errors = [], []
    rows = sorted(rows)
    # Whatever goes wrong with one clip (MemoryError included) is that clip's failure.
    for (clip_id, path), (_, result) in zip(rows, _clip_rows(embedder, [p for _, p in rows],
                                                             config)):
        if not isinstance(result, Exception) and not np.isfinite(result.vectors).all():
            result = ValueError(f"{path}: the embedding is not finite")
        if isinstance(result, Exception):
            message = str(result) or type(result).__name__
            if path not in message:  # the frame path's checks name the decoded array "audio"
                message = f"{path}: {message.removeprefix('audio: ')}"
            errors.append({"clip_id": clip_id, "path": path, "error_type": type(result).__name__,
                           "error": message})
            if on_clip is not None:
                on_clip(None)
            continue
        embedded.append((clip_id, path, result))
        if on_clip is not None:
            on_clip(result.seconds)

    table = _rows_table(embedded, n_features, frames="frames" in config)
    error_table = pa.table(
        {"clip_id": pa.array([e["clip_id"] for e in errors], type=pa.int64()),
         "path": pa.array([e["path"] for e in errors], type=pa.string()),
         "error_type": pa.array([e["error_type"] for e in errors], type=pa.string()),
         "error": pa.array([e["error"] for e in errors], type=pa.string())})

    name = _shard_name(shard_index)
    shard_path, errors_path = out_dir / SHARDS_DIR / name, out_dir / ERRORS_DIR / name
    retry = shard_path.is_file()
    if retry:  # keep what is recorded for the shard's other clips
        redone = pa.array([c for c, _ in rows], type=pa.int64())
        table = _keep_other_clips(pq.read_table(shard_path), redone, table)
        if errors_path.is_file():
            error_table = _keep_other_clips(pq.read_table(errors_path),
                                            pa.concat_arrays([redone, table.column("clip_id")
                                                              .combine_chunks()]), error_table)
    metadata = {_HASH_KEY: config_hash(config).encode(), _SHARD_KEY: str(shard_index).encode()}
    table = table.replace_schema_metadata(metadata)
    error_table = error_table.replace_schema_metadata(metadata)
    errors_path.parent.mkdir(parents=True, exist_ok=True)
    shard_path.parent.mkdir(parents=True, exist_ok=True)
    # A new shard's embeddings part, written last, marks it done. A retry rewrites the
    # embeddings first: a kill before its errors part is rewritten leaves a retried clip in
    # both, and a clip in the embeddings part counts as embedded (_recorded).
    for table_, path in ([(table, shard_path), (error_table, errors_path)] if retry
                         else [(error_table, errors_path), (table, shard_path)]):
        _write_parquet(table_, path)
    return {"shard": shard_index, "done": len(embedded), "failed": len(errors),
            "audio_seconds": float(sum(r.seconds for _, _, r in embedded)),
            "errors": error_table.select(["clip_id", "path", "error_type", "error"]).to_pylist(),
            "warnings": _warnings_of(table)}


@dataclass
class _ClipRows:
    """One clip's rows for a shard: its vector (one row) or its frames' vectors and times."""

    vectors: np.ndarray  # (rows, n_features)
    times: np.ndarray | None  # frame centres in seconds, or None for a clip vector
    seconds: float
    warnings: tuple


def _clip_rows(embedder: Embedder, paths, config: dict):
    """(path, _ClipRows or the exception it raised) for each file, in order."""
    if "frames" not in config:
        for path, result in embedder.embed_files(paths):
            yield path, (result if isinstance(result, Exception) else
                         _ClipRows(result.vector[None], None, result.seconds, result.warnings))
        return
    for path in paths:
        try:
            decoded = decode_file(path, min_seconds=embedder.min_seconds)
            vectors, times = embedder.embed_frames(decoded.samples, sr=SAMPLE_RATE,
                                                   **config["frames"])
            yield path, _ClipRows(vectors, times, decoded.seconds, decoded.warnings)
        except Exception as error:  # noqa: BLE001
            yield path, error


def _rows_table(embedded, n_features: int, *, frames: bool):
    """The embeddings part's rows: one per clip, or one per frame with its ``time``."""
    pa, _ = _pyarrow()
    per_clip = [len(r.vectors) for _, _, r in embedded]
    flat = (np.concatenate([r.vectors for _, _, r in embedded]) if embedded
            else np.zeros((0, n_features), np.float32))
    flat = np.ascontiguousarray(flat, dtype=np.float32).reshape(-1)

    def repeated(values, type_):
        return pa.array([v for v, n in zip(values, per_clip) for _ in range(n)], type=type_)

    columns = {"clip_id": repeated([c for c, _, _ in embedded], pa.int64()),
               "path": repeated([p for _, p, _ in embedded], pa.string()),
               "seconds": repeated([r.seconds for _, _, r in embedded], pa.float64()),
               "warning": repeated(["; ".join(r.warnings) or None for _, _, r in embedded],
                                   pa.string())}
    if frames:
        columns["time"] = pa.array(np.concatenate([r.times for _, _, r in embedded])
                                   if embedded else np.zeros(0), type=pa.float64())
    columns["embedding"] = pa.FixedSizeListArray.from_arrays(
        pa.array(flat, type=pa.float32()), n_features)
    return pa.table(columns)


def _keep_other_clips(recorded, redone, fresh):
    """``fresh`` and the rows of ``recorded`` whose clip_id is not in ``redone``, in clip (and
    frame time) order."""
    pa, _ = _pyarrow()
    import pyarrow.compute as pc

    kept = recorded.filter(pc.invert(pc.is_in(recorded.column("clip_id"), value_set=redone)))
    keys = [(c, "ascending") for c in ("clip_id", "time") if c in fresh.column_names]
    return pa.concat_tables([kept.replace_schema_metadata(None), fresh]).sort_by(keys)


def _warnings_of(table) -> list[dict]:
    """The warnings of a shard's clips, once per clip (a frame run repeats them on each row)."""
    seen, found = set(), []
    for row in table.select(["clip_id", "path", "warning"]).to_pylist():
        if row["warning"] is not None and row["clip_id"] not in seen:
            seen.add(row["clip_id"])
            found.append(row)
    return found


# --------------------------------------------------------------------------- the driver


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _prepare(out_dir: Path, config: dict, manifest, overwrite: bool) -> None:
    """Create or check out_dir's config.json and manifest.parquet (under the run lock)."""
    _, pq = _pyarrow()
    wanted_hash = config_hash(config)
    config_path = out_dir / CONFIG_FILE
    if config_path.is_file() and not overwrite:
        try:
            stored = json.loads(config_path.read_text())
            stored_config, stored_hash = stored["config"], stored["config_hash"]
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{config_path} is not an extraction config ({error}); pass "
                             "overwrite=True to replace the run in this folder") from error
        if stored_hash != wanted_hash:
            raise ValueError(
                f"{out_dir} holds an extraction with another configuration (config hash "
                f"{stored_hash[:12]} there, {wanted_hash[:12]} now): "
                f"{_describe_difference(stored_config, config)}. Pass overwrite=True to delete "
                "it and start again, or choose another out_dir")
        if not (out_dir / MANIFEST_FILE).is_file():
            raise ValueError(f"{out_dir} has a {CONFIG_FILE} but no {MANIFEST_FILE}; pass "
                             "overwrite=True to start again")
        stored_manifest = pq.read_table(out_dir / MANIFEST_FILE)
        _check_same_manifest(out_dir, stored_manifest, manifest)
        return
    has_parts = any(any(True for _ in (out_dir / sub).glob("part-*.parquet"))
                    for sub in (SHARDS_DIR, ERRORS_DIR))
    if overwrite:
        _remove_run(out_dir)
    elif has_parts:
        raise ValueError(f"{out_dir} holds shard files but no {CONFIG_FILE}: not a run this "
                         "module can resume; pass overwrite=True to delete them")
    # manifest first, config last: config.json marks the folder as initialised
    _write_parquet(manifest, out_dir / MANIFEST_FILE)
    _write_json({"config": config, "config_hash": wanted_hash, "n_clips": manifest.num_rows,
                 "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, config_path)


def _check_same_manifest(out_dir: Path, stored, wanted) -> None:
    """Refuse other files; accept (and store) changed extra columns for the same files."""
    stored_paths = stored.column("path").to_pylist()
    wanted_paths = wanted.column("path").to_pylist()
    if stored_paths != wanted_paths:
        if len(stored_paths) != len(wanted_paths):
            what = f"{len(stored_paths)} clips there, {len(wanted_paths)} now"
        else:
            k = next(i for i, (a, b) in enumerate(zip(stored_paths, wanted_paths)) if a != b)
            what = f"clip {k} is {stored_paths[k]} there, {wanted_paths[k]} now"
        raise ValueError(f"{out_dir} holds an extraction over other files ({what}). Pass "
                         "overwrite=True to delete it and start again, or choose another out_dir")
    if not stored.equals(wanted):
        warnings.warn(f"{out_dir}: same files, other manifest columns "
                      f"({stored.column_names} there, {wanted.column_names} now); the "
                      f"embeddings are unaffected, {MANIFEST_FILE} is updated", stacklevel=4)
        _write_parquet(wanted, out_dir / MANIFEST_FILE)


def _read_only(out_dir: Path, problem: str) -> PermissionError:
    """The error for a run that would have to write into a folder it cannot write."""
    return PermissionError(f"{out_dir} is not writable and {problem}; make it writable or "
                           "choose another out_dir")


def _recorded(out_dir: Path, index: int) -> tuple[int, list[dict], list[dict]]:
    """A done shard's record, from one read of each part: how many clips its embeddings part
    holds, its warnings, and its failures less the clips the embeddings part holds (a retry
    killed between its two writes leaves a clip in both; a frame run has a row per frame)."""
    _, pq = _pyarrow()
    shard = pq.read_table(out_dir / SHARDS_DIR / _shard_name(index),
                          columns=["clip_id", "path", "warning"])
    embedded = set(shard.column("clip_id").to_pylist())
    table = pq.read_table(out_dir / ERRORS_DIR / _shard_name(index))
    errors = [e for e in table.select(["clip_id", "path", "error_type", "error"]).to_pylist()
              if e["clip_id"] not in embedded]
    return len(embedded), _warnings_of(shard), errors


def extract(source, out_dir, *, arch="sample_level", size: str = "paper", seed: int = 0,
            length: int | None = None, pad: str = "repeat", precision: str = "fp32",
            hop: float | None = None, window: float | None = None,
            features: int | None = None, min_seconds: float = MIN_SECONDS,
            extensions=AUDIO_EXTENSIONS,
            shard_size: int = 256, overwrite: bool = False, n_threads: int = 0,
            workers: int | None = None, scheduler: str | None = None,
            retry_failed: bool = True, progress: bool = True) -> ExtractSummary:
    """Embed a corpus into sharded Parquet files in ``out_dir``; resumable and crash-safe.

    Args:
        source: a folder (searched recursively for ``extensions``; files sorted by relative
            path) or a CSV manifest with a ``path`` column (relative paths are relative to the
            CSV; its other columns, kept as text, go to the metadata).
        out_dir: output folder (created if needed); see the module docstring for its layout.
        arch, size, seed, length, pad, precision, features: the
            :class:`~randcnn_fast.Embedder` configuration (``arch`` a built-in name, an
            architecture file or a Network).
        hop, window: seconds; both given, each shard row is a frame embedding
            (:meth:`~randcnn_fast.Embedder.embed_frames`, every file whole) with its ``time``,
            the frame's centre in seconds; ``length`` and ``pad`` then play no part.
        min_seconds: files shorter than this are recorded as failures ("too short");
            0 embeds any file with a sample.
        extensions: audio file extensions for a folder source.
        shard_size: clips per shard; part of the configuration.
        overwrite: delete a previous run in ``out_dir`` (another configuration or other files)
            and start again; without it such a run is refused with the differences.
        n_threads: threads per forward pass (0 = all cores). With ``workers``, 0 splits the
            cores between the workers.
        workers: run the shards on a local Dask cluster of this many single-threaded worker
            processes.
        scheduler: address of a running Dask scheduler to run the shards on (its workers need
            randcnn_fast and pyarrow, and must see ``source`` and ``out_dir`` at the same paths).
        retry_failed: embed again the clips an earlier run recorded as failed (a file that was
            unreadable for a moment is not a hole forever); False keeps their failures.
        progress: show a progress bar and print the summary to stderr.

    Returns:
        :class:`ExtractSummary`; ``summary.failed`` > 0 when any clip could not be embedded
        (the reasons are in ``summary.errors`` and ``errors/*.parquet``).
    """
    started = time.perf_counter()
    _pyarrow()  # fail early, with what to install
    shard_size = _check_positive_int(shard_size, "shard_size")
    n_threads = check_threads(n_threads)
    if workers is not None and scheduler is not None:
        raise ValueError("pass workers (a local Dask cluster) or scheduler (an existing one), "
                         "not both")
    if workers is not None:
        workers = _check_positive_int(workers, "workers")
    # Building the embedder validates the configuration before anything is written.
    embedder = Embedder(arch, size=size, seed=seed, length=length, pad=pad, precision=precision,
                        n_threads=n_threads, features=features, min_seconds=min_seconds)
    if (hop is None) != (window is None):
        raise ValueError(f"frame embeddings need both hop and window (got hop={hop!r}, "
                         f"window={window!r})")
    config = _make_config(embedder, shard_size, None if hop is None else (hop, window))
    digest = config_hash(config)
    with _EMBEDDERS_LOCK:  # the local path reuses it
        _EMBEDDERS.setdefault((digest, n_threads), embedder)
    paths, extra = _read_source(source, extensions)
    manifest = _manifest_table(paths, extra)

    out = Path(os.path.abspath(os.path.expanduser(os.fspath(out_dir))))
    out.mkdir(parents=True, exist_ok=True)
    summary = ExtractSummary(out_dir=str(out), n_clips=len(paths), config_hash=digest)
    with _run_lock(out) as writable:
        # A folder this process cannot write can still be re-checked: a finished run of this
        # configuration over these files needs no write.
        if not writable and overwrite:
            raise _read_only(out, "overwrite=True would replace the run there")
        if not writable and not (out / CONFIG_FILE).is_file():
            raise _read_only(out, "holds no extraction")
        if writable:
            _remove_temporary_files(out)  # leftovers of a killed run
        _prepare(out, config, manifest, overwrite)
        if writable:
            (out / SHARDS_DIR).mkdir(exist_ok=True)
            (out / ERRORS_DIR).mkdir(exist_ok=True)

        n_shards = -(-len(paths) // shard_size)
        todo, errors, warned = [], {}, {}
        for i in range(n_shards):
            if _shard_done(out, i):
                n_embedded, warned[i], errors[i] = _recorded(out, i)
                summary.skipped += n_embedded
                if retry_failed and writable and errors[i]:
                    todo.append((i, [(e["clip_id"], paths[e["clip_id"]]) for e in errors[i]]))
                    summary.retried += len(errors[i])
            else:
                lo = i * shard_size
                todo.append((i, list(enumerate(paths[lo:lo + shard_size], start=lo))))
        if todo and not writable:
            raise _read_only(out, f"{len(todo)} shard(s) of the run there are not done "
                                  f"(the first: {SHARDS_DIR}/{_shard_name(todo[0][0])})")

        bar = tqdm(total=len(paths), initial=len(paths) - sum(len(r) for _, r in todo),
                   desc="extract", unit="clip", disable=not progress, smoothing=0.1)
        clock = {"t0": time.perf_counter(), "clips": 0, "audio": 0.0}

        def advance(n_clips: int, audio_seconds: float) -> None:
            clock["clips"] += n_clips
            clock["audio"] += audio_seconds
            bar.update(n_clips)
            elapsed = time.perf_counter() - clock["t0"]
            if progress and elapsed > 0:
                bar.set_postfix({"clips/s": f"{clock['clips'] / elapsed:.1f}",
                                 "audio-s/s": f"{clock['audio'] / elapsed:.1f}"}, refresh=False)

        try:
            if workers is None and scheduler is None:
                results = _run_local(todo, config, out, n_threads, advance)
            else:
                results = _run_dask(todo, config, out, n_threads, workers, scheduler, advance)
        finally:
            bar.close()
        for result in results:
            summary.done += result["done"]
            summary.failed_this_run += result["failed"]
            summary.audio_seconds += result["audio_seconds"]
            errors[result["shard"]] = result["errors"]
            warned[result["shard"]] = result["warnings"]
        if writable:
            _remove_temporary_files(out)  # a retried Dask task can leave one

    summary.errors = [e for i in sorted(errors) for e in errors[i]]
    summary.warnings = [w for i in sorted(warned) for w in warned[i]]
    summary.failed = len(summary.errors)
    summary.seconds = time.perf_counter() - started
    if progress:
        print(summary, file=sys.stderr)
    return summary


def _run_local(todo, config, out: Path, n_threads: int, advance) -> list[dict]:
    def on_clip(seconds):
        advance(1, seconds or 0.0)

    return [embed_shard(i, rows, config, str(out), n_threads=n_threads, on_clip=on_clip)
            for i, rows in todo]


def _run_dask(todo, config, out: Path, n_threads: int, workers, scheduler, advance) -> list[dict]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as error:
        raise ImportError("workers=/scheduler= run on Dask: pip install 'dask[distributed]'") \
            from error
    cluster = None
    if scheduler is not None:
        client = Client(scheduler)
    else:
        if n_threads == 0:  # share the cores between the single-threaded workers
            n_threads = max(1, (os.cpu_count() or 1) // workers)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futures = [client.submit(embed_shard, i, rows, config, str(out), n_threads=n_threads,
                                 retries=2, pure=False)
                   for i, rows in todo]
        results = []
        try:
            for future in as_completed(futures):
                result = future.result()
                results.append(result)
                advance(result["done"] + result["failed"], result["audio_seconds"])
        except BaseException:
            client.cancel(futures)
            raise
        return results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------- reading back


def load_embeddings(out_dir, *, frames: bool = False):
    """The embeddings written so far in ``out_dir``, sorted by clip_id (and time).

    Args:
        out_dir: the output folder of :func:`extract`.
        frames: True to read a run of frame embeddings (``hop`` and ``window``); reading one
            kind of run as the other is an error.

    Returns:
        ``(X, metadata)``: X float32 (n_rows, n_features); metadata a pandas DataFrame with
        clip_id, path, seconds (of the decoded clip), warning (None, or what decoding noticed),
        for frames the frame's centre ``time`` in seconds, and the manifest's extra columns,
        row k describing X[k]. Clips that failed, or whose shard is not written yet, are absent.
    """
    pa, pq = _pyarrow()
    pd = _pandas()
    out = Path(os.fspath(out_dir))
    config_path = out / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} not found: {out} holds no extraction")
    stored = json.loads(config_path.read_text())
    config, digest = stored["config"], stored["config_hash"]
    n_features = config["n_features"]
    if frames != ("frames" in config):
        kind = "frame" if "frames" in config else "clip"
        raise ValueError(f"{out} holds {kind} embeddings; pass frames={kind == 'frame'}")
    columns = ["clip_id", "path", "seconds", "warning"] + (["time"] if frames else [])
    tables = []
    for path in sorted((out / SHARDS_DIR).glob("part-*.parquet")):
        index = int(path.name[len("part-"):-len(".parquet")])
        if not (out / ERRORS_DIR / path.name).is_file():
            continue  # not complete (its errors part was removed): not counted as done
        table = pq.read_table(path)
        found = (table.schema.metadata or {}).get(_HASH_KEY, b"").decode()
        if found != digest:
            raise ValueError(f"{path} was written by another configuration ({found[:12]!r}, "
                             f"{CONFIG_FILE} has {digest[:12]!r})")
        if (table.schema.metadata or {}).get(_SHARD_KEY) != str(index).encode():
            raise ValueError(f"{path} does not hold shard {index}")
        tables.append(table)
    if tables:
        table = pa.concat_tables(tables).sort_by([(c, "ascending") for c in columns
                                                  if c in ("clip_id", "time")])
        vectors = table.column("embedding").combine_chunks()
        X = vectors.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        X = np.ascontiguousarray(X.reshape(-1, n_features))
        meta = table.select(columns).to_pandas()
    else:
        X = np.zeros((0, n_features), np.float32)
        meta = pd.DataFrame({"clip_id": pd.Series([], dtype="int64"),
                             "path": pd.Series([], dtype="object"),
                             "seconds": pd.Series([], dtype="float64"),
                             "warning": pd.Series([], dtype="object"),
                             **({"time": pd.Series([], dtype="float64")} if frames else {})})
    if meta[["clip_id", "time"] if frames else ["clip_id"]].duplicated().any():
        raise ValueError(f"{out}: a clip_id appears in more than one shard")
    manifest = pq.read_table(out / MANIFEST_FILE).to_pandas()
    extra = [c for c in manifest.columns if c not in ("clip_id", "path")]
    if extra:
        meta = meta.merge(manifest[["clip_id", *extra]], on="clip_id", how="left", sort=False)
    return X, meta.reset_index(drop=True)
