"""Many short files at size small: the feature step of an evaluation or a ranking.

FSDD's recordings (``../shared/data/fsdd``, 0.14-2.3 s each, repeat-padded to the paper's
29.17 s) embedded from their paths on 2 threads: randcnn_fast as it runs (clips side by side,
one thread each, decoding overlapped), randcnn_fast one clip at a time on both threads, and
ONNX Runtime on the same input maps (decoded and brought to length by randcnn_fast, outside
nothing: the peer pays for its decoding as we do, one clip per call on 2 intra-op threads).
Figures are audio-seconds per second of embedded (padded) input; ``--benchmark-disable`` runs
each row once on 20 files.
"""
from __future__ import annotations

import csv
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import randcnn_fast as rf
from randcnn_fast.features import embedder as embedder_module
sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402

FSDD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fsdd"
THREADS = 2
SECONDS = 350_000 / 12000
ARCHS = list(rf.ARCHITECTURES)
IMPLS = ["randcnn_fast", "randcnn_fast one at a time", "onnxruntime",
         "onnxruntime side by side"]


@pytest.fixture(scope="module")
def paths(smoke):
    if not (FSDD / "labels.csv").is_file():
        pytest.skip(f"shared FSDD recordings not found at {FSDD}")
    with open(FSDD / "labels.csv", newline="") as f:
        rows = [str(FSDD / row["path"]) for row in csv.DictReader(f)]
    return rows[:20] if smoke else rows[:600]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("arch", ARCHS)
def test_many_files_small(benchmark, throughput, monkeypatch, paths, arch, impl):
    benchmark.group = f"many files {arch} small"
    embedder = rf.Embedder(arch, size="small", n_threads=THREADS)
    if impl == "randcnn_fast one at a time":
        monkeypatch.setattr(embedder_module, "CLIP_PARALLEL_MACS", 0)
    if impl.startswith("onnxruntime"):
        pytest.importorskip("onnxruntime", reason="the peer needs onnx and onnxruntime")
        side_by_side = impl.endswith("side by side")
        peer = peers.OnnxPeer(embedder, n_threads=1 if side_by_side else THREADS)

        def one(path):
            return peer.embed(embedder._prepare_file(path)[0])

        def fn():
            if not side_by_side:
                return [one(p) for p in paths]
            with ThreadPoolExecutor(max_workers=THREADS) as pool:
                return list(pool.map(one, paths))
    else:
        def fn():
            return embedder.embed(paths)

    macs = embedder.describe().macs * len(paths)
    throughput(fn, audio_seconds=SECONDS * len(paths), macs=macs, threads=THREADS, rounds=3)
