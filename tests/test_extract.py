"""Resumable corpus extraction (randcnn_fast.extraction.extract): sharded Parquet output, crash safety,
bad files, configuration checks and the Dask path."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("pandas")
sf = pytest.importorskip("soundfile")

import randcnn_fast as rf  # noqa: E402
from randcnn_fast import Embedder  # noqa: E402
from randcnn_fast.extraction.extract import (  # noqa: E402
    ExtractSummary, extract, load_embeddings,
)

SR = 12000
N_CLIPS = 24
SHARD = 4
CONFIG = dict(arch="sample_level", size="small", length=6000, seed=0)


def write_noise(path: Path, seconds: float, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sf.write(path, (0.3 * rng.standard_normal(int(seconds * SR))).astype(np.float32), SR,
             subtype="FLOAT")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """24 noise clips of 0.2-1 s in nested folders, plus files that are not audio."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(1)
    for i in range(N_CLIPS):
        sub = ("a", "b/c", "b")[i % 3]
        write_noise(root / sub / f"clip{i:02d}.wav", float(rng.uniform(0.2, 1.0)), seed=i)
    (root / "notes.txt").write_text("not audio")
    write_noise(root / ".hidden" / "skip.wav", 0.3, seed=99)
    return root


@pytest.fixture(scope="module")
def corpus_paths(corpus) -> list[str]:
    files = [p for p in corpus.rglob("*.wav") if ".hidden" not in p.parts]
    return [str(p) for p in sorted(files, key=lambda p: p.relative_to(corpus).as_posix())]


@pytest.fixture(scope="module")
def reference(corpus_paths) -> np.ndarray:
    embedder = Embedder(CONFIG["arch"], size=CONFIG["size"], seed=CONFIG["seed"],
                        length=CONFIG["length"])
    return np.stack([embedder.embed(p) for p in corpus_paths])


@pytest.fixture(scope="module")
def full_run(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "out"
    summary = extract(corpus, out, shard_size=SHARD, progress=False, **CONFIG)
    return out, summary


def parquet_files(out: Path) -> list[Path]:
    return sorted(out.rglob("*.parquet"))


def temporary_files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if ".tmp-" in p.name]


def shard_ids(out: Path) -> list[list[int]]:
    return [pq.read_table(p).column("clip_id").to_pylist()
            for p in sorted((out / "shards").glob("part-*.parquet"))]


def test_full_run(full_run, corpus, corpus_paths, reference):
    out, summary = full_run
    assert isinstance(summary, ExtractSummary)
    assert (summary.n_clips, summary.done, summary.skipped) == (N_CLIPS, N_CLIPS, 0)
    assert summary.failed == 0 and summary.errors == []
    assert summary.audio_seconds > 0 and summary.clips_per_second > 0
    assert summary.audio_seconds_per_second > 0

    config = json.loads((out / "config.json").read_text())
    assert config["config"]["arch"] == "sample_level" and config["config"]["shard_size"] == SHARD
    assert len(config["config_hash"]) == 64 and config["config_hash"] == summary.config_hash
    manifest = pq.read_table(out / "manifest.parquet").to_pydict()
    assert manifest == {"clip_id": list(range(N_CLIPS)), "path": corpus_paths}

    # shard i holds clip_ids [4i, 4i+4); each errors part exists and is empty
    ids = shard_ids(out)
    assert ids == [list(range(i, i + SHARD)) for i in range(0, N_CLIPS, SHARD)]
    assert [p.name for p in sorted((out / "errors").iterdir())] == \
        [f"part-{i:05d}.parquet" for i in range(N_CLIPS // SHARD)]
    assert all(pq.read_table(p).num_rows == 0 for p in (out / "errors").iterdir())
    schema = pq.read_schema(out / "shards" / "part-00000.parquet")
    n_features = reference.shape[1]
    assert schema.field("embedding").type == pa.list_(pa.float32(), n_features)
    assert temporary_files(out) == []

    X, meta = load_embeddings(out)
    assert X.dtype == np.float32 and X.shape == (N_CLIPS, n_features)
    np.testing.assert_array_equal(X, reference)  # the same bits as Embedder.embed(path)
    assert list(meta.columns) == ["clip_id", "path", "seconds", "warning"]
    assert meta["warning"].isna().all()
    assert meta["clip_id"].tolist() == list(range(N_CLIPS))
    assert meta["path"].tolist() == corpus_paths
    np.testing.assert_allclose(meta["seconds"], [sf.info(p).frames / SR for p in corpus_paths])

    # a second run has nothing to do
    again = extract(corpus, out, shard_size=SHARD, progress=False, **CONFIG)
    assert (again.done, again.skipped, again.failed) == (0, N_CLIPS, 0)


def kill_script(config: dict, shard_size: int, slowed: str = "embed") -> str:
    """A script that runs an extraction slowed down (Embedder.<slowed> and renames), so that
    kills land mid-shard and between writing a temporary file and renaming it into place."""
    return textwrap.dedent("""
        import os, sys, time
        import randcnn_fast.features.embedder as embedder_module
        import randcnn_fast.extraction.extract as ex

        embed = getattr(embedder_module.Embedder, %r)
        def slow_embed(self, *args, **kwargs):
            time.sleep(0.01)
            return embed(self, *args, **kwargs)
        setattr(embedder_module.Embedder, %r, slow_embed)
        replace = os.replace
        def slow_replace(src, dst):
            time.sleep(0.1)
            replace(src, dst)
        os.replace = slow_replace

        ex.extract(sys.argv[1], sys.argv[2], shard_size=%d, progress=False, **%r)
    """) % (slowed, slowed, shard_size, config)


KILL_SCRIPT = kill_script(CONFIG, SHARD)


def run_and_kill(corpus: Path, out: Path, when, script: str = KILL_SCRIPT) -> tuple[bool, list[Path]]:
    """Start an extraction in a subprocess and SIGKILL it once when(out) is true (or after
    60 s). Returns (killed before it finished, temporary files present right after)."""
    proc = subprocess.Popen([sys.executable, "-c", script, str(corpus), str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while proc.poll() is None and not when(out) and time.monotonic() < deadline:
        time.sleep(0.002)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert killed or proc.returncode == 0, err
    return killed, temporary_files(out)


def test_kill_and_resume(corpus, tmp_path, reference):
    out = tmp_path / "out"
    n_parts = lambda sub: len(list((out / sub).glob("part-*.parquet")))  # noqa: E731
    n_done = lambda: n_parts("shards")  # noqa: E731
    started = time.monotonic()
    after = lambda seconds: lambda _: time.monotonic() - started > seconds  # noqa: E731
    plans = [  # kill when...
        lambda: after(0.3),  # usually still importing
        lambda: (lambda k: lambda _: n_done() >= k + 1)(n_done()),  # one more shard is done
        lambda: lambda o: bool(temporary_files(o)),  # a part is written, not yet renamed
        lambda: lambda _: n_parts("errors") > n_done(),  # errors part there, embeddings not
        lambda: (lambda k: lambda _: n_done() >= k + 2)(n_done()),  # two more shards
    ]
    kills, leftovers, errors_ahead = 0, 0, 0
    for make in plans:
        started = time.monotonic()
        killed, tmp = run_and_kill(corpus, out, make())
        kills += killed
        leftovers += bool(tmp)
        errors_ahead += n_parts("errors") > n_done()
        # whatever the kill point, every final file is complete and readable
        for path in parquet_files(out):
            pq.read_table(path)
        for i, ids in enumerate(shard_ids(out)):
            assert ids == list(range(SHARD * i, SHARD * i + SHARD))
    assert kills >= 4, "the subprocess finished before most kills: the run is too fast"
    assert leftovers >= 1, "no kill landed between writing a temporary file and its rename"
    assert errors_ahead >= 1, "no kill landed between a shard's errors part and its embeddings"
    done_before = n_done()
    assert done_before < N_CLIPS // SHARD

    summary = extract(corpus, out, shard_size=SHARD, progress=False, **CONFIG)
    assert summary.skipped == SHARD * done_before
    assert summary.done == N_CLIPS - SHARD * done_before and summary.failed == 0
    assert temporary_files(out) == []
    for path in parquet_files(out):
        pq.read_table(path)
    ids = [c for shard in shard_ids(out) for c in shard]
    assert ids == list(range(N_CLIPS))  # every clip exactly once
    X, meta = load_embeddings(out)
    np.testing.assert_array_equal(X, reference)  # bit-identical to an uninterrupted run


def test_bad_files_are_recorded(corpus_paths, tmp_path, reference):
    data = tmp_path / "data"
    data.mkdir()
    (data / "corrupt.wav").write_bytes(np.random.default_rng(0).bytes(3000))
    sf.write(data / "empty.wav", np.zeros(0, np.float32), SR)
    nan = np.random.default_rng(1).standard_normal(4000).astype(np.float32)
    nan[100] = np.nan
    sf.write(data / "nan.wav", nan, SR, subtype="FLOAT")
    (data / "readme.txt").write_text("hello")
    bad = {"corrupt.wav": "not audio", "empty.wav": "empty", "nan.wav": "non-finite",
           "readme.txt": "not audio", "missing.wav": "no such file"}
    good = corpus_paths[:6]
    rows = [(p, f"label{i % 2}", str(i)) for i, p in enumerate(good[:3])]  # absolute paths
    rows += [(name, "bad", "x") for name in bad]  # relative to the CSV
    rows += [(p, f"label{i % 2}", str(i)) for i, p in enumerate(good[3:], start=3)]
    manifest = data / "list.csv"
    with open(manifest, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["label", "path", "speaker"])
        writer.writerows([(label, path, speaker) for path, label, speaker in rows])

    out = tmp_path / "out"
    summary = extract(manifest, out, shard_size=SHARD, progress=False, **CONFIG)
    assert (summary.done, summary.failed, summary.skipped) == (6, len(bad), 0)
    errors = pa.concat_tables([pq.read_table(p) for p in sorted((out / "errors").iterdir())])
    assert errors.column("clip_id").to_pylist() == [3, 4, 5, 6, 7]
    for row in errors.to_pylist():
        name = Path(row["path"]).name
        assert row["path"] == str(data / name)
        assert bad[name] in row["error"] and name in row["error"], row
    assert [e["clip_id"] for e in summary.errors] == [3, 4, 5, 6, 7]

    X, meta = load_embeddings(out)
    assert meta["clip_id"].tolist() == [0, 1, 2, 8, 9, 10]
    assert list(meta.columns) == ["clip_id", "path", "seconds", "warning", "label", "speaker"]
    assert meta["path"].tolist() == good
    assert meta["label"].tolist() == ["label0", "label1", "label0", "label1", "label0", "label1"]
    assert meta["speaker"].tolist() == ["0", "1", "2", "3", "4", "5"]
    np.testing.assert_array_equal(X, reference[:6])
    full = pq.read_table(out / "manifest.parquet")
    assert full.column_names == ["clip_id", "path", "label", "speaker"]

    # failures stay recorded: a rerun skips their shards and still reports them
    again = extract(manifest, out, shard_size=SHARD, progress=False, **CONFIG)
    assert (again.done, again.skipped, again.failed) == (0, 6, len(bad))

    # same files, edited labels: the embeddings stand, the metadata follows the new manifest
    text = manifest.read_text().replace("label0", "relabelled")
    manifest.write_text(text)
    with pytest.warns(UserWarning, match="other manifest columns"):
        again = extract(manifest, out, shard_size=SHARD, progress=False, **CONFIG)
    assert (again.done, again.skipped) == (0, 6)
    assert load_embeddings(out)[1]["label"].tolist()[:2] == ["relabelled", "label1"]


def test_other_configuration_or_files_refused(corpus, corpus_paths, tmp_path, reference):
    out = tmp_path / "out"
    extract(corpus, out, shard_size=SHARD, progress=False, **CONFIG)
    with pytest.raises(ValueError, match="another configuration") as info:
        extract(corpus, out, shard_size=SHARD, progress=False, **{**CONFIG, "seed": 3,
                                                                   "length": 7000})
    message = str(info.value)
    assert "seed: 0 there, 3 now" in message and "length: 6000 there, 7000 now" in message
    assert "overwrite=True" in message and "arch" not in message
    with pytest.raises(ValueError, match="shard_size: 4 there, 5 now"):
        extract(corpus, out, shard_size=5, progress=False, **CONFIG)

    other = tmp_path / "other"
    write_noise(other / "x.wav", 0.5, seed=7)
    with pytest.raises(ValueError, match="other files"):
        extract(other, out, shard_size=SHARD, progress=False, **CONFIG)

    # overwrite replaces the run: new configuration, no stale shards
    summary = extract(corpus, out, shard_size=SHARD, overwrite=True, progress=False,
                      **{**CONFIG, "seed": 3})
    assert (summary.done, summary.skipped) == (N_CLIPS, 0)
    assert json.loads((out / "config.json").read_text())["config"]["seed"] == 3
    X, _ = load_embeddings(out)
    expected = Embedder("sample_level", size="small", seed=3, length=6000).embed(corpus_paths[:2])
    np.testing.assert_array_equal(X[:2], expected)
    assert not np.array_equal(X, reference)

    summary = extract(other, out, shard_size=SHARD, overwrite=True, progress=False, **CONFIG)
    assert summary.done == 1
    assert sorted(p.name for p in (out / "shards").iterdir()) == ["part-00000.parquet"]
    X, meta = load_embeddings(out)
    assert X.shape[0] == 1 and meta["path"].tolist() == [str(other / "x.wav")]


def test_arguments_checked_before_writing(corpus, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="shard_size"):
        extract(corpus, out, shard_size=0, progress=False, **CONFIG)
    with pytest.raises(ValueError, match="not both"):
        extract(corpus, out, workers=2, scheduler="tcp://127.0.0.1:1", progress=False, **CONFIG)
    with pytest.raises(FileNotFoundError):
        extract(tmp_path / "nowhere", out, progress=False, **CONFIG)
    assert not (out / "config.json").exists()
    with pytest.raises(FileNotFoundError, match="no extraction"):
        load_embeddings(tmp_path)


def test_missing_pyarrow_message(monkeypatch, corpus, tmp_path):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=r"randcnn_fast\[extract\]"):
        extract(corpus, tmp_path / "out", progress=False, **CONFIG)


def test_embed_shard_reuses_one_embedder(full_run, corpus_paths, reference, tmp_path):
    from randcnn_fast.extraction import worker as module
    config = json.loads((full_run[0] / "config.json").read_text())["config"]
    first = module.embedder_for(config, 1)
    result = module.embed_shard(1, [(5, corpus_paths[5]), (4, corpus_paths[4])], config,
                                tmp_path, n_threads=1)
    assert module.embedder_for(config, 1) is first
    assert (result["shard"], result["done"], result["failed"]) == (1, 2, 0)
    table = pq.read_table(tmp_path / "shards" / "part-00001.parquet")
    assert table.column("clip_id").to_pylist() == [4, 5]
    np.testing.assert_array_equal(
        np.stack(table.column("embedding").to_pylist()).astype(np.float32), reference[4:6])
    with pytest.raises(ValueError, match=r"shard 0 holds clip_ids \[0, 4\)"):
        module.embed_shard(0, [(4, corpus_paths[4])], config, tmp_path)


def test_dask_local_cluster_matches_local(full_run, corpus, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    summary = extract(corpus, out, shard_size=SHARD, workers=2, progress=False, **CONFIG)
    assert (summary.done, summary.failed) == (N_CLIPS, 0)
    X, meta = load_embeddings(out)
    X_local, meta_local = load_embeddings(full_run[0])
    np.testing.assert_array_equal(X, X_local)
    assert meta.equals(meta_local)
    assert temporary_files(out) == []


def test_command_line_embed_resumes_and_reports_failures(tmp_path, capsys):
    from randcnn_fast.cli import main

    source = tmp_path / "clips"
    source.mkdir()
    rng = np.random.default_rng(0)
    for i in range(5):
        sf.write(source / f"{i}.wav", (rng.standard_normal(3000) * 0.2).astype(np.float32), 12000)
    args = ["embed", str(source), "--out", str(tmp_path / "out"), "--size", "small",
            "--length", "6000", "--shard-size", "2"]
    assert main(args) == 0
    X, meta = rf.load_embeddings(tmp_path / "out")
    assert X.shape == (5, 161) and len(meta) == 5
    (source / "bad.wav").write_bytes(b"junk")
    assert main(args + ["--overwrite"]) == 1  # a failed clip makes the command exit non-zero
    captured = capsys.readouterr()
    assert "bad.wav" in captured.out + captured.err


def test_too_short_file_is_recorded_with_its_path(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    sf.write(data / "short.wav", np.random.default_rng(2).standard_normal(50).astype(np.float32), SR)
    summary = extract(data, tmp_path / "out", progress=False, **{**CONFIG, "pad": "none"})
    assert summary.failed == 1
    error = summary.errors[0]["error"]
    assert error.startswith(str(data / "short.wav") + ": ") and "too short" in error, error


def test_an_architecture_file_with_a_width_embeds_on_workers(corpus, corpus_paths, full_run, tmp_path):
    """A file's network travels in the configuration, so every worker rebuilds it; a built-in
    keeps the configuration it always had (so earlier runs still resume)."""
    from randcnn_fast.extraction import worker as module
    from randcnn_fast.network.architectures import build
    from randcnn_fast.cli import main

    assert "network" not in json.loads((full_run[0] / "config.json").read_text())["config"]
    path = tmp_path / "sample_level.toml"
    build("sample_level", "small").save(path)
    out = tmp_path / "out"
    assert main(["embed", str(corpus), "--out", str(out), "--arch", str(path), "--features", "70",
                 "--length", "6000", "--shard-size", "8"]) == 0
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["network"]["layer"][0]["channels"] == 10 and config["n_features"] == 70
    module._EMBEDDERS.clear()  # as on a fresh worker: rebuilt from the configuration alone
    result = module.embed_shard(0, [(i, corpus_paths[i]) for i in range(8)], config,
                                tmp_path / "again", n_threads=1)
    assert result["done"] == 8
    X, _ = rf.load_embeddings(out)
    want = Embedder(path, features=70, length=6000).embed(corpus_paths[:8])
    np.testing.assert_array_equal(X[:8], want)


def test_finished_run_leaves_no_lock_file(full_run):
    out, _ = full_run
    assert not (out / ".extract.lock").exists()
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "errors", "manifest.parquet",
                                                     "shards"]


RECHECK = """
import sys
from randcnn_fast.extraction.extract import extract, load_embeddings
source, out = sys.argv[1], sys.argv[2]
X, meta = load_embeddings(out)
summary = extract(source, out, shard_size={shard}, progress=False, **{config!r})
print(X.shape[0], summary.skipped, summary.done)
"""


def _without_write_permission() -> list[str]:
    """A command prefix under which this process's files and folders are only what their
    modes say: root drops the capabilities that override file modes, others need nothing."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a folder read-only for root")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


def _make_read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)


def test_finished_run_is_read_and_rechecked_from_a_read_only_folder(corpus, tmp_path):
    prefix = _without_write_permission()
    out = tmp_path / "out"
    extract(corpus, out, shard_size=SHARD, progress=False, **CONFIG)
    _make_read_only(out)
    try:
        done = subprocess.run([*prefix, sys.executable, "-c",
                               RECHECK.format(shard=SHARD, config=CONFIG), str(corpus), str(out)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [str(N_CLIPS), str(N_CLIPS), "0"]
        # Unfinished work there is refused with the reason, not a raw permission error.
        other = tmp_path / "unfinished"
        shutil.copytree(out, other)
        for part in (other / "shards").iterdir():
            part.chmod(0o644)
        (other / "shards").chmod(0o755)
        (other / "shards" / "part-00001.parquet").unlink()
        _make_read_only(other)
        done = subprocess.run([*prefix, sys.executable, "-c",
                               RECHECK.format(shard=SHARD, config=CONFIG), str(corpus), str(other)],
                              capture_output=True, text=True)
        assert done.returncode == 1
        assert "is not writable and 1 shard(s) of the run there are not done" in done.stderr
    finally:
        for folder in tmp_path.iterdir():
            for path in [folder, *folder.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)


def test_a_second_run_into_the_folder_is_refused_while_the_first_holds_the_lock(tmp_path):
    from randcnn_fast.extraction.lock import run_lock

    with run_lock(tmp_path) as writable:
        assert writable
        with pytest.raises(RuntimeError, match="another extraction is writing into"):
            with run_lock(tmp_path):
                pass
    assert not (tmp_path / ".extract.lock").exists()


def test_lock_taken_on_a_file_its_holder_removed_is_taken_again(tmp_path, monkeypatch):
    import fcntl

    from randcnn_fast.extraction import lock as lock_module
    class HolderEndsFirst:
        """flock that lets a previous run end (and remove the file) just before locking."""
        calls = 0

        def __getattr__(self, name):
            return getattr(fcntl, name)

        def flock(self, fd, operation):
            HolderEndsFirst.calls += 1
            if HolderEndsFirst.calls == 1:
                (tmp_path / ".extract.lock").unlink()
            return fcntl.flock(fd, operation)

    fh = lock_module._open_lock(tmp_path / ".extract.lock", HolderEndsFirst())
    try:
        assert HolderEndsFirst.calls == 2
        assert os.fstat(fh.fileno()).st_ino == os.stat(tmp_path / ".extract.lock").st_ino
    finally:
        fh.close()
