"""Damaged and transiently unreadable files: each is named with what happened, none stops a
corpus, and a rerun retries what failed before."""
from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import randcnn_fast as rf
from randcnn_fast.input import audio, decode
SR = 16000
CONFIG = dict(arch="sample_level", size="small", length=6000, seed=0, n_threads=1)


def write_wav(path: Path, seconds: float = 0.5, seed: int = 0) -> Path:
    x = 0.3 * np.random.default_rng(seed).standard_normal(int(seconds * SR))
    sf.write(path, x.astype(np.float32), SR, subtype="PCM_16")
    return path


def patch_wav(path: Path, *, rate: int | None = None, data_bytes: int | None = None) -> Path:
    """Rewrite fields of a canonical 44-byte PCM WAV header in place."""
    header = bytearray(path.read_bytes())
    assert header[36:40] == b"data"
    if rate is not None:
        struct.pack_into("<II", header, 24, rate, rate * 2)  # rate, bytes per second
    if data_bytes is not None:
        struct.pack_into("<I", header, 40, data_bytes)
    path.write_bytes(bytes(header))
    return path


# ---------------------------------------------------------------- what decoding says


def test_truncated_wav_is_used_with_a_warning(tmp_path):
    path = write_wav(tmp_path / "cut.wav")
    path.write_bytes(path.read_bytes()[:8044])  # the header declares 16,000 bytes; 8,000 remain
    decoded = decode.decode_file(path)
    assert decoded.frames == 4000
    assert decoded.warnings == (f"{path}: truncated: the header declares 8000 bytes of audio "
                                "more than the file holds; the 0.250 s present are used",)


def test_a_header_claiming_4_gib_of_data_is_a_warning(tmp_path):
    path = patch_wav(write_wav(tmp_path / "stream.wav"), data_bytes=0xFFFFFFF0)
    decoded = decode.decode_file(path)
    assert decoded.frames == 8000
    assert len(decoded.warnings) == 1 and "truncated" in decoded.warnings[0]


def test_a_complete_wav_with_extra_chunks_is_not_truncated(tmp_path):
    path = write_wav(tmp_path / "tagged.wav")
    path.write_bytes(path.read_bytes() + b"LIST" + struct.pack("<I", 4) + b"INFO")
    assert decode.decode_file(path).warnings == ()


@pytest.mark.parametrize("rate", [1, 999, 800_000])
def test_an_impossible_sample_rate_is_refused_before_decoding(tmp_path, rate):
    path = patch_wav(write_wav(tmp_path / "rate.wav"), rate=rate)
    with pytest.raises(audio.AudioError, match=f"rate.wav: damaged header: a sample rate of "
                                               f"{rate} Hz is outside 1000-768000 Hz"):
        decode.decode_file(path)


def test_an_empty_file_says_0_bytes(tmp_path):
    path = tmp_path / "zero.wav"
    path.write_bytes(b"")
    with pytest.raises(audio.AudioError, match=r"zero.wav: empty file \(0 bytes\)"):
        decode.decode_file(path)


def test_text_is_not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("shopping list\n" * 20)
    with pytest.raises(audio.AudioError, match=r"notes.wav: not audio.*libsndfile: Format not "
                                               r"recognised"):
        decode.decode_file(path)


def test_an_unreadable_file_says_permission_denied(tmp_path, monkeypatch):
    path = write_wav(tmp_path / "locked.wav")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # root reads anything: refuse the open
        def refuse(name, *args, **kwargs):
            raise PermissionError(13, "Permission denied", name)
        monkeypatch.setattr(decode, "open", refuse, raising=False)
    else:
        path.chmod(0)
    with pytest.raises(audio.AudioError, match="locked.wav: permission denied"):
        decode.decode_file(path)


# ---------------------------------------------------------------- one file cannot stop a corpus


@pytest.fixture
def corpus(tmp_path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for i in range(5):
        write_wav(root / f"clip{i}.wav", seconds=0.3 + 0.1 * i, seed=i)
    return root


def expected_vectors(paths) -> np.ndarray:
    embedder = rf.Embedder(**CONFIG)
    return np.stack([embedder.embed(str(p)) for p in paths])


def extract(source, out, **kwargs):
    pytest.importorskip("pyarrow")
    pytest.importorskip("pandas")
    from randcnn_fast.extraction.extract import extract as run

    options = {k: v for k, v in CONFIG.items() if k != "n_threads"}
    return run(source, out, shard_size=4, n_threads=1, progress=False, **options, **kwargs)


def test_a_one_hertz_header_is_a_failure_and_the_shard_is_written(corpus, tmp_path):
    patch_wav(corpus / "clip1.wav", rate=1)
    out = tmp_path / "out"
    summary = extract(corpus, out)
    assert (summary.done, summary.failed) == (4, 1)
    assert "damaged header" in summary.errors[0]["error"]
    X, meta = rf.load_embeddings(out)
    good = [corpus / f"clip{i}.wav" for i in (0, 2, 3, 4)]
    np.testing.assert_array_equal(X, expected_vectors(good))


def test_a_memory_error_is_that_clips_failure(corpus, tmp_path, monkeypatch):
    real = decode.decode_file

    def decode_file(path, **options):
        if str(path).endswith("clip2.wav"):
            raise MemoryError("Unable to allocate 44.7 GiB")
        return real(path, **options)

    monkeypatch.setattr(decode, "decode_file", decode_file)
    summary = extract(corpus, tmp_path / "out")
    assert (summary.done, summary.failed) == (4, 1)
    assert summary.errors[0]["error_type"] == "MemoryError"
    assert summary.errors[0]["error"].startswith(str(corpus / "clip2.wav"))


def test_a_rerun_retries_what_failed_and_keeps_the_rest(corpus, tmp_path):
    locked = corpus / "clip3.wav"
    good_bytes = locked.read_bytes()
    locked.write_bytes(b"")  # unreadable for a moment
    out = tmp_path / "out"
    first = extract(corpus, out)
    assert first.failed == 1 and "empty file (0 bytes)" in first.errors[0]["error"]

    locked.write_bytes(good_bytes)
    kept = extract(corpus, out, retry_failed=False)
    assert (kept.done, kept.retried, kept.failed) == (0, 0, 1)

    second = extract(corpus, out)
    assert (second.done, second.retried, second.skipped, second.failed) == (1, 1, 4, 0)
    X, meta = rf.load_embeddings(out)
    assert meta["clip_id"].tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(X, expected_vectors(sorted(corpus.glob("*.wav"))))
    third = extract(corpus, out)
    assert (third.done, third.retried, third.skipped, third.failed) == (0, 0, 5, 0)


def test_a_retry_killed_between_its_two_writes_loses_nothing(corpus, tmp_path, monkeypatch):
    from randcnn_fast.extraction import worker as worker_module
    victim = corpus / "clip1.wav"
    good_bytes = victim.read_bytes()
    victim.write_bytes(b"")
    out = tmp_path / "out"
    extract(corpus, out)
    victim.write_bytes(good_bytes)

    real = worker_module.write_parquet

    def killed_before_the_errors_part(table, final):
        if final.parent.name == "errors":
            raise KeyboardInterrupt  # the process dies after rewriting the embeddings part
        real(table, final)

    monkeypatch.setattr(worker_module, "write_parquet", killed_before_the_errors_part)
    with pytest.raises(KeyboardInterrupt):
        extract(corpus, out)
    monkeypatch.setattr(worker_module, "write_parquet", real)

    resumed = extract(corpus, out)  # clip 1 is in both parts: embedded, not failed
    assert (resumed.retried, resumed.failed, resumed.skipped) == (0, 0, 5)
    X, meta = rf.load_embeddings(out)
    np.testing.assert_array_equal(X, expected_vectors(sorted(corpus.glob("*.wav"))))


def test_damaged_files_are_recorded_in_the_store(corpus, tmp_path):
    cut = corpus / "clip4.wav"
    cut.write_bytes(cut.read_bytes()[:4044])  # 0.125 s of the 0.7 s the header declares
    out = tmp_path / "out"
    summary = extract(corpus, out)
    assert summary.failed == 0 and len(summary.warnings) == 1
    assert "1 clip(s) embedded with a warning" in str(summary)
    X, meta = rf.load_embeddings(out)
    assert meta["warning"].notna().tolist() == [False, False, False, False, True]
    assert "truncated" in meta["warning"][4]


def test_evaluation_features_survive_a_damaged_header(corpus, tmp_path):
    from randcnn_fast.features.cache import FeatureConfig, dataset_features

    patch_wav(corpus / "clip0.wav", rate=1)
    paths = [str(p) for p in sorted(corpus.glob("*.wav"))]
    for arch in ("sample_level", "mfcc"):
        X, failures, _ = dataset_features(paths, FeatureConfig(arch, "small"),
                                          cache_dir=tmp_path, progress=False)
        assert [f["path"] for f in failures] == [paths[0]] and "damaged header" in failures[0]["error"]
        assert np.isnan(X[0]).all() and np.isfinite(X[1:]).all()


def test_a_one_sample_file_is_too_short_unless_asked_for(corpus, tmp_path):
    blip = corpus / "clip2.wav"
    sf.write(blip, np.array([0.5], np.float32), SR, subtype="PCM_16")
    with pytest.raises(audio.AudioError, match=r"clip2.wav: too short: 1 sample\(s\) at 16000 Hz"):
        rf.embed(blip, **CONFIG)
    assert rf.embed(blip, min_seconds=0, **CONFIG).shape == (161,)
    summary = extract(corpus, tmp_path / "out")
    assert summary.failed == 1 and "too short" in summary.errors[0]["error"]
    accepted = extract(corpus, tmp_path / "accepted", min_seconds=0)
    assert (accepted.done, accepted.failed) == (5, 0)


@pytest.mark.parametrize("damage", ["empty", "cut short", "not a zip"])
def test_a_damaged_feature_cache_entry_is_computed_again(corpus, tmp_path, damage):
    # A disk fault (or a crash the entries' fsyncs did not cover) must cost a recomputation,
    # never the run.
    from randcnn_fast.features.cache import FeatureConfig, dataset_features

    paths = [str(p) for p in sorted(corpus.glob("*.wav"))]
    config = FeatureConfig("mfcc")
    X, failures, _ = dataset_features(paths, config, cache_dir=tmp_path, progress=False)
    entries = sorted(tmp_path.rglob("*.npz"))
    assert len(entries) == len(paths) and not failures
    data = entries[0].read_bytes()
    entries[0].write_bytes({"empty": b"", "cut short": data[:len(data) // 2],
                            "not a zip": b"\x00" * len(data)}[damage])
    again, failures, _ = dataset_features(paths, config, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(again, X)
    assert not failures and entries[0].read_bytes() == data  # written anew
