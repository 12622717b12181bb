"""Audio front-ends of the study: the log-mel spectrogram and the 120-d MFCC baseline.

Both are written from the maths in plain numpy (no scipy, no librosa), following
Pons & Serra, "Randomly weighted CNNs for (music) audio classification" (ICASSP 2019)
and its code, which used librosa 0.4/0.5:

- :func:`logmel`: 12 kHz audio -> (frames, 96) log-mel spectrogram in dB, the input of
  the spectrogram models. STFT with n_fft 512, hop 256 and a periodic Hann window;
  96 Slaney mel bands (area-normalised) from 0 to 6 kHz; power 2; dB with a floor
  80 dB below the clip's maximum.
- :func:`mfcc_features`: any audio -> the 120-d MFCC baseline (mean and std of 20
  MFCCs, of their frame differences and of the differences of those).

The STFT is computed in float64 block by block, so memory stays bounded for long
clips; the mel matrices and the DCT matrix are built once and cached.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import _core
from ..input import audio, clips
from ..input.audio import SAMPLE_RATE

__all__ = [
    "N_FFT",
    "HOP",
    "N_MELS",
    "FMAX",
    "LOGMEL_PRESETS",
    "MFCC_N_FFT",
    "MFCC_HOP",
    "MFCC_N_MELS",
    "N_MFCC",
    "MFCC_DIM",
    "MFCC_MIN_SAMPLES",
    "n_frames",
    "mel_filterbank",
    "logmel",
    "mfcc",
    "mfcc_features",
]

#: STFT size of the log-mel front-end (42.7 ms at 12 kHz; 257 frequency bins).
N_FFT = 512
#: Hop between log-mel frames in samples (21.3 ms at 12 kHz).
HOP = 256
#: Number of mel bands of the log-mel front-end.
N_MELS = 96
#: Upper edge of the mel filterbanks in Hz (the Nyquist frequency at 12 kHz).
FMAX = 6000.0
#: Padding conventions of :func:`logmel`: "elmarc" (reflect, as the paper's librosa
#: 0.4/0.5 did) and "librosa" (zeros, librosa's default since 0.9).
LOGMEL_PRESETS = ("elmarc", "librosa")

#: STFT size of the MFCC baseline (librosa's default).
MFCC_N_FFT = 2048
#: Hop of the MFCC baseline in samples (librosa's default).
MFCC_HOP = 512
#: Mel bands the MFCCs are computed from (librosa's default).
MFCC_N_MELS = 128
#: MFCCs kept per frame.
N_MFCC = 20
#: Length of the :func:`mfcc_features` vector: 6 statistics x 20 coefficients.
MFCC_DIM = 6 * N_MFCC
#: Shortest clip (12 kHz samples) :func:`mfcc_features` accepts: 3 frames, the fewest
#: that leave one second-order difference.
MFCC_MIN_SAMPLES = 2 * MFCC_HOP

# dB conversion of librosa's logamplitude / power_to_db defaults.
_AMIN = 1e-10
_TOP_DB = 80.0

# Slaney's Auditory Toolbox mel scale: linear below 1 kHz, logarithmic above.
_F_SP = 200.0 / 3.0  # Hz per mel in the linear part
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # = 15 mel
_LOG_STEP = math.log(6.4) / 27.0  # ln(Hz ratio) per mel in the log part

# Samples of windowed frames per STFT block (16 MiB in float64): 4096 frames of 512,
# 1024 frames of 2048. Bounds the temporaries whatever the clip length.
_BLOCK_SAMPLES = 1 << 21

_PAD_MODE = {"elmarc": "reflect", "librosa": "constant"}


def n_frames(n_samples: int) -> int:
    """Number of :func:`logmel` frames for a clip of `n_samples` samples.

    Parameters
    ----------
    n_samples : int
        Clip length in samples at 12 kHz; a positive integer.

    Returns
    -------
    int
        ``1 + n_samples // 256``: centred frames, one every hop, for both presets.

    Raises
    ------
    ValueError
        If `n_samples` is not a positive integer.

    Examples
    --------
    >>> n_frames(12000)
    47
    """
    if isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, (int, np.integer)):
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
    if n_samples < 1:
        raise ValueError(f"n_samples must be a positive int, got {n_samples}")
    return 1 + int(n_samples) // HOP


def mel_filterbank() -> np.ndarray:
    """The log-mel front-end's mel filterbank.

    Returns
    -------
    numpy.ndarray
        Shape (96, 257), float64, a new array (changing it does not affect
        :func:`logmel`). Row ``m`` is the Slaney triangle of band ``m`` sampled at
        the FFT bin frequencies ``k * 12000 / 512``, scaled to unit area
        (``2 / (f_upper - f_lower)``), so a power spectrum maps to mel bands by
        ``filterbank @ power``.

    Examples
    --------
    >>> fb = mel_filterbank()
    >>> fb.shape, fb.dtype
    ((96, 257), dtype('float64'))
    """
    return _mel_matrix(N_FFT, N_MELS).copy()


def logmel(y, *, preset: str = "elmarc") -> np.ndarray:
    """Log-mel spectrogram of a 12 kHz clip, as the study's spectrogram models see it.

    Parameters
    ----------
    y : numpy.ndarray
        1-D float samples at 12 kHz (already validated and resampled, e.g. by
        :func:`randcnn_fast.input.clips.load_clips`), shape (n_samples,).
    preset : {"elmarc", "librosa"}
        How the signal is padded before framing. Frames are centred: frame ``t``
        covers samples ``t*256 - 256 .. t*256 + 255``, so the first and last frames
        reach 256 samples past the clip's ends.

        - ``"elmarc"`` (default): reflect padding, as in the paper's code (librosa
          0.4/0.5). Clips of 256 samples or fewer are reflected repeatedly
          (``numpy.pad(mode="reflect")``, which is what that librosa called), so
          every non-empty clip is accepted.
        - ``"librosa"``: zero padding, librosa's default since 0.9.

    Returns
    -------
    numpy.ndarray
        Shape (n_frames, 96) with ``n_frames = 1 + n_samples // 256``, float32, time
        first. ``10 * log10(max(S, 1e-10))`` of the mel power spectrogram ``S``,
        floored at the clip's maximum minus 80 dB. The log and the floor are
        computed over the whole clip given; crop frames afterwards.

    Raises
    ------
    ValueError
        If `preset` is unknown or `y` is not a non-empty 1-D array.

    Notes
    -----
    The STFT runs in float64; the paper's librosa stored it as complex64, a
    difference of the order of 1e-5 dB above the floor on real recordings.
    Current librosa with ``pad_mode="reflect"`` pads the clip's end from a tail
    slice, so when ``n_samples`` is a multiple of 256 the last padded sample of its
    last frame differs from ``numpy.pad``. "elmarc" follows ``numpy.pad``, as the
    paper's librosa did; that frame then differs from current librosa by up to a
    few 1e-3 dB.

    Examples
    --------
    >>> import numpy as np
    >>> S = logmel(np.zeros(12000, np.float32))
    >>> S.shape, S.dtype
    ((47, 96), dtype('float32'))
    >>> logmel(np.zeros(12000, np.float32), preset="librosa").shape
    (47, 96)
    """
    if preset not in _PAD_MODE:
        raise ValueError(
            f"unknown log-mel preset {preset!r}; valid presets are {', '.join(LOGMEL_PRESETS)}"
        )
    db = _log_mel_power(_as_clip(y), N_FFT, HOP, N_MELS, _PAD_MODE[preset])
    return db.astype(np.float32)


def check_logmel(x) -> tuple[list[np.ndarray], list[str], bool]:
    """Validate precomputed log-mel input: (frames, 96) for one clip or (clips, frames, 96).

    Returns the clips as float32 (frames, 96) arrays, their names for messages ("logmel" or
    "clip i") and whether the input was a single clip. Raises TypeError for a non-float
    dtype and ValueError for a wrong shape, no frames, or NaN/inf values (naming the clip).
    """
    arr = np.asarray(x)
    if arr.ndim not in (2, 3) or arr.shape[-1] != N_MELS:
        raise ValueError(f"logmel: expected (frames, {N_MELS}) or (clips, frames, {N_MELS}), "
                         f"got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"logmel: unsupported dtype {arr.dtype}; pass float dB values")
    single = arr.ndim == 2
    clips = [arr] if single else list(arr)
    names = ["logmel"] if single else [f"clip {i}" for i in range(len(clips))]
    if not clips or arr.shape[-2] == 0:
        raise ValueError(f"logmel: no frames (shape {arr.shape})")
    for name, clip in zip(names, clips):
        if not audio.all_finite(clip):
            raise audio.AudioError(f"{name}: contains non-finite log-mel values (NaN or inf)")
    return [np.ascontiguousarray(c, dtype=np.float32) for c in clips], names, single


def mfcc(y) -> np.ndarray:
    """The 20 MFCCs per frame of the study's baseline.

    Parameters
    ----------
    y : numpy.ndarray
        1-D float samples at 12 kHz, shape (n_samples,).

    Returns
    -------
    numpy.ndarray
        Shape (20, n_frames), float64, ``n_frames = 1 + n_samples // 512``. The
        orthonormal DCT-II (over the mel axis) of the dB mel power spectrogram with
        n_fft 2048, hop 512, periodic Hann window, centred reflect-padded frames and
        128 Slaney area-normalised mel bands from 0 to 6 kHz; dB as in
        :func:`logmel` (amin 1e-10, 80 dB floor below the clip's maximum).

    Raises
    ------
    ValueError
        If `y` is not a non-empty 1-D array.

    Examples
    --------
    >>> import numpy as np
    >>> M = mfcc(np.zeros(12000, np.float32))
    >>> M.shape, M.dtype
    ((20, 24), dtype('float64'))
    """
    db = _log_mel_power(_as_clip(y), MFCC_N_FFT, MFCC_HOP, MFCC_N_MELS, "reflect")
    return _dct_matrix(MFCC_N_MELS, N_MFCC) @ db.T


def mfcc_features(y, *, sr=SAMPLE_RATE, length: int | None = None, pad: str = "none") -> np.ndarray:
    """The study's 120-d MFCC baseline vector of one clip.

    The clip is validated, resampled to 12 kHz, optionally brought to `length`
    samples, and turned into 20 MFCCs per frame (:func:`mfcc`). With
    ``d1 = mfcc[:, 1:] - mfcc[:, :-1]`` (first-order frame difference, not
    ``librosa.feature.delta``) and ``d2 = d1[:, 1:] - d1[:, :-1]``, the vector is
    ``[mean(mfcc), std(mfcc), mean(d1), std(d1), mean(d2), std(d2)]``, each over
    frames with the population std (ddof=0).

    Parameters
    ----------
    y : array_like
        1-D float mono samples, shape (n_samples,).
    sr : int or float
        Sample rate of `y` in Hz; resampled to 12 kHz when different.
    length : int, optional
        Target length in samples at 12 kHz. None (default) uses the whole clip.
    pad : {"none", "crop", "zero", "repeat"}
        How the clip is brought to `length` (see
        :func:`randcnn_fast.input.clips.fix_length`): "crop" only shortens longer clips,
        "zero" and "repeat" also pad shorter ones. Must be "none" when `length` is
        None and something else when it is not.

    Returns
    -------
    numpy.ndarray
        Shape (120,), float32.

    Raises
    ------
    TypeError
        If `y` does not have a floating dtype.
    ValueError
        If `sr`, `length` or `pad` is invalid, or `length` and `pad` do not go
        together.
    randcnn_fast.AudioError
        (a ``ValueError``) If `y` is unusable (not 1-D, empty, non-finite), or
        shorter than :data:`MFCC_MIN_SAMPLES` (1024) samples at 12 kHz after
        length fixing: three frames are needed for one second-order difference.

    Notes
    -----
    The original code's MFCC config sets a fixed length of 2048 samples; with
    'crop' that keeps only the first 0.17 s of every clip. PAPER.md notes that
    "Cropping to 2048 samples is unlikely to be intended", and which setting produced
    the paper's MFCC results is not known, so the default here uses the whole
    clip. ``length=2048, pad="crop"`` reproduces the cropping.

    Examples
    --------
    >>> import numpy as np
    >>> v = mfcc_features(np.zeros(16000, np.float32), sr=16000)
    >>> v.shape, v.dtype
    ((120,), dtype('float32'))
    >>> mfcc_features(np.zeros(12000, np.float32), length=2048, pad="crop").shape
    (120,)
    """
    if length is None:
        if pad != "none":
            raise ValueError(f"pad={pad!r} needs a length; pass length=N or leave pad='none'")
    elif pad == "none":
        raise ValueError(
            f"length={length!r} needs a pad mode: one of "
            f"{', '.join(m for m in clips.PAD_MODES if m != 'none')}"
        )
    x = clips.check_array(y, name="audio")
    x = clips.resample(x, sr)
    if length is not None:
        x = clips.fix_length(x, length, pad, name="audio")
    if x.size < MFCC_MIN_SAMPLES:
        raise audio.AudioError(
            f"audio: too short for the MFCC baseline: {x.size} samples at "
            f"{SAMPLE_RATE} Hz give {1 + x.size // MFCC_HOP} frame(s); at least "
            f"{MFCC_MIN_SAMPLES} samples (3 frames) are needed for the second-order "
            "difference"
        )
    c = mfcc(x)
    d1 = np.diff(c, axis=1)
    d2 = np.diff(d1, axis=1)
    stats = [f(m, axis=1) for m in (c, d1, d2) for f in (np.mean, np.std)]
    return np.concatenate(stats).astype(np.float32)


def _as_clip(y) -> np.ndarray:
    """Check the cheap things the padding needs; full validation is the caller's job."""
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"audio must be a non-empty 1-D array, got shape {y.shape}")
    return y


def power_spectrum(frames: np.ndarray) -> np.ndarray:
    """Power spectra of frames under the periodic Hann window, float64.

    Parameters
    ----------
    frames : numpy.ndarray
        Shape (n_frames, n_fft), float32 or float64 (a strided view is fine).

    Returns
    -------
    numpy.ndarray
        Shape (n_frames, n_fft // 2 + 1): ``|rfft(frame * hann)|**2`` of each frame.
    """
    # The product with the float64 window upcasts float32 frames, so the FFT runs in float64
    # without a float64 copy of the whole clip.
    spec = np.fft.rfft(frames * _hann(frames.shape[-1]), axis=-1)
    return spec.real**2 + spec.imag**2


def _log_mel_power(y: np.ndarray, n_fft: int, hop: int, n_mels: int, pad_mode: str) -> np.ndarray:
    """dB mel power spectrogram, shape (1 + len(y) // hop, n_mels), float64."""
    # Centred frames: pad n_fft // 2 on both sides so frame t is centred on sample t * hop.
    padded = _centre_pad(y, n_fft // 2, pad_mode)
    n_frames = 1 + (len(padded) - n_fft) // hop
    frames = as_strided(padded, shape=(n_frames, n_fft),
                        strides=(hop * padded.strides[0], padded.strides[0]), writeable=False)
    mel = _mel_kernel(n_fft, n_mels)
    no_bias = np.zeros(n_mels, np.float32)
    out = np.empty((frames.shape[0], n_mels))
    block = max(1, _BLOCK_SAMPLES // n_fft)
    for start in range(0, frames.shape[0], block):
        power = power_spectrum(frames[start:start + block])
        # The mel projection runs on the native kernels rather than BLAS: a multi-threaded BLAS
        # leaves its threads spinning after the call, taking the cores the CNN that follows
        # needs. float32 here costs about 1e-6 dB.
        projected, _ = _core.conv(power.astype(np.float32)[:, :, None], mel, no_bias,
                                  stride=(1, 1), padding=(0, 0, 0, 0), activation="none",
                                  pool=(1, 1), write_output=True, n_threads=1)
        out[start:start + block] = projected[:, 0, :]
    # 10 log10(max(S, amin)) relative to ref 1.0, floored top_db below the clip's peak.
    np.maximum(out, _AMIN, out=out)
    np.log10(out, out=out)
    out *= 10.0
    np.maximum(out, out.max() - _TOP_DB, out=out)
    return out


def _centre_pad(y: np.ndarray, half: int, pad_mode: str) -> np.ndarray:
    """``numpy.pad(y, half, mode=pad_mode)``, in one concatenation when the clip is longer than
    ``half`` (numpy.pad's general path costs several times more on a short clip)."""
    if len(y) <= half:
        return np.pad(y, half, mode=pad_mode)  # reflected repeatedly, or zeros
    if pad_mode == "reflect":
        return np.concatenate((y[half:0:-1], y, y[-2:-half - 2:-1]))
    zeros = np.zeros(half, y.dtype)
    return np.concatenate((zeros, y, zeros))


@functools.lru_cache(maxsize=None)
def _mel_kernel(n_fft: int, n_mels: int) -> np.ndarray:
    """The mel matrix as convolution weights (n_mels, 1, 1, n_bins), float32."""
    kernel = np.ascontiguousarray(_mel_matrix(n_fft, n_mels)[:, None, None, :], dtype=np.float32)
    kernel.flags.writeable = False
    return kernel


@functools.lru_cache(maxsize=None)
def _hann(n: int) -> np.ndarray:
    """Periodic Hann window of length n (the DFT-even form used for spectral analysis)."""
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)
    w.flags.writeable = False
    return w


def _hz_to_mel(hz):
    """Slaney mel of frequencies in Hz (scalar or array)."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _F_SP
    # Clip inside the log so the discarded branch never sees log(0).
    log = _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOG_STEP
    return np.where(hz < _MIN_LOG_HZ, linear, log)


def _mel_to_hz(mel):
    """Inverse of :func:`_hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * _F_SP
    log = _MIN_LOG_HZ * np.exp(_LOG_STEP * (np.maximum(mel, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(mel < _MIN_LOG_MEL, linear, log)


@functools.lru_cache(maxsize=None)
def _mel_matrix(n_fft: int, n_mels: int) -> np.ndarray:
    """Slaney area-normalised mel filterbank, 0 Hz to FMAX, shape (n_mels, n_fft//2 + 1).

    Read-only: it is shared by every call through the cache.
    """
    bin_hz = np.arange(n_fft // 2 + 1) * (SAMPLE_RATE / n_fft)
    # n_mels + 2 edges equally spaced in mel; band m rises from edge m to m + 1 and
    # falls to m + 2.
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(FMAX), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bin_hz - lower) / (centre - lower)
    falling = (upper - bin_hz) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    # Unit area per band, so wide high bands do not dominate narrow low ones.
    weights *= 2.0 / (upper - lower)
    weights.flags.writeable = False
    return weights


@functools.lru_cache(maxsize=None)
def _dct_matrix(n: int, k: int) -> np.ndarray:
    """First k rows of the orthonormal DCT-II matrix of size n, shape (k, n).

    ``C[j, i] = s_j cos(pi j (2i + 1) / (2n))`` with ``s_0 = sqrt(1/n)`` and
    ``s_j = sqrt(2/n)`` otherwise, so ``C @ x`` is scipy's ``dct(x, type=2, norm="ortho")``
    truncated to k coefficients.
    """
    j = np.arange(k)[:, None]
    i = np.arange(n)[None, :]
    c = np.cos(np.pi * j * (2 * i + 1) / (2 * n)) * math.sqrt(2.0 / n)
    c[0] *= math.sqrt(0.5)
    c.flags.writeable = False
    return c
