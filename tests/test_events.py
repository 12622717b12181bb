"""Event detection: frame labels from segments, segments from frame labels, and the
spoken-digit example (benchmarks/event_detection.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from randcnn_fast.evaluation.events import frame_labels, segments_from_frames

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import event_detection as example  # noqa: E402

FSDD = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fsdd"


def test_frame_labels_take_the_segment_holding_the_centre():
    t = np.array([0.05, 0.15, 0.25, 0.35, 0.45])
    labels = frame_labels(t, [(0.15, 0.3, 3), (0.35, 0.45, 7)], background=10)
    np.testing.assert_array_equal(labels, [10, 3, 3, 7, 10])  # onset in, offset out
    assert frame_labels(t, [(0.0, 0.2, "yes")], "no").tolist() == ["yes", "yes", "no", "no", "no"]
    with pytest.raises(ValueError, match="segments overlap: one ends at 0.3 s after the next starts at 0.2 s"):
        frame_labels(t, [(0.1, 0.3, 1), (0.2, 0.4, 2)], 0)


def test_segments_are_runs_of_one_label_half_a_hop_either_side():
    t = 0.05 + 0.1 * np.arange(9)
    labels = np.array([0, 4, 4, 4, 0, 2, 0, 4, 4])
    got = segments_from_frames(labels, t, 0.1, background=0)
    np.testing.assert_allclose([s[:2] for s in got], [[0.1, 0.4], [0.5, 0.6], [0.7, 0.9]])
    assert [s[2] for s in got] == [4, 2, 4]
    assert [s[2] for s in segments_from_frames(labels, t, 0.1, background=0, min_frames=2)] == [4, 4]
    assert segments_from_frames(np.zeros(0), np.zeros(0), 0.1, 0) == []
    # frame labels of the segments give back the labels
    np.testing.assert_array_equal(frame_labels(t, got, 0), labels)
    with pytest.raises(ValueError, match="of one length"):
        segments_from_frames(labels, t[:-1], 0.1, 0)


def test_recording_places_each_clip_at_its_segment():
    clips = [np.full(1200 * (i + 1), 0.5 + 0.1 * i, np.float32) for i in range(4)]
    audio, segments = example.build_recording(clips, [3, 1, 4, 1], np.random.default_rng(5),
                                              floor_db=-200.0)
    assert [s[2] for s in segments] == [3, 1, 4, 1]
    for clip, (onset, offset, _) in zip(clips, segments):
        a, b = round(onset * 12000), round(offset * 12000)
        np.testing.assert_allclose(audio[a:b], clip, atol=1e-6)
    gaps = [segments[0][0]] + [b[0] - a[1] for a, b in zip(segments, segments[1:])]
    assert all(0.3 <= g <= 1.5 for g in gaps)
    again, _ = example.build_recording(clips, [3, 1, 4, 1], np.random.default_rng(5), floor_db=-200.0)
    np.testing.assert_array_equal(again, audio)  # seeded


def test_majority_and_trim():
    labels = np.array([1, 1, 5, 1, 1, 2, 2, 2, 10, 2])
    np.testing.assert_array_equal(example.majority(labels, 3), [1, 1, 1, 1, 1, 2, 2, 2, 2, 2])
    clip = np.r_[np.zeros(100), 0.5, np.ones(10), -1.0, np.full(50, 1e-3)].astype(np.float32)
    assert example.trim(clip).size == 12


def test_scorer_matches_digits_only_to_the_same_digit():
    pytest.importorskip("mir_eval", reason="the example's scorer is mir_eval")
    reference = [(1.0, 1.5, 3), (3.0, 3.4, 7)]
    assert example.score(reference, reference)["onset_offset"]["f_measure"] == 1.0
    swapped = [(1.0, 1.5, 7), (3.0, 3.4, 3)]
    assert example.score(reference, swapped)["onset"]["f_measure"] == 0.0
    late = [(1.25, 1.5, 3), (3.1, 3.4, 7)]  # one onset past the 0.2 s collar
    assert example.score(reference, late)["onset"]["f_measure"] == 0.5


@pytest.mark.skipif(not (FSDD / "labels.csv").is_file(), reason="../shared/data/fsdd is absent")
def test_digits_are_detected_in_a_short_fsdd_recording():
    pytest.importorskip("mir_eval", reason="the example's scorer is mir_eval")
    result = example.run(FSDD, n_train=60, n_test=20, n_hidden=300, n_threads=1)
    summary = result["summary"]
    assert summary["test"]["digits"] == 20 and summary["frame_accuracy"] > 0.6
    assert summary["scores"]["onset"]["f_measure"] > 0.2  # chance is about 0
