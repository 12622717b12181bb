"""The synthetic demo set on disk: its WAV files, labels and folds, written once and cached.

:func:`make_demo` writes the clips of :mod:`randcnn_fast.datasets.demo_synthesis` (four classes
in two pairs, each pair told apart by rhythm or by timbre alone) as 16-bit WAV files with a
``labels.csv`` of stratified folds, into a folder it can find again
(:func:`default_demo_dir`); a complete folder made with the same parameters is reused as it is.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from pathlib import Path

import numpy as np
import soundfile

from ..atomic import atomic_write
from ..input.audio import SAMPLE_RATE
from .demo_synthesis import CLASSES, check_seconds, check_seed, pcm16, random_stream, render

__all__ = ["CLASSES", "N_FOLDS", "DEMO_VERSION", "default_demo_dir", "make_demo"]

#: Number of cross-validation folds in ``labels.csv`` (numbered 0 to N_FOLDS - 1).
N_FOLDS = 5
#: Version of the synthesis recipe; bumped whenever the audio it makes changes.
DEMO_VERSION = 1

_FOLD_STREAM = 0x5F01D  # distinguishes the fold shuffle's random stream from the clips'
_CLIP_NAME = re.compile(r"^(?P<cls>[a-z_]+)_\d+\.wav$")
_TMP_NAME = re.compile(r"^\..+\.tmp-\d+$")
_STALE_TMP_S = 600.0  # a temporary file this old is a leftover of an interrupted run


def default_demo_dir() -> Path:
    """Where the demo is cached.

    Returns
    -------
    pathlib.Path
        ``$RANDCNN_FAST_CACHE/demo-v1`` if that variable is set, else
        ``~/.cache/randcnn_fast/demo-v1``.

    Examples
    --------
    >>> import os
    >>> os.environ["RANDCNN_FAST_CACHE"] = "cache"
    >>> default_demo_dir().as_posix()
    'cache/demo-v1'
    >>> del os.environ["RANDCNN_FAST_CACHE"]
    """
    root = os.environ.get("RANDCNN_FAST_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "randcnn_fast"
    return base / f"demo-v{DEMO_VERSION}"


def _clip_name(cls: str, index: int, clips_per_class: int) -> str:
    width = max(3, len(str(clips_per_class - 1)))
    return f"{cls}_{index:0{width}d}.wav"


def _folds(seed: int, class_index: int, clips_per_class: int) -> np.ndarray:
    """Fold of each clip of a class: round-robin over a seeded shuffle (stratified)."""
    order = random_stream(seed, _FOLD_STREAM, class_index).permutation(clips_per_class)
    folds = np.empty(clips_per_class, dtype=np.int64)
    folds[order] = np.arange(clips_per_class) % N_FOLDS
    return folds


def _rows(seed: int, clips_per_class: int) -> list[tuple[str, str, int]]:
    rows = []
    for c, cls in enumerate(CLASSES):
        folds = _folds(seed, c, clips_per_class)
        for i in range(clips_per_class):
            rows.append((f"{cls}/{_clip_name(cls, i, clips_per_class)}", cls, int(folds[i])))
    return rows


def _labels_text(rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["path", "label", "fold"])
    writer.writerows(rows)
    return buf.getvalue()


def _meta(seed: int, clips_per_class: int, seconds: float) -> dict:
    return {"version": DEMO_VERSION, "seed": seed, "clips_per_class": clips_per_class,
            "seconds": seconds, "sample_rate": SAMPLE_RATE,
            "samples": int(round(seconds * SAMPLE_RATE)), "classes": list(CLASSES),
            "n_folds": N_FOLDS, "n_clips": clips_per_class * len(CLASSES)}


def _is_complete(out_dir: Path, meta: dict, rows, labels: str) -> bool:
    try:
        if json.loads((out_dir / "demo.json").read_text(encoding="utf-8")) != meta:
            return False
        if (out_dir / "labels.csv").read_text(encoding="utf-8") != labels:
            return False
        for rel, _, _ in rows:
            info = soundfile.info(str(out_dir / rel))
            if (info.frames, info.samplerate, info.channels) != (meta["samples"], SAMPLE_RATE, 1):
                return False
    except (OSError, ValueError, RuntimeError):
        return False
    return True


def _remove_strays(out_dir: Path, keep: set[str]) -> None:
    """Delete clips of an earlier, different demo and leftovers of interrupted writes; only
    names this module makes (``<class>/<class>_<n>.wav`` and its temporary files)."""
    for cls in CLASSES:
        folder = out_dir / cls
        if not folder.is_dir():
            continue
        now = time.time()
        for entry in folder.iterdir():
            match = _CLIP_NAME.match(entry.name)
            try:
                if match is not None and match["cls"] == cls:
                    stray = f"{cls}/{entry.name}" not in keep
                else:  # another process may be writing a fresh temporary file right now
                    stray = bool(_TMP_NAME.match(entry.name)) and (
                        now - entry.stat().st_mtime > _STALE_TMP_S)
                if stray and entry.is_file():
                    entry.unlink()
            except FileNotFoundError:
                pass


def make_demo(out_dir, *, seed: int = 0, clips_per_class: int = 50,
              seconds: float = 6.0) -> Path:
    """Write the synthetic demo set into ``out_dir`` (if it is not there already).

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder to fill; created if needed. :func:`default_demo_dir` is the usual choice.
    seed : int
        Every clip and the fold assignment are a pure function of the seed.
    clips_per_class : int
        Clips in each of the :data:`CLASSES` (at least :data:`N_FOLDS`).
    seconds : float
        Length of every clip (at least 1 s).

    Returns
    -------
    pathlib.Path
        ``out_dir``, holding ``<class>/<class>_<nnn>.wav`` (16-bit PCM mono WAV at 12 kHz),
        ``labels.csv`` (columns ``path,label,fold``: the path relative to ``out_dir``, the
        class, and a fold 0-4; folds are stratified, each class spread evenly over them) and
        ``demo.json`` (the parameters, written last).

    If ``out_dir`` already holds a complete demo made with the same parameters, nothing is
    written. Otherwise every clip is (re)written, each to a temporary name then renamed,
    so an interrupted run never leaves a half-written file and the next call completes it.
    Clips under the class folders left from a demo with other parameters are removed.

    Examples
    --------
    >>> folder = make_demo("demo", clips_per_class=5, seconds=1.0)
    >>> sorted(p.name for p in folder.iterdir())
    ['beat_fast', 'beat_slow', 'demo.json', 'labels.csv', 'tone_brass', 'tone_reed']
    >>> (folder / "labels.csv").read_text().splitlines()[1]
    'beat_slow/beat_slow_000.wav,beat_slow,4'
    """
    seed = check_seed(seed)
    seconds = check_seconds(seconds)
    if (isinstance(clips_per_class, bool) or not isinstance(clips_per_class, (int, np.integer))
            or clips_per_class < N_FOLDS):
        raise ValueError(
            f"clips_per_class must be an integer >= {N_FOLDS}, got {clips_per_class!r}")
    clips_per_class = int(clips_per_class)
    out_dir = Path(out_dir)
    meta = _meta(seed, clips_per_class, seconds)
    rows = _rows(seed, clips_per_class)
    labels = _labels_text(rows)
    if _is_complete(out_dir, meta, rows, labels):
        return out_dir

    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = out_dir / "demo.json"
    stamp.unlink(missing_ok=True)  # the folder counts as incomplete until it is rewritten
    for cls in CLASSES:
        (out_dir / cls).mkdir(exist_ok=True)
    for cls in CLASSES:
        for index in range(clips_per_class):
            pcm = pcm16(render(cls, index, seed, seconds))
            path = out_dir / cls / _clip_name(cls, index, clips_per_class)
            with atomic_write(path) as tmp:
                soundfile.write(str(tmp), pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    _remove_strays(out_dir, {rel for rel, _, _ in rows})
    with atomic_write(out_dir / "labels.csv") as tmp:
        tmp.write_text(labels, encoding="utf-8", newline="")
    with atomic_write(stamp) as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out_dir
