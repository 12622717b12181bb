"""Throughput reporting for the benchmarks: audio-seconds per second and GFLOP/s."""
from __future__ import annotations

import pytest

import randcnn_fast as rf

_rows: list[tuple] = []


@pytest.fixture
def throughput(benchmark):
    """Call as throughput(fn, audio_seconds=..., macs=..., threads=...) to time fn and record
    its figures (from the median round) in the benchmark's extra_info and the final table."""

    def measure(fn, *, audio_seconds: float, macs: int, threads: int, rounds: int = 5):
        benchmark.pedantic(fn, rounds=rounds, warmup_rounds=1, iterations=1)
        if benchmark.disabled:  # --benchmark-disable: ran once as a smoke test, nothing timed
            return None
        median = benchmark.stats.stats.median
        info = {
            "audio_s_per_s": audio_seconds / median,
            "gflop_per_s": 2 * macs / median / 1e9,
            "threads": threads,
            "isa": rf.isa_info()["active"],
            "gmac": macs / 1e9,
            "seconds": median,
        }
        benchmark.extra_info.update(info)
        _rows.append((benchmark.group or "", benchmark.name, info))
        return info

    return measure


def pytest_terminal_summary(terminalreporter):
    if not _rows:
        return
    # The log-mel front-end's share of each spectrogram model's time, when both were timed.
    front_end = next((info["seconds"] for group, _, info in _rows if group == "front-end"), None)
    spectrogram = {row["arch"] for row in rf.architectures() if row["input"] == "logmel"}
    terminalreporter.section("throughput (median round)")
    terminalreporter.write_line(f"{'group':<18} {'benchmark':<40} {'isa':<7} {'thr':>3} "
                                f"{'audio-s/s':>10} {'GFLOP/s':>8} {'front-end share':>16}")
    for group, name, info in _rows:
        share = ""
        if front_end is not None and group in spectrogram:
            share = f"{100 * front_end / info['seconds']:.1f} %"
        terminalreporter.write_line(
            f"{group:<18} {name[:40]:<40} {info['isa']:<7} {info['threads']:>3} "
            f"{info['audio_s_per_s']:>10.2f} {info['gflop_per_s']:>8.1f} {share:>16}")
