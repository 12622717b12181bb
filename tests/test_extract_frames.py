"""Frame embeddings in the extraction store: one row per frame, read back with
load_embeddings(frames=True), resumed after kills like clip embeddings."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("pandas")
sf = pytest.importorskip("soundfile")

import randcnn_fast as rf  # noqa: E402
from randcnn_fast.extraction.extract import extract, load_embeddings  # noqa: E402
from test_extract import kill_script, parquet_files, run_and_kill, temporary_files  # noqa: E402

SR = 12000
N_CLIPS = 12
SHARD = 2
CONFIG = dict(arch="sample_level", size="small", seed=0, hop=0.1, window=0.25)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(1)
    for i in range(N_CLIPS):
        seconds = float(rng.uniform(0.3, 1.2))
        sf.write(root / f"clip{i:02d}.wav",
                 (0.3 * rng.standard_normal(int(seconds * SR))).astype(np.float32), SR,
                 subtype="FLOAT")
    return root


@pytest.fixture(scope="module")
def reference(corpus):
    embedder = rf.Embedder("sample_level", size="small", n_threads=1)
    paths = sorted(str(p) for p in corpus.glob("*.wav"))
    return [embedder.embed_frames(p, hop=CONFIG["hop"], window=CONFIG["window"]) for p in paths]


def check_against(out, reference):
    X, meta = load_embeddings(out, frames=True)
    np.testing.assert_array_equal(X, np.concatenate([f for f, _ in reference]))
    np.testing.assert_array_equal(meta["time"], np.concatenate([t for _, t in reference]))
    counts = [len(t) for _, t in reference]
    np.testing.assert_array_equal(meta["clip_id"], np.repeat(np.arange(len(reference)), counts))
    return meta


def test_frames_run_writes_one_row_per_frame(corpus, tmp_path, reference):
    out = tmp_path / "out"
    summary = extract(corpus, out, shard_size=SHARD, progress=False, n_threads=1, **CONFIG)
    assert (summary.done, summary.failed) == (N_CLIPS, 0)
    meta = check_against(out, reference)
    assert list(meta.columns) == ["clip_id", "path", "seconds", "warning", "time"]
    with pytest.raises(ValueError, match="holds frame embeddings; pass frames=True"):
        load_embeddings(out)
    clip_out = tmp_path / "clips"
    extract(corpus, clip_out, arch="sample_level", size="small", shard_size=SHARD, progress=False)
    with pytest.raises(ValueError, match="holds clip embeddings; pass frames=False"):
        load_embeddings(clip_out, frames=True)
    # another hop is another configuration
    with pytest.raises(ValueError, match="another configuration"):
        extract(corpus, out, shard_size=SHARD, progress=False, **{**CONFIG, "hop": 0.2})


def test_frame_arguments_are_checked_before_writing(corpus, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="need both hop and window"):
        extract(corpus, out, hop=0.1, progress=False)
    with pytest.raises(ValueError, match=r"window=-1 s must be positive"):
        extract(corpus, out, hop=0.1, window=-1, progress=False)
    assert not (out / "config.json").exists()


def test_a_window_longer_than_a_file_is_recorded_as_its_error(corpus, tmp_path):
    summary = extract(corpus, tmp_path / "out", progress=False, **{**CONFIG, "window": 1.1})
    assert 0 < summary.failed < N_CLIPS
    assert all("window=1.1 s is longer than" in e["error"] for e in summary.errors)


KILL_SCRIPT = kill_script({**CONFIG, "n_threads": 1}, SHARD, slowed="embed_frames")


def test_frames_run_resumes_after_kills(corpus, tmp_path, reference):
    out = tmp_path / "out"
    done = lambda: len(list((out / "shards").glob("part-*.parquet")))  # noqa: E731
    kills = 0
    for plan in (lambda k: lambda _: done() >= k + 1, lambda k: lambda o: bool(temporary_files(o)),
                 lambda k: lambda _: done() >= k + 2):
        killed, _ = run_and_kill(corpus, out, plan(done()), KILL_SCRIPT)
        kills += killed
        for path in parquet_files(out):
            pq.read_table(path)  # every final file is complete
    assert kills >= 2, "the runs finished before they were killed: too fast to test"
    assert done() < N_CLIPS // SHARD
    summary = extract(corpus, out, shard_size=SHARD, progress=False, n_threads=1, **CONFIG)
    assert summary.skipped > 0 and summary.done + summary.skipped == N_CLIPS
    assert temporary_files(out) == []
    check_against(out, reference)


def test_command_line_embed_frames(corpus, tmp_path, reference, capsys):
    from randcnn_fast.cli import main

    out = tmp_path / "out"
    args = ["embed", str(corpus), "--out", str(out), "--size", "small", "--threads", "1",
            "--shard-size", str(SHARD)]
    assert main(args + ["--frames", "--hop", "0.1", "--window", "0.25"]) == 0
    check_against(out, reference)
    assert main(args + ["--hop", "0.1"]) == 2
    assert "add --frames" in capsys.readouterr().err
