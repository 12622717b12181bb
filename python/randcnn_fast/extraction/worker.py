"""The unit of work of an extraction: embed one shard's clips and write its two parts.

Dask workers run :func:`embed_shard` per shard; the local run, :func:`embed_shards` over all of
them. Both write each shard with :func:`record_shard`, so the files do not depend on where a
shard was computed.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._version import __version__
from ..features.embedder import Embedder
from ..input.audio import SAMPLE_RATE
from ..input.decode import decode_file
from ..network.archfile import network_from_dict
from .store import (ERRORS_DIR, HASH_KEY, SHARD_KEY, SHARDS_DIR, config_hash, require_pyarrow,
                    shard_name, shard_warnings, write_parquet)

__all__ = ["embed_shard"]

_EMBEDDERS: dict = {}
_EMBEDDERS_LOCK = threading.Lock()


def remember_embedder(config: dict, n_threads: int, embedder: Embedder) -> None:
    """Keep ``embedder`` as this process's Embedder for ``config``, unless one is kept already."""
    with _EMBEDDERS_LOCK:
        _EMBEDDERS.setdefault((config_hash(config), n_threads), embedder)


def embedder_for(config: dict, n_threads: int) -> Embedder:
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

    This is the unit of work of :func:`~randcnn_fast.extraction.extract.extract`, locally and
    on Dask workers alike. ``rows`` are all the shard's clips for a new shard, or, for a retry,
    clips that an earlier run recorded as failed: the shard's other clips then keep what is
    recorded for them.

    Parameters
    ----------
    shard_index : int
        The shard's index ``i``.
    rows : iterable of (int, str)
        The clips to embed as ``(clip_id, path)`` pairs, clip_ids in
        ``[i*shard_size, (i+1)*shard_size)``.
    config : dict
        The run's configuration (``config.json``'s ``"config"``).
    out_dir : str or os.PathLike
        The output folder (on a file system this process can write).
    n_threads : int
        Threads for the forward pass (0 = all cores); results do not depend on it.
    on_clip : callable, optional
        Called as ``on_clip(audio_seconds_or_None)`` after each clip.

    Returns
    -------
    dict
        ``shard``, ``done`` and ``failed`` (of ``rows``), ``audio_seconds`` (of the clips
        embedded now), and the whole shard's ``errors`` (dicts with clip_id, path, error_type,
        error) and ``warnings`` (dicts with clip_id, path, warning).

    Examples
    --------
    >>> import json, numpy as np, soundfile
    >>> from pathlib import Path
    >>> from randcnn_fast.extraction.extract import extract
    >>> Path("clips").mkdir()
    >>> for i in range(2):
    ...     soundfile.write(f"clips/{i}.wav", np.zeros(12000, np.float32), 12000)
    >>> _ = extract("clips", "run", arch="vgg", size="small", progress=False)
    >>> config = json.loads(Path("run/config.json").read_text())["config"]
    >>> paths = sorted(str(p.resolve()) for p in Path("clips").iterdir())
    >>> result = embed_shard(0, list(enumerate(paths)), config, "again", n_threads=1)
    >>> result["done"], result["failed"], sorted(p.name for p in Path("again").iterdir())
    (2, 0, ['errors', 'shards'])
    """
    return embed_shards([(shard_index, rows)], config, out_dir, n_threads=n_threads,
                        on_clip=on_clip)[0]


def shard_rows(shard_index: int, rows, config: dict) -> list[tuple[int, str]]:
    """``rows`` as sorted ``(clip_id, path)``, after checking they belong to the shard."""
    size = config["shard_size"]
    rows = sorted((int(c), str(p)) for c, p in rows)
    lo, hi = shard_index * size, (shard_index + 1) * size
    outside = [c for c, _ in rows if not lo <= c < hi]
    if outside:
        raise ValueError(f"shard {shard_index} holds clip_ids [{lo}, {hi}); got {outside[:5]}")
    return rows


def embed_shards(todo, config: dict, out_dir, *, n_threads: int = 0, on_clip=None) -> list[dict]:
    """:func:`embed_shard` for several shards ``(shard_index, rows)`` in one process, their
    clips in one stream through the embedder, so that its workers go on with the next shard's
    files while one shard is written."""
    todo = [(i, shard_rows(i, rows, config)) for i, rows in todo]
    embedder = embedder_for(config, n_threads)
    paths = [path for _, rows in todo for _, path in rows]
    results = (result for _, result in _clip_rows(embedder, paths, config))
    return [record_shard(i, rows, itertools.islice(results, len(rows)), config, out_dir,
                         on_clip=on_clip) for i, rows in todo]


def record_shard(shard_index: int, rows, results, config: dict, out_dir, *, on_clip=None) -> dict:
    """Write a shard's two parts from its sorted ``rows`` and their ``results`` (in the same
    order: a _ClipRows or the exception the clip raised); what :func:`embed_shard` returns."""
    pa, pq = require_pyarrow()
    out_dir = Path(out_dir)
    n_features = config["n_features"]
    embedded, errors = [], []
    # Whatever goes wrong with one clip (MemoryError included) is that clip's failure.
    for (clip_id, path), result in zip(rows, results):
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

    name = shard_name(shard_index)
    shard_path, errors_path = out_dir / SHARDS_DIR / name, out_dir / ERRORS_DIR / name
    retry = shard_path.is_file()
    if retry:  # keep what is recorded for the shard's other clips
        redone = pa.array([c for c, _ in rows], type=pa.int64())
        table = _keep_other_clips(pq.read_table(shard_path), redone, table)
        if errors_path.is_file():
            error_table = _keep_other_clips(pq.read_table(errors_path),
                                            pa.concat_arrays([redone, table.column("clip_id")
                                                              .combine_chunks()]), error_table)
    metadata = {HASH_KEY: config_hash(config).encode(), SHARD_KEY: str(shard_index).encode()}
    table = table.replace_schema_metadata(metadata)
    error_table = error_table.replace_schema_metadata(metadata)
    errors_path.parent.mkdir(parents=True, exist_ok=True)
    shard_path.parent.mkdir(parents=True, exist_ok=True)
    # A new shard's embeddings part, written last, marks it done. A retry rewrites the
    # embeddings first: a kill before its errors part is rewritten leaves a retried clip in
    # both, and a clip in the embeddings part counts as embedded (shard_record).
    for table_, path in ([(table, shard_path), (error_table, errors_path)] if retry
                         else [(error_table, errors_path), (table, shard_path)]):
        write_parquet(table_, path)
    return {"shard": shard_index, "done": len(embedded), "failed": len(errors),
            "audio_seconds": float(sum(r.seconds for _, _, r in embedded)),
            "errors": error_table.select(["clip_id", "path", "error_type", "error"]).to_pylist(),
            "warnings": shard_warnings(table)}


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
    pa, _ = require_pyarrow()
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
    pa, _ = require_pyarrow()
    import pyarrow.compute as pc

    kept = recorded.filter(pc.invert(pc.is_in(recorded.column("clip_id"), value_set=redone)))
    keys = [(c, "ascending") for c in ("clip_id", "time") if c in fresh.column_names]
    return pa.concat_tables([kept.replace_schema_metadata(None), fresh]).sort_by(keys)

