"""Lists of audio files: a folder's audio files and a CSV file's rows, read one way for the
dataset loaders and for extraction alike."""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable

#: File extensions recognised as audio when a folder is listed (case-insensitive).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".au", ".aiff")


def absolute_path(path) -> Path:
    """``path`` with ``~`` expanded, made absolute (symbolic links are kept, not resolved)."""
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def require_folder(root, what: str) -> Path:
    """``root`` as an absolute path, or an error naming ``what`` when it is not a folder."""
    root = absolute_path(root)
    if not root.exists():
        raise FileNotFoundError(f"{what} folder {root} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"{what} root {root} is not a folder")
    return root


def normalise_extensions(extensions) -> tuple[str, ...]:
    """File extensions as lower-case ".ext" strings (a single string is one extension)."""
    if isinstance(extensions, str):
        extensions = (extensions,)
    out = []
    for ext in extensions:
        ext = str(ext).strip().lower()
        if not ext:
            raise ValueError("empty file extension in extensions")
        out.append(ext if ext.startswith(".") else "." + ext)
    return tuple(out)


def audio_files(folder: Path, extensions: tuple[str, ...]) -> list[Path]:
    """Audio files anywhere under ``folder`` (hidden files and folders skipped)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for fn in filenames:
            if not fn.startswith(".") and os.path.splitext(fn)[1].lower() in extensions:
                found.append(Path(dirpath) / fn)
    return found


def read_csv(csv_path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """(column names, rows as dicts) of a UTF-8 CSV file (a byte-order mark is allowed); a
    file in another encoding is a ValueError saying so."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            columns = list(reader.fieldnames or [])
    except UnicodeDecodeError as error:
        raise ValueError(f"{csv_path}: not UTF-8 text (byte {error.start} cannot be decoded: "
                         f"{error.reason}); save the CSV as UTF-8") from None
    return columns, rows


def require_columns(columns: list[str], wanted: Iterable[str], csv_path: Path) -> None:
    """Refuse a CSV without every ``wanted`` column, naming those missing and those present."""
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise ValueError(
            f"{csv_path}: missing column(s) {missing}; the CSV has columns {columns}"
        )
