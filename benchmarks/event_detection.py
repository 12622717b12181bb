"""Spoken-digit detection in long recordings: frame embeddings, a per-frame ELM, and the
onset/offset F-measure of the detected digits.

    python benchmarks/event_detection.py --root ../shared/data/fsdd [--arch cnn_audio]
        [--size small] [--hop 0.05] [--window 0.15] [--seed 0] [--plot docs/event_detection.png]

Two recordings are built, seeded: one from FSDD's official train split, one from its test
split (other recordings of the same speakers). Each is a run of spoken digits (each recording
trimmed to its word: from the first to the last sample within 30 dB of its peak) separated by gaps
of 0.3-1.5 s, half of them silence and half bursts of white noise as loud as speech, over a
quiet noise floor. The frames of the train recording, labelled with the digit whose segment
holds their centre (or "none"), train an ELM; on the test recording its per-frame labels,
smoothed by a majority over ``--smooth`` frames, become segments (runs of at least ``--min-frames`` frames),
scored against the known positions with mir_eval's note-transcription metrics, digits as
pitches (a digit only matches the same digit): onset F-measure (onset within 0.2 s) and
onset+offset F-measure (offset also within max(0.2 s, 20 % of the digit)), as DCASE's event
metrics. Prints a JSON summary; ``--plot`` draws the first 30 s of the test recording.
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

import randcnn_fast as rf
from randcnn_fast.input.audio import SAMPLE_RATE
from randcnn_fast.input.decode import load_file
from randcnn_fast.evaluation.events import frame_labels, segments_from_frames

NONE = 10  # the background class, after digits 0-9
ONSET_TOLERANCE = 0.2  # seconds, DCASE's event-based collar
OFFSET_RATIO = 0.2


def build_recording(clips, digits, rng, *, gap=(0.3, 1.5), floor_db=-50.0):
    """Clips (12 kHz float32) one after another with seeded gaps, half silent and half white
    noise as loud as the clip before, all over a noise floor ``floor_db`` below the clips'
    RMS. Returns (audio float32, segments [(onset, offset, digit)] in seconds)."""
    rms = float(np.sqrt(np.mean(np.concatenate(clips) ** 2)))
    parts, segments, position = [], [], 0
    for clip, digit in zip(clips, digits):
        n_gap = int(rng.uniform(*gap) * SAMPLE_RATE)
        burst = rng.random() < 0.5
        level = float(np.sqrt(np.mean(clip ** 2))) if burst else 0.0
        parts.append(level * rng.standard_normal(n_gap))
        position += n_gap
        parts.append(clip)
        segments.append((position / SAMPLE_RATE, (position + clip.size) / SAMPLE_RATE, int(digit)))
        position += clip.size
    tail = int(gap[0] * SAMPLE_RATE)
    parts.append(np.zeros(tail))
    audio = np.concatenate(parts)
    audio += rms * 10 ** (floor_db / 20) * rng.standard_normal(audio.size)
    return audio.astype(np.float32), segments


def fsdd_split(root: Path, split: str):
    """(paths, digits) of FSDD's official ``split``."""
    with open(root / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["official_split"] == split]
    return [root / r["path"] for r in rows], [int(r["digit"]) for r in rows]


def recording(root: Path, split: str, n_digits: int, rng):
    paths, digits = fsdd_split(root, split)
    chosen = rng.choice(len(paths), size=min(n_digits, len(paths)), replace=False)
    return build_recording([trim(load_file(paths[i])) for i in chosen], [digits[i] for i in chosen],
                           rng)


def majority(labels: np.ndarray, width: int) -> np.ndarray:
    """Each label replaced by the most common one among the ``width`` frames centred on it
    (the smallest label on a tie; the ends keep theirs): removes short flickers."""
    if width < 2 or labels.size < width:
        return labels.copy()
    windows = np.lib.stride_tricks.sliding_window_view(labels, width)
    counts = np.stack([(windows == c).sum(axis=1) for c in range(NONE + 1)], axis=1)
    out = labels.copy()
    out[width // 2:width // 2 + len(windows)] = counts.argmax(axis=1)
    return out


def trim(clip: np.ndarray, below_db: float = -30.0) -> np.ndarray:
    """The clip from the first to the last sample within ``below_db`` of its peak: FSDD
    recordings carry silence around the word, which is not part of the event."""
    loud = np.flatnonzero(np.abs(clip) >= np.abs(clip).max() * 10 ** (below_db / 20))
    return clip[loud[0]:loud[-1] + 1]


def score(reference, estimated) -> dict:
    """mir_eval's transcription scores with digits as distinct pitches."""
    try:
        from mir_eval.transcription import precision_recall_f1_overlap
    except ImportError as error:
        raise SystemExit("the scorer is mir_eval: pip install mir_eval") from error

    def arrays(segments):
        intervals = np.array([[a, b] for a, b, _ in segments]).reshape(-1, 2)
        pitches = np.array([440.0 * 2 ** (d / 12) for _, _, d in segments])  # a semitone apart
        return intervals, pitches

    ref, est = arrays(reference), arrays(estimated)
    results = {}
    for name, ratio in (("onset", None), ("onset_offset", OFFSET_RATIO)):
        p, r, f, _ = precision_recall_f1_overlap(*ref, *est, onset_tolerance=ONSET_TOLERANCE,
                                                 pitch_tolerance=50.0, offset_ratio=ratio,
                                                 offset_min_tolerance=ONSET_TOLERANCE)
        results[name] = {"precision": round(p, 4), "recall": round(r, 4), "f_measure": round(f, 4)}
    return results


def plot(path: Path, audio, reference, estimated, seconds: float = 30.0) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = int(seconds * SAMPLE_RATE)
    t = np.arange(min(n, audio.size)) / SAMPLE_RATE
    fig, (wave, boxes) = plt.subplots(2, 1, figsize=(12, 4), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    wave.plot(t, audio[:t.size], lw=0.3, color="0.3")
    wave.set_ylabel("audio")
    wave.set_title("Spoken digits in silence and noise: true segments and those detected")
    for row, (segments, colour) in enumerate(((reference, "tab:green"), (estimated, "tab:orange"))):
        for onset, offset, digit in segments:
            if onset < seconds:
                boxes.add_patch(plt.Rectangle((onset, 1 - row - 0.4), offset - onset, 0.8,
                                              color=colour, alpha=0.7))
                boxes.text((onset + offset) / 2, 1 - row, str(digit), ha="center", va="center")
    boxes.set_yticks([1, 0], ["true", "detected"])
    boxes.set_ylim(-0.6, 1.6)
    boxes.set_xlim(0, seconds)
    boxes.set_xlabel("seconds")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(root: Path, *, arch="cnn_audio", size="small", hop=0.05, window=0.15, seed=0,
        n_train=300, n_test=200, n_hidden=1200, smooth=5, min_frames=3, n_threads=0) -> dict:
    """The whole experiment; returns the summary (and the test recording's pieces)."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    train_audio, train_segments = recording(root, "train", n_train, rng)
    test_audio, test_segments = recording(root, "test", n_test, rng)
    embedder = rf.Embedder(arch, size=size, seed=seed, n_threads=n_threads)
    embedded = time.perf_counter()
    X_train, t_train = embedder.embed_frames(train_audio, sr=SAMPLE_RATE, hop=hop, window=window)
    X_test, t_test = embedder.embed_frames(test_audio, sr=SAMPLE_RATE, hop=hop, window=window)
    embed_seconds = time.perf_counter() - embedded
    mean, std = X_train.mean(axis=0), X_train.std(axis=0) + 1e-8
    y_train = frame_labels(t_train, train_segments, NONE)
    y_test = frame_labels(t_test, test_segments, NONE)
    elm = rf.ELMClassifier(n_hidden, alpha=1e-3, random_state=seed, n_threads=n_threads)
    elm.fit((X_train - mean) / std, y_train)
    predicted = majority(elm.predict((X_test - mean) / std), smooth)
    detected = segments_from_frames(predicted, t_test, hop, NONE, min_frames=min_frames)
    summary = {
        "arch": arch, "size": size, "hop": hop, "window": window, "seed": seed,
        "train": {"seconds": round(train_audio.size / SAMPLE_RATE, 1), "digits": len(train_segments)},
        "test": {"seconds": round(test_audio.size / SAMPLE_RATE, 1), "digits": len(test_segments),
                 "detected": len(detected)},
        "frame_accuracy": round(float(np.mean(predicted == y_test)), 4),
        "scores": score(test_segments, detected),
        "embed_seconds": round(embed_seconds, 2),
        "total_seconds": round(time.perf_counter() - started, 2),
    }
    return {"summary": summary, "audio": test_audio, "reference": test_segments,
            "detected": detected}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="the FSDD folder (labels.csv, recordings/)")
    parser.add_argument("--arch", default="cnn_audio", choices=list(rf.ARCHITECTURES))
    parser.add_argument("--size", default="small", choices=rf.SIZES)
    parser.add_argument("--hop", type=float, default=0.05)
    parser.add_argument("--window", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-train", type=int, default=300, help="digits in the train recording")
    parser.add_argument("--n-test", type=int, default=200, help="digits in the test recording")
    parser.add_argument("--hidden", type=int, default=1200, help="ELM hidden units")
    parser.add_argument("--smooth", type=int, default=5, help="majority filter width (frames)")
    parser.add_argument("--min-frames", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--plot", type=Path, help="PNG of the first 30 s of the test recording")
    args = parser.parse_args()
    result = run(Path(args.root), arch=args.arch, size=args.size, hop=args.hop,
                 window=args.window, seed=args.seed, n_train=args.n_train, n_test=args.n_test,
                 n_hidden=args.hidden, smooth=args.smooth, min_frames=args.min_frames, n_threads=args.threads)
    print(json.dumps(result["summary"], indent=1))
    if args.plot:
        plot(args.plot, result["audio"], result["reference"], result["detected"])


if __name__ == "__main__":
    main()
