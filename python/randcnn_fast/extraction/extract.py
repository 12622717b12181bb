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
file system paths). A Dask worker runs each shard through :func:`embed_shard`; the local path
streams every shard's clips through one embedder call (so that its worker processes or threads
go on with the next shard's files while a shard is written) and writes each shard with the
same function, so results are identical.

pyarrow (and pandas for :func:`load_embeddings`) are imported when needed:
``pip install 'randcnn_fast[extract]'``.
"""
from __future__ import annotations

import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .._version import __version__
from ..features.embedder import Embedder, check_threads
from ..input.audio import MIN_SECONDS, SAMPLE_RATE
from ..input.manifests import AUDIO_EXTENSIONS
from ..network.frames import to_samples
from .lock import run_lock
from .manifest import manifest_table, read_manifest
from .reader import load_embeddings
from .store import (CONFIG_FILE, ERRORS_DIR, FORMAT_VERSION, MANIFEST_FILE, SHARDS_DIR,
                    config_hash, remove_run, remove_temporary_files, require_pyarrow, shard_done,
                    shard_name, shard_record, write_json, write_parquet)
from .worker import embed_shard, embed_shards, embedder_for, remember_embedder

__all__ = ["ExtractSummary", "extract", "embed_shard", "load_embeddings", "FORMAT_VERSION"]


@dataclass
class ExtractSummary:
    """What a run did. ``done + skipped + failed == n_clips`` once a run completes.

    Parameters
    ----------
    out_dir : str
        The output folder.
    n_clips : int
        Clips in the manifest.

    Attributes
    ----------
    done : int
        Clips embedded by this run.
    skipped : int
        Clips embedded by an earlier run (their shard was already complete).
    retried : int
        Clips an earlier run recorded as failed, embedded again by this one.
    failed : int
        Clips recorded as failed in the output, by this run or an earlier one (with
        ``retry_failed=False`` the failures of earlier runs are kept as they are); non-zero
        means the output is missing clips.
    seconds : float
        Wall-clock seconds of this run.
    audio_seconds : float
        Seconds of audio (as decoded) embedded by this run.
    errors : list of dict
        Every failed clip: clip_id, path, error_type and error.
    warnings : list of dict
        Every embedded clip whose decoding noticed something (for example a decoded length
        other than the header's, normal for MP3): clip_id, path and warning; kept in the
        shards' ``warning`` column.
    config_hash : str
        sha256 of the canonical configuration JSON.
    failed_this_run : int
        Clips this run tried and could not embed.

    Examples
    --------
    >>> summary = ExtractSummary(out_dir="embeddings", n_clips=3, done=2, failed=1)
    >>> summary.done + summary.skipped + summary.failed == summary.n_clips
    True
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


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _prepare(out_dir: Path, config: dict, manifest, overwrite: bool) -> None:
    """Create or check out_dir's config.json and manifest.parquet (under the run lock)."""
    _, pq = require_pyarrow()
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
        remove_run(out_dir)
    elif has_parts:
        raise ValueError(f"{out_dir} holds shard files but no {CONFIG_FILE}: not a run this "
                         "module can resume; pass overwrite=True to delete them")
    # manifest first, config last: config.json marks the folder as initialised
    write_parquet(manifest, out_dir / MANIFEST_FILE)
    write_json({"config": config, "config_hash": wanted_hash, "n_clips": manifest.num_rows,
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
        write_parquet(wanted, out_dir / MANIFEST_FILE)


def _read_only(out_dir: Path, problem: str) -> PermissionError:
    """The error for a run that would have to write into a folder it cannot write."""
    return PermissionError(f"{out_dir} is not writable and {problem}; make it writable or "
                           "choose another out_dir")


def extract(source, out_dir, *, arch="sample_level", size: str = "paper", seed: int = 0,
            length: int | None = None, pad: str = "repeat", precision: str = "fp32",
            hop: float | None = None, window: float | None = None,
            features: int | None = None, min_seconds: float = MIN_SECONDS,
            extensions=AUDIO_EXTENSIONS,
            shard_size: int = 256, overwrite: bool = False, n_threads: int = 0,
            workers: int | None = None, scheduler: str | None = None,
            retry_failed: bool = True, progress: bool = True) -> ExtractSummary:
    """Embed a corpus into sharded Parquet files in ``out_dir``; resumable and crash-safe.

    Parameters
    ----------
    source : str or os.PathLike
        A folder (searched recursively for ``extensions``; files sorted by relative path) or a
        CSV manifest with a ``path`` column (relative paths are relative to the CSV; its other
        columns, kept as text, go to the metadata).
    out_dir : str or os.PathLike
        Output folder (created if needed); see the module docstring for its layout.
    arch, size, seed, length, pad, precision, features
        The :class:`~randcnn_fast.Embedder` configuration (``arch`` a built-in name, an
        architecture file or a Network).
    hop, window : float, optional
        Seconds; both given, each shard row is a frame embedding
        (:meth:`~randcnn_fast.Embedder.embed_frames`, every file whole) with its ``time``, the
        frame's centre in seconds; ``length`` and ``pad`` then play no part.
    min_seconds : float
        Files shorter than this are recorded as failures ("too short"); 0 embeds any file
        with a sample.
    extensions : iterable of str
        Audio file extensions for a folder source.
    shard_size : int
        Clips per shard; part of the configuration.
    overwrite : bool
        Delete a previous run in ``out_dir`` (another configuration or other files) and start
        again; without it such a run is refused with the differences.
    n_threads : int
        Threads per forward pass (0 = all cores). With ``workers``, 0 splits the cores between
        the workers.
    workers : int, optional
        Run the shards on a local Dask cluster of this many single-threaded worker processes.
    scheduler : str, optional
        Address of a running Dask scheduler to run the shards on (its workers need
        randcnn_fast and pyarrow, and must see ``source`` and ``out_dir`` at the same paths).
    retry_failed : bool
        Embed again the clips an earlier run recorded as failed (a file that was unreadable for
        a moment is not a hole forever); False keeps their failures.
    progress : bool
        Show a progress bar and print the summary to stderr.

    Returns
    -------
    ExtractSummary
        ``summary.failed`` > 0 when any clip could not be embedded (the reasons are in
        ``summary.errors`` and ``errors/*.parquet``).

    Raises
    ------
    ValueError
        For a bad option, or an ``out_dir`` holding another run (without ``overwrite``).
    PermissionError
        When ``out_dir`` cannot be written and the run there is not complete.
    RuntimeError
        When another run is writing into ``out_dir``.

    Examples
    --------
    >>> import numpy as np, soundfile
    >>> from pathlib import Path
    >>> Path("clips").mkdir()
    >>> for i in range(3):
    ...     soundfile.write(f"clips/{i}.wav", np.zeros(12000, np.float32), 12000)
    >>> _ = Path("clips/broken.wav").write_bytes(b"not audio")
    >>> summary = extract("clips", "embeddings", arch="vgg", size="small", progress=False)
    >>> summary.done, summary.failed, summary.errors[0]["error_type"]
    (3, 1, 'AudioError')
    >>> again = extract("clips", "embeddings", arch="vgg", size="small", progress=False)
    >>> again.done, again.skipped
    (0, 3)
    """
    started = time.perf_counter()
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
    remember_embedder(config, n_threads, embedder)  # the local path reuses it
    paths, extra = read_manifest(source, extensions)
    out = Path(os.path.abspath(os.path.expanduser(os.fspath(out_dir))))
    if workers is None and scheduler is None and hop is None and not (out / SHARDS_DIR).is_dir():
        # A new run that will embed every file: worker processes, if its embedder uses them,
        # start now and get ready during the set-up below.
        embedder_for(config, n_threads)._start_processes(len(paths))
    require_pyarrow()  # before anything is written, with what to install
    manifest = manifest_table(paths, extra)

    out.mkdir(parents=True, exist_ok=True)
    summary = ExtractSummary(out_dir=str(out), n_clips=len(paths), config_hash=digest)
    with run_lock(out) as writable:
        # A folder this process cannot write can still be re-checked: a finished run of this
        # configuration over these files needs no write.
        if not writable and overwrite:
            raise _read_only(out, "overwrite=True would replace the run there")
        if not writable and not (out / CONFIG_FILE).is_file():
            raise _read_only(out, "holds no extraction")
        if writable:
            remove_temporary_files(out)  # leftovers of a killed run
        _prepare(out, config, manifest, overwrite)
        if writable:
            (out / SHARDS_DIR).mkdir(exist_ok=True)
            (out / ERRORS_DIR).mkdir(exist_ok=True)

        n_shards = -(-len(paths) // shard_size)
        todo, errors, warned = [], {}, {}
        for i in range(n_shards):
            if shard_done(out, i):
                n_embedded, warned[i], errors[i] = shard_record(out, i)
                summary.skipped += n_embedded
                if retry_failed and writable and errors[i]:
                    todo.append((i, [(e["clip_id"], paths[e["clip_id"]]) for e in errors[i]]))
                    summary.retried += len(errors[i])
            else:
                lo = i * shard_size
                todo.append((i, list(enumerate(paths[lo:lo + shard_size], start=lo))))
        if todo and not writable:
            raise _read_only(out, f"{len(todo)} shard(s) of the run there are not done "
                                  f"(the first: {SHARDS_DIR}/{shard_name(todo[0][0])})")

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
            remove_temporary_files(out)  # a retried Dask task can leave one

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

    return embed_shards(todo, config, str(out), n_threads=n_threads, on_clip=on_clip)


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

