"""Throughput reporting for the benchmarks: audio-seconds per second and GFLOP/s.

Every timed row goes into one table printed at the end of the run, followed by the tables
that benchmark modules register with the ``summary_table`` fixture (the peer comparison, the
classifier speed-ups), so that one run's figures can be copied from one place.

Smoke mode: with ``--benchmark-disable`` every benchmark body runs once, untimed, and the
``smoke`` fixture is True so that modules shrink their workloads (size "small" networks,
smaller classifier problems): ``python -m pytest benchmarks -q --benchmark-disable`` checks
the benchmark code in a minute or two.
"""
from __future__ import annotations

from typing import Callable

import pytest

import randcnn_fast as rf

_rows: list[tuple] = []
_tables: dict[str, Callable[[], list[str]]] = {}  # title -> lines, built at the end


def pytest_addoption(parser):
    group = parser.getgroup("randcnn_fast benchmarks")
    group.addoption("--many-files", type=int, default=600,
                    help="FSDD files per run in test_bench_many_files (at most 3000)")
    group.addoption("--many-rounds", type=int, default=3,
                    help="interleaved rounds in test_bench_many_files")
    group.addoption("--many-as-it-runs", action="store_true",
                    help="test_bench_many_files times randcnn_fast only as it runs, not with "
                         "each arrangement forced (a shorter run)")


@pytest.fixture(scope="session")
def smoke(request) -> bool:
    """True when pytest-benchmark is disabled: run every body once on small workloads."""
    return bool(request.config.getoption("benchmark_disable"))


@pytest.fixture(scope="session")
def summary_table():
    """Call as summary_table(title, lines) to print ``lines()`` (a list of strings, built once
    every row has run; nothing is printed if it is empty) after the throughput table."""

    def register(title: str, lines: Callable[[], list[str]]) -> None:
        _tables[title] = lines

    return register


@pytest.fixture
def throughput(benchmark):
    """Call as throughput(fn, audio_seconds=..., macs=..., threads=..., isa=...) to time fn and
    record its figures (from the median round) in the benchmark's extra_info and the final
    table; ``isa`` defaults to randcnn_fast's active instruction set. Returns the figures, or
    None when benchmarking is disabled (fn then ran once)."""

    def measure(fn, *, audio_seconds: float, macs: int, threads: int, rounds: int = 5,
                isa: str | None = None):
        benchmark.pedantic(fn, rounds=rounds, warmup_rounds=1, iterations=1)
        if benchmark.disabled:  # --benchmark-disable: ran once as a smoke test, nothing timed
            return None
        median = benchmark.stats.stats.median
        info = {
            "audio_s_per_s": audio_seconds / median,
            "gflop_per_s": 2 * macs / median / 1e9,
            "threads": threads,
            "isa": rf.isa_info()["active"] if isa is None else isa,
            "gmac": macs / 1e9,
            "seconds": median,
        }
        benchmark.extra_info.update(info)
        _rows.append((benchmark.group or "", benchmark.name, info))
        return info

    return measure


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's own tables: ours end the output
def pytest_terminal_summary(terminalreporter):
    if _rows:
        _throughput_table(terminalreporter)
    for title, lines in _tables.items():
        lines = lines()
        if lines:
            terminalreporter.section(title)
            for line in lines:
                terminalreporter.write_line(line)


def _throughput_table(terminalreporter):
    # The log-mel front-end's share of each spectrogram model's time, when both were timed.
    front_end = next((info["seconds"] for group, _, info in _rows if group == "front-end"), None)
    spectrogram = {row["arch"] for row in rf.architectures() if row["input"] == "logmel"}
    width = max(len(name) for _, name, _ in _rows)
    terminalreporter.section("throughput (median round)")
    terminalreporter.write_line(f"{'group':<18} {'benchmark':<{width}} {'isa':<7} {'thr':>3} "
                                f"{'audio-s/s':>10} {'GFLOP/s':>8} {'front-end share':>16}")
    for group, name, info in _rows:
        share = ""
        if front_end is not None and group in spectrogram:
            share = f"{100 * front_end / info['seconds']:.1f} %"
        terminalreporter.write_line(
            f"{group:<18} {name:<{width}} {info['isa']:<7} {info['threads']:>3} "
            f"{info['audio_s_per_s']:>10.2f} {info['gflop_per_s']:>8.1f} {share:>16}")
