"""The lock that keeps a second extraction out of a folder while one is writing there."""
from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from pathlib import Path

__all__ = ["LOCK_FILE", "run_lock"]

LOCK_FILE = ".extract.lock"


@contextmanager
def run_lock(out_dir: Path):
    """Hold an exclusive flock on out_dir/.extract.lock while the run works (the kernel releases
    it if the process dies), refusing a second concurrent run into the same folder; the file is
    removed when the run ends, so a finished folder holds only its results.

    Parameters
    ----------
    out_dir : pathlib.Path
        The extraction's folder (it exists).

    Yields
    ------
    bool
        True, or False where out_dir cannot be written (a read-only folder): such a run may
        only read and check what is there.

    Raises
    ------
    RuntimeError
        When another run holds the lock, naming the folder.

    Examples
    --------
    >>> from pathlib import Path
    >>> with run_lock(Path(".")) as writable:
    ...     with run_lock(Path(".")):
    ...         pass
    Traceback (most recent call last):
    ...
    RuntimeError: another extraction is writing into . (it holds .extract.lock); wait for it or stop it
    >>> Path(LOCK_FILE).exists()
    False
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

