"""A small synthetic, labelled audio set to try the embeddings on without downloading anything.

:func:`make_demo` writes four classes of short 12 kHz clips, built so that two pairs of
classes are told apart by different properties of the sound:

- ``beat_slow`` / ``beat_fast``: percussive hits (a pitch-gliding thump, a band-passed noise
  snap and a high tick, mixed at random) on every beat, at 70-90 BPM or 140-170 BPM. The
  drum sounds, their mix, decays, accents, timing jitter and dropped beats are drawn from
  the *same* distributions in both classes, so only the rhythm (the tempo) separates them.
- ``tone_reed`` / ``tone_brass``: sustained harmonic notes with pitches (110-440 Hz),
  onsets, durations, envelopes and vibrato drawn from the *same* distributions and no
  regular rhythm. They differ only in the spectral envelope: the reed has mostly odd
  harmonics falling off from the fundamental and a low cut-off (clarinet-like); the brass
  has every harmonic with a broad peak at 0.9-1.8 kHz (bright, trumpet-like). Only the
  timbre separates them.

Every clip gets a random level (event peak between -24 and -3 dBFS) and coloured
background noise 20-45 dB below that peak, so loudness alone gives nothing away.
Rhythm-sensitive models (the "temporal" branch) should do well on the beat pair and
timbre-sensitive ones ("timbral", "7x86") on the tone pair.

Each clip is a pure function of ``(seed, class, index, seconds)``: its random numbers come
from ``numpy.random.Generator(PCG64(SeedSequence([seed, class_index, index])))``, so any
single clip can be regenerated on its own.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import soundfile

from .audio import SAMPLE_RATE
from .frontend import HOP, N_FFT, mel_filterbank

__all__ = [
    "CLASSES",
    "N_FOLDS",
    "DEMO_VERSION",
    "default_demo_dir",
    "make_demo",
    "synthesize",
]

#: The classes, in label order.
CLASSES = ("beat_slow", "beat_fast", "tone_reed", "tone_brass")
#: Number of cross-validation folds in ``labels.csv`` (numbered 0 to N_FOLDS - 1).
N_FOLDS = 5
#: Version of the synthesis recipe; bumped whenever the audio it makes changes.
DEMO_VERSION = 1

#: Tempo ranges (BPM) of the beat classes.
TEMPI = {"beat_slow": (70.0, 90.0), "beat_fast": (140.0, 170.0)}
#: Pitch range (MIDI note numbers) of the tone classes: A2 (110 Hz) to A4 (440 Hz).
PITCHES = (45, 69)

#: Range (dB) of a clip's contrast: how far its active frames stand above the background
#: noise in mel-band-averaged log power.
CONTRAST_DB = (6.0, 12.0)
#: Limits (dB) of the noise level below the event peak (RMS), whatever the contrast asks.
SNR_DB = (12.0, 66.0)

_FOLD_STREAM = 0x5F01D  # distinguishes the fold shuffle's random stream from the clips'
_MAX_PARTIAL_HZ = 5600.0  # harmonics stop below this, safely under the 6 kHz Nyquist
_CLIP_NAME = re.compile(r"^(?P<cls>[a-z_]+)_(?P<idx>\d+)\.wav$")
_TMP_NAME = re.compile(r"^\..+\.tmp-\d+$")


# ---------------------------------------------------------------------------------------------
# Synthesis
# ---------------------------------------------------------------------------------------------

def _rng(seed: int, class_index: int, index: int) -> np.random.Generator:
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
    envelope[: min(n, 12)] *= np.linspace(0.0, 1.0, min(n, 12))  # 1 ms attack, no click
    if voice == "thump":
        freq = params["f_end"] + (params["f_start"] - params["f_end"]) * np.exp(-t / params["glide"])
        phase = 2.0 * np.pi * np.cumsum(freq) / SAMPLE_RATE + rng.uniform(0.0, 2.0 * np.pi)
        # a saturated sine (odd overtones) plus the beater's short broadband click
        hit = np.tanh(params["drive"] * np.sin(phase)) / math.tanh(params["drive"]) * envelope
        hit += params["click"] * rng.standard_normal(n) * np.exp(-t / 0.003)
    else:
        hit = _band_noise(rng, n, params["centre"], params["width"]) * envelope
    return hit / (np.max(np.abs(hit)) + 1e-12)


def _beats(rng: np.random.Generator, n: int, tempo_range: tuple[float, float]) -> np.ndarray:
    kit = _drum_kit(rng)
    bpm = rng.uniform(*tempo_range)
    period = 60.0 / bpm
    out = np.zeros(n)
    t = rng.uniform(0.0, period)
    beat = int(rng.integers(4))
    while t < n / SAMPLE_RATE:
        voice, accent = kit["pattern"][beat % 4]
        accent *= _db(rng.uniform(-1.5, 0.0))
        jitter = rng.normal(0.0, 0.006)
        dropped = rng.random() < 0.05
        hit = _drum_hit(rng, voice, kit[voice])
        start = int(round((t + jitter) * SAMPLE_RATE))
        if not dropped and 0 <= start < n:
            stop = min(n, start + hit.size)
            out[start:stop] += accent * hit[: stop - start]
        t += period
        beat += 1
    return out


def _harmonic_levels(rng: np.random.Generator, cls: str, f0: float, count: int,
                     envelope: dict) -> np.ndarray:
    """Linear amplitudes of harmonics 1..count of a note at f0 Hz."""
    h = np.arange(1, count + 1, dtype=np.float64)
    f = h * f0
    if cls == "tone_reed":
        # 1/n fall from the fundamental (a little steeper above the cut-off) with the even
        # harmonics 8-12 dB down: the hollow, dark, closed-pipe (clarinet-like) spectrum.
        level = -6.02 * np.log2(h)
        level -= envelope["rolloff"] * np.log2(np.maximum(f / envelope["cutoff"], 1.0))
        level[1::2] -= envelope["even_cut"]
    else:
        # every harmonic, rising to a broad peak then falling: the bright (brass-like) spectrum.
        octaves = np.log2(f / envelope["peak"])
        level = np.where(octaves < 0.0, envelope["rise"] * octaves, -envelope["fall"] * octaves)
    level += rng.normal(0.0, 1.5, count)  # each note's partials differ a little
    return _db(level)


def _tone_envelope(rng: np.random.Generator, cls: str) -> dict:
    if cls == "tone_reed":
        return {"cutoff": rng.uniform(1000.0, 2000.0), "rolloff": rng.uniform(0.0, 4.0),
                "even_cut": rng.uniform(8.0, 12.0)}
    return {"peak": rng.uniform(900.0, 1800.0), "rise": rng.uniform(3.0, 6.0),
            "fall": rng.uniform(8.0, 14.0)}


def _tones(rng: np.random.Generator, n: int, cls: str) -> np.ndarray:
    envelope = _tone_envelope(rng, cls)  # the only class-dependent draw
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
        levels = _harmonic_levels(rng, cls, f0, count, envelope)
        phases = rng.uniform(0.0, 2.0 * np.pi, count)
        audible = levels >= 1e-3 * np.max(levels)  # partials 60 dB down add nothing
        vib_phase = rng.uniform(0.0, 2.0 * np.pi)

        start = int(round(t * SAMPLE_RATE))
        length = int(round((duration + release) * SAMPLE_RATE))
        if start < n:
            length = min(length, n - start)
            tt = np.arange(length) / SAMPLE_RATE
            freq = f0 * (1.0 + vibrato_depth * np.sin(2.0 * np.pi * vibrato_rate * tt + vib_phase))
            phase = 2.0 * np.pi * np.cumsum(freq) / SAMPLE_RATE
            h = np.arange(1, count + 1, dtype=np.float64)[audible, None]
            note = np.einsum("h,hn->n", levels[audible], np.sin(h * phase[None, :] + phases[audible, None]),
                             optimize=False)
            amp = np.minimum(tt / attack, 1.0) * _db(-sustain_decay * tt)
            amp *= np.clip((duration + release - tt) / release, 0.0, 1.0)
            out[start:start + length] += velocity * amp * note / np.sum(levels[audible])
        t += duration + gap
    return out


def synthesize(cls: str, index: int, *, seed: int = 0, seconds: float = 6.0) -> np.ndarray:
    """Clip ``index`` of class ``cls`` exactly as :func:`make_demo` writes it.

    Returns float32 samples at 12 kHz in [-1, 1], already rounded to 16-bit steps
    (``int16 / 32768``), so they equal what reading the WAV file gives.
    """
    if cls not in CLASSES:
        raise ValueError(f"unknown demo class {cls!r}; choose one of {CLASSES}")
    seed = _check_seed(seed)
    seconds = _check_seconds(seconds)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
        raise ValueError(f"index must be an integer >= 0, got {index!r}")
    return _pcm16(_render(cls, int(index), seed, seconds)).astype(np.float32) / 32768.0


def _render(cls: str, index: int, seed: int, seconds: float) -> np.ndarray:
    rng = _rng(seed, CLASSES.index(cls), index)
    n = int(round(seconds * SAMPLE_RATE))
    peak_db = rng.uniform(-24.0, -3.0)
    contrast_db = rng.uniform(*CONTRAST_DB)
    noise = _coloured_noise(rng, n, rng.uniform(0.0, 1.0))
    events = _beats(rng, n, TEMPI[cls]) if cls.startswith("beat") else _tones(rng, n, cls)
    events *= _db(peak_db) / (np.max(np.abs(events)) + 1e-12)
    x = events + _noise_gain(events, noise, contrast_db) * noise
    peak = np.max(np.abs(x))
    if peak > 0.98:  # rare (loud clip, loud noise): turn the whole clip down, never clip
        x *= 0.98 / peak
    return x


def _mel_power(x: np.ndarray) -> np.ndarray:
    """(frames, 96) mel power of the log-mel front-end (uncentred frames)."""
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)
    spec = np.fft.rfft(frames * window, axis=1)
    power = spec.real ** 2 + spec.imag ** 2
    # einsum rather than a BLAS product: BLAS threads left spinning slow the CNNs that follow
    return np.einsum("tk,mk->tm", power, mel_filterbank(), optimize=False)


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
    e, b = e[active], np.maximum(b[active], 1e-30)
    peak = np.max(np.abs(events))

    def contrast(snr_db: float) -> float:
        g2 = (peak * _db(-snr_db)) ** 2
        return float(np.mean(10.0 * np.log10(e / (g2 * b) + 1.0)))

    lo, hi = SNR_DB  # noise RMS this many dB below the event peak; contrast grows with it
    if contrast(hi) <= contrast_db:
        snr = hi
    elif contrast(lo) >= contrast_db:
        snr = lo
    else:
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if contrast(mid) < contrast_db else (lo, mid)
        snr = 0.5 * (lo + hi)
    return float(peak * _db(-snr))


def _pcm16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767.0), -32767, 32767).astype(np.int16)


# ---------------------------------------------------------------------------------------------
# The data set on disk
# ---------------------------------------------------------------------------------------------

def default_demo_dir() -> Path:
    """Where the demo is cached: ``$RANDCNN_FAST_CACHE/demo-v1`` if that variable is set,
    else ``~/.cache/randcnn_fast/demo-v1``."""
    root = os.environ.get("RANDCNN_FAST_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "randcnn_fast"
    return base / f"demo-v{DEMO_VERSION}"


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def _check_seconds(seconds) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float, np.integer, np.floating)):
        raise ValueError(f"seconds must be a number >= 1, got {seconds!r}")
    seconds = float(seconds)
    if not math.isfinite(seconds) or seconds < 1.0:
        raise ValueError(f"seconds must be a finite number >= 1, got {seconds!r}")
    return seconds


def _clip_name(cls: str, index: int, clips_per_class: int) -> str:
    width = max(3, len(str(clips_per_class - 1)))
    return f"{cls}_{index:0{width}d}.wav"


def _folds(seed: int, class_index: int, clips_per_class: int) -> np.ndarray:
    """Fold of each clip of a class: round-robin over a seeded shuffle (stratified)."""
    order = _rng(seed, _FOLD_STREAM, class_index).permutation(clips_per_class)
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
            "seconds": seconds, "sample_rate": SAMPLE_RATE, "samples": int(round(seconds * SAMPLE_RATE)),
            "classes": list(CLASSES), "n_folds": N_FOLDS, "n_clips": clips_per_class * len(CLASSES)}


def _replace_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


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
        for entry in folder.iterdir():
            match = _CLIP_NAME.match(entry.name)
            ours = (match is not None and match["cls"] == cls) or _TMP_NAME.match(entry.name)
            if ours and entry.is_file() and f"{cls}/{entry.name}" not in keep:
                entry.unlink()


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
    """
    seed = _check_seed(seed)
    seconds = _check_seconds(seconds)
    if (isinstance(clips_per_class, bool) or not isinstance(clips_per_class, (int, np.integer))
            or clips_per_class < N_FOLDS):
        raise ValueError(f"clips_per_class must be an integer >= {N_FOLDS}, got {clips_per_class!r}")
    clips_per_class = int(clips_per_class)
    out_dir = Path(out_dir)
    meta = _meta(seed, clips_per_class, seconds)
    rows = _rows(seed, clips_per_class)
    labels = _labels_text(rows)
    if _is_complete(out_dir, meta, rows, labels):
        return out_dir

    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = out_dir / "demo.json"
    if stamp.exists():  # from now on the folder is incomplete until demo.json is rewritten
        stamp.unlink()
    for cls in CLASSES:
        (out_dir / cls).mkdir(exist_ok=True)
    for cls in CLASSES:
        for index in range(clips_per_class):
            pcm = _pcm16(_render(cls, index, seed, seconds))
            path = out_dir / cls / _clip_name(cls, index, clips_per_class)
            _replace_write(path, lambda tmp, pcm=pcm: soundfile.write(
                str(tmp), pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV"))
    _remove_strays(out_dir, {rel for rel, _, _ in rows})
    _replace_write(out_dir / "labels.csv",
                   lambda tmp: tmp.write_text(labels, encoding="utf-8", newline=""))
    _replace_write(stamp, lambda tmp: tmp.write_text(
        json.dumps(meta, indent=2) + "\n", encoding="utf-8"))
    return out_dir
