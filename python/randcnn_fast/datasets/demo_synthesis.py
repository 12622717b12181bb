"""A small synthetic, labelled audio set to try the embeddings on without downloading anything.

:func:`~randcnn_fast.datasets.demo.make_demo` writes four classes of short 12 kHz clips in two pairs, each pair told
apart by one property of the sound only:

- ``beat_slow`` / ``beat_fast`` differ only in **rhythm**. Both are drum hits (a
  pitch-gliding, saturated thump with a beater click; a band of noise, the "snap"; a high
  "tick") in a random one-bar pattern over a random three-voice kit, with random decays,
  accents, timing jitter and dropped hits, all drawn from the same distributions.
  beat_fast is a straight pulse at 140-180 BPM; beat_slow is a shuffle at 70-90 BPM, each
  beat a hit and a pickup hit 64-70 % of the way through it. Both therefore play 140-180
  hits a minute: the time-averaged sound is the same, only the spacing of the hits (the
  pulse) differs.
- ``tone_reed`` / ``tone_brass`` differ only in **timbre**. Both are sequences of sustained
  harmonic notes with pitches (110-440 Hz), onsets, durations, attack/release envelopes and
  vibrato drawn from the same distributions, with no regular rhythm. The reed has a 1/n
  spectrum with weak even harmonics (hollow and dark, clarinet-like; spectral centroid
  about 300-650 Hz); the brass has every harmonic rising to a broad peak at 0.9-1.8 kHz
  (bright, trumpet-like; centroid about 1-2 kHz).

Every clip has a random level (event peak between -24 and -3 dBFS) and coloured background
noise (white to pink). The noise level is set so the clip's active frames stand a random
6-12 dB above the background in mel-band-averaged log power, the envelope that the
"temporal" models see; so neither loudness nor the spread of a timbre over the mel bands
leaks into that envelope. Rhythm-sensitive models ("temporal") should therefore separate
the beat pair and not the tone pair, and timbre-sensitive ones ("timbral", "7x86") the
reverse.

Each clip is a pure function of ``(seed, class, index, seconds)``: its random numbers come
from ``numpy.random.Generator(PCG64(SeedSequence([seed, class_index, index])))``, so any
single clip can be regenerated on its own (:func:`synthesize`).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..frontend.spectrogram import HOP, N_FFT, mel_filterbank, power_spectrum
from ..input.audio import SAMPLE_RATE

__all__ = ["CLASSES", "synthesize"]

#: The classes, in label order.
CLASSES = ("beat_slow", "beat_fast", "tone_reed", "tone_brass")

#: Tempo ranges (BPM) of the beat classes' pulse.
TEMPI = {"beat_slow": (70.0, 90.0), "beat_fast": (140.0, 180.0)}
#: Where in the beat beat_slow's second (pickup) hit falls, as a fraction of the beat.
SHUFFLE = (0.64, 0.70)
#: Pitch range (MIDI note numbers) of the tone classes: A2 (110 Hz) to A4 (440 Hz).
PITCHES = (45, 69)

#: Range (dB) of a clip's contrast: how far its active frames stand above the background
#: noise in mel-band-averaged log power.
CONTRAST_DB = (6.0, 12.0)
#: Bounds (dB) on how far the noise RMS lies below the event peak, whatever the contrast asks.
SNR_DB = (12.0, 66.0)

_MAX_PARTIAL_HZ = 5600.0  # harmonics stop below this, safely under the 6 kHz Nyquist
_TABLE_SIZE = 8192  # samples per period of a note's wavetable (interpolation error < -75 dB)


def random_stream(seed: int, class_index: int, index: int) -> np.random.Generator:
    """The random numbers of one clip (or of another stream keyed the same way)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, class_index, index])))


def _db(x):
    return 10.0 ** (np.asarray(x, dtype=np.float64) / 20.0)


def _coloured_noise(rng: np.random.Generator, n: int, tilt: float) -> np.ndarray:
    """Unit-RMS noise whose power falls as f**-tilt (0 white, 1 pink) above 100 Hz and is
    flat below (no rumble)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    shape = (np.maximum(freqs, 100.0) / 1000.0) ** (-tilt / 2.0)
    shape[0] = 0.0
    noise = np.fft.irfft(spectrum * shape, n)
    return noise / (np.sqrt(np.mean(noise ** 2)) + 1e-12)


def _band_noise(rng: np.random.Generator, n: int, centre: float, octaves: float) -> np.ndarray:
    """Noise with a Gaussian band (in log frequency) around ``centre`` Hz, unit peak."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    with np.errstate(divide="ignore"):
        distance = np.log2(np.maximum(freqs, 1.0) / centre) / octaves
    noise = np.fft.irfft(spectrum * np.exp(-0.5 * distance ** 2), n)
    return noise / (np.max(np.abs(noise)) + 1e-12)


def _drum_kit(rng: np.random.Generator) -> dict:
    """One clip's three drum voices and its one-bar pattern (same distribution in both beat
    classes)."""
    weights = rng.dirichlet([1.0, 1.0, 1.0])
    return {
        "thump": {"f_start": rng.uniform(80.0, 200.0), "f_end": rng.uniform(40.0, 70.0),
                  "glide": rng.uniform(0.015, 0.06), "decay": rng.uniform(0.05, 0.3),
                  "drive": rng.uniform(1.0, 4.0), "click": _db(rng.uniform(-12.0, -4.0))},
        "snap": {"centre": math.exp(rng.uniform(math.log(700.0), math.log(3000.0))),
                 "width": rng.uniform(0.6, 1.6), "decay": rng.uniform(0.03, 0.2)},
        "tick": {"centre": rng.uniform(3000.0, 5000.0), "width": rng.uniform(0.4, 1.0),
                 "decay": rng.uniform(0.01, 0.08)},
        # the voice and accent of each beat of a 4-beat bar, repeated through the clip
        "pattern": [(("thump", "snap", "tick")[rng.choice(3, p=weights)],
                     _db(rng.uniform(-4.0, 0.0))) for _ in range(4)],
    }


def _drum_hit(rng: np.random.Generator, voice: str, params: dict) -> np.ndarray:
    """One hit of a voice: about six decay times long, unit peak."""
    n = max(16, int(6.0 * params["decay"] * SAMPLE_RATE))
    t = np.arange(n) / SAMPLE_RATE
    envelope = np.exp(-t / params["decay"])
    envelope[: min(n, 12)] *= np.linspace(0.0, 1.0, min(n, 12))  # 1 ms fade-in
    if voice == "thump":
        glide = np.exp(-t / params["glide"])
        freq = params["f_end"] + (params["f_start"] - params["f_end"]) * glide
        phase = 2.0 * np.pi * np.cumsum(freq) / SAMPLE_RATE + rng.uniform(0.0, 2.0 * np.pi)
        # a saturated sine (odd overtones) plus the beater's short broadband click
        hit = np.tanh(params["drive"] * np.sin(phase)) / math.tanh(params["drive"]) * envelope
        hit += params["click"] * rng.standard_normal(n) * np.exp(-t / 0.003)
    else:
        hit = _band_noise(rng, n, params["centre"], params["width"]) * envelope
    return hit / (np.max(np.abs(hit)) + 1e-12)


def _beats(rng: np.random.Generator, n: int, cls: str) -> np.ndarray:
    kit = _drum_kit(rng)
    bpm = rng.uniform(*TEMPI[cls])
    period = 60.0 / bpm
    # beat_slow plays a shuffle: each beat a hit and a pickup hit two-thirds of the way on,
    # so both classes play 140-180 hits a minute and differ only in how they are spaced
    offsets = (0.0, rng.uniform(*SHUFFLE) * period) if cls == "beat_slow" else (0.0,)
    out = np.zeros(n)
    t = rng.uniform(0.0, period)
    count = int(rng.integers(4))  # where in the bar pattern the clip starts
    while t < n / SAMPLE_RATE:
        for offset in offsets:
            voice, accent = kit["pattern"][count % 4]
            count += 1
            accent *= _db(rng.uniform(-1.5, 0.0))
            jitter = rng.normal(0.0, 0.006)
            dropped = rng.random() < 0.05
            hit = _drum_hit(rng, voice, kit[voice])
            start = int(round((t + offset + jitter) * SAMPLE_RATE))
            if not dropped and 0 <= start < n:
                stop = min(n, start + hit.size)
                out[start:stop] += accent * hit[: stop - start]
        t += period
    return out


def _harmonic_levels(rng: np.random.Generator, cls: str, f0: float, count: int,
                     spectrum: dict) -> np.ndarray:
    """Linear amplitudes of harmonics 1..count of a note at f0 Hz."""
    h = np.arange(1, count + 1, dtype=np.float64)
    f = h * f0
    if cls == "tone_reed":
        # 1/n fall from the fundamental (a little steeper above the cut-off) with the even
        # harmonics 8-12 dB down: the hollow, dark, closed-pipe (clarinet-like) spectrum.
        level = -6.02 * np.log2(h)
        level -= spectrum["rolloff"] * np.log2(np.maximum(f / spectrum["cutoff"], 1.0))
        level[1::2] -= spectrum["even_cut"]
    else:
        # every harmonic, rising to a broad peak then falling: the bright (brass-like) spectrum.
        octaves = np.log2(f / spectrum["peak"])
        level = np.where(octaves < 0.0, spectrum["rise"] * octaves, -spectrum["fall"] * octaves)
    level += rng.normal(0.0, 1.5, count)  # each note's partials differ a little
    return _db(level)


def _tone_spectrum(rng: np.random.Generator, cls: str) -> dict:
    """One clip's spectral envelope parameters: the only class-dependent draw of the tones."""
    if cls == "tone_reed":
        return {"cutoff": rng.uniform(1000.0, 2000.0), "rolloff": rng.uniform(0.0, 4.0),
                "even_cut": rng.uniform(8.0, 12.0)}
    return {"peak": rng.uniform(900.0, 1800.0), "rise": rng.uniform(3.0, 6.0),
            "fall": rng.uniform(8.0, 14.0)}


def _tones(rng: np.random.Generator, n: int, cls: str) -> np.ndarray:
    spectrum = _tone_spectrum(rng, cls)
    vibrato_rate = rng.uniform(4.0, 6.5)
    vibrato_depth = rng.uniform(0.0, 0.006)  # relative pitch deviation
    out = np.zeros(n)
    t = rng.uniform(0.0, 0.5)
    while t < n / SAMPLE_RATE:
        duration = rng.uniform(0.25, 1.6)
        gap = rng.uniform(0.02, 0.5)
        f0 = 440.0 * 2.0 ** ((rng.integers(PITCHES[0], PITCHES[1] + 1) - 69) / 12.0)
        attack = rng.uniform(0.01, 0.1)
        release = rng.uniform(0.03, 0.25)
        velocity = _db(rng.uniform(-4.0, 0.0))
        sustain_decay = rng.uniform(0.0, 6.0)  # dB per second during the note
        count = max(1, int(_MAX_PARTIAL_HZ / (f0 * (1.0 + vibrato_depth))))
        levels = _harmonic_levels(rng, cls, f0, count, spectrum)
        phases = rng.uniform(0.0, 2.0 * np.pi, count)
        audible = levels >= 1e-3 * np.max(levels)  # partials 60 dB down add nothing
        vib_phase = rng.uniform(0.0, 2.0 * np.pi)

        start = int(round(t * SAMPLE_RATE))
        length = int(round((duration + release) * SAMPLE_RATE))
        if start < n:
            length = min(length, n - start)
            tt = np.arange(length) / SAMPLE_RATE
            freq = f0 * (1.0 + vibrato_depth * np.sin(2.0 * np.pi * vibrato_rate * tt + vib_phase))
            cycles = np.cumsum(freq) / SAMPLE_RATE  # the phase, in periods of the note
            note = _periodic_lookup(
                _wavetable(levels[audible], phases[audible], np.flatnonzero(audible) + 1), cycles)
            amp = np.minimum(tt / attack, 1.0) * _db(-sustain_decay * tt)
            amp *= np.clip((duration + release - tt) / release, 0.0, 1.0)
            out[start:start + length] += velocity * amp * note / np.sum(levels[audible])
        t += duration + gap
    return out


def _wavetable(levels: np.ndarray, phases: np.ndarray, harmonics: np.ndarray) -> np.ndarray:
    """One period of ``sum(levels * sin(harmonics * theta + phases))`` at _TABLE_SIZE points."""
    spectrum = np.zeros(_TABLE_SIZE // 2 + 1, dtype=np.complex128)
    spectrum[harmonics] = 0.5 * _TABLE_SIZE * levels * np.exp(1j * (phases - 0.5 * np.pi))
    return np.fft.irfft(spectrum, _TABLE_SIZE)


def _periodic_lookup(table: np.ndarray, cycles: np.ndarray) -> np.ndarray:
    """The periodic function ``table`` describes, read with linear interpolation at
    ``cycles`` (in periods)."""
    position = np.mod(cycles, 1.0) * table.size
    index = np.minimum(position.astype(np.int64), table.size - 1)
    frac = position - index
    return table[index] * (1.0 - frac) + table[(index + 1) % table.size] * frac


def synthesize(cls: str, index: int, *, seed: int = 0, seconds: float = 6.0) -> np.ndarray:
    """Clip ``index`` of class ``cls`` exactly as :func:`~randcnn_fast.datasets.demo.make_demo`
    writes it.

    Parameters
    ----------
    cls : str
        One of :data:`CLASSES`.
    index : int
        The clip's number within its class (>= 0).
    seed : int
        The demo's seed (>= 0).
    seconds : float
        The clip's length (>= 1).

    Returns
    -------
    numpy.ndarray
        float32 samples at 12 kHz in [-1, 1], already rounded to 16-bit steps
        (``int16 / 32768``), so they equal what reading the WAV file gives.

    Examples
    --------
    >>> x = synthesize("beat_fast", 0, seconds=2.0)
    >>> x.shape, x.dtype, bool(abs(x).max() <= 1.0)
    ((24000,), dtype('float32'), True)
    """
    if cls not in CLASSES:
        raise ValueError(f"unknown demo class {cls!r}; choose one of {CLASSES}")
    seed = check_seed(seed)
    seconds = check_seconds(seconds)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
        raise ValueError(f"index must be an integer >= 0, got {index!r}")
    return pcm16(render(cls, int(index), seed, seconds)).astype(np.float32) / 32768.0


def render(cls: str, index: int, seed: int, seconds: float) -> np.ndarray:
    """Clip ``index`` of class ``cls`` as float64 samples, before rounding to 16 bits."""
    rng = random_stream(seed, CLASSES.index(cls), index)
    n = int(round(seconds * SAMPLE_RATE))
    peak_db = rng.uniform(-24.0, -3.0)
    contrast_db = rng.uniform(*CONTRAST_DB)
    noise = _coloured_noise(rng, n, rng.uniform(0.0, 1.0))
    events = _beats(rng, n, cls) if cls.startswith("beat") else _tones(rng, n, cls)
    events *= _db(peak_db) / (np.max(np.abs(events)) + 1e-12)
    x = events + _noise_gain(events, noise, contrast_db) * noise
    peak = np.max(np.abs(x))
    if peak > 0.98:  # rare (loud clip, loud noise): turn the whole clip down, never clip
        x *= 0.98 / peak
    return x


def _mel_power(x: np.ndarray) -> np.ndarray:
    """(frames, 96) mel power of the log-mel front-end (uncentred frames)."""
    power = power_spectrum(np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP])
    # A sparse product (each band spans a few bins) rather than BLAS, whose threads, left
    # spinning, would slow the CNNs that follow.
    bins, weights, starts = _sparse_mel()
    return np.add.reduceat(power[:, bins] * weights, starts, axis=1)


@functools.lru_cache(maxsize=1)
def _sparse_mel() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mel filterbank's non-zero weights band by band: (bins, weights, first of each band)."""
    bank = mel_filterbank()
    bands, bins = np.nonzero(bank)  # row-major: grouped by band, in band order
    if not np.array_equal(np.unique(bands), np.arange(bank.shape[0])):
        raise RuntimeError("a mel band without FFT bins")  # cannot happen at 12 kHz / 512
    starts = np.searchsorted(bands, np.arange(bank.shape[0]))
    return bins, bank[bands, bins], starts


def _noise_gain(events: np.ndarray, noise: np.ndarray, contrast_db: float) -> float:
    """Gain of the (unit-RMS) noise that puts the clip's active frames ``contrast_db`` above
    the background in mel-band-averaged dB, the level the "temporal" models see.

    Setting the noise this way, rather than at a fixed distance below the peak, keeps the
    spread of a sound over the mel bands (a bright tone lights many, a dark one few) out of
    the mel-averaged envelope: in it, every class has the same distribution of contrasts.
    Active frames are those within 20 dB of the loudest event frame.
    """
    e, b = _mel_power(events), _mel_power(noise)
    energy = e.sum(axis=1)
    active = energy >= 0.01 * energy.max()
    ratio = e[active] / np.maximum(b[active], 1e-30)
    peak = np.max(np.abs(events))

    def contrast(snr_db: float) -> float:  # mean dB of (events + noise) over noise
        return float(np.mean(10.0 * np.log10(ratio * (_db(snr_db) / peak) ** 2 + 1.0)))

    lo, hi = SNR_DB  # noise RMS this many dB below the event peak; contrast grows with it
    if contrast(hi) <= contrast_db:
        snr = hi
    elif contrast(lo) >= contrast_db:
        snr = lo
    else:
        for _ in range(16):  # to within 54 dB / 2**16
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if contrast(mid) < contrast_db else (lo, mid)
        snr = 0.5 * (lo + hi)
    return float(peak * _db(-snr))


def pcm16(x: np.ndarray) -> np.ndarray:
    """Samples in [-1, 1] as the 16-bit integers a WAV file holds (symmetric: never -32768)."""
    return np.clip(np.round(x * 32767.0), -32767, 32767).astype(np.int16)


def check_seed(seed) -> int:
    """``seed`` as an int, or a ValueError unless it is an integer >= 0."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def check_seconds(seconds) -> float:
    """``seconds`` as a float, or a ValueError unless it is a finite number >= 1."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float, np.integer, np.floating)):
        raise ValueError(f"seconds must be a number >= 1, got {seconds!r}")
    seconds = float(seconds)
    if not math.isfinite(seconds) or seconds < 1.0:
        raise ValueError(f"seconds must be a finite number >= 1, got {seconds!r}")
    return seconds
