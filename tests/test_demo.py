"""The built-in synthetic demo set: layout, labels and folds, determinism, idempotence and
that its class pairs are separated by rhythm and by timbre respectively."""
from __future__ import annotations

import csv
import inspect
import json
import os
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile

from randcnn_fast.datasets import demo, demo_synthesis
SR = 12000
SMALL = dict(clips_per_class=8, seconds=2.0)


def read_labels(root: Path) -> list[dict]:
    with open(root / "labels.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def wav_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.wav"))


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A small demo that the read-only tests share."""
    return demo.make_demo(tmp_path_factory.mktemp("demo") / "small", seed=0, **SMALL)


# ---------------------------------------------------------------------------------------------
# Layout, labels and folds
# ---------------------------------------------------------------------------------------------

def test_classes_and_defaults():
    assert isinstance(demo.CLASSES, tuple)
    assert len(demo.CLASSES) >= 4 and len(set(demo.CLASSES)) == len(demo.CLASSES)
    assert demo.CLASSES[:4] == ("beat_slow", "beat_fast", "tone_reed", "tone_brass")
    defaults = inspect.signature(demo.make_demo).parameters
    assert defaults["seed"].default == 0
    assert defaults["seconds"].default == 6.0
    assert defaults["clips_per_class"].default * len(demo.CLASSES) >= 200


def test_layout_and_labels(small):
    assert isinstance(small, Path)
    rows = read_labels(small)
    assert list(rows[0]) == ["path", "label", "fold"]
    assert len(rows) == 8 * len(demo.CLASSES)
    assert Counter(r["label"] for r in rows) == {c: 8 for c in demo.CLASSES}
    # labels.csv lists exactly the clips on disk, by relative POSIX path
    assert sorted(r["path"] for r in rows) == sorted(p.relative_to(small).as_posix()
                                                    for p in wav_files(small))
    for r in rows:
        folder, name = r["path"].split("/")
        assert folder == r["label"]
        assert re.fullmatch(rf"{r['label']}_\d{{3}}\.wav", name)
        assert not Path(r["path"]).is_absolute()
    assert sorted(p.name for p in small.iterdir()) == sorted(
        [*demo.CLASSES, "labels.csv", "demo.json"])
    meta = json.loads((small / "demo.json").read_text())
    assert meta["seed"] == 0 and meta["clips_per_class"] == 8 and meta["seconds"] == 2.0
    assert meta["sample_rate"] == SR and meta["classes"] == list(demo.CLASSES)


def test_folds_are_stratified(small):
    rows = read_labels(small)
    for cls in demo.CLASSES:
        counts = Counter(int(r["fold"]) for r in rows if r["label"] == cls)
        assert set(counts) == set(range(demo.N_FOLDS))
        assert max(counts.values()) - min(counts.values()) <= 1
    # the round-robin follows a seeded shuffle, not the clip order
    folds = {c: [int(r["fold"]) for r in rows if r["label"] == c] for c in demo.CLASSES}
    assert any(f != [i % demo.N_FOLDS for i in range(8)] for f in folds.values())


def test_audio_format_and_range(small):
    for path in wav_files(small):
        info = soundfile.info(str(path))
        assert (info.samplerate, info.channels, info.frames) == (SR, 1, 2 * SR)
        assert info.format == "WAV" and info.subtype == "PCM_16"
        x, sr = soundfile.read(str(path), dtype="float32")
        assert sr == SR and x.ndim == 1
        assert np.all(np.isfinite(x))
        assert np.max(np.abs(x)) <= 1.0
        assert np.max(np.abs(x)) > 0.03  # audible: event peaks are at -24 dBFS or louder


def test_synthesize_matches_the_files(small):
    for cls in demo.CLASSES:
        path = small / cls / f"{cls}_003.wav"
        x, _ = soundfile.read(str(path), dtype="float32")
        np.testing.assert_array_equal(demo_synthesis.synthesize(cls, 3, seed=0, seconds=2.0), x)


# ---------------------------------------------------------------------------------------------
# Determinism, idempotence, recovery
# ---------------------------------------------------------------------------------------------

def test_same_seed_same_bytes_other_seed_other_audio(small, tmp_path):
    again = demo.make_demo(tmp_path / "again", seed=0, **SMALL)
    assert snapshot(again) == snapshot(small)
    other = demo.make_demo(tmp_path / "other", seed=1, **SMALL)
    before, after = snapshot(small), snapshot(other)
    assert before.keys() == after.keys()
    assert all(before[k] != after[k] for k in before if k.endswith(".wav"))
    assert before["labels.csv"] != after["labels.csv"]  # folds are reshuffled too


def test_second_call_writes_nothing(tmp_path):
    out = demo.make_demo(tmp_path / "d", **SMALL)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    time.sleep(0.02)
    assert demo.make_demo(str(out), **SMALL) == out
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps


def test_partial_directory_is_completed(small, tmp_path):
    out = demo.make_demo(tmp_path / "d", **SMALL)
    # an interrupted run: no demo.json yet, some clips missing, one temporary file left over
    (out / "demo.json").unlink()
    (out / "labels.csv").unlink()
    (out / "beat_fast" / "beat_fast_005.wav").unlink()
    (out / "tone_reed" / "tone_reed_000.wav").unlink()
    leftover = out / "tone_reed" / ".tone_reed_000.wav.tmp-12345"
    leftover.write_bytes(b"RIFF")
    os.utime(leftover, (time.time() - 3600, time.time() - 3600))
    demo.make_demo(out, **SMALL)
    assert snapshot(out) == snapshot(small)


def test_damaged_clip_is_rewritten(small, tmp_path):
    out = demo.make_demo(tmp_path / "d", **SMALL)
    clip = out / "beat_slow" / "beat_slow_002.wav"
    clip.write_bytes(clip.read_bytes()[:1000])  # truncated although demo.json is there
    demo.make_demo(out, **SMALL)
    assert snapshot(out) == snapshot(small)


def test_other_parameters_replace_the_set(tmp_path):
    out = demo.make_demo(tmp_path / "d", **SMALL)
    demo.make_demo(out, seed=0, clips_per_class=5, seconds=1.5)
    rows = read_labels(out)
    assert len(rows) == 5 * len(demo.CLASSES)
    assert sorted(r["path"] for r in rows) == sorted(p.relative_to(out).as_posix()
                                                    for p in wav_files(out))
    assert all(soundfile.info(str(p)).frames == 18000 for p in wav_files(out))
    assert json.loads((out / "demo.json").read_text())["clips_per_class"] == 5


def test_bad_arguments(tmp_path):
    for kwargs in (dict(clips_per_class=4), dict(clips_per_class=2.5), dict(seconds=0.5),
                   dict(seconds=float("nan")), dict(seed=-1), dict(seed=1.5)):
        with pytest.raises(ValueError):
            demo.make_demo(tmp_path / "d", **kwargs)
    assert not (tmp_path / "d").exists()
    with pytest.raises(ValueError, match="unknown demo class"):
        demo_synthesis.synthesize("tone_sax", 0)


def test_default_demo_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("RANDCNN_FAST_CACHE", str(tmp_path))
    assert demo.default_demo_dir() == tmp_path / "demo-v1"
    monkeypatch.delenv("RANDCNN_FAST_CACHE")
    assert demo.default_demo_dir() == Path.home() / ".cache" / "randcnn_fast" / "demo-v1"


# ---------------------------------------------------------------------------------------------
# Rhythm separates the beats, timbre separates the tones
# ---------------------------------------------------------------------------------------------

def power_frames(x: np.ndarray, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    count = 1 + (x.size - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]
    return np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft), axis=1)) ** 2


def tempo_bpm(x: np.ndarray) -> float:
    """Pulse from the autocorrelation of an onset envelope (band-wise log-energy rises):
    the shortest lag in 0.25-1.2 s whose autocorrelation peak is within 80 % of the best."""
    power, fps = power_frames(x), SR / 128
    edges = np.geomspace(4, power.shape[1], 9).astype(int)
    bands = np.stack([power[:, a:b].sum(axis=1) for a, b in zip(edges[:-1], edges[1:])], axis=1)
    onset = np.maximum(np.diff(np.log(bands + 1e-10), axis=0), 0.0).mean(axis=1)
    onset = np.convolve(onset, np.hanning(7)[1:-1], "same")
    onset -= onset.mean()
    ac = np.correlate(onset, onset, "full")[onset.size - 1:]
    lo, hi = int(0.25 * fps), int(1.2 * fps)
    seg = ac[lo:hi]
    peaks = [i for i in range(1, seg.size - 1)
             if seg[i] > 0 and seg[i] >= seg[i - 1] and seg[i] >= seg[i + 1]]
    if not peaks:
        return 60.0 * fps / (lo + int(np.argmax(seg)))
    best = max(seg[i] for i in peaks)
    return 60.0 * fps / (lo + next(i for i in peaks if seg[i] >= 0.8 * best))


def centroid_hz(x: np.ndarray) -> float:
    spectrum = power_frames(x).mean(axis=0)
    freqs = np.fft.rfftfreq(512, 1.0 / SR)
    return float((freqs * spectrum).sum() / spectrum.sum())


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def nearest_centroid_accuracy(values, labels, folds) -> float:
    """Cross-validated over the demo's folds, on the log of a single feature."""
    values, labels, folds = np.log(values), np.asarray(labels), np.asarray(folds)
    classes = sorted(set(labels))
    correct = 0
    for k in set(folds):
        train, test = folds != k, folds == k
        centres = np.array([values[train & (labels == c)].mean() for c in classes])
        guess = np.array(classes)[np.argmin(np.abs(values[test, None] - centres), axis=1)]
        correct += int((guess == labels[test]).sum())
    return correct / labels.size


@pytest.fixture(scope="module")
def features(tmp_path_factory) -> dict:
    root = demo.make_demo(tmp_path_factory.mktemp("demo") / "sep", seed=0, clips_per_class=20)
    table = {}
    for row in read_labels(root):
        x, _ = soundfile.read(str(root / row["path"]), dtype="float32")
        table.setdefault(row["label"], []).append(
            {"tempo": tempo_bpm(x), "centroid": centroid_hz(x), "rms": rms(x),
             "fold": int(row["fold"])})
    return table


def pair_accuracy(features, pair, feature) -> float:
    rows = [(c, r) for c in pair for r in features[c]]
    return nearest_centroid_accuracy([r[feature] for _, r in rows], [c for c, _ in rows],
                                     [r["fold"] for _, r in rows])


def test_rhythm_not_timbre_separates_the_beats(features):
    pair = ("beat_slow", "beat_fast")
    assert pair_accuracy(features, pair, "tempo") >= 0.9
    assert pair_accuracy(features, pair, "centroid") <= 0.75
    assert pair_accuracy(features, pair, "rms") <= 0.75
    slow = np.median([r["tempo"] for r in features["beat_slow"]])
    fast = np.median([r["tempo"] for r in features["beat_fast"]])
    assert 65 <= slow <= 95 and 135 <= fast <= 185


def test_timbre_not_rhythm_separates_the_tones(features):
    pair = ("tone_reed", "tone_brass")
    assert pair_accuracy(features, pair, "centroid") >= 0.9
    assert pair_accuracy(features, pair, "tempo") <= 0.75
    assert pair_accuracy(features, pair, "rms") <= 0.75
    assert (np.median([r["centroid"] for r in features["tone_reed"]])
            < np.median([r["centroid"] for r in features["tone_brass"]]))
