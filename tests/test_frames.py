"""Frame-wise embeddings: the alignment, a brute-force reduction of full feature maps on every
architecture, the whole-clip window, timestamps over an hour, and bad hops and windows."""
from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import randcnn_fast as rf
from randcnn_fast.network.architectures import ARCHITECTURES, FRAME_LEVEL, build
from randcnn_fast.backends.native import run_native_frames
from randcnn_fast.network.frames import frame_grid
from randcnn_fast.network.layers import Concat, Conv, MaxPoolTime, MeanFrequency
from randcnn_fast.network.weights import make_parameters

import reference
from cases import noise

NETWORKS = [(arch, mode) for arch in ARCHITECTURES
            for mode in (("faithful", "per_filter") if arch in FRAME_LEVEL else ("faithful",))]
SR = 12000


def pads(layer, length):
    """Time and frequency padding of a layer, from the reference's own 'same' rule."""
    out = []
    for axis, n in ((0, length[0]), (1, length[1])):
        mode, k, s = layer.padding[axis], layer.kernel[axis], layer.stride[axis]
        out += [(0, 0) if mode == "valid" else reference.same_padding(n, k, s) if mode == "same"
                else tuple(mode)]
    return (*out[0], *out[1])


def full_maps(network, params, x):
    """Every tensor of the network on the whole input, float64, by the NumPy reference."""
    maps = {"input": np.asarray(x, np.float64)}
    for layer in network.layers:
        src = maps[layer.sources[0]]
        if isinstance(layer, Conv):
            w = params[f"{layer.name}.weight"]
            w = w[..., None] if layer.dims == 1 else w
            conv_f = (src.shape[1] + sum(pads(layer, src.shape)[2:]) - layer.kernel[1]) \
                // layer.stride[1] + 1
            pool = (layer.pool[0], conv_f if layer.pool[1] is None else layer.pool[1])
            y = reference.conv2d(src, w, params[f"{layer.name}.bias"], stride=layer.stride,
                                 padding=pads(layer, src.shape), activation=layer.activation,
                                 pool=pool)
            maps[layer.name] = y + maps[layer.residual] if layer.residual else y
        elif isinstance(layer, MaxPoolTime):
            t = src.shape[0] // layer.pool * layer.pool
            maps[layer.name] = src[:t].reshape(-1, layer.pool, *src.shape[1:]).max(axis=1)
        elif isinstance(layer, MeanFrequency):
            maps[layer.name] = src.mean(axis=1, keepdims=True)
        else:
            maps[layer.name] = np.concatenate([maps[s] for s in layer.sources], axis=2)
    return maps


def receptive_fields(network, maps):
    """Per tensor, each position's first and one-past-last input row, found by taking the
    hull of the source positions it reads (positions in the padding continue the grid)."""
    fields = {"input": (np.arange(maps["input"].shape[0]), np.arange(1, maps["input"].shape[0] + 1))}

    def at(field, j):  # a source position, extrapolated evenly into the padding
        lo, hi = field
        step = lo[1] - lo[0] if lo.size > 1 else 1
        return lo[0] + j * step, hi[0] + j * step

    for layer in network.layers:
        src = fields[layer.sources[0]]
        n = maps[layer.name].shape[0]
        if isinstance(layer, (Conv, MaxPoolTime)):
            if isinstance(layer, Conv):
                k, s, pool = layer.kernel[0], layer.stride[0], layer.pool[0]
                before = pads(layer, maps[layer.sources[0]].shape)[0]
            else:
                k, s, pool, before = layer.pool, layer.pool, 1, 0
            first = [p * pool * s - before for p in range(n)]
            last = [(p * pool + pool - 1) * s - before + k - 1 for p in range(n)]
            fields[layer.name] = (np.array([at(src, j)[0] for j in first]),
                                  np.array([at(src, j)[1] for j in last]))
        else:
            fields[layer.name] = src
    return fields


def brute_force_frames(network, maps, fields, n_samples, hop, window, unit):
    """Frame vectors by the documented rule, position by position, in float64."""
    reduced = {}
    for layer in network.layers:
        if isinstance(layer, Concat):
            continue
        lo, hi = fields[layer.name]
        centres = (lo + hi - 1) / 2 * unit  # in samples
        centres = np.clip(centres, 0, n_samples - 1)
        rows = []
        for start in range(0, n_samples - window + 1, hop):
            inside = np.flatnonzero((centres >= start) & (centres < start + window))
            if inside.size == 0:
                inside = [int(np.argmin(np.abs(centres - (start + window / 2))))]
            rows.append(maps[layer.name][inside].mean(axis=(0, 1)))
        reduced[layer.name] = np.array(rows)
    for layer in network.layers:
        if isinstance(layer, Concat):
            reduced[layer.name] = np.concatenate([reduced[s] for s in layer.sources], axis=1)
    parts = []
    for feature in network.features:
        mean = reduced[feature.name]
        if feature.collapse:
            row = np.zeros((mean.shape[0], feature.collapse))
            row[:, 0] = mean.mean(axis=1)
            parts.append(row)
        else:
            parts.append(mean)
    return np.concatenate(parts, axis=1)


def input_of(network, n_samples, seed):
    wave = noise(n_samples, seed)
    if network.input_kind == "waveform":
        return wave, wave.reshape(-1, 1, 1), 1
    return wave, rf.logmel(wave)[:, :, None], 256


@pytest.mark.parametrize("arch, mode", NETWORKS)
def test_frames_equal_a_brute_force_reduction_of_the_full_maps(arch, mode):
    network = build(arch, "small", mode)
    params = make_parameters(network, 0)
    unit = 1 if network.input_kind == "waveform" else 256
    n_samples = max(3 * network.min_length * unit, 12_000) + 1234
    wave, x, unit = input_of(network, n_samples, seed=7)
    maps = full_maps(network, params, x[..., 0][..., None])
    fields = receptive_fields(network, maps)
    # Overlapping windows shorter than the deepest layers' steps (the nearest-position rule),
    # and a tile that puts chunk boundaries inside frames.
    hop, window = 1001, 2500
    grid = frame_grid(n_samples, hop / SR, window / SR)
    tile = max(x.shape[0] // 3 + 1, 7)
    got = run_native_frames(network, params, x, grid, 1, tile_length=tile)
    expected = brute_force_frames(network, maps, fields, n_samples, hop, window, unit)
    assert got.dtype == np.float32 and got.shape == expected.shape == (grid.n_frames, network.n_features)
    np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-4 * np.abs(expected).max())


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_a_window_of_the_whole_clip_is_the_clip_embedding(arch):
    embedder = rf.Embedder(arch, size="small", pad="none", n_threads=1)
    unit = 1 if embedder.network.input_kind == "waveform" else 256
    n = max(embedder.network.min_length * unit, 6000) + 777
    clip = noise(n, seed=3)
    duration = n / SR
    frames, times = embedder.embed_frames(clip, sr=SR, hop=duration, window=duration)
    assert frames.shape == (1, embedder.n_features) and times.tolist() == [duration / 2]
    clip_embedding = embedder.embed(clip, sr=SR)
    np.testing.assert_allclose(frames[0], clip_embedding, rtol=1e-5,
                               atol=1e-5 * np.abs(clip_embedding).max())


def test_frames_do_not_depend_on_the_tile():
    network = build("frame_level_many", "small", "per_filter")
    params = make_parameters(network, 0)
    x = noise(40_000, seed=1).reshape(-1, 1, 1)
    grid = frame_grid(x.shape[0], 0.05, 0.3)
    whole = run_native_frames(network, params, x, grid, 1, tile_length=x.shape[0])
    for tile in (1009, 97, 7):  # 7 rows: deep layers have chunks that own none of their rows
        np.testing.assert_allclose(run_native_frames(network, params, x, grid, 1, tile_length=tile),
                                   whole, rtol=1e-5, atol=1e-6 * np.abs(whole).max())


def test_timestamps_over_an_hour_are_exact_and_end_inside_the_clip():
    n = 3600 * SR + 5
    grid = frame_grid(n, 0.01, 0.025)
    t = grid.timestamps
    assert grid.hop == 120 and grid.window == 300 and t.size == 1 + (n - 300) // 120
    assert t[0] == 0.0125
    assert t[-1] == float(Fraction(2 * (t.size - 1) * 120 + 300, 2 * SR))  # correctly rounded
    assert np.abs(np.diff(t) - 0.01).max() < 1e-9  # even spacing, no drift
    assert (t.size - 1) * 120 + 300 <= n < t.size * 120 + 300  # last frame fits; no room for one more


def test_hop_and_window_round_to_whole_samples():
    grid = frame_grid(SR, 1 / 3000 + 1e-9, 0.5)
    assert grid.hop == 4 and grid.window == 6000


@pytest.mark.parametrize("hop, window, message", [
    (0, 0.5, r"hop=0 s must be positive"),
    (-0.1, 0.5, r"hop=-0.1 s must be positive"),
    (0.1, 0.0, r"window=0.0 s must be positive"),
    (float("nan"), 0.5, r"hop must be a finite number of seconds, got nan"),
    (1e-5, 0.5, r"hop=1e-05 s is shorter than one sample at 12000 Hz"),
    (0.1, 2.5, r"window=2.5 s is longer than audio \(2 s, 24000 samples at 12000 Hz\)"),
    (3.0, 1.0, r"hop=3.0 s is longer than audio \(2 s"),
])
def test_bad_hops_and_windows_are_named_with_their_limit(hop, window, message):
    embedder = rf.Embedder("sample_level", size="small", n_threads=1)
    with pytest.raises(ValueError, match=message):
        embedder.embed_frames(noise(2 * SR), sr=SR, hop=hop, window=window)


def test_a_window_shorter_than_a_layer_step_takes_the_nearest_position():
    embedder = rf.Embedder("sample_level", size="small", n_threads=1)
    # conv6 steps 3**7 = 2187 samples (0.18 s): most 10 ms windows hold none of its centres.
    frames, times = embedder.embed_frames(noise(3 * SR), sr=SR, hop=0.01, window=0.01)
    conv6 = frames[:, -23:]
    assert np.isfinite(frames).all()
    changes = np.flatnonzero(np.any(np.diff(conv6, axis=0) != 0, axis=1))
    assert 10 <= changes.size <= 3 * SR // 2187 + 1  # piecewise constant, one step per position


def test_batches_and_files_give_lists(tmp_path):
    embedder = rf.Embedder("frame_level", size="small", n_threads=1)
    clips = np.stack([noise(SR, 1), noise(SR, 2)])
    frames, times = embedder.embed_frames(clips, sr=SR, hop=0.25, window=0.5)
    assert isinstance(frames, list) and len(frames) == len(times) == 2
    paths = []
    for i, clip in enumerate(clips):
        paths.append(tmp_path / f"c{i}.wav")
        sf.write(paths[-1], clip, SR, subtype="FLOAT")
    from_files, file_times = embedder.embed_frames(paths, hop=0.25, window=0.5)
    for a, b in zip(from_files, frames):
        np.testing.assert_array_equal(a, b)
    one, _ = rf.embed_frames(clips[1], "frame_level", sr=SR, size="small", hop=0.25, window=0.5,
                             n_threads=1)
    np.testing.assert_array_equal(one, frames[1])
    assert frames[0].shape == (3, embedder.n_features)
    np.testing.assert_array_equal(times[0], [0.25, 0.5, 0.75])


def test_frames_reject_logmel_input_and_short_clips():
    with pytest.raises(ValueError, match="takes audio"):
        rf.Embedder("vgg", size="small", input="logmel").embed_frames(np.zeros((2000, 96), np.float32))
    with pytest.raises(ValueError, match="too short"):
        rf.Embedder("sample_level", size="small").embed_frames(noise(2000), sr=SR, hop=0.01,
                                                               window=0.1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_an_hour_of_frames_peaks_within_ten_percent_of_its_clip_embedding():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from frames_cost import peak_memory

    clip_peak = peak_memory("frame_level", "small", "clip", 3600, 0.1, 1.0)
    frames_peak = peak_memory("frame_level", "small", "frames", 3600, 0.1, 1.0)
    report = f"peak above the RSS before: clip {clip_peak / 2**20:.0f} MiB, frames {frames_peak / 2**20:.0f} MiB"
    print(report)
    assert frames_peak <= 1.1 * clip_peak, report


def test_frames_need_the_native_backend():
    pytest.importorskip("onnxruntime")
    embedder = rf.Embedder("sample_level", size="small", pad="none", backend="onnx", n_threads=1)
    with pytest.raises(ValueError, match="embed_frames runs on backend='native'"):
        embedder.embed_frames(noise(SR), sr=SR)



def test_a_chunk_owning_no_rows_adds_nothing():
    from randcnn_fast.network.frames import FrameMeans

    grid = frame_grid(24000, 0.05, 0.3)
    means = FrameMeans(build("sample_level", "small"), 24000, grid, {"conv0"})
    means.add_rows("conv0", np.zeros((0, 1, 23), np.float32), 1000)  # inside frames 0-5
    assert not means.totals["conv0"].any()
