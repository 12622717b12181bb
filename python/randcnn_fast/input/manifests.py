"""Lists of audio files: a folder's audio files and a CSV file's rows, read one way for the
dataset loaders and for extraction alike."""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable

__all__ = ["AUDIO_EXTENSIONS", "absolute_path", "listed_path", "require_folder",
           "normalise_extensions", "audio_files", "read_csv", "require_columns"]

#: File extensions recognised as audio when a folder is listed (case-insensitive).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".au", ".aiff")


def absolute_path(path) -> Path:
    """``path`` with ``~`` expanded, made absolute (symbolic links are kept, not resolved).

    Parameters
    ----------
    path : str or os.PathLike
        Any path.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> absolute_path("~/music").is_absolute()
    True
    """
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def listed_path(csv_folder: Path, listed: str) -> Path:
    """A path as a CSV file lists it: ``~`` expanded, a relative one taken from the CSV's folder.

    Parameters
    ----------
    csv_folder : pathlib.Path
        The folder holding the CSV file.
    listed : str
        The path as written in the CSV.

    Returns
    -------
    pathlib.Path
        Absolute (symbolic links kept).

    Examples
    --------
    >>> from pathlib import Path
    >>> listed_path(Path("/data/corpus"), "clips/a.wav").as_posix()
    '/data/corpus/clips/a.wav'
    """
    return Path(os.path.abspath(csv_folder / os.path.expanduser(listed)))


def require_folder(root, what: str) -> Path:
    """``root`` as an absolute path, or an error naming ``what`` when it is not a folder.

    Parameters
    ----------
    root : str or os.PathLike
        The folder.
    what : str
        What the folder should hold, for the error message.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError, NotADirectoryError

    Examples
    --------
    >>> require_folder("nowhere", "GTZAN audio")
    Traceback (most recent call last):
    ...
    FileNotFoundError: GTZAN audio folder .../nowhere does not exist
    """
    root = absolute_path(root)
    if not root.exists():
        raise FileNotFoundError(f"{what} folder {root} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"{what} root {root} is not a folder")
    return root


def normalise_extensions(extensions) -> tuple[str, ...]:
    """File extensions as lower-case ".ext" strings (a single string is one extension).

    Parameters
    ----------
    extensions : str or iterable of str
        With or without the dot, any case.

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        For an empty extension.

    Examples
    --------
    >>> normalise_extensions(["WAV", ".mp3"])
    ('.wav', '.mp3')
    """
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
    """Audio files anywhere under ``folder`` (hidden files and folders skipped).

    Parameters
    ----------
    folder : pathlib.Path
        Searched recursively.
    extensions : tuple of str
        Lower-case ".ext" strings (:func:`normalise_extensions`); a file's extension is
        compared in lower case.

    Returns
    -------
    list of pathlib.Path
        In the order the file system lists them.

    Examples
    --------
    >>> from pathlib import Path
    >>> Path("corpus/.hidden").mkdir(parents=True)
    >>> for name in ("corpus/a.WAV", "corpus/notes.txt", "corpus/.hidden/b.wav"):
    ...     Path(name).touch()
    >>> [p.name for p in audio_files(Path("corpus"), (".wav",))]
    ['a.WAV']
    """
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for fn in filenames:
            if not fn.startswith(".") and os.path.splitext(fn)[1].lower() in extensions:
                found.append(Path(dirpath) / fn)
    return found


def read_csv(csv_path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Read a UTF-8 CSV file (a byte-order mark is allowed).

    Parameters
    ----------
    csv_path : pathlib.Path
        The file.

    Returns
    -------
    columns : list of str
        The header's column names.
    rows : list of dict of str to str
        One dict per line.

    Raises
    ------
    ValueError
        For a file in another encoding, saying so.

    Examples
    --------
    >>> from pathlib import Path
    >>> _ = Path("labels.csv").write_text("path,label\\na.wav,cat\\n")
    >>> read_csv(Path("labels.csv"))
    (['path', 'label'], [{'path': 'a.wav', 'label': 'cat'}])
    """
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
    """Refuse a CSV without every ``wanted`` column, naming those missing and those present.

    Parameters
    ----------
    columns : list of str
        The CSV's columns (:func:`read_csv`).
    wanted : iterable of str
        The columns it needs.
    csv_path : pathlib.Path
        The file, for the message.

    Raises
    ------
    ValueError
        When a wanted column is missing.

    Examples
    --------
    >>> require_columns(["path"], ["path", "label"], "labels.csv")
    Traceback (most recent call last):
    ...
    ValueError: labels.csv: missing column(s) ['label']; the CSV has columns ['path']
    """
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise ValueError(
            f"{csv_path}: missing column(s) {missing}; the CSV has columns {columns}"
        )
