"""Atomic file writes: a final name only ever holds a complete file.

Every writer of the package (extraction shards, feature cache entries, reports, the demo set)
writes through :func:`atomic_write`: to a hidden temporary name in the final folder, flushed to
disk, then renamed into place with :func:`os.replace` (atomic on POSIX and Windows). On any
failure, a kill aside, the temporary file is removed; one left by a killed process is named
``.<final name>.tmp-<pid>-<random>`` (see :data:`TMP_MARK`) for its owner to clear.
"""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["TMP_MARK", "atomic_write"]

#: Part of every temporary name, so that a folder's leftovers can be recognised.
TMP_MARK = ".tmp-"


@contextmanager
def atomic_write(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; when the block ends without error, flush the
    file written there to disk and rename it to ``final``.

    Parameters
    ----------
    final : str or os.PathLike
        The file to create or replace. Its folder must exist.

    Yields
    ------
    pathlib.Path
        Where to write; nothing is at ``final`` until the block succeeds.

    Examples
    --------
    >>> with atomic_write("results.json") as tmp:
    ...     n_written = tmp.write_text("{}")
    >>> open("results.json").read()
    '{}'
    """
    final = Path(final)
    tmp = final.with_name(f".{final.name}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(final.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (where the platform allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
