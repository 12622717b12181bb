"""Audio input handling: turn user audio into validated 12 kHz mono clips.

Every clip that reaches the network passes through :func:`load_clips`, which
accepts numpy arrays or file paths and returns 1-D float32 arrays sampled at
:data:`SAMPLE_RATE` and brought to a fixed length (or kept whole). Problems with a clip are
reported as :class:`AudioError` (or ``TypeError`` for a wrong dtype), and the
message always names the clip: its file path, ``"clip i"`` for row ``i`` of a
2-D batch, or ``"audio"`` for a single array.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from dataclasses import dataclass

import numpy as np
import soundfile
import soxr

__all__ = [
    "SAMPLE_RATE",
    "PAD_MODES",
    "MIN_SECONDS",
    "MAX_CHANNELS",
    "AudioError",
    "AudioWarning",
    "check_duration",
    "DecodedFile",
    "decode_file",
    "load_file",
    "check_array",
    "resample",
    "fix_length",
    "load_clips",
]

#: Sample rate (Hz) the network expects; every clip is resampled to it.
SAMPLE_RATE = 12000

#: Ways :func:`fix_length` can bring a clip to the target length ("none" keeps it whole).
PAD_MODES = ("crop", "zero", "repeat", "none")

#: Shortest clip (seconds) accepted by default: a clip shorter than this (a fraction of a
#: syllable; the shortest spoken digit of FSDD lasts 0.14 s) is more likely a damaged or
#: misread input than a sound to describe, and "repeat" padding would tile it thousands of
#: times. ``min_seconds=0`` accepts any clip with at least one sample.
MIN_SECONDS = 0.1

#: The most channels a 2-D array's second axis may have and still be read as (samples,
#: channels) rather than as a batch of clips that short.
MAX_CHANNELS = 8

#: Frames :func:`load_file` decodes at a time (1 MiB per channel in float32), so a long
#: multichannel file is never held at its own rate and channel count.
BLOCK_FRAMES = 2**18

#: The sample rates (Hz) a file may declare; outside them the header is taken as damaged (a
#: 1 Hz header would otherwise make resampling allocate 12,000 samples per frame).
MIN_FILE_RATE, MAX_FILE_RATE = 1000, 768000

#: MP3 is decoded in one read of up to this many bytes (float32 frames at the file's own rate
#: and channel count: 25 minutes of 44.1 kHz stereo); longer files in reads of this size.
MP3_READ_BYTES = 2**29

#: How far (in frames at the file's rate) the decoded length may differ from the header's
#: before :func:`decode_file` warns: MP3 headers routinely miss by more.
LENGTH_TOLERANCE_FRAMES = 2

#: The most 12 kHz samples reserved up front from a header's announced length (64 MiB); past
#: it the output grows as decoding goes, so a lying header cannot force a huge allocation.
_MAX_RESERVED_SAMPLES = 2**24

#: Bytes per sample of the uncompressed subtypes, whose frame count a file's size bounds.
_PCM_BYTES = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4,
              "DOUBLE": 8, "ULAW": 1, "ALAW": 1}


class AudioError(ValueError):
    """A clip's contents are unusable (missing, undecodable, empty, non-finite...).

    Subclasses ``ValueError`` so callers that catch ``ValueError`` for bad
    input keep working. The message starts with the clip's name (file path,
    ``"clip i"`` or ``"audio"``) followed by the problem.

    Examples
    --------
    >>> import numpy as np
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


@dataclass(frozen=True)
class DecodedFile:
    """One audio file decoded by :func:`decode_file`.

    Parameters
    ----------
    samples, sample_rate, frames, announced_frames, warnings
        As the attributes below.

    Attributes
    ----------
    samples : numpy.ndarray
        1-D float32 mono samples at :data:`SAMPLE_RATE`, every one of them from the file.
    sample_rate : int
        The file's own sample rate (Hz).
    frames : int
        Frames really decoded, at the file's rate.
    announced_frames : int
        Frames the file's header announced (for MP3 often an estimate).
    warnings : tuple of str
        What deserves a look but did not stop decoding, each message starting with the path.
    seconds : float
        Duration of the decoded audio in seconds.

    Examples
    --------
    >>> import numpy as np, soundfile
    >>> soundfile.write("tone.wav", np.zeros(8000, np.float32), 16000)
    >>> decoded = decode_file("tone.wav")
    >>> decoded.sample_rate, decoded.frames, decoded.seconds, decoded.samples.shape
    (16000, 8000, 0.5, (6000,))
    """

    samples: np.ndarray
    sample_rate: int
    frames: int
    announced_frames: int
    warnings: tuple[str, ...] = ()

    @property
    def seconds(self) -> float:
        """Duration of the decoded audio in seconds."""
        return self.frames / self.sample_rate


def decode_file(path: str | os.PathLike, *, min_seconds: float = 0.0) -> DecodedFile:
    """Decode an audio file to mono float32 at :data:`SAMPLE_RATE`, with what was noticed.

    The file is read block by block until the decoder returns no more frames; the length in
    its header is never trusted (MP3 headers often announce more or fewer frames than the
    stream holds). Channels are averaged to mono and the signal is resampled as a stream, which
    gives exactly the samples of resampling the whole decoded signal at once.

    Parameters
    ----------
    path : str or os.PathLike
        Any format libsndfile can decode (WAV, FLAC, OGG/Vorbis, MP3, ...).
    min_seconds : float
        Refuse ("too short") a file whose decoded audio lasts less; 0 (default) accepts any.

    Returns
    -------
    DecodedFile
        The samples, the file's rate, the decoded and announced frame counts, and warnings:
        a decoded length more than :data:`LENGTH_TOLERANCE_FRAMES` away from the announced
        one, and a WAV whose header declares more audio than the file holds ("truncated"),
        are reported there (the audio present is what is returned).

    Raises
    ------
    TypeError
        If `path` is not a str or os.PathLike.
    AudioError
        If the file does not exist ("no such file"), cannot be opened ("permission denied"),
        has 0 bytes ("empty file"), cannot be decoded ("not audio, or a damaged or
        unsupported file"), declares a sample rate outside :data:`MIN_FILE_RATE` to
        :data:`MAX_FILE_RATE` ("damaged header"), has no samples ("empty"), contains NaN or
        inf ("non-finite"), or is too short to yield a sample at 12 kHz. The message starts
        with the path.

    Examples
    --------
    >>> import numpy as np, soundfile
    >>> soundfile.write("tone.wav", np.zeros((24000, 2), np.float32), 24000)
    >>> decoded = decode_file("tone.wav")
    >>> decoded.samples.shape, decoded.samples.dtype, decoded.warnings
    ((12000,), dtype('float32'), ())
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"audio file path must be a str or os.PathLike, got {type(path).__name__}"
        )
    name = os.fspath(path)
    file_bytes = _check_readable(name)
    try:
        with soundfile.SoundFile(name) as f:
            sr, announced = f.samplerate, f.frames
            _check_sample_rate(name, sr)
            missing = _wav_missing_bytes(name, file_bytes) if f.format in ("WAV", "WAVEX") else 0
            clip, frames, bad, first_bad = _decode_mono(f, file_bytes)
    # SoundFileError covers unrecognised/corrupt files; soundfile raises
    # TypeError for headerless formats (e.g. .raw) it cannot open without
    # extra parameters, which from our side is also "not audio".
    except (soundfile.SoundFileError, TypeError) as exc:
        raise AudioError(f"{name}: not audio, or a damaged or unsupported file "
                         f"(libsndfile: {_libsndfile_reason(exc)})") from exc
    if frames == 0:
        raise AudioError(f"{name}: empty (0 samples)")
    if bad:
        raise _non_finite_error(name, bad, first_bad)
    _require_samples(clip, frames, sr, name)
    check_duration(name, frames, sr, min_seconds)
    notes = []
    if abs(frames - announced) > LENGTH_TOLERANCE_FRAMES:
        notes.append(f"{name}: decoded {frames} frames ({frames / sr:.3f} s) where the header "
                     f"announced {announced} ({announced / sr:.3f} s); the decoded audio is used")
    if missing:
        notes.append(f"{name}: truncated: the header declares {missing} bytes of audio more than "
                     f"the file holds; the {frames / sr:.3f} s present are used")
    return DecodedFile(clip, sr, frames, announced, tuple(notes))


def _check_readable(name: str) -> int:
    """The file's size in bytes, after the checks libsndfile would only report vaguely."""
    # libsndfile calls a missing, unreadable or empty file a "System error" or an unknown
    # format; name each.
    _reject_directory(name)
    if not os.path.isfile(name):
        raise AudioError(f"{name}: no such file")
    try:
        with open(name, "rb"):
            pass
    except PermissionError as exc:
        raise AudioError(f"{name}: permission denied (cannot open it for reading)") from exc
    except OSError as exc:
        raise AudioError(f"{name}: cannot open: {exc.strerror or exc}") from exc
    file_bytes = os.path.getsize(name)
    if file_bytes == 0:
        raise AudioError(f"{name}: empty file (0 bytes)")
    return file_bytes


def _check_sample_rate(name: str, sr: int) -> None:
    """Refuse a rate no recording has, before anything is allocated from it."""
    if not MIN_FILE_RATE <= sr <= MAX_FILE_RATE:
        raise AudioError(f"{name}: damaged header: a sample rate of {sr} Hz is outside "
                         f"{MIN_FILE_RATE}-{MAX_FILE_RATE} Hz")


def _libsndfile_reason(exc: Exception) -> str:
    """libsndfile's own words for a failure, without soundfile's 'Error opening <path>:'."""
    text = str(exc)
    return text.rsplit("': ", 1)[-1].strip() or text


def _wav_missing_bytes(name: str, file_bytes: int) -> int:
    """How many bytes of audio a RIFF/WAVE file's header declares beyond the end of the file
    (0 for a complete file, or any other format).

    libsndfile quietly clamps the frame count to what the file holds, so a truncated WAV
    decodes without complaint; the header's own figure is what tells."""
    with open(name, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        while len(chunk := fh.read(8)) == 8:
            size = int.from_bytes(chunk[4:], "little")
            if chunk[:4] == b"data":
                return max(0, size - (file_bytes - fh.tell()))
            fh.seek(size + (size & 1), os.SEEK_CUR)  # chunks are padded to even sizes
    return 0


def load_file(path: str | os.PathLike, *, min_seconds: float = 0.0) -> np.ndarray:
    """Read an audio file as a mono float32 clip at :data:`SAMPLE_RATE`.

    :func:`decode_file` does the work, and takes the same arguments and raises the same
    errors; its warnings are issued as :class:`AudioWarning`.

    Parameters
    ----------
    path, min_seconds
        As :func:`decode_file`.

    Returns
    -------
    numpy.ndarray
        1-D, float32, C-contiguous samples; channels are averaged to mono and
        the signal is resampled to 12 kHz when the file's rate differs.

    Examples
    --------
    >>> import numpy as np, soundfile
    >>> soundfile.write("tone.flac", np.zeros(44100, np.float32), 44100)
    >>> clip = load_file("tone.flac")
    >>> clip.dtype, clip.shape
    (dtype('float32'), (12000,))
    """
    decoded = decode_file(path, min_seconds=min_seconds)
    for message in decoded.warnings:
        warnings.warn(message, AudioWarning, stacklevel=2)
    return decoded.samples


def _decode_mono(f: soundfile.SoundFile, file_bytes: int) -> tuple[np.ndarray, int, int, int]:
    """Decode an open file block by block into a mono float32 clip at 12 kHz.

    Each block is mixed to mono and, when the file's rate differs, fed to one soxr stream
    (identical to resampling the whole signal at once), so memory holds the 12 kHz result and
    one block. Decoding stops when a read returns no frame, and only the frames each read
    returned are used. Returns (clip, frames read, non-finite samples, index of the first of
    them); after a non-finite sample the rest is only counted.
    """
    sr = f.samplerate
    stream = None if sr == SAMPLE_RATE else soxr.ResampleStream(
        sr, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
    out = np.empty(_reserved_samples(f, file_bytes), np.float32)
    if f.seekable():
        # soundfile.read seeks to the start before reading, which restarts libmpg123's decoder;
        # its MP3 samples then differ in the last bit from a first pass. Seek too, so that a
        # file decodes to exactly soundfile.read's samples.
        f.seek(0)
    buffer = np.empty((_frames_per_read(f), f.channels), np.float32)
    used = frames = bad = 0
    first_bad = -1
    while True:
        # With `out` given, soundfile reads up to len(buffer) frames and returns the part the
        # decoder filled, whatever the header announced.
        block = f.read(dtype="float32", always_2d=True, out=buffer)
        if len(block) == 0:
            break
        # Average in float64 so the channel sum cannot overflow float32 and turn
        # huge-but-finite samples into inf; any NaN/inf in a channel survives the
        # mean, so checking the mono mix catches bad samples in every channel.
        mono = block.mean(axis=1, dtype=np.float64).astype(np.float32)
        count, first = _non_finite(mono)
        if count and not bad:
            first_bad = frames + first
        bad += count
        frames += len(mono)
        if not bad:
            out, used = _append(out, used, mono if stream is None else stream.resample_chunk(mono))
    if stream is not None and not bad:
        out, used = _append(out, used, stream.resample_chunk(np.zeros(0, np.float32), last=True))
    # Give back what an over-announced length reserved (the buffer is ours alone: no views).
    out.resize(used, refcheck=False)
    return out, frames, bad, first_bad


def _frames_per_read(f: soundfile.SoundFile) -> int:
    """How many frames each read asks for: :data:`BLOCK_FRAMES`, or for MP3 the whole stream
    up to :data:`MP3_READ_BYTES`."""
    if f.format == "MP3":
        # libsndfile's MP3 samples depend on where reads split the stream: by a bit or two
        # for MPEG-1 mono, and by decoding errors for MPEG-2 and 2.5 (rates below 32 kHz;
        # libmpg123 reports "part2_3_length too large"). One read is exact, and never needs
        # more than the announced length: libsndfile returns no frame past it.
        return max(1, min(f.frames, MP3_READ_BYTES // (4 * max(f.channels, 1))))
    return BLOCK_FRAMES


def _reserved_samples(f: soundfile.SoundFile, file_bytes: int) -> int:
    """How many 12 kHz samples to reserve before decoding: the announced length, bounded by
    what the file's size allows for uncompressed audio and by :data:`_MAX_RESERVED_SAMPLES`."""
    frames = max(f.frames, 0)
    sample_bytes = _PCM_BYTES.get(f.subtype)
    if sample_bytes is not None:
        frames = min(frames, file_bytes // (sample_bytes * max(f.channels, 1)))
    return min(math.ceil(frames * SAMPLE_RATE / f.samplerate), _MAX_RESERVED_SAMPLES)


def _append(out: np.ndarray, used: int, part: np.ndarray) -> tuple[np.ndarray, int]:
    """Write ``part`` after the first ``used`` entries of ``out``, growing it geometrically when
    the reservation was short (the header under-announced, or the file is long)."""
    end = used + len(part)
    if end > len(out):
        grown = np.empty(max(end, 2 * len(out)), np.float32)
        grown[:used] = out[:used]
        out = grown
    out[used:end] = part
    return out, end


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
        A new 1-D, float32, C-contiguous array (never the caller's buffer, so
        later processing cannot modify the user's data).

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
    # float64 values beyond float32's range become inf when cast; silence
    # numpy's overflow warning and report them as a clear error instead.
    with np.errstate(over="ignore"):
        out = np.array(arr, dtype=np.float32, order="C", copy=True)
    if not all_finite(out):
        _check_finite(arr, name)  # NaN or inf in the input itself
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
        brought to `length` according to `pad`.
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
        _reject_directory(name)
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
            _reject_directory(name)
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


def check_min_seconds(value) -> float:
    """``value`` as a float, or a ValueError unless it is a number of seconds >= 0."""
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)) or not value >= 0:
        raise ValueError(f"min_seconds must be a number of seconds >= 0, got {value!r}")
    return float(value)


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


def _fit(clip: np.ndarray, length, pad: str, name: str) -> np.ndarray:
    """fix_length, or the clip as it is when no length is asked for."""
    return clip if length is None else fix_length(clip, length, pad, name=name)


def _to_model_rate(x: np.ndarray, sr, name: str) -> np.ndarray:
    """Resample to 12 kHz, rejecting clips too short to keep any sample."""
    y = resample(x, sr)
    _require_samples(y, x.size, sr, name)
    return y


def _require_samples(y: np.ndarray, n_in: int, sr, name: str) -> None:
    """Reject a resampled clip with no samples left."""
    # Downsampling a clip of a few samples can round to zero output samples,
    # which would otherwise surface later as a confusing shape error.
    if y.size == 0:
        raise AudioError(
            f"{name}: too short: {n_in} sample(s) at {sr} Hz is less than one "
            f"sample at {SAMPLE_RATE} Hz"
        )


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


def all_finite(x: np.ndarray) -> bool:
    """Whether the non-empty array ``x`` holds no NaN or inf: its extremes are finite (two
    vectorised reductions, several times faster than ``np.isfinite(x).all()``)."""
    return math.isfinite(float(x.max()) - float(x.min()))


def _check_finite(x: np.ndarray, name: str) -> None:
    """Raise AudioError if `x` (1-D) contains NaN or inf."""
    count, first = _non_finite(x)
    if count:
        raise _non_finite_error(name, count, first)


def _non_finite(x: np.ndarray) -> tuple[int, int]:
    """How many samples of `x` (1-D) are NaN or inf, and the index of the first (-1: none)."""
    bad = ~np.isfinite(x)
    count = int(bad.sum())
    return count, (int(np.argmax(bad)) if count else -1)


def _non_finite_error(name: str, count: int, first: int) -> AudioError:
    return AudioError(
        f"{name}: contains {count} non-finite sample(s) (NaN or inf), first at index {first}"
    )


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


def _reject_directory(name: str) -> None:
    """A folder given as an audio file gets its own message, not "no such file"."""
    if os.path.isdir(name):
        raise AudioError(
            f"{name}: is a directory, not an audio file; pass a list of its files "
            "(e.g. sorted(glob.glob('folder/*.wav'))) or embed the folder with "
            "`randcnn-fast embed FOLDER --out OUT`"
        )


def _reject_sr_for_files(sr) -> None:
    """Files declare their own rate, so an explicit `sr` is a user error."""
    if sr is not None:
        raise ValueError("sr applies to arrays only; files carry their own sample rate")
