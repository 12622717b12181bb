"""An extraction's files on disk: their names, the configuration hash, and atomic writes.

``out_dir`` holds ``config.json`` (the configuration and its hash), ``manifest.parquet`` (the
clips), and for each shard ``i`` an errors part and an embeddings part named
``part-{i:05d}.parquet`` under ``errors/`` and ``shards/``. Every file is written through
:func:`~randcnn_fast.atomic.atomic_write`, so a final name only ever holds a complete file.
pyarrow and pandas are imported when needed (``pip install 'randcnn_fast[extract]'``).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..atomic import TMP_MARK, atomic_write

__all__ = ["FORMAT_VERSION", "config_hash"]

#: Version of the on-disk layout and of the decoding behind it; part of the configuration hash,
#: so a store written under another version is refused rather than mixed with this one.
FORMAT_VERSION = 2
CONFIG_FILE = "config.json"
MANIFEST_FILE = "manifest.parquet"
SHARDS_DIR = "shards"
ERRORS_DIR = "errors"
#: Columns a CSV manifest may not use: extract writes them itself.
RESERVED_COLUMNS = ("clip_id", "seconds", "warning", "embedding", "error", "error_type")
HASH_KEY = b"randcnn_fast.config_hash"
SHARD_KEY = b"randcnn_fast.shard"
_INSTALL_HINT = "pip install 'randcnn_fast[extract]' (that is, pyarrow and pandas)"


def require_pyarrow():
    """(pyarrow, pyarrow.parquet), or an ImportError saying what to install."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as error:
        raise ImportError(f"extraction writes Parquet files with pyarrow, which is not "
                          f"installed: {_INSTALL_HINT}") from error
    return pa, pq


def require_pandas():
    try:
        import pandas as pd
    except ImportError as error:
        raise ImportError(f"load_embeddings returns a pandas DataFrame; pandas is not installed: "
                          f"{_INSTALL_HINT}") from error
    return pd


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def config_hash(config: dict) -> str:
    """The sha256 of a configuration's canonical JSON (sorted keys, no spaces), which keys a run.

    Parameters
    ----------
    config : dict
        JSON-serialisable.

    Returns
    -------
    str
        64 hexadecimal digits; equal dicts give equal hashes whatever their key order.

    Examples
    --------
    >>> config_hash({"arch": "vgg", "seed": 0}) == config_hash({"seed": 0, "arch": "vgg"})
    True
    >>> len(config_hash({}))
    64
    """
    return hashlib.sha256(_canonical(config).encode()).hexdigest()


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def write_parquet(table, final: Path) -> None:
    _, pq = require_pyarrow()
    with atomic_write(final) as tmp:
        pq.write_table(table, tmp)


def write_json(obj, final: Path) -> None:
    with atomic_write(final) as tmp:
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n")


def _temporary_files(out_dir: Path) -> list[Path]:
    found = []
    for folder in (out_dir, out_dir / SHARDS_DIR, out_dir / ERRORS_DIR):
        if folder.is_dir():
            found += [p for p in folder.iterdir()
                      if p.name.startswith(".") and TMP_MARK in p.name and p.is_file()]
    return found


def remove_temporary_files(out_dir: Path) -> int:
    removed = 0
    for path in _temporary_files(out_dir):
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def remove_run(out_dir: Path) -> None:
    """Delete the files a run writes (and only those)."""
    remove_temporary_files(out_dir)
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


def shard_done(out_dir: Path, index: int) -> bool:
    name = shard_name(index)
    return (out_dir / ERRORS_DIR / name).is_file() and (out_dir / SHARDS_DIR / name).is_file()


def shard_warnings(table) -> list[dict]:
    """The warnings of a shard's clips, once per clip (a frame run repeats them on each row)."""
    seen, found = set(), []
    for row in table.select(["clip_id", "path", "warning"]).to_pylist():
        if row["warning"] is not None and row["clip_id"] not in seen:
            seen.add(row["clip_id"])
            found.append(row)
    return found


def shard_record(out_dir: Path, index: int) -> tuple[int, list[dict], list[dict]]:
    """A done shard's record, from one read of each part: how many clips its embeddings part
    holds, its warnings, and its failures less the clips the embeddings part holds (a retry
    killed between its two writes leaves a clip in both; a frame run has a row per frame)."""
    _, pq = require_pyarrow()
    shard = pq.read_table(out_dir / SHARDS_DIR / shard_name(index),
                          columns=["clip_id", "path", "warning"])
    embedded = set(shard.column("clip_id").to_pylist())
    table = pq.read_table(out_dir / ERRORS_DIR / shard_name(index))
    errors = [e for e in table.select(["clip_id", "path", "error_type", "error"]).to_pylist()
              if e["clip_id"] not in embedded]
    return len(embedded), shard_warnings(shard), errors

