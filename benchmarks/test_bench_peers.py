"""randcnn_fast against ONNX Runtime and PyTorch on the same networks and weights.

Every architecture at paper size on one 29.17 s clip (350,000 samples), 2 threads, three rows
per pytest-benchmark group (the architecture): randcnn_fast native, ONNX Runtime CPU (the
package's export) and PyTorch eager (:class:`peers.TorchNetwork`, rebuilt from the network
description). Spectrogram models get the log-mel of the clip, brought to 1376 frames and
computed once outside the timing, and randcnn_fast reads it with ``input="logmel"``, so every
row times the network alone. A peer that is not installed is skipped, saying so. After the
last row a table gives randcnn_fast's speed relative to the faster peer.

The ``*_matches_native`` tests check, at size small, that both peers compute the native
embedding within 1e-4 relative (entries that cancel to ~0, channel means of ELU maps, within
1e-5 of the vector's largest entry); the paper-size rows check the same on what they timed. Run alone on a quiet machine:
``python -m pytest benchmarks/test_bench_peers.py`` (other processes halve 2 threads).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import randcnn_fast as rf
from randcnn_fast import frontend
from randcnn_fast.architectures import LOGMEL_LENGTH, WAVEFORM_LENGTH, build
from randcnn_fast.audio import fix_length

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402

SAMPLES = WAVEFORM_LENGTH  # 350,000
SECONDS = SAMPLES / 12000
THREADS = 2
ARCHS = [row["arch"] for row in rf.architectures()]
IMPLS = ("randcnn_fast", "onnxruntime", "torch")
RTOL = 1e-4
TORCH_REASON = "the PyTorch peer needs torch (pip install torch)"
ONNX_REASON = "the ONNX Runtime peer needs onnx and onnxruntime (pip install onnx onnxruntime)"

_seconds: dict[str, dict[str, float]] = {}  # arch -> implementation -> median seconds
_errors: dict[str, dict[str, float]] = {}  # arch -> peer -> relative_error vs native
_native_out: dict[str, np.ndarray] = {}


def rounds_for(macs: int) -> int:
    """3 rounds for the heavy networks, more for the light ones."""
    return 3 if macs >= 20e9 else 5 if macs >= 2e9 else 10


@pytest.fixture(scope="module")
def clip():
    return (np.random.default_rng(0).standard_normal(SAMPLES) * 0.1).astype(np.float32)


@pytest.fixture(scope="module")
def frames(clip):
    """The clip's log-mel (1368 frames) brought to the paper's 1376 as Embedder does."""
    return fix_length(frontend.logmel(clip), LOGMEL_LENGTH, "repeat", name="clip")


def make_embedder(arch: str, size: str, backend_features: str = "faithful") -> rf.Embedder:
    logmel = build(arch, size).input_kind == "logmel"
    return rf.Embedder(arch, size=size, n_threads=THREADS, backend_features=backend_features,
                       input="logmel" if logmel else "audio")


def native_embed(embedder: rf.Embedder, data: np.ndarray) -> np.ndarray:
    if embedder.input == "logmel":
        return embedder.embed(data)
    return embedder.embed(data, sr=12000)


def relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    """Largest |got - expected| / |expected| over the entries at least 1 % of the vector's
    largest: a channel mean that cancels to ~0 (ELU maps, vgg) has no meaningful relative
    error, its rounding error is that of the layer's scale."""
    big = np.abs(expected) >= 1e-2 * np.abs(expected).max()
    return float(np.max(np.abs(got - expected)[big] / np.abs(expected)[big]))


def scaled_error(got: np.ndarray, expected: np.ndarray) -> float:
    """Largest |got - expected| over the vector's largest entry."""
    return float(np.max(np.abs(got - expected)) / np.abs(expected).max())


def assert_matches(got, expected):
    """Within 1e-4 relative; entries near zero within 1e-5 of the vector's largest entry."""
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-5 * np.abs(expected).max())


@pytest.fixture(scope="session", autouse=True)
def peer_summary(request):
    """After every row: randcnn_fast's time against the faster peer, per architecture."""
    yield
    if not _seconds:
        return
    lines = [f"{'arch':<18} {'randcnn_fast':>12} {'onnxruntime':>12} {'torch':>10} "
             f"{'faster peer':>12} {'speed-up':>9} {'max rel err (onnx / torch)':>27}"]
    for arch in ARCHS:
        row = _seconds.get(arch)
        if not row:
            continue
        cells = [f"{row[impl]:>{w}.3f}" if impl in row else f"{'-':>{w}}"
                 for impl, w in zip(IMPLS, (12, 12, 10))]
        timed_peers = {p: row[p] for p in IMPLS[1:] if p in row}
        best, ratio = "-", "-"
        if timed_peers and "randcnn_fast" in row:
            best = min(timed_peers, key=timed_peers.get)
            ratio = f"{timed_peers[best] / row['randcnn_fast']:.2f}x"
        errs = _errors.get(arch, {})
        err = " / ".join(f"{errs[p]:.1e}" if p in errs else "-" for p in IMPLS[1:])
        lines.append(f"{arch:<18} {' '.join(cells)} {best:>12} {ratio:>9} {err:>27}")
    lines.append("seconds per 29.17 s clip (median round), 2 threads; speed-up = faster peer's "
                 "time / randcnn_fast's (> 1: randcnn_fast is faster); rel err over the entries "
                 ">= 1 % of the largest")
    peers.print_section(request.config, "randcnn_fast vs peers (paper size)", lines)


@pytest.mark.parametrize("arch,impl", [(a, i) for a in ARCHS for i in IMPLS],
                         ids=[f"{a}-{i}" for a in ARCHS for i in IMPLS])
def test_peer_paper_size(benchmark, throughput, clip, frames, arch, impl):
    benchmark.group = arch
    embedder = make_embedder(arch, "paper")
    data = frames if embedder.input == "logmel" else clip
    x = peers.input_map(embedder, data)
    out = {}
    if impl == "randcnn_fast":
        def fn():
            out["y"] = native_embed(embedder, data)
    elif impl == "onnxruntime":
        pytest.importorskip("onnx", reason=ONNX_REASON)
        pytest.importorskip("onnxruntime", reason=ONNX_REASON)
        runner = peers.onnx_runner(embedder, n_threads=THREADS)

        def fn():
            out["y"] = runner.run([x])[0]
    else:
        torch = pytest.importorskip("torch", reason=TORCH_REASON)
        torch.set_num_threads(THREADS)
        net = peers.TorchNetwork(embedder.network, embedder.parameters(), embedder.length).eval()
        xt = torch.from_numpy(x)

        def fn():
            out["y"] = net.embed(xt)

    macs = embedder.describe().macs
    info = throughput(fn, audio_seconds=SECONDS, macs=macs, threads=THREADS,
                      rounds=rounds_for(macs))
    if info is not None:
        _seconds.setdefault(arch, {})[impl] = info["seconds"]
    if impl == "randcnn_fast":
        _native_out[arch] = out["y"]
    else:  # the same embedding as native, at paper size too (checked outside the timing)
        expected = _native_out[arch] if arch in _native_out else native_embed(embedder, data)
        _errors.setdefault(arch, {})[impl] = relative_error(out["y"], expected)
        benchmark.extra_info["max_rel_err_vs_native"] = relative_error(out["y"], expected)
        benchmark.extra_info["max_err_over_scale_vs_native"] = scaled_error(out["y"], expected)
        assert_matches(out["y"], expected)


MATCH_CASES = [(arch, "faithful") for arch in ARCHS] + [
    (arch, "per_filter") for arch in ("frame_level", "frame_level_many")]


@pytest.mark.parametrize("arch,mode", MATCH_CASES, ids=[f"{a}-{m}" for a, m in MATCH_CASES])
def test_torch_peer_matches_native(clip, frames, arch, mode):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    torch.set_num_threads(THREADS)
    embedder = make_embedder(arch, "small", mode)
    data = frames if embedder.input == "logmel" else clip
    net = peers.TorchNetwork(embedder.network, embedder.parameters())
    assert_matches(net.embed(peers.input_map(embedder, data)), native_embed(embedder, data))


@pytest.mark.parametrize("arch,mode", MATCH_CASES, ids=[f"{a}-{m}" for a, m in MATCH_CASES])
def test_onnx_peer_matches_native(clip, frames, arch, mode):
    pytest.importorskip("onnx", reason=ONNX_REASON)
    pytest.importorskip("onnxruntime", reason=ONNX_REASON)
    embedder = make_embedder(arch, "small", mode)
    data = frames if embedder.input == "logmel" else clip
    runner = peers.onnx_runner(embedder, n_threads=THREADS)
    assert_matches(runner.run([peers.input_map(embedder, data)])[0], native_embed(embedder, data))
