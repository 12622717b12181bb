"""Decoding is exact: every sample that reaches a network comes from the file, whatever its
header announces, and the streamed decode equals reading the whole file at once."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import soundfile as sf
import soxr

import randcnn_fast as rf
from randcnn_fast.input import audio, decode
from cases import tone_folder
from mp3_fixtures import decoded_frames, write_overcounting_mp3

SMALL = dict(size="small", n_threads=1)


def whole_file_reference(path) -> np.ndarray:
    """soundfile.read of the whole file, the same mono mix, soxr's one-shot resampling."""
    frames, sr = sf.read(path, dtype="float32", always_2d=True)
    mono = frames.mean(axis=1, dtype=np.float64).astype(np.float32)
    return mono if sr == audio.SAMPLE_RATE else soxr.resample(mono, sr, audio.SAMPLE_RATE,
                                                              quality="HQ")


@pytest.fixture(scope="module")
def overcounted(tmp_path_factory):
    """An MP3 (ID3v2-tagged, no Xing frame) whose header announces far more frames than its
    audio holds."""
    return write_overcounting_mp3(tmp_path_factory.mktemp("mp3") / "overcounted.mp3")


# ---------------------------------------------------------------- a header that over-counts


def test_the_fixture_overcounts(overcounted):
    with sf.SoundFile(overcounted) as f:
        announced, sr = f.frames, f.samplerate
    assert announced > 2 * decoded_frames(overcounted) and sr == 22050


def test_load_file_uses_only_the_decoded_audio(overcounted):
    with pytest.warns(audio.AudioWarning, match="decoded 67392 frames .* header announced"):
        got = decode.load_file(overcounted)
    expected = whole_file_reference(overcounted)
    assert got.shape == expected.shape and got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, expected)


def test_decode_file_reports_both_lengths(overcounted):
    decoded = decode.decode_file(overcounted)
    assert decoded.frames == decoded_frames(overcounted) == 67392
    assert decoded.announced_frames > 2 * decoded.frames
    assert decoded.seconds == pytest.approx(67392 / 22050)
    assert len(decoded.warnings) == 1 and decoded.warnings[0].startswith(str(overcounted))


def test_embed_equals_the_embedding_of_the_whole_file_read(overcounted):
    expected_audio = whole_file_reference(overcounted)
    for arch in ("sample_level", "timbral"):
        with pytest.warns(audio.AudioWarning):
            got = rf.embed(overcounted, arch=arch, **SMALL)
        np.testing.assert_array_equal(got, rf.embed(expected_audio, arch=arch, sr=12000, **SMALL))


def test_whole_file_tiled_path_equals_the_whole_file_read(overcounted):
    embedder = rf.Embedder("sample_level", pad="none", **SMALL)
    with pytest.warns(audio.AudioWarning):
        got = embedder.embed(overcounted)
    np.testing.assert_array_equal(got, embedder.embed(whole_file_reference(overcounted), sr=12000))


def test_embed_file_returns_the_warning_instead_of_issuing_it(overcounted):
    embedder = rf.Embedder("sample_level", **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = embedder.embed_file(overcounted)
    np.testing.assert_array_equal(result.vector,
                                  embedder.embed(whole_file_reference(overcounted), sr=12000))
    assert result.seconds == pytest.approx(67392 / 22050)
    assert "header announced" in result.warnings[0]


def test_command_line_embed_records_the_warning(overcounted, tmp_path):
    pytest.importorskip("pyarrow")
    from randcnn_fast.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.mp3").write_bytes(overcounted.read_bytes())
    out = tmp_path / "out"
    assert main(["embed", str(corpus), "--out", str(out), "--arch", "sample_level",
                 "--size", "small", "--threads", "1"]) == 0
    X, meta = rf.load_embeddings(out)
    expected = rf.embed(whole_file_reference(overcounted), arch="sample_level", sr=12000, **SMALL)
    np.testing.assert_array_equal(X[0], expected)
    assert meta["seconds"][0] == pytest.approx(67392 / 22050)
    assert "decoded 67392 frames" in meta["warning"][0]


def test_evaluation_features_record_the_warning_fresh_and_cached(overcounted, tmp_path):
    from randcnn_fast.features.cache import FeatureConfig, dataset_features

    config = FeatureConfig("sample_level", "small")
    for _ in ("computed", "read from the cache"):
        X, failures, noticed = dataset_features([str(overcounted)], config, cache_dir=tmp_path,
                                                progress=False)
        assert failures == [] and len(noticed) == 1
        assert noticed[0]["path"] == str(overcounted) and "67392" in noticed[0]["warning"]
        np.testing.assert_array_equal(X[0], rf.embed(whole_file_reference(overcounted),
                                                     arch="sample_level", sr=12000, **SMALL))


def digest(vector: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(vector, np.float32).tobytes()).hexdigest()


def test_the_same_file_gives_the_same_bits_in_one_process_and_in_fresh_ones(overcounted):
    embedder = rf.Embedder("sample_level", **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", audio.AudioWarning)
        digests = {digest(embedder.embed(overcounted)) for _ in range(20)}
    assert len(digests) == 1
    (in_process,) = digests
    script = ("import hashlib, sys, warnings, numpy as np, randcnn_fast as rf\n"
              "warnings.simplefilter('ignore')\n"
              "v = rf.embed(sys.argv[1], arch='sample_level', size='small', n_threads=1)\n"
              "print(hashlib.sha256(np.ascontiguousarray(v, np.float32).tobytes()).hexdigest())\n")
    for _ in range(2):
        run = subprocess.run([sys.executable, "-c", script, str(overcounted)],
                             capture_output=True, text=True, check=True)
        assert run.stdout.strip() == in_process


# ---------------------------------------------------------------- every format, streamed = whole

FORMATS = [("wav", "WAV", "PCM_16"), ("wav", "WAV", "PCM_24"), ("wav", "WAV", "PCM_32"),
           ("wav", "WAV", "FLOAT"), ("flac", "FLAC", "PCM_16"), ("ogg", "OGG", "VORBIS"),
           ("mp3", "MP3", "MPEG_LAYER_III")]


def write_noise(path, sr, frames, channels, fmt, subtype, seed=0):
    if fmt not in sf.available_formats():
        pytest.skip(f"this libsndfile ({sf.__libsndfile_version__}) cannot write {fmt}")
    data = 0.3 * np.random.default_rng(seed).standard_normal((frames, channels))
    sf.write(path, data.astype(np.float32), sr, format=fmt, subtype=subtype)
    return path


def assert_streamed_equals_whole(path):
    decoded = decode.decode_file(path)
    assert decoded.frames == decoded_frames(path)
    np.testing.assert_array_equal(decoded.samples, whole_file_reference(path))


@pytest.mark.parametrize("ext, fmt, subtype", FORMATS, ids=[f[2].lower() for f in FORMATS])
@pytest.mark.parametrize("sr", [8000, 22050, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("length", ["short", "long"])
def test_streamed_decode_equals_a_whole_file_read(tmp_path, monkeypatch, ext, fmt, subtype, sr,
                                                  channels, length):
    if length == "long":
        # Many blocks, the last one partial: blocks of 4093 frames (a prime) over 2.5 s (MP3
        # is read in one go, as long as it fits MP3_READ_BYTES).
        monkeypatch.setattr(decode, "BLOCK_FRAMES", 4093)
    frames = int(0.25 * sr) if length == "short" else int(2.5 * sr)
    path = write_noise(tmp_path / f"x.{ext}", sr, frames, channels, fmt, subtype, seed=sr)
    assert_streamed_equals_whole(path)


@pytest.mark.parametrize("ext, fmt, subtype", FORMATS, ids=[f[2].lower() for f in FORMATS])
def test_streamed_decode_past_one_full_block(tmp_path, ext, fmt, subtype):
    path = write_noise(tmp_path / f"x.{ext}", 44100, decode.BLOCK_FRAMES + 1001, 2, fmt, subtype)
    assert_streamed_equals_whole(path)


@pytest.mark.parametrize("channels", [1, 2])
def test_mono_mix_is_the_float64_mean_bit_for_bit(tmp_path, channels):
    # One channel skips the mean but must give its bits: -0.0 becomes +0.0, extremes stay.
    data = 0.3 * np.random.default_rng(5).standard_normal((5000, channels)).astype(np.float32)
    data[::3] = -0.0
    data[1], data[2] = 3e38, -3e38
    path = tmp_path / "x.wav"
    sf.write(path, data, 12000, subtype="FLOAT")
    expected = data.mean(axis=1, dtype=np.float64).astype(np.float32)
    assert decode.decode_file(path).samples.tobytes() == expected.tobytes()


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_a_file_of_about_one_block_decodes_whole(tmp_path, monkeypatch, extra):
    # The last read is short, exactly full (one more read finds the end) or one frame over.
    monkeypatch.setattr(decode, "BLOCK_FRAMES", 1000)
    path = write_noise(tmp_path / "x.wav", 8000, 1000 + extra, 1, "WAV", "PCM_16")
    assert_streamed_equals_whole(path)


def test_an_honest_header_gives_no_warning(tmp_path):
    path = write_noise(tmp_path / "x.mp3", 44100, 44100, 2, "MP3", "MPEG_LAYER_III")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decoded = decode.decode_file(path)
        decode.load_file(path)
    assert decoded.warnings == () and decoded.frames == decoded.announced_frames


def test_a_header_announcing_too_few_frames_reserves_too_little_and_grows(tmp_path, monkeypatch):
    # A short reservation must grow without losing or inventing a sample.
    path = write_noise(tmp_path / "x.flac", 22050, 30000, 1, "FLAC", "PCM_16")
    monkeypatch.setattr(decode, "_MAX_RESERVED_SAMPLES", 7)
    monkeypatch.setattr(decode, "BLOCK_FRAMES", 1000)
    np.testing.assert_array_equal(decode.decode_file(path).samples, whole_file_reference(path))


def test_an_mp3_past_one_read_is_decoded_in_several(tmp_path, monkeypatch):
    # MPEG-1 stereo gives the same bits however reads split it; the cap makes three reads.
    path = write_noise(tmp_path / "x.mp3", 44100, 3 * 44100, 2, "MP3", "MPEG_LAYER_III")
    monkeypatch.setattr(decode, "MP3_READ_BYTES", 8 * 44100)
    assert_streamed_equals_whole(path)


def test_evaluate_lists_the_warning_in_its_results(overcounted, tmp_path):
    from randcnn_fast.cli import main

    root = tone_folder(tmp_path / "set")
    (root / "high" / "5.mp3").write_bytes(overcounted.read_bytes())
    out = tmp_path / "out"
    assert main(["evaluate", "--dataset", str(root), "--arch", "7x96", "--classifier", "svm",
                 "--no-mfcc", "--out", str(out), "--cache", str(tmp_path / "cache"),
                 "--length", "30"]) == 0
    saved = json.loads((out / "results.json").read_text())
    assert saved["dataset"]["used"] == 11 and saved["failures"] == []
    assert [w["path"] for w in saved["warnings"]] == [str(root / "high" / "5.mp3")]
    assert "1 clip(s) were used with a decoding warning" in (out / "results.md").read_text()
