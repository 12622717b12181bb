"""Audio files decoded exactly: every sample the file holds, whatever its header announces, mixed
to mono and resampled to the model's rate, with a clear error for a file that cannot be read.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass

import numpy as np
import soundfile
import soxr

from .audio import (SAMPLE_RATE, AudioError, AudioWarning, all_finite, check_duration,
                    non_finite, non_finite_error, reject_directory, require_samples)

__all__ = ["DecodedFile", "decode_file", "load_file"]

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
    file_bytes, wav_missing = _check_readable(name)
    try:
        with soundfile.SoundFile(name) as f:
            sr, announced = f.samplerate, f.frames
            _check_sample_rate(name, sr)
            missing = wav_missing if f.format in ("WAV", "WAVEX") else 0
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
        raise non_finite_error(name, bad, first_bad)
    require_samples(clip, frames, sr, name)
    check_duration(name, frames, sr, min_seconds)
    notes = []
    if abs(frames - announced) > LENGTH_TOLERANCE_FRAMES:
        notes.append(f"{name}: decoded {frames} frames ({frames / sr:.3f} s) where the header "
                     f"announced {announced} ({announced / sr:.3f} s); the decoded audio is used")
    if missing:
        notes.append(f"{name}: truncated: the header declares {missing} bytes of audio more than "
                     f"the file holds; the {frames / sr:.3f} s present are used")
    return DecodedFile(clip, sr, frames, announced, tuple(notes))


def _check_readable(name: str) -> tuple[int, int]:
    """The file's size in bytes and, for a RIFF/WAVE file, how many bytes of audio its header
    declares beyond the end of the file (see :func:`_wav_missing_bytes`), after the checks
    libsndfile would only report vaguely. One open serves both."""
    # libsndfile calls a missing, unreadable or empty file a "System error" or an unknown
    # format; name each.
    reject_directory(name)
    try:
        with open(name, "rb") as fh:
            file_bytes = os.fstat(fh.fileno()).st_size
            if file_bytes == 0:
                raise AudioError(f"{name}: empty file (0 bytes)")
            return file_bytes, _wav_missing_bytes(fh, file_bytes)
    except FileNotFoundError as exc:
        raise AudioError(f"{name}: no such file") from exc
    except PermissionError as exc:
        raise AudioError(f"{name}: permission denied (cannot open it for reading)") from exc
    except OSError as exc:
        raise AudioError(f"{name}: cannot open: {exc.strerror or exc}") from exc


def _check_sample_rate(name: str, sr: int) -> None:
    """Refuse a rate no recording has, before anything is allocated from it."""
    if not MIN_FILE_RATE <= sr <= MAX_FILE_RATE:
        raise AudioError(f"{name}: damaged header: a sample rate of {sr} Hz is outside "
                         f"{MIN_FILE_RATE}-{MAX_FILE_RATE} Hz")


def _libsndfile_reason(exc: Exception) -> str:
    """libsndfile's own words for a failure, without soundfile's 'Error opening <path>:'."""
    text = str(exc)
    return text.rsplit("': ", 1)[-1].strip() or text


def _wav_missing_bytes(fh, file_bytes: int) -> int:
    """How many bytes of audio the RIFF/WAVE file open in ``fh`` (at its start) declares beyond
    the end of the file (0 for a complete file, or any other format).

    libsndfile quietly clamps the frame count to what the file holds, so a truncated WAV
    decodes without complaint; the header's own figure is what tells."""
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

    Each block is mixed to mono and, when the file's rate differs, resampled: a file of one
    block in one call, a longer one block by block through one soxr stream (both identical to
    resampling the whole signal at once), so memory holds the 12 kHz result and one block.
    Decoding stops when a read returns no frame, and only the frames each read returned are
    used. Returns (clip, frames read, non-finite samples, index of the first of
    them); after a non-finite sample the rest is only counted.
    """
    sr = f.samplerate
    # A file whose audio comes in one read (every short one) is resampled in one call, which
    # gives the samples of a stream (tested) at a quarter less cost; longer ones stream. `held`
    # keeps that one block until the next read says whether more follow.
    held = stream = None
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
        mono = _mix_to_mono(block)
        if not all_finite(mono):
            count, first = non_finite(mono)
            if not bad:
                first_bad = frames + first
            bad += count
        frames += len(mono)
        if not bad:  # after a non-finite sample the rest is only counted
            if sr == SAMPLE_RATE:
                out, used = _append(out, used, mono)
            elif held is None and stream is None:
                held = mono
            else:
                if stream is None:
                    stream = soxr.ResampleStream(sr, SAMPLE_RATE, 1, dtype="float32",
                                                 quality="HQ")
                    out, used = _append(out, used, stream.resample_chunk(held))
                out, used = _append(out, used, stream.resample_chunk(mono))
        # A short read that completes the announced length is the end: libsndfile returns no
        # frame past it, so the read that would confirm it is saved.
        if len(block) < len(buffer) and frames == f.frames:
            break
    if not bad and stream is not None:
        out, used = _append(out, used, stream.resample_chunk(np.zeros(0, np.float32), last=True))
    elif not bad and held is not None:
        out, used = _append(out, used, soxr.resample(held, sr, SAMPLE_RATE, quality="HQ"))
    # Give back what an over-announced length reserved (the buffer is ours alone: no views).
    out.resize(used, refcheck=False)
    return out, frames, bad, first_bad


def _mix_to_mono(block: np.ndarray) -> np.ndarray:
    """The mean of a (frames, channels) float32 block's channels, float32."""
    if block.shape[1] == 1:
        # What the mean below gives for one channel, bit for bit: adding +0 turns -0 into +0.
        return block[:, 0] + np.float32(0.0)
    # Average in float64 so the channel sum cannot overflow float32 and turn huge-but-finite
    # samples into inf; any NaN/inf in a channel survives the mean, so checking the mono mix
    # catches bad samples in every channel.
    return block.mean(axis=1, dtype=np.float64).astype(np.float32)


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
