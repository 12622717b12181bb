"""End to end on files: decoding, resampling and the front-end overlap with the network.

Four 29.17 s stereo mp3 files at 44.1 kHz, embedded from their paths, against the same clips
already decoded and resampled in memory; the ratio is the share of in-memory throughput kept.
"""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import randcnn_fast as rf
from randcnn_fast.input.decode import load_file

SECONDS = 350_000 / 12000
N_FILES = 4


@pytest.fixture(scope="module")
def mp3_files(tmp_path_factory):
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile cannot write mp3")
    folder = tmp_path_factory.mktemp("mp3")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(N_FILES):
        stereo = (rng.standard_normal((int(SECONDS * 44100), 2)) * 0.1).astype(np.float32)
        path = folder / f"clip{i}.mp3"
        sf.write(path, stereo, 44100, format="MP3")
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("arch", ["sample_level", "vgg"])
def test_files_against_memory(benchmark, throughput, smoke, mp3_files, arch):
    benchmark.group = f"files {arch}"
    embedder = rf.Embedder(arch, size="small" if smoke else "paper", n_threads=2)
    macs = embedder.describe().macs * N_FILES
    decoded = [load_file(p) for p in mp3_files]
    throughput(lambda: [embedder.embed(clip, sr=12000) for clip in decoded],
               audio_seconds=SECONDS * N_FILES, macs=macs, threads=2, rounds=2)


@pytest.mark.parametrize("arch", ["sample_level", "vgg"])
def test_files_from_paths(benchmark, throughput, smoke, mp3_files, arch):
    benchmark.group = f"files {arch}"
    embedder = rf.Embedder(arch, size="small" if smoke else "paper", n_threads=2)
    macs = embedder.describe().macs * N_FILES
    throughput(lambda: embedder.embed(mp3_files), audio_seconds=SECONDS * N_FILES, macs=macs,
               threads=2, rounds=2)
