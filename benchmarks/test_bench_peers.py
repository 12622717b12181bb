"""randcnn_fast against ONNX Runtime and PyTorch on the same networks and weights.

Every architecture at paper size and at size small (the ~160-d features that evaluations
and rankings use) on one 29.17 s clip (350,000 samples), in one session, one row per
implementation in each pytest-benchmark group (the architecture and size): randcnn_fast native,
ONNX Runtime CPU (:class:`peers.OnnxPeer`) and PyTorch eager (:class:`peers.TorchNetwork`),
all on THREADS threads (``n_threads``, ONNX Runtime's intra-op threads with sequential
execution, ``torch.set_num_threads``), one after another. The peers are built as their users
would write them: 1-D convolutions for the waveform models, 2-D for the spectrogram models.
Spectrogram models get the log-mel of the clip, brought to 1376 frames and computed once
outside the timing, and randcnn_fast reads it with ``input="logmel"``, so every row times the
network alone. A peer that is not installed is skipped, saying so. Before timing, every row's
embedding is checked against randcnn_fast's fp32 one (1e-4 relative; entries that cancel to
~0, channel means of ELU maps, within 1e-5 of the vector's largest entry). After the last row a
table (Markdown, for the README) gives each row's audio-s/s and GFLOP/s and randcnn_fast's
speed relative to the faster peer.

If :class:`randcnn_fast.Embedder` takes ``precision``, a bf16 group per architecture follows:
randcnn_fast and PyTorch in bf16 (ONNX Runtime's CPU provider has no bf16 convolution),
checked against fp32 within :data:`TOLERANCE` ``["bf16"]``.

PyTorch eager loses 20-39 % of its time to page faults with glibc's allocator
(shared/PERFORMANCE.md); for figures to publish, run with jemalloc preloaded, e.g.
``LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1 python -m pytest benchmarks/test_bench_peers.py``;
the table says which allocator ran. Run alone on a quiet machine (other processes halve 2
threads). ``--benchmark-disable`` runs each row once at size small (smoke mode).
"""
from __future__ import annotations

import inspect
import sys
from pathlib import Path

import numpy as np
import pytest

import randcnn_fast as rf
from randcnn_fast.frontend import spectrogram as frontend
from randcnn_fast.network.architectures import LOGMEL_LENGTH, WAVEFORM_LENGTH, build
from randcnn_fast.input.clips import fix_length

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402

SAMPLES = WAVEFORM_LENGTH  # 350,000
SECONDS = SAMPLES / 12000
THREADS = 2
ARCHS = [row["arch"] for row in rf.architectures()]
# bf16 rows only once the Embedder offers that precision.
PRECISIONS = ("fp32",) + (("bf16",) if "precision" in inspect.signature(rf.Embedder).parameters
                          else ())
PEERS = {"fp32": ("onnxruntime", "torch"), "bf16": ("torch",)}
# fp32: per entry, relative (near-zero entries: a tenth of it times the largest entry). bf16: the
# vector's relative L2 distance, since single entries of both bf16 implementations stray by up to
# ~10 % (a mean of few large, cancelling terms) while the vector moves by a few 1e-3.
TOLERANCE = {"fp32": 1e-4, "bf16": 1e-2}
SIZES = ("paper", "small")
# bf16 is timed at paper size, where its multiplies dominate.
CASES = [(arch, size, precision, impl) for size in SIZES for precision in PRECISIONS
         for arch in ARCHS for impl in ("randcnn_fast",) + PEERS[precision]
         if size == "paper" or precision == "fp32"]
NAMES = {"randcnn_fast": "randcnn_fast", "onnxruntime": "ONNX Runtime", "torch": "PyTorch"}
TORCH_REASON = "the PyTorch peer needs torch (pip install torch)"
ONNX_REASON = "the ONNX Runtime peer needs onnx and onnxruntime (pip install onnx onnxruntime)"

_results: dict[tuple, dict[str, dict]] = {}  # (arch, size, precision) -> impl -> figures
_errors: dict[tuple, dict[str, float]] = {}  # (arch, size, precision) -> impl -> rel error
_isa: dict[str, str] = {}  # impl -> instruction set it ran
_references: dict[tuple, np.ndarray] = {}


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


def make_embedder(arch: str, size: str, backend_features: str = "faithful",
                  precision: str = "fp32") -> rf.Embedder:
    logmel = build(arch, size).input_kind == "logmel"
    extra = {} if precision == "fp32" else {"precision": precision}
    return rf.Embedder(arch, size=size, n_threads=THREADS, backend_features=backend_features,
                       input="logmel" if logmel else "audio", **extra)


def native_embed(embedder: rf.Embedder, data: np.ndarray) -> np.ndarray:
    if embedder.input == "logmel":
        return embedder.embed(data)
    return embedder.embed(data, sr=12000)


def reference(arch: str, size: str, mode: str, data: np.ndarray) -> np.ndarray:
    """randcnn_fast's fp32 embedding of ``data``, computed once per case."""
    key = (arch, size, mode)
    if key not in _references:
        _references[key] = native_embed(make_embedder(arch, size, mode), data)
    return _references[key]


def make_peer(impl: str, embedder: rf.Embedder, precision: str = "fp32"):
    """(embed function of a (time, freq, 1) map, the instruction set it runs), or a skip."""
    if impl == "onnxruntime":
        pytest.importorskip("onnx", reason=ONNX_REASON)
        pytest.importorskip("onnxruntime", reason=ONNX_REASON)
        # MLAS picks its kernels at run time and does not say which
        return peers.OnnxPeer(embedder, n_threads=THREADS).embed, "mlas"
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    torch.set_num_threads(THREADS)
    net = peers.TorchNetwork(embedder.network, embedder.parameters(), embedder.length).eval()
    if precision == "bf16":
        net = net.to(torch.bfloat16)
    return net.embed, torch.backends.cpu.get_cpu_capability().lower()


def relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    """Largest |got - expected| / |expected| over the entries at least 1 % of the vector's
    largest: a channel mean that cancels to ~0 (ELU maps, vgg) has no meaningful relative
    error, its rounding error is that of the layer's scale."""
    big = np.abs(expected) >= 1e-2 * np.abs(expected).max()
    return float(np.max(np.abs(got - expected)[big] / np.abs(expected)[big]))


def scaled_error(got: np.ndarray, expected: np.ndarray) -> float:
    """Largest |got - expected| over the vector's largest entry."""
    return float(np.max(np.abs(got - expected)) / np.abs(expected).max())


def assert_matches(got, expected, precision: str = "fp32"):
    """Within TOLERANCE (see there)."""
    rtol = TOLERANCE[precision]
    assert got.shape == expected.shape and got.dtype == np.float32
    if precision == "bf16":
        assert l2_error(got, expected) <= rtol
    else:
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol / 10 * np.abs(expected).max())


def l2_error(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.linalg.norm(got - expected) / np.linalg.norm(expected))


def torch_allocator() -> str:
    """Which malloc this process runs: PyTorch eager's speed depends on it."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return "unknown"
    return "jemalloc" if "jemalloc" in maps else "the system malloc"


def peer_table() -> list[str]:
    """One Markdown row per architecture, size and precision: every implementation's
    audio-s/s and GFLOP/s, randcnn_fast's speed over the faster peer, the peers' errors
    against fp32."""
    if not _results:
        return []
    impls = ("randcnn_fast", "onnxruntime", "torch")
    head = ["arch", "size", "precision", "threads"]
    for impl in impls:
        head += [f"{NAMES[impl]} audio-s/s", "GFLOP/s"]
    head += ["faster fp32 peer", "randcnn_fast vs faster fp32 peer", "randcnn_fast vs PyTorch bf16",
             "error vs randcnn_fast fp32 (ours / ORT / torch)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (arch, size, precision), row in _results.items():
        cells = [arch, size, precision, str(THREADS)]
        for impl in impls:
            info = row.get(impl)
            cells += ([f"{info['audio_s_per_s']:.3g}", f"{info['gflop_per_s']:.0f}"] if info
                      else ["-", "-"])
        # Every row is held against the faster fp32 peer (ONNX Runtime has no bf16), as the
        # targets are; bf16 rows also against PyTorch in bf16.
        fp32_row = _results.get((arch, size, "fp32"), {})
        timed = {impl: fp32_row[impl]["seconds"] for impl in PEERS["fp32"] if impl in fp32_row}
        best, ratio, ratio_bf16 = "-", "-", "-"
        if "randcnn_fast" in row:
            ours = row["randcnn_fast"]["seconds"]
            if timed:
                best = min(timed, key=timed.get)
                ratio = f"{timed[best] / ours:.2f}x"
            if precision == "bf16" and "torch" in row:
                ratio_bf16 = f"{row['torch']['seconds'] / ours:.2f}x"
        errors = _errors.get((arch, size, precision), {})
        cells += [NAMES.get(best, best), ratio, ratio_bf16,
                  " / ".join(f"{errors[p]:.1e}" if p in errors else "-" for p in impls)]
        lines.append("| " + " | ".join(cells) + " |")
    isa = ", ".join(f"{NAMES[impl]} {name}" + (" (picked at run time)" if impl == "onnxruntime"
                                                else "") for impl, name in _isa.items())
    lines += ["",
              f"29.17 s clip, median round, {THREADS} threads each, run one after another. "
              f"Instruction sets: {isa}.",
              "randcnn_fast vs a peer = the peer's time / randcnn_fast's (> 1: randcnn_fast is "
              "faster). Errors: fp32 rows the largest relative error over entries >= 1 % of the "
              "largest, bf16 rows the vector's relative L2 distance. Waveform models: peers in "
              "1-D; spectrogram models: 2-D."]
    if "torch" in _isa:
        lines.append(f"PyTorch ran with {torch_allocator()} (PERFORMANCE.md: publish against "
                     "jemalloc).")
    return lines


@pytest.fixture(scope="module", autouse=True)
def register_table(summary_table):
    summary_table("randcnn_fast vs peers (one clip)", peer_table)


@pytest.mark.parametrize("arch,size,precision,impl", CASES, ids=["-".join(c) for c in CASES])
def test_peer_one_clip(benchmark, throughput, smoke, clip, frames, arch, size, precision, impl):
    benchmark.group = " ".join([arch, size] + ([precision] if precision != "fp32" else []))
    size = "small" if smoke else size
    embedder = make_embedder(arch, size, precision=precision)
    data = frames if embedder.input == "logmel" else clip
    if impl == "randcnn_fast":
        def fn():
            return native_embed(embedder, data)

        isa = rf.isa_info()["active"]
    else:
        x = peers.input_map(embedder, data)
        peer, isa = make_peer(impl, embedder, precision)

        def fn():
            return peer(x)

    # The same embedding as randcnn_fast's fp32 one, checked before anything is timed.
    got, expected = fn(), reference(arch, size, "faithful", data)
    _errors.setdefault((arch, size, precision), {})[impl] = (
        relative_error(got, expected) if precision == "fp32" else l2_error(got, expected))
    benchmark.extra_info["max_rel_err_vs_native"] = relative_error(got, expected)
    benchmark.extra_info["max_err_over_scale_vs_native"] = scaled_error(got, expected)
    assert_matches(got, expected, precision)

    macs = embedder.describe().macs
    info = throughput(fn, audio_seconds=SECONDS, macs=macs, threads=THREADS,
                      rounds=rounds_for(macs), isa=isa)
    if info is not None:
        _results.setdefault((arch, size, precision), {})[impl] = info
        _isa[impl] = isa


MATCH_CASES = [(arch, "faithful") for arch in ARCHS] + [
    (arch, "per_filter") for arch in ("frame_level", "frame_level_many")]


@pytest.mark.parametrize("impl", PEERS["fp32"])
@pytest.mark.parametrize("arch,mode", MATCH_CASES, ids=[f"{a}-{m}" for a, m in MATCH_CASES])
def test_peer_matches_native(clip, frames, arch, mode, impl):
    embedder = make_embedder(arch, "small", mode)
    data = frames if embedder.input == "logmel" else clip
    peer, _ = make_peer(impl, embedder)
    assert_matches(peer(peers.input_map(embedder, data)), reference(arch, "small", mode, data))


@pytest.mark.parametrize("arch", ["sample_level", "vgg"])
def test_torch_bf16_peer_near_native(clip, frames, arch):
    """The bf16 rows' PyTorch peer, within bf16 rounding of the fp32 embedding."""
    embedder = make_embedder(arch, "small")
    data = frames if embedder.input == "logmel" else clip
    peer, _ = make_peer("torch", embedder, "bf16")
    assert_matches(peer(peers.input_map(embedder, data)), reference(arch, "small", "faithful", data),
                   "bf16")
