"""Winograd minimal filtering over time (F(6,3), F(4,5), F(4,7)) on every instruction set,
forced with algorithm="winograd", against the float64 reference and the direct kernel."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from randcnn_fast import _core
import reference
from cases import conv_case as case

# Winograd's transforms add rounding: its outputs stay within this fraction of the largest
# output (the direct kernel's bound is a few 1e-7).
TOLERANCE = 3e-5


def conv(x, w, b, algorithm="winograd", *, padding=(0, 0, 0, 0), pool=(1, 1), activation="relu",
         stride_f=1, n_threads=1, write=True, residual=None):
    return _core.conv(x, w, b, stride=(1, stride_f), padding=padding, activation=activation,
                      pool=pool, write_output=write, n_threads=n_threads, residual=residual,
                      algorithm=algorithm)


def check(x, w, b, **kw):
    y, sums = conv(x, w, b, **kw)
    kw.pop("n_threads", None)
    stride_f = kw.pop("stride_f", 1)
    ref = reference.conv2d(x, w, b, stride=(1, stride_f), **kw)
    assert y.shape == ref.shape
    scale = max(np.abs(ref).max(), 1e-3)
    np.testing.assert_allclose(y, ref, rtol=0, atol=TOLERANCE * scale)
    positions = ref.shape[0] * ref.shape[1]
    np.testing.assert_allclose(sums, ref.sum(axis=(0, 1)), rtol=0, atol=TOLERANCE * scale * positions)


# Output rows: 1, below, at and past one Winograd tile (m = 4 or 6), primes, and past a task.
@pytest.mark.parametrize("rows", [1, 2, 5, 6, 7, 13, 97, 383, 384, 385, 1031])
@pytest.mark.parametrize("k", [3, 5, 7])
def test_rows_around_tiles(isa, rows, k):
    rng = np.random.default_rng(rows * 10 + k)
    x, w, b = case(rng, rows + k - 1, 1, 9, 11, k, 1)
    check(x, w, b)


@pytest.mark.parametrize("c_in,c_out", [(1, 1), (2, 3), (31, 33), (40, 67), (257, 17)])
def test_channels_around_tiles_and_blocks(isa, c_in, c_out):
    rng = np.random.default_rng(c_in + 7 * c_out)
    x, w, b = case(rng, 61, 1, c_in, c_out, 3, 1)
    check(x, w, b, padding=(1, 1, 0, 0), pool=(3, 1))


# Panels of one or three vectors for few output channels, 1-D and over the mel axis.
@pytest.mark.parametrize("c_out", [1, 3, 7, 8, 15, 16, 23, 24, 40, 47, 48])
@pytest.mark.parametrize("k", [3, 7])
def test_few_output_channels(isa, c_out, k):
    rng = np.random.default_rng(c_out * 10 + k)
    x, w, b = case(rng, 131, 1, 40, c_out, k, 1)
    check(x, w, b, padding=(k // 2, k // 2, 0, 0), pool=(2, 1))
    x, w, b = case(rng, 29, 96, 1, c_out, k, 38)
    check(x, w, b, padding=(k // 2, k // 2, 0, 0), pool=(1, 59))


def test_every_panel_width_gives_the_same_bits(isa):
    rng = np.random.default_rng(3)
    x, w, b = case(rng, 97, 1, 40, 2 * _core.isa_info()["tile"]["nr"] + 1, 7, 1)
    y_wide, s_wide = conv(x, w, b, padding=(3, 3, 0, 0), pool=(2, 1))
    for tile in _core.isa_info()["other_tiles"]:
        n = tile["nr"]
        y, s = conv(x, w[:n], b[:n], padding=(3, 3, 0, 0), pool=(2, 1))
        np.testing.assert_array_equal(y, y_wide[..., :n])
        np.testing.assert_array_equal(s, s_wide[:n])


@pytest.mark.parametrize("k,padding", [(3, (1, 1)), (7, (3, 3)), (5, (2, 2)), (7, (0, 0)), (3, (0, 1))])
@pytest.mark.parametrize("pool", [1, 2, 3, 5])
def test_same_and_valid_padding_with_pooling(isa, k, padding, pool):
    rng = np.random.default_rng(k * 100 + pool)
    x, w, b = case(rng, 50, 1, 12, 20, k, 1)
    check(x, w, b, padding=(*padding, 0, 0), pool=(pool, 1), activation="elu")


@pytest.mark.parametrize("t,f,c_in,pool", [(20, 12, 5, (2, 3)), (86, 16, 33, (5, 2)), (9, 48, 3, (4, 2))])
def test_3x3_over_time_and_frequency_like_vgg(isa, t, f, c_in, pool):
    rng = np.random.default_rng(t + f)
    x, w, b = case(rng, t, f, c_in, 19, 3, 3)
    check(x, w, b, padding=(1, 1, 1, 1), pool=pool, activation="elu")


@pytest.mark.parametrize("t", [7, 8, 40])
def test_full_band_filters_like_7x86(isa, t):
    rng = np.random.default_rng(t)
    x, w, b = case(rng, t, 96, 1, 23, 7, 86)
    check(x, w, b, pool=(1, 11))
    check(x, w, b, pool=(1, 1), stride_f=2)


def test_residual_and_sums_only(isa):
    rng = np.random.default_rng(3)
    x, w, b = case(rng, 70, 1, 16, 16, 7, 1)
    residual = rng.standard_normal((70, 1, 16)).astype(np.float32)
    y, sums = conv(x, w, b, padding=(3, 3, 0, 0), residual=residual)
    ref = reference.conv2d(x, w, b, padding=(3, 3, 0, 0)) + residual
    np.testing.assert_allclose(y, ref, rtol=0, atol=TOLERANCE * np.abs(ref).max())
    none, sums_only = conv(x, w, b, padding=(3, 3, 0, 0), residual=residual, write=False)
    assert none is None
    np.testing.assert_array_equal(sums_only, sums)


def test_results_do_not_depend_on_thread_count(isa):
    # Long enough for three workers: each joins for CONV_LANE_MACS_PER_WORKER multiply-adds of
    # its own, and F(6,3) makes 8 rows of products per 6 output rows; 64 channels fill whole
    # panels of every width.
    rng = np.random.default_rng(4)
    c_in, c_out = 24, 64
    rows = 3 * _core.CONV_LANE_MACS_PER_WORKER * 6 // (8 * c_in * c_out) + 11
    x, w, b = case(rng, rows, 1, c_in, c_out, 3, 1)
    y1, s1 = conv(x, w, b, padding=(1, 1, 0, 0), pool=(3, 1), n_threads=1)
    for n in (2, 3):
        y, s = conv(x, w, b, padding=(1, 1, 0, 0), pool=(3, 1), n_threads=n)
        np.testing.assert_array_equal(y1, y)
        np.testing.assert_array_equal(s1, s)


def test_auto_takes_winograd_for_deep_layers_and_agrees_with_direct(isa):
    rng = np.random.default_rng(5)
    x, w, b = case(rng, 300, 1, 64, 48, 3, 1)
    y_auto, _ = conv(x, w, b, "auto", padding=(1, 1, 0, 0))
    y_wino, _ = conv(x, w, b, "winograd", padding=(1, 1, 0, 0))
    y_direct, _ = conv(x, w, b, "direct", padding=(1, 1, 0, 0))
    np.testing.assert_array_equal(y_auto, y_wino)
    np.testing.assert_allclose(y_wino, y_direct, rtol=0, atol=TOLERANCE * np.abs(y_direct).max())
    assert not np.array_equal(y_wino, y_direct)  # the two really are different algorithms


@pytest.mark.parametrize("stride,k", [(2, 3), (1, 4), (1, 1), (3, 3)])
def test_winograd_where_it_does_not_apply_is_an_error(stride, k):
    x, w, b = case(np.random.default_rng(0), 20, 1, 4, 4, k, 1)
    with pytest.raises(ValueError, match="Winograd needs stride 1"):
        _core.conv(x, w, b, stride=(stride, 1), padding=(0, 0, 0, 0), activation="relu",
                   pool=(1, 1), write_output=True, n_threads=1, algorithm="winograd")
    with pytest.raises(ValueError, match="unknown algorithm"):
        _core.conv(x, w, b, stride=(1, 1), padding=(0, 0, 0, 0), activation="relu",
                   pool=(1, 1), write_output=True, n_threads=1, algorithm="fft")


@settings(max_examples=30, deadline=None)
@given(t_out=st.integers(1, 200), f=st.integers(1, 12), c_in=st.integers(1, 40),
       c_out=st.integers(1, 40), k=st.sampled_from([3, 5, 7]), kw=st.integers(1, 4),
       same=st.booleans(), pool=st.tuples(st.integers(1, 4), st.integers(1, 3)),
       seed=st.integers(0, 2**32 - 1))
def test_random_shapes(t_out, f, c_in, c_out, k, kw, same, pool, seed):
    kw = min(kw, f)
    t = t_out * pool[0] + (0 if same else k - 1)
    padding = ((k - 1) // 2, k // 2, 0, 0) if same else (0, 0, 0, 0)
    if (f - kw + 1) < pool[1]:
        return  # too narrow for one pooled output
    x, w, b = case(np.random.default_rng(seed), t, f, c_in, c_out, k, kw)
    check(x, w, b, padding=padding, pool=pool)


@pytest.mark.parametrize("arch", ["sample_level", "frame_level", "frame_level_many", "vgg", "7x96", "7x86"])
def test_networks_match_direct_convolution(arch):
    """Whole embeddings with the automatic choice (Winograd on the heavy layers) against every
    layer forced to direct convolution: within 1e-4 relative."""
    import randcnn_fast
    from randcnn_fast.backends import native as executor
    # Paper size: the small networks' layers are too shallow for Winograd to pay.
    waveform = arch in ("sample_level", "frame_level", "frame_level_many")
    # Per-filter back-end features: the faithful ones (one mean per layer) round the difference away.
    embedder = randcnn_fast.Embedder(arch, size="paper", n_threads=2,
                                     length=30_000 if waveform else None,
                                     backend_features="per_filter" if "frame" in arch else "faithful")
    rng = np.random.default_rng(11)
    n = 30_000 if waveform else 256 * 1400
    clip = (0.1 * rng.standard_normal(n)).astype(np.float32)
    automatic = embedder.embed(clip, sr=12000)
    (x,), _, _ = embedder._input_maps(clip, 12000)
    direct = executor.NativeRunner(embedder.network, embedder.parameters(),
                                   algorithm="direct").embed(x, 2)
    big = np.abs(direct) >= 1e-2 * np.abs(direct).max()  # entries that are not cancellations
    assert np.max(np.abs(automatic - direct)[big] / np.abs(direct)[big]) <= 1e-4
    assert not np.array_equal(automatic, direct)  # Winograd did run somewhere
