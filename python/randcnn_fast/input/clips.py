"""User audio to the network's clips: numpy arrays or file paths in, 1-D float32 arrays at the
model's rate out, mixed to mono and brought to a fixed length (or kept whole).

Every clip that reaches the network passes through :func:`load_clips`. Problems with a clip are
reported as :class:`~randcnn_fast.input.audio.AudioError` (or ``TypeError`` for a wrong dtype),
naming the clip.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np
import soxr

from .audio import (MIN_SECONDS, SAMPLE_RATE, AudioError, all_finite, check_duration,
                    check_finite, check_min_seconds, reject_directory, require_samples)
from .decode import load_file

__all__ = ["PAD_MODES", "MAX_CHANNELS", "check_array", "resample", "fix_length", "load_clips"]

#: Ways :func:`fix_length` can bring a clip to the target length ("none" keeps it whole).
PAD_MODES = ("crop", "zero", "repeat", "none")
#: The most channels a 2-D array's second axis may have and still be read as (samples,
#: channels) rather than as a batch of clips that short.
MAX_CHANNELS = 8


def check_array(x, *, name: str) -> np.ndarray:
    """Validate one in-memory mono clip and return it as float32.

    Parameters
    ----------
    x : array_like
        Samples of one clip, nominally in [-1, 1]. A numpy array of float16,
        float32 or float64 (or any other floating dtype); lists are converted
        with ``numpy.asarray``.
    name : str
        How to refer to the clip in error messages, e.g. ``"clip 3"``.

    Returns
    -------
    numpy.ndarray
        1-D, float32, C-contiguous: a read-only view of `x` when it already is
        such an array (copying 29 s of audio took a twentieth of a small
        network's call), else a new array. Either way later processing cannot
        modify the caller's data.

    Raises
    ------
    TypeError
        If the dtype is not floating (integer, bool, complex, object...).
    AudioError
        If `x` cannot be converted to an array, is not 1-D, is empty,
        contains NaN or inf, or holds values too large for float32.

    Examples
    --------
    >>> check_array([0.0, 0.5, -0.5], name="audio")
    array([ 0. ,  0.5, -0.5], dtype=float32)
    >>> check_array([[0.0, 0.5]], name="audio")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    randcnn_fast.input.audio.AudioError: audio: must be a 1-D array ..., got shape (1, 2)
    """
    arr = _as_float_array(x, name)
    if arr.ndim != 1:
        raise AudioError(
            f"{name}: must be a 1-D array of mono samples, got shape {arr.shape}"
        )
    if arr.size == 0:
        raise AudioError(f"{name}: empty (0 samples)")
    if arr.dtype == np.float32 and arr.flags.c_contiguous:
        out = arr.view()
        out.flags.writeable = False
    else:
        # float64 values beyond float32's range become inf when cast; silence
        # numpy's overflow warning and report them as a clear error instead.
        with np.errstate(over="ignore"):
            out = np.array(arr, dtype=np.float32, order="C", copy=True)
    if not all_finite(out):
        check_finite(arr, name)  # NaN or inf in the input itself
        raise AudioError(f"{name}: samples exceed the float32 range")
    return out


def resample(x: np.ndarray, sr) -> np.ndarray:
    """Resample a mono clip from `sr` Hz to :data:`SAMPLE_RATE` Hz.

    Parameters
    ----------
    x : numpy.ndarray
        1-D float32 (or float64) samples.
    sr : int or float
        Sample rate of `x` in Hz; must be a positive finite number.

    Returns
    -------
    numpy.ndarray
        `x` itself when `sr` is already 12000, otherwise a new 1-D float32
        C-contiguous array of ``round(len(x) * 12000 / sr)`` samples,
        resampled with soxr at "HQ" quality.

    Raises
    ------
    ValueError
        If `sr` is not a positive finite number.

    Examples
    --------
    >>> import numpy as np
    >>> y = resample(np.zeros(16000, np.float32), 16000)
    >>> y.shape, y.dtype
    ((12000,), dtype('float32'))
    """
    _check_sr(sr)
    if sr == SAMPLE_RATE:
        return x
    y = soxr.resample(np.ascontiguousarray(x), sr, SAMPLE_RATE, quality="HQ")
    # soxr returns float64 for float64 input; the network works in float32.
    return np.ascontiguousarray(y, dtype=np.float32)


def fix_length(x: np.ndarray, length: int, mode: str, *, name: str) -> np.ndarray:
    """Bring a clip to `length` along its first axis (samples, or frames of a spectrogram).

    Parameters
    ----------
    x : numpy.ndarray
        Non-empty clip: 1-D samples (as returned by :func:`check_array`), or
        a 2-D (frames, bins) spectrogram.
    length : int
        Target number of samples (or frames); a positive integer.
    mode : {"crop", "zero", "repeat", "none"}
        ``"crop"``: keep the first `length` entries of a longer clip and
        return a shorter clip unchanged (it never pads; the caller checks the
        network's minimum length). ``"zero"``: crop, or append zeros up to
        exactly `length`. ``"repeat"``: crop, or tile the clip end to end and
        cut the result to exactly `length`. ``"none"``: keep every clip whole,
        neither cropped nor padded (the caller checks the network's minimum
        length; the native executor runs long clips in time tiles).
    name : str
        How to refer to the clip in error messages.

    Returns
    -------
    numpy.ndarray
        C-contiguous array with the dtype of `x` and `length` entries along
        the first axis (fewer for a short clip with ``"crop"``, all of them
        with ``"none"``). For ``"crop"`` and ``"none"`` it may share memory
        with `x`.

    Raises
    ------
    ValueError
        If `mode` is not one of :data:`PAD_MODES` or `length` is not a
        positive integer.
    AudioError
        If `x` is empty or 0-D.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0], np.float32)
    >>> fix_length(x, 7, "repeat", name="audio")
    array([1., 2., 3., 1., 2., 3., 1.], dtype=float32)
    >>> fix_length(x, 5, "zero", name="audio")
    array([1., 2., 3., 0., 0.], dtype=float32)
    >>> fix_length(x, 5, "crop", name="audio")
    array([1., 2., 3.], dtype=float32)
    """
    _check_fix_args(length, mode)
    x = np.asarray(x)
    if x.ndim == 0 or x.size == 0:
        raise AudioError(f"{name}: fix_length needs a non-empty clip, got shape {x.shape}")
    n = x.shape[0]
    if mode == "none":
        return np.ascontiguousarray(x)
    if n >= length:
        # Every mode crops a clip that is long enough.
        return np.ascontiguousarray(x[:length])
    if mode == "crop":
        return np.ascontiguousarray(x)
    shape = (length,) + x.shape[1:]
    if mode == "zero":
        out = np.zeros(shape, dtype=x.dtype)
        out[:n] = x
        return out
    # "repeat": np.resize fills the output by cycling through x in C order, that is through
    # whole samples or frames, which is exactly "tile then cut".
    return np.resize(x, shape)


def load_clips(
    audio, *, sr=None, length: int, pad: str, channel_axis: int | None = None,
    min_seconds: float = MIN_SECONDS,
) -> tuple[list[np.ndarray], list[str], bool]:
    """Turn any supported audio input into a list of 12 kHz float32 clips.

    This is the single entry point used by ``embed()``.

    Parameters
    ----------
    audio : numpy.ndarray, str, os.PathLike, or list/tuple of paths
        - 1-D array: one mono clip (`sr` required), named ``"audio"``.
        - 2-D array of shape ``(n_clips, n_samples)``: a batch of equal-length
          mono clips (`sr` required), named ``"clip 0"``, ``"clip 1"``, ...
          A 2-D array with at most :data:`MAX_CHANNELS` columns is refused
          unless `channel_axis` says how to read it: it is almost surely one
          multichannel clip in soundfile's (samples, channels) layout.
        - str or os.PathLike: one audio file.
        - list or tuple of paths: a batch of audio files.

        Objects exposing ``__array__`` (e.g. CPU tensors) are treated as
        arrays.
    sr : int or float, optional
        Sample rate of array input in Hz. Must be omitted for files, which
        carry their own rate.
    length : int or None
        Target length in samples at 12 kHz, passed to :func:`fix_length`;
        None keeps every clip at its own length (spectrogram models fix the
        length in frames instead).
    pad : {"crop", "zero", "repeat", "none"}
        Length mode, passed to :func:`fix_length`.
    channel_axis : {None, 0, 1}
        For a 2-D array holding one multichannel clip, the axis of its channels,
        which are averaged to mono: 1 for soundfile's (samples, channels), 0
        for librosa's (channels, samples). None (default): a 2-D array is a
        batch (n_clips, n_samples).
    min_seconds : float
        Clips (arrays and files) shorter than this many seconds are refused
        (:data:`MIN_SECONDS` by default; 0 accepts any).

    Returns
    -------
    clips : list of numpy.ndarray
        One 1-D float32 array per clip, validated, resampled to 12 kHz and
        brought to `length` according to `pad`; a float32 clip that needed none
        of it comes back as a read-only view of the input (see
        :func:`check_array`).
    names : list of str
        The name of each clip for messages: its path, ``"clip i"`` or ``"audio"``.
    single : bool
        True when the input was one clip (1-D array or one path), so the
        caller can return a 1-D embedding instead of a batch.

    Raises
    ------
    TypeError
        For an unsupported input type, a list item that is not a path, or a
        non-floating array dtype.
    ValueError
        For a missing or invalid `sr`, `sr` given with files, an empty list,
        arrays that are neither 1-D nor 2-D, or invalid `length`/`pad`/
        `channel_axis`/`min_seconds`.
    AudioError
        For an unusable clip, including a clip shorter than `min_seconds` and
        a (samples, channels) array passed without `channel_axis`; the
        message names the clip.

    Examples
    --------
    >>> import numpy as np
    >>> clips, names, single = load_clips(np.zeros((2, 16000), np.float32), sr=16000,
    ...                                   length=24000, pad="repeat")
    >>> [c.shape for c in clips], names, single
    ([(24000,), (24000,)], ['clip 0', 'clip 1'], False)
    """
    if channel_axis not in (None, 0, 1):
        raise ValueError(f"channel_axis must be None, 0 or 1, got {channel_axis!r}")
    min_seconds = check_min_seconds(min_seconds)
    # Validate the cheap arguments before decoding possibly many files.
    if length is not None:
        _check_fix_args(length, pad)

    if isinstance(audio, (str, os.PathLike)):
        _reject_sr_for_files(sr)
        name = os.fspath(audio)
        reject_directory(name)
        return [_fit(load_file(audio, min_seconds=min_seconds), length, pad, name)], [name], True

    if isinstance(audio, (list, tuple)):
        if len(audio) == 0:
            raise ValueError("audio is an empty list; pass at least one file path")
        for i, item in enumerate(audio):
            if not isinstance(item, (str, os.PathLike)):
                raise TypeError(
                    f"audio[{i}] is a {type(item).__name__}; a list must hold "
                    "file paths (pass in-memory audio as a numpy array: 1-D "
                    "for one clip, 2-D (n_clips, n_samples) for a batch)"
                )
        _reject_sr_for_files(sr)
        names = [os.fspath(p) for p in audio]
        for name in names:
            reject_directory(name)
        clips = [_fit(load_file(p, min_seconds=min_seconds), length, pad, n)
                 for p, n in zip(audio, names)]
        return clips, names, False

    # numpy arrays and array-likes such as CPU tensors all expose __array__.
    if hasattr(audio, "__array__"):
        arr = np.asarray(audio)
        if arr.ndim not in (1, 2):
            raise ValueError(
                f"audio: expected a 1-D array (one clip) or a 2-D array "
                f"(n_clips, n_samples), got shape {arr.shape}"
            )
        _as_float_array(arr, "audio")
        if sr is None:
            raise ValueError("sr is required for arrays: pass the sample rate in Hz")
        _check_sr(sr)
        if channel_axis is not None:
            arr = _mix_channels(arr, channel_axis)
        if arr.ndim == 1:
            return [_prepare_array_clip(arr, sr, length, pad, "audio", min_seconds)], ["audio"], True
        if arr.shape[0] == 0:
            raise ValueError(f"audio: the batch has no clips (shape {arr.shape})")
        _reject_channels_as_batch(arr)
        names = [f"clip {i}" for i in range(arr.shape[0])]
        clips = [_prepare_array_clip(row, sr, length, pad, n, min_seconds)
                 for row, n in zip(arr, names)]
        return clips, names, False

    raise TypeError(
        "audio must be a numpy array, a file path, or a list of file paths; "
        f"got {type(audio).__name__}"
    )


def _mix_channels(arr: np.ndarray, channel_axis: int) -> np.ndarray:
    """One multichannel clip averaged to mono along ``channel_axis``."""
    if arr.ndim != 2:
        raise ValueError(
            f"audio: channel_axis={channel_axis} is for a 2-D array holding one multichannel "
            f"clip, got shape {arr.shape}"
        )
    if arr.shape[channel_axis] == 0:
        raise AudioError(f"audio: no channels (shape {arr.shape})")
    # float64 sum, as load_file mixes: huge-but-finite channels cannot overflow to inf.
    return arr.mean(axis=channel_axis, dtype=np.float64)


def _reject_channels_as_batch(arr: np.ndarray) -> None:
    """A (frames, channels) array read as a batch would embed each frame as a clip."""
    frames, channels = arr.shape
    if channels <= MAX_CHANNELS:
        raise AudioError(
            f"audio: shape {arr.shape} reads as a batch of {frames} clips of {channels} "
            f"sample(s) each; for one clip of {frames} frames in {channels} channels "
            "(soundfile's layout) pass channel_axis=1 to average the channels to mono, or "
            "one channel as a 1-D array (x[:, 0]); librosa's (channels, samples) takes "
            "channel_axis=0; a batch of clips is (n_clips, n_samples)"
        )


def _prepare_array_clip(x, sr, length: int, pad: str, name: str,
                        min_seconds: float) -> np.ndarray:
    """Validate, resample and fix the length of one in-memory clip."""
    clip = check_array(x, name=name)
    check_duration(name, clip.size, sr, min_seconds)
    return _fit(_to_model_rate(clip, sr, name), length, pad, name)


def _fit(clip: np.ndarray, length, pad: str, name: str) -> np.ndarray:
    """fix_length, or the clip as it is when no length is asked for."""
    return clip if length is None else fix_length(clip, length, pad, name=name)


def _to_model_rate(x: np.ndarray, sr, name: str) -> np.ndarray:
    """Resample to 12 kHz, rejecting clips too short to keep any sample."""
    y = resample(x, sr)
    require_samples(y, x.size, sr, name)
    return y


def _as_float_array(x, name: str) -> np.ndarray:
    """Convert `x` to an ndarray and require a floating dtype."""
    try:
        arr = np.asarray(x)
    except ValueError as exc:
        # numpy refuses ragged nested sequences with a ValueError.
        raise AudioError(f"{name}: cannot convert to an array: {exc}") from exc
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(
            f"{name}: unsupported dtype {arr.dtype}; audio must be floating "
            "point with samples in [-1, 1]; convert to float first (e.g. for "
            "int16 PCM use x.astype(np.float32) / 32768)"
        )
    return arr


def _check_sr(sr) -> None:
    """Raise ValueError unless `sr` is a positive finite number."""
    # bool is an int subclass, but sr=True is surely a mistake.
    ok = (
        isinstance(sr, numbers.Real)
        and not isinstance(sr, (bool, np.bool_))
        and math.isfinite(sr)
        and sr > 0
    )
    if not ok:
        raise ValueError(f"sr must be a positive number of Hz, got {sr!r}")


def _check_fix_args(length, mode) -> None:
    """Raise ValueError for an invalid target length or pad mode."""
    if mode not in PAD_MODES:
        raise ValueError(
            f"unknown pad mode {mode!r}; valid modes are {', '.join(PAD_MODES)}"
        )
    if not isinstance(length, numbers.Integral) or isinstance(length, (bool, np.bool_)):
        raise ValueError(f"length must be a positive int, got {length!r}")
    if length <= 0:
        raise ValueError(f"length must be a positive int, got {length}")


def _reject_sr_for_files(sr) -> None:
    """Files declare their own rate, so an explicit `sr` is a user error."""
    if sr is not None:
        raise ValueError("sr applies to arrays only; files carry their own sample rate")
