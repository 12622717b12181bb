"""The embed() API: inputs, determinism and errors."""
from __future__ import annotations

import csv
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import randcnn_fast as rf
from randcnn_fast.input import audio
from cases import noise

SMALL = dict(arch="sample_level", size="small", length=6000)


def test_one_clip_at_paper_size():
    features = rf.embed(noise(350_000), arch="sample_level", sr=12000)
    assert features.shape == (3584,) and features.dtype == np.float32
    assert np.isfinite(features).all() and (features > 0).any()


def test_batch_equals_each_clip_alone():
    batch = np.stack([noise(6000, seed) for seed in range(3)])
    together = rf.embed(batch, sr=12000, **SMALL)
    assert together.shape == (3, 161)
    for row, clip in zip(together, batch):
        np.testing.assert_array_equal(row, rf.embed(clip, sr=12000, **SMALL))


def test_thread_count_does_not_change_results():
    clip = noise(60_000)
    one = rf.embed(clip, sr=12000, arch="sample_level", size="small", length=60_000, n_threads=1)
    two = rf.embed(clip, sr=12000, arch="sample_level", size="small", length=60_000, n_threads=2)
    np.testing.assert_array_equal(one, two)


def test_same_seed_same_embedding_across_processes(tmp_path):
    clip = noise(6000)
    np.save(tmp_path / "clip.npy", clip)
    script = (
        "import numpy as np, randcnn_fast as rf, sys;"
        f"x = np.load(r'{tmp_path / 'clip.npy'}');"
        "sys.stdout.write(rf.embed(x, sr=12000, arch='sample_level', size='small', length=6000, seed=7).tobytes().hex())"
    )
    runs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    here = rf.embed(clip, sr=12000, seed=7, **SMALL).tobytes().hex()
    assert runs == {here}


def test_different_seed_changes_the_embedding():
    clip = noise(6000)
    assert not np.allclose(rf.embed(clip, sr=12000, seed=0, **SMALL),
                           rf.embed(clip, sr=12000, seed=1, **SMALL))


def test_resampling_and_files_agree(tmp_path):
    clip = noise(4000, scale=0.2)  # 0.5 s at 8 kHz
    path = tmp_path / "clip.wav"
    sf.write(path, clip, 8000, subtype="FLOAT")
    from_file = rf.embed(path, **SMALL)
    from_array = rf.embed(clip, sr=8000, **SMALL)
    np.testing.assert_array_equal(from_file, from_array)
    batch = rf.embed([path, str(path)], **SMALL)
    assert batch.shape == (2, 161)
    np.testing.assert_array_equal(batch[1], from_file)


def test_stereo_file_is_mixed_to_mono(tmp_path):
    left, right = noise(6000, 1), noise(6000, 2)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 12000, subtype="FLOAT")
    mono = ((left.astype(np.float64) + right) / 2).astype(np.float32)
    np.testing.assert_allclose(rf.embed(path, **SMALL), rf.embed(mono, sr=12000, **SMALL), rtol=1e-6)


@pytest.mark.parametrize("pad", ["repeat", "zero", "crop"])
def test_pad_modes(pad):
    clip = noise(3000)
    features = rf.embed(clip, sr=12000, arch="sample_level", size="small", length=6000, pad=pad)
    if pad == "repeat":
        want = rf.embed(np.tile(clip, 2), sr=12000, **SMALL)
    elif pad == "zero":
        want = rf.embed(np.concatenate([clip, np.zeros(3000, np.float32)]), sr=12000, **SMALL)
    else:  # crop never pads: the clip runs at its own length
        want = rf.embed(clip, sr=12000, arch="sample_level", size="small", length=3000)
    np.testing.assert_array_equal(features, want)


def test_long_clip_is_cropped_to_length():
    clip = noise(9000)
    np.testing.assert_array_equal(rf.embed(clip, sr=12000, **SMALL), rf.embed(clip[:6000], sr=12000, **SMALL))


def test_real_recordings(fsdd):
    with open(fsdd / "labels.csv") as f:
        rows = list(csv.DictReader(f))[:6]
    paths = [fsdd / row["path"] for row in rows]
    features = rf.embed(paths, arch="sample_level", size="small", length=24_000)
    assert features.shape == (6, 161) and np.isfinite(features).all()
    assert len({row.tobytes() for row in features}) == 6
    np.testing.assert_array_equal(features[0], rf.embed(paths[0], arch="sample_level", size="small", length=24_000))


def test_real_recording_too_short_for_crop(fsdd):
    path = fsdd / "recordings" / "6_yweweler_3.wav"  # 1148 samples at 8 kHz: 1722 at 12 kHz
    with pytest.raises(ValueError, match="6_yweweler_3.wav: 1722 samples.*too short.*length="):
        rf.embed(path, arch="sample_level", size="small", pad="crop")
    assert rf.embed(path, arch="sample_level", size="small", length=3000).shape == (161,)


@pytest.mark.parametrize("bad,error,message", [
    (np.array([0.1, np.nan] * 5000, np.float32), ValueError, "audio: .*non-finite"),
    (np.array([0.1, np.inf] * 5000, np.float32), ValueError, "audio: .*non-finite"),
    (np.zeros(0, np.float32), ValueError, "audio.*empty"),
    (np.zeros((2, 3, 4), np.float32), ValueError, "shape"),
    (np.zeros(6000, np.int16), TypeError, "int16"),
    (np.zeros(6000, np.complex64), TypeError, "complex64"),
])
def test_bad_arrays(bad, error, message):
    with pytest.raises(error, match=message):
        rf.embed(bad, sr=12000, **SMALL)


def test_bad_row_in_a_batch_is_named():
    batch = np.stack([noise(6000), noise(6000)])
    batch[1, 10] = np.nan
    with pytest.raises(ValueError, match="clip 1"):
        rf.embed(batch, sr=12000, **SMALL)


def test_bad_files_are_named(tmp_path):
    missing = tmp_path / "missing.wav"
    with pytest.raises(ValueError, match="missing.wav: no such file"):
        rf.embed(missing, **SMALL)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(os.urandom(2000))
    with pytest.raises(ValueError, match="corrupt.wav: not audio"):
        rf.embed([corrupt], **SMALL)


def test_too_short_with_crop_names_the_clip_and_the_fix():
    with pytest.raises(ValueError, match="audio: 2000 samples.*at least 2187.*length=6000.*pad="):
        rf.embed(noise(2000), sr=12000, arch="sample_level", size="small", length=6000, pad="crop")


@pytest.mark.parametrize("kwargs,message", [
    (dict(arch="resnet"), "unknown arch 'resnet'"),
    (dict(size="huge"), "unknown size 'huge'"),
    (dict(pad="mirror"), "unknown pad 'mirror'"),
    (dict(length=0), "length must be a positive integer"),
    (dict(length=100), "too short for sample_level"),
    (dict(seed=-1), "seed must be a non-negative integer"),
    (dict(n_threads=-2), "n_threads"),
])
def test_bad_arguments(kwargs, message):
    args = dict(SMALL, **kwargs)
    with pytest.raises(ValueError, match=message):
        rf.embed(noise(6000), sr=12000, **args)


def test_sr_is_required_for_arrays():
    with pytest.raises(ValueError, match="sr is required"):
        rf.embed(noise(6000), **SMALL)


def test_isa_info_and_override():
    info = rf.isa_info()
    assert info["compiled"][0] == "scalar" and info["active"] in info["supported"]
    assert info["detected"] == info["supported"][-1]
    env = dict(os.environ, RANDCNN_FAST_ISA="scalar")
    out = subprocess.run([sys.executable, "-c", "import randcnn_fast as r; print(r.isa_info()['active'])"],
                         env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "scalar"
    env["RANDCNN_FAST_ISA"] = "sse9"
    bad = subprocess.run([sys.executable, "-c", "import randcnn_fast"], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "RANDCNN_FAST_ISA='sse9'" in bad.stderr


def test_a_directory_is_named_as_a_directory(tmp_path):
    with pytest.raises(ValueError, match=f"{tmp_path}: is a directory.*list of its files"):
        rf.embed(tmp_path, **SMALL)
    with pytest.raises(ValueError, match="is a directory"):
        rf.embed([tmp_path], **SMALL)


def test_stereo_array_is_not_a_batch_of_two_sample_clips():
    left, right = noise(6000, 1), noise(6000, 2)
    frames_by_channels = np.stack([left, right], axis=1)  # soundfile's (frames, channels)
    with pytest.raises(ValueError, match=r"shape \(6000, 2\).*channel_axis=1.*x\[:, 0\]"):
        rf.embed(frames_by_channels, sr=12000, **SMALL)
    mono = rf.embed((left + right) / 2, sr=12000, **SMALL)
    np.testing.assert_allclose(rf.embed(frames_by_channels, sr=12000, channel_axis=1, **SMALL),
                               mono, rtol=1e-6)
    np.testing.assert_allclose(rf.embed(frames_by_channels.T, sr=12000, channel_axis=0, **SMALL),
                               mono, rtol=1e-6)
    # (n_clips, n_samples) keeps its meaning: two clips, two rows.
    assert rf.embed(frames_by_channels.T, sr=12000, **SMALL).shape == (2, 161)


def test_clip_shorter_than_the_minimum_is_refused_unless_asked_for():
    assert audio.MIN_SECONDS == 0.1
    with pytest.raises(ValueError, match=r"audio: too short: 1000 sample\(s\) at 12000 Hz last 0.08333 "
                                         r"s, less than the minimum of 0.1 s; pass min_seconds=0"):
        rf.embed(noise(1000), sr=12000, **SMALL)
    with pytest.raises(ValueError, match=r"clip 0: too short: 1000 sample\(s\) at 12000 Hz"):
        rf.embed(np.stack([noise(1000), noise(1000, 1)]), sr=12000, **SMALL)
    assert rf.embed(noise(1000), sr=12000, min_seconds=0, **SMALL).shape == (161,)
    assert rf.embed(noise(1200), sr=12000, **SMALL).shape == (161,)
