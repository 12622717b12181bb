"""Every architecture at paper size on one 29.17 s clip, 2 threads (and 1 for the heavy ones).

Waveform models get 350,000 samples; spectrogram models get the log-mel of the same clip
(1368 frames) brought to the paper's 1376 frames. The log-mel front-end is timed on its own
so its share of a spectrogram model's time can be read off the table.
Run alone on a quiet machine: python -m pytest benchmarks/ (other processes halve 2 threads);
``--benchmark-disable`` runs each network once at size small (smoke mode).
"""
from __future__ import annotations

import numpy as np
import pytest

import randcnn_fast as rf
from randcnn_fast.frontend import spectrogram as frontend
SAMPLES = 350_000
SECONDS = SAMPLES / 12000
ARCHS = [row["arch"] for row in rf.architectures()]


@pytest.fixture(scope="module")
def clip():
    return (np.random.default_rng(0).standard_normal(SAMPLES) * 0.1).astype(np.float32)


@pytest.mark.parametrize("arch", ARCHS)
def test_architecture_paper_size(benchmark, throughput, smoke, clip, arch):
    benchmark.group = arch
    embedder = rf.Embedder(arch, size="small" if smoke else "paper", n_threads=2)
    macs = embedder.describe().macs
    throughput(lambda: embedder.embed(clip, sr=12000), audio_seconds=SECONDS, macs=macs,
               threads=2, rounds=3)


def test_logmel_front_end(benchmark, throughput, clip):
    benchmark.group = "front-end"
    throughput(lambda: frontend.logmel(clip), audio_seconds=SECONDS, macs=0, threads=1, rounds=5)


@pytest.mark.parametrize("source", ["built-in", "user file"])
def test_user_file_runs_on_the_builtins_paths(benchmark, throughput, smoke, clip, tmp_path, source):
    """sample_level as a user's file (the built-in written out under a name of its own, so
    its weights and its Embedder are not the built-in's) against the built-in: the same
    kernels run, so the two rows should agree within noise."""
    import dataclasses

    benchmark.group = "sample_level: built-in vs user file"
    size = "small" if smoke else "paper"
    arch = "sample_level"
    if source == "user file":
        arch = tmp_path / "mine.toml"
        dataclasses.replace(rf.load_architecture("sample_level", size=size), arch="mine").save(arch)
    embedder = rf.Embedder(arch, size=size, n_threads=2)
    assert embedder.builtin == (source == "built-in")
    throughput(lambda: embedder.embed(clip, sr=12000), audio_seconds=SECONDS,
               macs=embedder.describe().macs, threads=2, rounds=3)
