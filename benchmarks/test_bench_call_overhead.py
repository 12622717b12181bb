"""Where one small call's time goes: the network apart from everything around it.

For every architecture at size small, one 29.17 s clip at 12 kHz, 2 threads, three timings
taken in turn within each of 60 rounds (medians), so that all three meet the same conditions:

- ``call``: ``Embedder.embed(clip, sr=12000)``, what a user times (checks, padding, the
  log-mel front-end for spectrogram models, the network, the feature vector);
- ``frontend``: the log-mel of the clip alone (spectrogram models; 0 for waveform models);
- ``network``: the network alone, on the input map the call would build
  (:meth:`randcnn_fast.backends.native.NativeRunner.embed`).

The summary table gives each in milliseconds and the rest, ``call - frontend - network``: the
per-call overhead of the Python layer. ``--benchmark-disable`` runs each body once.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import randcnn_fast as rf
from randcnn_fast.backends.native import NativeRunner
from randcnn_fast.frontend.spectrogram import logmel
from randcnn_fast.input.clips import fix_length

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402

THREADS = 2
SAMPLES = 350_000
_ms: dict[str, dict[str, float]] = {}


@pytest.fixture(scope="module")
def clip():
    return (0.1 * np.random.default_rng(0).standard_normal(SAMPLES)).astype(np.float32)


def overhead_table() -> list[str]:
    lines = ["| arch (small, one clip) | call ms | front-end ms | network ms | overhead ms "
             "| overhead share |", "|---|---:|---:|---:|---:|---:|"]
    for arch, ms in _ms.items():
        rest = ms["call"] - ms["frontend"] - ms["network"]
        lines.append(f"| {arch} | {ms['call']:.2f} | {ms['frontend']:.2f} | "
                     f"{ms['network']:.2f} | {rest:.2f} | {rest / ms['call']:.0%} |")
    return lines if _ms else []


@pytest.fixture(scope="module", autouse=True)
def register_table(summary_table):
    summary_table("per-call overhead at size small (median milliseconds)", overhead_table)


def interleaved_medians(parts: dict, rounds: int) -> dict:
    """Median seconds of each callable, timed in turn within every round so that all of them
    meet the same conditions (a shared machine moves single runs by a third)."""
    times = {name: [] for name in parts}
    for _ in range(rounds):
        for name, fn in parts.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


@pytest.mark.parametrize("arch", list(rf.ARCHITECTURES))
def test_call_overhead(benchmark, throughput, smoke, clip, arch):
    benchmark.group = f"overhead {arch} small"
    embedder = rf.Embedder(arch, size="small", n_threads=THREADS)
    spectrogram = embedder.network.input_kind != "waveform"
    data = fix_length(logmel(clip), embedder.length, "repeat", name="clip") if spectrogram \
        else clip[:embedder.length]
    x = peers.input_map(embedder, data)
    runner = NativeRunner(embedder.network, embedder.parameters())
    np.testing.assert_array_equal(runner.embed(x, THREADS), embedder.embed(clip, sr=12000))
    parts = {"call": lambda: embedder.embed(clip, sr=12000),
             "network": lambda: runner.embed(x, THREADS)}
    if spectrogram:
        parts["frontend"] = lambda: logmel(clip)
    medians = interleaved_medians(parts, rounds=3 if smoke else 60)
    if not smoke:
        _ms[arch] = {"frontend": 0.0, **{name: t * 1e3 for name, t in medians.items()}}
    throughput(parts["call"], audio_seconds=SAMPLES / 12000, macs=embedder.describe().macs,
               threads=THREADS, rounds=30)
