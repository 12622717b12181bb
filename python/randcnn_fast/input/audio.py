"""What valid audio is: the model's sample rate, the shortest clip, the errors and warnings every
input path raises, and the checks they share.

Every message names the clip: its file path, ``"clip i"`` for row ``i`` of a 2-D batch, or
``"audio"`` for a single array. Files are decoded by :mod:`randcnn_fast.input.decode`; arrays and
files become the network's clips in :mod:`randcnn_fast.input.clips`.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

__all__ = ["SAMPLE_RATE", "MIN_SECONDS", "AudioError", "AudioWarning", "check_duration"]

#: Sample rate (Hz) the network expects; every clip is resampled to it.
SAMPLE_RATE = 12000
#: Shortest clip (seconds) accepted by default: a clip shorter than this (a fraction of a
#: syllable; the shortest spoken digit of FSDD lasts 0.14 s) is more likely a damaged or
#: misread input than a sound to describe, and "repeat" padding would tile it thousands of
#: times. ``min_seconds=0`` accepts any clip with at least one sample.
MIN_SECONDS = 0.1


class AudioError(ValueError):
    """A clip's contents are unusable (missing, undecodable, empty, non-finite...).

    Subclasses ``ValueError`` so callers that catch ``ValueError`` for bad
    input keep working. The message starts with the clip's name (file path,
    ``"clip i"`` or ``"audio"``) followed by the problem.

    Examples
    --------
    >>> import numpy as np
    >>> from randcnn_fast.input.clips import check_array
    >>> check_array(np.array([0.0, np.nan]), name="clip 3")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    randcnn_fast.input.audio.AudioError: clip 3: contains 1 non-finite sample(s) ...
    """


class AudioWarning(UserWarning):
    """A file decoded into usable audio, but something about it deserves a look.

    For example, its decoded length differs from the one its header announced. The message
    starts with the path; :func:`load_file` issues it, :func:`decode_file` returns it.

    Examples
    --------
    Silence them where the decoded length is all that matters:

    >>> import warnings
    >>> warnings.simplefilter("ignore", AudioWarning)
    >>> issubclass(AudioWarning, UserWarning)
    True
    >>> warnings.resetwarnings()
    """


def check_duration(name: str, n_samples: int, sr, min_seconds: float) -> None:
    """Refuse a clip of ``n_samples`` at ``sr`` Hz shorter than ``min_seconds``.

    Parameters
    ----------
    name : str
        How to refer to the clip (its path, ``"clip i"`` or ``"audio"``).
    n_samples : int
        Its length in samples (frames, for a file) at its own rate.
    sr : int or float
        That rate in Hz.
    min_seconds : float
        The minimum duration; 0 accepts any clip.

    Raises
    ------
    AudioError
        "too short", with the duration, the minimum and how to accept it anyway.

    Examples
    --------
    >>> check_duration("blip.wav", 800, 16000, MIN_SECONDS)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    randcnn_fast.input.audio.AudioError: blip.wav: too short: 800 sample(s) at 16000 Hz ...
    """
    seconds = n_samples / sr
    if seconds < min_seconds:
        raise AudioError(
            f"{name}: too short: {n_samples} sample(s) at {sr:g} Hz last {seconds:.4g} s, less "
            f"than the minimum of {min_seconds:g} s; pass min_seconds=0 (--min-seconds 0) to "
            "embed it anyway"
        )


def check_min_seconds(value) -> float:
    """``value`` as a float, or a ValueError unless it is a number of seconds >= 0."""
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)) or not value >= 0:
        raise ValueError(f"min_seconds must be a number of seconds >= 0, got {value!r}")
    return float(value)


def all_finite(x: np.ndarray) -> bool:
    """Whether the non-empty array ``x`` holds no NaN or inf: its extremes are finite (two
    vectorised reductions, several times faster than ``np.isfinite(x).all()``)."""
    return math.isfinite(float(x.max()) - float(x.min()))


def check_finite(x: np.ndarray, name: str) -> None:
    """Raise AudioError if `x` (1-D) contains NaN or inf."""
    count, first = non_finite(x)
    if count:
        raise non_finite_error(name, count, first)


def non_finite(x: np.ndarray) -> tuple[int, int]:
    """How many samples of `x` (1-D) are NaN or inf, and the index of the first (-1: none)."""
    bad = ~np.isfinite(x)
    count = int(bad.sum())
    return count, (int(np.argmax(bad)) if count else -1)


def non_finite_error(name: str, count: int, first: int) -> AudioError:
    return AudioError(
        f"{name}: contains {count} non-finite sample(s) (NaN or inf), first at index {first}"
    )


def require_samples(y: np.ndarray, n_in: int, sr, name: str) -> None:
    """Reject a resampled clip with no samples left."""
    # Downsampling a clip of a few samples can round to zero output samples,
    # which would otherwise surface later as a confusing shape error.
    if y.size == 0:
        raise AudioError(
            f"{name}: too short: {n_in} sample(s) at {sr} Hz is less than one "
            f"sample at {SAMPLE_RATE} Hz"
        )


def reject_directory(name: str) -> None:
    """A folder given as an audio file gets its own message, not "no such file"."""
    if os.path.isdir(name):
        raise AudioError(
            f"{name}: is a directory, not an audio file; pass a list of its files "
            "(e.g. sorted(glob.glob('folder/*.wav'))) or embed the folder with "
            "`randcnn-fast embed FOLDER --out OUT`"
        )
