"""Inputs of any length: the executor's time tiles, pad="none", block-wise decoding and the
memory bound on a one-hour file."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf
import soxr

import randcnn_fast as rf
from randcnn_fast.input import audio, decode
from randcnn_fast.network.architectures import ARCHITECTURES, FRAME_LEVEL, build
from randcnn_fast.backends.native import run_native, time_scales
from randcnn_fast.network.weights import make_parameters
from cases import noise

NETWORKS = [(arch, mode) for arch in ARCHITECTURES
            for mode in (("faithful", "per_filter") if arch in FRAME_LEVEL else ("faithful",))]


def prime_at_least(n: int) -> int:
    while any(n % d == 0 for d in range(2, int(n**0.5) + 1)):
        n += 1
    return n


@pytest.mark.parametrize("arch, mode", NETWORKS)
def test_tiles_match_the_untiled_run(arch, mode):
    network = build(arch, "small", mode)
    params = make_parameters(network, 0)
    length = max(4 * network.min_length, 300) + 13
    x = noise(network.input_shape(length), seed=length)
    whole = run_native(network, params, x, 1, tile_length=length)
    # A prime tile puts chunk boundaries off every stride and pool; 7 rows are fewer than the
    # receptive field, so deep tensors have chunks that own nothing and halos span chunks.
    for tile in (prime_at_least(length // 3), 7):
        assert tile not in time_scales(network).values()
        tiled = run_native(network, params, x, 1, tile_length=tile)
        np.testing.assert_allclose(tiled, whole, rtol=1e-5, atol=1e-5 * np.abs(whole).max(),
                                   err_msg=f"tile {tile}")


def test_one_chunk_is_the_untiled_run():
    network = build("frame_level", "small")
    params = make_parameters(network, 0)
    x = noise(network.input_shape(network.min_length + 45))
    np.testing.assert_array_equal(run_native(network, params, x, 1),
                                  run_native(network, params, x, 1, tile_length=x.shape[0]))
    with pytest.raises(ValueError, match="tile_length"):
        run_native(network, params, x, 1, tile_length=0)


def test_pad_none_embeds_a_long_clip_whole():
    embedder = rf.Embedder("sample_level", size="small", pad="none", n_threads=1)
    clip = noise(2 * embedder.length * 2 + 12_345)  # three default tiles
    one_chunk = run_native(embedder.network, embedder.parameters(), clip.reshape(-1, 1, 1), 1,
                           tile_length=clip.size)
    got = embedder.embed(clip, sr=12000)
    np.testing.assert_allclose(got, one_chunk, rtol=1e-5, atol=1e-5 * np.abs(one_chunk).max())
    cropped = rf.Embedder("sample_level", size="small", pad="crop", n_threads=1)
    assert np.abs(cropped.embed(clip, sr=12000) - got).max() > 1e-3  # crop kept the start only


def test_pad_none_keeps_short_clips_and_rejects_too_short_ones():
    embedder = rf.Embedder("sample_level", size="small", pad="none", n_threads=1)
    clip = noise(9_000)
    np.testing.assert_array_equal(
        embedder.embed(clip, sr=12000),
        rf.embed(clip, sr=12000, arch="sample_level", size="small", length=9_000, n_threads=1))
    with pytest.raises(ValueError, match="too short"):
        embedder.embed(noise(embedder.network.min_length - 1), sr=12000)


def test_pad_none_on_spectrogram_models():
    embedder = rf.Embedder("timbral_temporal", size="small", pad="none", n_threads=1)
    clip = noise(70 * 12000)  # 3282 frames: two default tiles
    frames = rf.logmel(clip)[:, :, None]
    assert frames.shape[0] > 2 * embedder.length
    one_chunk = run_native(embedder.network, embedder.parameters(), frames, 1,
                           tile_length=frames.shape[0])
    np.testing.assert_allclose(embedder.embed(clip, sr=12000), one_chunk, rtol=1e-5,
                               atol=1e-5 * np.abs(one_chunk).max())


def test_pad_none_on_onnx(monkeypatch):
    pytest.importorskip("onnxruntime")
    clips = [noise(9_000, seed=1), noise(20_000, seed=2)]
    native = rf.Embedder("sample_level", size="small", pad="none", n_threads=1)
    onnx = rf.Embedder("sample_level", size="small", pad="none", n_threads=1, backend="onnx")
    for clip in clips:  # the model's time axis is dynamic: each clip runs whole
        np.testing.assert_allclose(onnx.embed(clip, sr=12000), native.embed(clip, sr=12000),
                                   rtol=1e-4, atol=1e-5)
    from randcnn_fast.backends import onnx_runtime as onnx_backend
    monkeypatch.setattr(onnx_backend, "dynamic_time", lambda network, length: False)
    with pytest.raises(ValueError, match="fixed time axis"):
        rf.Embedder("sample_level", size="small", pad="none", backend="onnx")


def test_cli_embed_pad_none(tmp_path):
    pytest.importorskip("pyarrow")
    pytest.importorskip("pandas")
    from randcnn_fast.cli import main
    from randcnn_fast.extraction.extract import load_embeddings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    paths = []
    for i, seconds in enumerate((0.8, 2.5)):
        paths.append(corpus / f"clip{i}.wav")
        sf.write(paths[-1], noise(int(seconds * 12000), seed=i), 12000, subtype="FLOAT")
    out = tmp_path / "out"
    assert main(["embed", str(corpus), "--out", str(out), "--arch", "sample_level",
                 "--size", "small", "--pad", "none", "--threads", "1"]) == 0
    got, meta = load_embeddings(out)
    expected = rf.Embedder("sample_level", size="small", pad="none", n_threads=1).embed(paths)
    np.testing.assert_array_equal(got, expected)
    assert json.loads((out / "config.json").read_text())["config"]["pad"] == "none"


# ---------------------------------------------------------------- block-wise decoding


@pytest.mark.parametrize("rate", [44100, 12000])
def test_block_decoding_equals_one_shot_resampling(tmp_path, rate):
    frames = noise((3 * decode.BLOCK_FRAMES + 123, 2), seed=rate)
    path = tmp_path / "long.wav"
    sf.write(path, frames, rate, subtype="FLOAT")
    mono = frames.mean(axis=1, dtype=np.float64).astype(np.float32)
    expected = mono if rate == 12000 else soxr.resample(mono, rate, 12000, quality="HQ")
    got = decode.load_file(path)
    assert got.dtype == np.float32 and got.flags.c_contiguous and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_non_finite_samples_in_later_blocks_are_counted_from_the_start(tmp_path):
    frames = noise(2 * decode.BLOCK_FRAMES + 10)
    first = decode.BLOCK_FRAMES + 5
    frames[[first, first + decode.BLOCK_FRAMES]] = np.nan
    path = tmp_path / "bad.wav"
    sf.write(path, frames, 16000, subtype="FLOAT")
    with pytest.raises(audio.AudioError, match=f"contains 2 non-finite .* first at index {first}"):
        decode.load_file(path)


# ---------------------------------------------------------------- memory bound

HOUR = 3600 * 12000  # samples at 12 kHz

# Peak from VmHWM, not getrusage: ru_maxrss survives exec, so a child forked from a large
# pytest process would report the parent's size.
MEASURE = textwrap.dedent("""
    import sys
    import numpy as np
    import randcnn_fast as rf

    def kib(field):
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field))

    embedder = rf.Embedder("sample_level", size="small", pad="none", n_threads=1)
    before = kib("VmRSS:")  # resident now (the peak so far is the import's)
    features = embedder.embed(sys.argv[1])
    assert np.isfinite(features).all() and features.shape == (embedder.n_features,)
    print(before * 1024, kib("VmHWM:") * 1024)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_one_hour_file_embeds_in_bounded_memory(tmp_path):
    path = tmp_path / "hour.wav"
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", 12000, 1, "PCM_16") as f:
        for _ in range(HOUR // 2**20):
            f.write(rng.integers(-8000, 8000, 2**20, dtype=np.int16))
        f.write(rng.integers(-8000, 8000, HOUR % 2**20, dtype=np.int16))
    result = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    before, peak = map(int, result.stdout.split())
    network = build("sample_level", "small")
    maps = [4 * t * f * c for name, (t, f, c) in network.shapes(HOUR).items() if name != "input"]
    audio_bytes = 4 * HOUR
    bound = audio_bytes + 128 * 2**20  # the decoded clip and a fixed working set
    mib = 2**20
    report = (f"peak RSS {peak / mib:.0f} MiB, {(peak - before) / mib:.0f} MiB above the RSS "
              f"before embedding (decoded audio {audio_bytes / mib:.0f} MiB, bound "
              f"{bound / mib:.0f} MiB); untiled feature maps: largest {max(maps) / mib:.0f} MiB, "
              f"all {sum(maps) / mib:.0f} MiB")
    print(report)
    assert max(maps) > bound, report  # the bound would catch a run that held full maps
    assert peak - before < bound, report
