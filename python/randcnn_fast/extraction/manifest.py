"""The clips of an extraction: a folder's audio files or a CSV manifest's rows, numbered."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..input.manifests import (absolute_path, audio_files, listed_path, normalise_extensions,
                               read_csv)
from .store import RESERVED_COLUMNS, require_pyarrow

__all__ = ["read_manifest"]

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
        paths.append(str(listed_path(base, rel)))
        for c in extra:
            values[c].append(row[c] if row[c] is not None else "")
    return paths, values


def read_manifest(source, extensions) -> tuple[list[str], dict[str, list[str]]]:
    """The clips of an extraction, in clip_id order.

    Parameters
    ----------
    source : str or os.PathLike
        A folder (searched recursively for ``extensions``; files sorted by path relative to
        it) or a CSV file with a ``path`` column (relative paths taken relative to the CSV's
        folder; its other columns kept as text).
    extensions : iterable of str
        Audio file extensions, for a folder.

    Returns
    -------
    paths : list of str
        Absolute paths.
    extra : dict of str to list of str
        The CSV's other columns, one value per clip (empty for a folder).

    Raises
    ------
    FileNotFoundError, ValueError
        For a missing source, an empty folder, or a CSV without a usable ``path`` column.

    Examples
    --------
    >>> from pathlib import Path
    >>> Path("corpus/b").mkdir(parents=True)
    >>> for name in ("corpus/b/x.wav", "corpus/a.wav"):
    ...     Path(name).touch()
    >>> paths, extra = read_manifest("corpus", [".wav"])
    >>> [Path(p).relative_to(Path("corpus").resolve()).as_posix() for p in paths], extra
    (['a.wav', 'b/x.wav'], {})
    """
    path = absolute_path(source)
    if path.is_dir():
        return _folder_manifest(path, extensions)
    if path.is_file():
        if path.suffix.lower() == ".csv":
            return _csv_manifest(path)
        raise ValueError(f"{path}: extract reads a folder of audio files or a .csv manifest "
                         "with a 'path' column")
    raise FileNotFoundError(f"source {path} does not exist")


def manifest_table(paths, extra):
    pa, _ = require_pyarrow()
    columns = {"clip_id": pa.array(np.arange(len(paths), dtype=np.int64)),
               "path": pa.array(paths, type=pa.string())}
    for name, values in extra.items():
        columns[name] = pa.array(values, type=pa.string())
    return pa.table(columns)

