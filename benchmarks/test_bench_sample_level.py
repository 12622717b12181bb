"""sample_level at paper size on one 29.17 s clip (350,000 samples at 12 kHz, 137.6 GMAC).

Run alone on a quiet machine: pytest benchmarks/ (other processes halve a 2-thread figure).
"""
from __future__ import annotations

import numpy as np
import pytest

import randcnn_fast as rf

SAMPLES = 350_000


@pytest.fixture(scope="module")
def clip():
    return (np.random.default_rng(0).standard_normal(SAMPLES) * 0.1).astype(np.float32)


@pytest.mark.benchmark(group="sample_level")
@pytest.mark.parametrize("threads", [1, 2])
def test_sample_level_paper(throughput, clip, threads):
    embedder = rf.Embedder("sample_level", size="paper", n_threads=threads)
    macs = embedder.describe(SAMPLES).macs
    throughput(lambda: embedder.embed(clip, sr=12000), audio_seconds=SAMPLES / 12000,
               macs=macs, threads=threads, rounds=5 if threads == 2 else 3)
