"""Many short files at size small: the feature step of an evaluation or a ranking.

FSDD's recordings (``../shared/data/fsdd``, 0.14-2.3 s each, repeat-padded to the paper's
29.17 s) embedded from their paths on 2 threads, decoding included, every arrangement timed in
turn within each round (medians), so that all of them meet the same conditions on a shared
machine:

- ``randcnn_fast``: ``Embedder.embed(paths)`` as it runs (worker processes for the smallest
  networks, 7x96 and temporal, which it keeps for later lists);
- ``randcnn-fast embed``: what the command runs (``extract`` on a manifest of the files, its
  results written to a new folder and read back), with a new embedder each time, as each
  command gets, so worker processes start within it;
- ``one at a time`` and ``side by side``: the same with its arrangement forced (one clip on both
  threads with the next file decoded meanwhile; clips side by side, one thread each);
- ``onnxruntime``: ONNX Runtime on 2 intra-op threads, one clip per call, the next file
  prepared on a reader thread meanwhile;
- ``onnxruntime side by side``: two sessions of one thread, each preparing and running its own
  clips.

The peers prepare a file as their users would (:func:`peers.user_input_map`: ``soundfile.read``,
soxr, the log-mel, repeat-padding), and their embeddings are checked against randcnn_fast's
before timing. Batching several clips into one ONNX Runtime call was slower than either
arrangement at this size in a probe on the Zen 5 host (the spectrogram models; the waveform
graphs take one clip a call). The table names the arrangement randcnn_fast chose.
A last test times ``evaluate``'s feature step on the same files (every architecture at size
small and the MFCC baseline, one seed, an empty cache: ``features.cache.configs_features``)
against the peers' best arrangement for each architecture in this run, summed over the ten
(each peer pass decoding its files, as separate runs would; the MFCC baseline on our side only).
Figures are audio-seconds per second of embedded (padded) input. ``--many-files N`` (default
600, at most FSDD's 3,000) and ``--many-rounds R`` (default 3) size the run, and
``--many-as-it-runs`` leaves out the forced arrangements; ``--benchmark-disable`` runs each
arrangement once on 20 files.
"""
from __future__ import annotations

import csv
import itertools
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import randcnn_fast as rf
sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402

FSDD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fsdd"
THREADS = 2
SECONDS = 350_000 / 12000
OURS = ["randcnn_fast", "randcnn-fast embed", "one at a time", "side by side"]
PEERS = ["onnxruntime", "onnxruntime side by side"]
_rates: dict[str, dict[str, float]] = {}
_chosen: dict[str, str] = {}  # the arrangement randcnn_fast chose, per architecture
_files = 0  # files per run, for the table's title
_feature_step: dict[str, float] = {}  # seconds of the feature step and of the peers' passes


@pytest.fixture(scope="module")
def paths(request, smoke):
    if not (FSDD / "labels.csv").is_file():
        pytest.skip(f"shared FSDD recordings not found at {FSDD}")
    with open(FSDD / "labels.csv", newline="") as f:
        rows = [str(FSDD / row["path"]) for row in csv.DictReader(f)]
    return rows[:20] if smoke else rows[:request.config.getoption("many_files")]


def rates_table() -> list[str]:
    names = OURS + PEERS
    compared = ["randcnn_fast", "randcnn-fast embed"]
    lines = [f"| arch (small, {_files} files) | chosen | " + " | ".join(names) + " | "
             + " | ".join(f"{name} vs best peer" for name in compared) + " |",
             "|---|---|" + "---:|" * (len(names) + len(compared))]
    for arch, rate in _rates.items():
        best = max(rate.get(name, 0.0) for name in PEERS)
        lines.append(f"| {arch} | {_chosen[arch]} | "
                     + " | ".join(f"{rate[n]:,.0f}" if n in rate else "-" for n in names) + " | "
                     + " | ".join(f"{rate[n] / best:.2f}x" if best else "-" for n in compared)
                     + " |")
    return lines if _rates else []


def feature_step_table() -> list[str]:
    if not _feature_step:
        return []
    ours, peers_ = _feature_step["randcnn_fast"], _feature_step["peers"]
    return ["| files | feature step (s) | peers' best, ten passes (s) | feature step vs peers |",
            "|---:|---:|---:|---:|",
            f"| {_files} | {ours:.1f} | {peers_:.1f} | {peers_ / ours:.2f}x |"]


@pytest.fixture(scope="module", autouse=True)
def register_table(summary_table):
    summary_table("many files at size small (audio-s/s, medians of interleaved rounds)",
                  rates_table)
    summary_table("evaluate's feature step at size small, one seed", feature_step_table)


def ours(embedder, arrangement: str):
    """``embedder.embed`` on a list of paths, with its arrangement forced or not."""
    forced = {"one at a time": "one_at_a_time", "side by side": "side_by_side"}.get(arrangement)

    def run(paths):
        if forced is None:
            return embedder.embed(paths)
        saved = embedder._arrangement
        embedder._arrangement = forced
        try:
            return embedder.embed(paths)
        finally:
            embedder._arrangement = saved
    return run


def command(embedder, folder: Path):
    """``randcnn-fast embed`` on the files: extract from a manifest into a new folder, as a new
    command would (its own embedder, so worker processes start within it), then read back."""
    from randcnn_fast.extraction import worker
    from randcnn_fast.extraction.extract import extract
    from randcnn_fast.extraction.reader import load_embeddings

    runs = itertools.count()

    def run(paths):
        out = folder / f"run{next(runs)}"
        manifest = out.with_suffix(".csv")
        manifest.write_text("path\n" + "".join(f"{p}\n" for p in paths))
        extract(manifest, out, arch=embedder.arch, size=embedder.size, n_threads=THREADS,
                progress=False)
        for kept in worker._EMBEDDERS.values():  # the next run starts afresh
            kept.close()
        worker._EMBEDDERS.clear()
        return load_embeddings(out)[0]
    return run


def onnx(embedder, side_by_side: bool):
    """ONNX Runtime on the files, as its user would arrange it (see the module docstring)."""
    peer = peers.OnnxPeer(embedder, n_threads=1 if side_by_side else THREADS)

    def one(path):
        return peer.embed(peers.user_input_map(embedder, path))

    def run(paths):
        if side_by_side:
            with ThreadPoolExecutor(max_workers=THREADS) as pool:
                return np.stack(list(pool.map(one, paths)))
        with ThreadPoolExecutor(max_workers=1) as reader:
            maps = reader.map(lambda p: peers.user_input_map(embedder, p), paths)
            return np.stack([peer.embed(x) for x in maps])
    return run


@pytest.mark.parametrize("arch", list(rf.ARCHITECTURES))
def test_many_files_small(request, smoke, paths, arch, tmp_path):
    global _files
    embedder = rf.Embedder(arch, size="small", n_threads=THREADS)
    forced = not request.config.getoption("many_as_it_runs")
    runs = {name: ours(embedder, name) for name in (OURS[:1] + OURS[2:] if forced else OURS[:1])}
    runs["randcnn-fast embed"] = command(embedder, tmp_path)
    try:
        import onnxruntime  # noqa: F401
        runs.update({name: onnx(embedder, name.endswith("side by side")) for name in PEERS})
    except ImportError:
        pass  # the table shows '-' for the peers
    expected = ours(embedder, "one at a time")(paths[:8])
    for name, run in runs.items():
        got = run(paths[:8])
        if name in OURS:
            np.testing.assert_array_equal(got, expected)
        else:
            # As test_bench_peers checks the peers: 1e-4 relative, near-zero entries absolute.
            np.testing.assert_allclose(got, expected, rtol=1e-4,
                                       atol=1e-5 * np.abs(expected).max())
    rounds = 1 if smoke else request.config.getoption("many_rounds")
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run(paths)
            times[name].append(time.perf_counter() - start)
    if not smoke:
        _files = len(paths)
        _rates[arch] = {name: SECONDS * len(paths) / statistics.median(t)
                        for name, t in times.items()}
        _chosen[arch] = str(embedder._arrangement)
        # A long run (all 3,000 files) shows each row as it ends (with -s), not only at the end.
        print(f"\n{arch} ({_chosen[arch]}): " + ", ".join(
            f"{name} {rate:,.0f}" for name, rate in _rates[arch].items()), flush=True)


def test_feature_step_small(smoke, paths, tmp_path):
    from randcnn_fast.features.cache import MFCC, FeatureConfig, configs_features

    configs = [FeatureConfig(MFCC)] + [FeatureConfig(arch, size="small", seed=0)
                                       for arch in rf.ARCHITECTURES]
    start = time.perf_counter()
    out = configs_features(paths, configs, cache_dir=tmp_path / "cache", n_threads=THREADS,
                           progress=False)
    seconds = time.perf_counter() - start
    assert all(not failures for _, failures, _ in out.values())
    best = {arch: max(rate.get(name, 0.0) for name in PEERS) for arch, rate in _rates.items()}
    if smoke or set(best) != set(rf.ARCHITECTURES) or not all(best.values()):
        return  # the peers' rates come from the tests above, all of them with ONNX Runtime
    _feature_step.update(randcnn_fast=seconds,
                         peers=sum(SECONDS * len(paths) / rate for rate in best.values()))
    print(f"\nfeature step {seconds:.1f} s; the peers' best passes {_feature_step['peers']:.1f} s",
          flush=True)
