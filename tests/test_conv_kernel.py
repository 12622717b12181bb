"""The fused convolution kernel on every instruction set against the float64 reference.

The 1-D cases (time only) come first, then the 2-D (time x frequency) ones."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from randcnn_fast import _core
import reference

TILE_ROWS = _core.CONV_TILE_POSITIONS  # output positions per task
KC = _core.CONV_KC  # reduction depth per microkernel call


def run(x, w, b, *, stride=1, pad=(0, 0), activation="relu", pool=1, n_threads=1, write=True):
    """The kernel on a 1-D case: x (t, c_in), w (c_out, c_in, k); y comes back as (t, c_out)."""
    y, sums = run2d(x[:, None, :], w[..., None], b, stride=(stride, 1), padding=(*pad, 0, 0),
                    activation=activation, pool=(pool, 1), n_threads=n_threads, write=write)
    return (None if y is None else y[:, 0, :]), sums


def run2d(x, w, b, *, stride=(1, 1), padding=(0, 0, 0, 0), activation="relu", pool=(1, 1),
          n_threads=1, write=True):
    return _core.conv(x, w, b, stride=stride, padding=padding, activation=activation, pool=pool,
                      write_output=write, n_threads=n_threads)


def random_case(rng, t, c_in, c_out, k):
    x = rng.standard_normal((t, c_in)).astype(np.float32)
    w = (rng.standard_normal((c_out, c_in, k)) / np.sqrt(c_in * k)).astype(np.float32)
    b = (0.1 * rng.standard_normal(c_out)).astype(np.float32)
    return x, w, b


def assert_close(y, sums, ref, depth):
    assert y.dtype == np.float32 and y.shape == ref.shape
    scale = max(np.abs(ref).max(), 1e-3)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=2e-6 * scale * np.sqrt(depth))
    positions = ref.size // ref.shape[-1]
    ref_sums = ref.reshape(positions, -1).sum(axis=0)
    # Each sum within its outputs' tolerance added up (a deep reduction to a small output, as
    # one position of a 7 x 96 kernel, can miss 1e-5 of its scale).
    atol = max(1e-5, 2e-6 * np.sqrt(depth)) * scale * positions
    np.testing.assert_allclose(sums, ref_sums, rtol=1e-5, atol=atol)


def check_against_reference(x, w, b, **kw):
    y, sums = run(x, w, b, **kw)
    assert_close(y, sums, reference.conv1d(x, w, b, **kw), w[0].size)


def check_2d(x, w, b, **kw):
    y, sums = run2d(x, w, b, **kw)
    assert_close(y, sums, reference.conv2d(x, w, b, **kw), w[0].size)


def nr():
    return _core.isa_info()["tile"]["nr"]


def mr():
    return _core.isa_info()["tile"]["mr"]


def other_tiles():
    """The register tiles of the other panel widths (one vector, three vectors), which layers
    with few output channels run on."""
    return _core.isa_info()["other_tiles"]


# Rows around one tile, a prime, an odd number and 1; channels around the register tile.
@pytest.mark.parametrize("t_out", [1, 5, 13, TILE_ROWS - 1, TILE_ROWS, TILE_ROWS + 1, 2 * TILE_ROWS + 7])
@pytest.mark.parametrize("c_out_offset", [-1, 0, 1])
def test_rows_and_channels_around_tiles(isa, t_out, c_out_offset):
    rng = np.random.default_rng(t_out * 10 + c_out_offset)
    c_out = max(1, nr() + c_out_offset)
    x, w, b = random_case(rng, t_out + 2, 5, c_out, 3)
    check_against_reference(x, w, b)


@pytest.mark.parametrize("c_out", [1, 2, 3, 7, 31, 33, 67])
def test_output_channel_counts(isa, c_out):
    rng = np.random.default_rng(c_out)
    x, w, b = random_case(rng, 29, 4, c_out, 3)
    check_against_reference(x, w, b)


# Layers with few output channels run on panels of one or three vectors: rows around those
# register tiles and a task, channels around their widths.
@pytest.mark.parametrize("tile", [0, 1])
@pytest.mark.parametrize("t_out", [1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 25, TILE_ROWS - 1, TILE_ROWS + 1,
                                   2 * TILE_ROWS + 7])
@pytest.mark.parametrize("c_out_offset", [-2, -1, 0])
def test_rows_and_channels_around_the_other_tiles(isa, tile, t_out, c_out_offset):
    rng = np.random.default_rng(t_out * 10 - c_out_offset + 1000 * tile)
    c_out = max(1, other_tiles()[tile]["nr"] + c_out_offset)
    x, w, b = random_case(rng, t_out, 7, c_out, 165)
    check_against_reference(x, w, b, pad=(82, 82))
    if t_out >= 3:
        check_against_reference(x, w, b, pool=3, pad=(82, 82), activation="none")


def test_every_panel_width_gives_the_same_bits(isa):
    # Each output channel is the same chain of multiply-adds whichever panel computes it: the
    # first channels of a wide layer are those of narrower layers with the same weights.
    rng = np.random.default_rng(17)
    x, w, b = random_case(rng, 3 * TILE_ROWS + 5, 3, 2 * nr() + 1, 7)
    for kw in ({}, {"pool": 3, "pad": (3, 3)}, {"stride": 2}):
        y_wide, s_wide = run(x, w, b, **kw)
        for tile in other_tiles():
            n = tile["nr"]
            y, s = run(x, w[:n], b[:n], **kw)
            np.testing.assert_array_equal(y, y_wide[:, :n])
            np.testing.assert_array_equal(s, s_wide[:n])


@pytest.mark.parametrize("rows", [1, 2, 7, 11])
def test_rows_below_the_register_tile(isa, rows):
    rng = np.random.default_rng(rows)
    x, w, b = random_case(rng, rows, 3, 2 * nr() + 1, 1)
    check_against_reference(x, w, b)


# Reduction depth k * c_in below, at and above the microkernel's reduction block.
@pytest.mark.parametrize("k,c_in", [(1, KC - 1), (2, KC // 2), (1, KC + 1), (3, 86), (3, 171), (7, 13)])
def test_reduction_depth_around_the_block(isa, k, c_in):
    rng = np.random.default_rng(k * 1000 + c_in)
    x, w, b = random_case(rng, 37, c_in, 19, k)
    check_against_reference(x, w, b)


@pytest.mark.parametrize("stride", [1, 2, 3, 5, 32])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("k", [1, 3, 4, 7])
def test_strides_and_padding(isa, stride, padding, k):
    rng = np.random.default_rng(stride * 100 + k)
    t = 3 * TILE_ROWS + 11
    x, w, b = random_case(rng, t, 2, 9, k)
    pad = reference.same_padding(t, k, stride) if padding == "same" else (0, 0)
    check_against_reference(x, w, b, stride=stride, pad=pad)


def test_large_kernel_stride_like_frame_level(isa):
    rng = np.random.default_rng(7)
    x, w, b = random_case(rng, 4000, 1, 21, 512)
    check_against_reference(x, w, b, stride=32)
    check_against_reference(x, w, b, stride=32, pad=reference.same_padding(4000, 512, 32))


# One input channel and few output channels: output positions go in the vector lanes
# (KernelTable::lanes_gemm) rather than channels; algorithm "lanes" forces that path. Rows
# around its blocks of positions, channels around its groups of four and the panels, runs
# around the reduction block.
def run_lanes(x, w, b, *, stride=1, pad=(0, 0), activation="relu", pool=1, algorithm="lanes"):
    y, sums = _core.conv(x[:, None, :], w[..., None], b, stride=(stride, 1),
                         padding=(*pad, 0, 0), activation=activation, pool=(pool, 1),
                         write_output=True, n_threads=1, algorithm=algorithm)
    return y[:, 0, :], sums


@pytest.mark.parametrize("t_out", [1, 5, 13, 47, TILE_ROWS - 1, TILE_ROWS, TILE_ROWS + 1,
                                   2 * TILE_ROWS + 7])
@pytest.mark.parametrize("c_out", [1, 3, 6, 20, 23, 40, 49])
def test_positions_in_lanes(isa, t_out, c_out):
    rng = np.random.default_rng(t_out * 100 + c_out)
    for k, stride in ((1, 1), (3, 3), (165, 1), (KC + 1, 3), (512, 32)):
        x, w, b = random_case(rng, (t_out - 1) * stride + k, 1, c_out, k)
        for kw in ({}, {"pool": 2 if t_out > 1 else 1, "activation": "none",
                        "pad": reference.same_padding(len(x), k, stride)}):
            y, sums = run_lanes(x, w, b, stride=stride, **kw)
            assert_close(y, sums, reference.conv1d(x, w, b, stride=stride, **kw), k)


@pytest.mark.parametrize("t_out", [1, 7, TILE_ROWS + 1, 3 * TILE_ROWS + 11])
@pytest.mark.parametrize("c_out,k", [(1, 600), (6, 97), (20, 512), (23, 3), (40, 512)])
def test_positions_in_lanes_give_the_channel_panels_bits(isa, t_out, c_out, k):
    # Each output is the same chain of multiply-adds in either layout.
    rng = np.random.default_rng(t_out + c_out)
    x, w, b = random_case(rng, t_out + k - 1, 1, c_out, k)
    for kw in ({}, {"pool": 3, "pad": (k // 2, k // 2)}, {"stride": 32}):
        y, sums = run_lanes(x, w, b, **kw)
        for algorithm in ("direct", "auto"):
            y2, sums2 = run_lanes(x, w, b, algorithm=algorithm, **kw)
            np.testing.assert_array_equal(y, y2)
            np.testing.assert_array_equal(sums, sums2)


@pytest.mark.parametrize("c_in,stride_f", [(2, 1), (1, 2)])
def test_lanes_where_it_does_not_apply_is_an_error(c_in, stride_f):
    x = np.zeros((10, 8, c_in), np.float32)
    w = np.zeros((3, c_in, 3, 2), np.float32)
    with pytest.raises(ValueError, match="lanes needs"):
        _core.conv(x, w, np.zeros(3, np.float32), stride=(1, stride_f), padding=(0, 0, 0, 0),
                   activation="relu", pool=(1, 1), write_output=True, n_threads=1,
                   algorithm="lanes")


@pytest.mark.parametrize("pool", [1, 2, 3, 4, 5, 97])
@pytest.mark.parametrize("activation", ["relu", "none"])
def test_pool_and_activation(isa, pool, activation):
    rng = np.random.default_rng(pool)
    t = 2 * TILE_ROWS + pool + 1
    x, w, b = random_case(rng, t, 6, 17, 3)
    check_against_reference(x, w, b, pool=pool, activation=activation, pad=(1, 1))


def test_padding_wider_than_input(isa):
    rng = np.random.default_rng(3)
    x, w, b = random_case(rng, 2, 3, 5, 7)
    check_against_reference(x, w, b, pad=(4, 5))


def test_sums_without_output(isa):
    rng = np.random.default_rng(11)
    x, w, b = random_case(rng, 500, 8, 20, 3)
    y, sums = run(x, w, b, pool=3)
    none, sums_only = run(x, w, b, pool=3, write=False)
    assert none is None
    np.testing.assert_array_equal(sums, sums_only)
    np.testing.assert_allclose(sums, y.astype(np.float64).sum(axis=0), rtol=1e-5)


# Long enough for three workers (each joins a layer for CONV_LANE_MACS_PER_WORKER multiply-adds
# of its own); 64 output channels fill whole panels of every width.
PER_WORKER = _core.CONV_LANE_MACS_PER_WORKER


def test_results_do_not_depend_on_thread_count(isa):
    rng = np.random.default_rng(5)
    c_in, c_out, k = 16, 64, 3
    x, w, b = random_case(rng, 3 * PER_WORKER // (c_in * k * c_out) + 13, c_in, c_out, k)
    y1, s1 = run(x, w, b, pool=3, n_threads=1)
    for n in (2, 3, 0):
        y, s = run(x, w, b, pool=3, n_threads=n)
        np.testing.assert_array_equal(y, y1)
        np.testing.assert_array_equal(s, s1)


def test_instruction_sets_agree():
    rng = np.random.default_rng(9)
    x, w, b = random_case(rng, 1000, 32, 45, 3)
    before = _core.isa_info()["active"]
    results = {}
    try:
        for name in _core.isa_info()["supported"]:
            _core.set_isa(name)
            results[name] = run(x, w, b, pool=3)[0]
    finally:
        _core.set_isa(before)
    base = results["scalar"]
    for name, y in results.items():
        np.testing.assert_allclose(y, base, rtol=1e-5, atol=1e-5 * np.abs(base).max(), err_msg=name)


@settings(max_examples=40, deadline=None)
@given(t=st.integers(1, 300), c_in=st.integers(1, 20), c_out=st.integers(1, 40),
       k=st.integers(1, 9), stride=st.integers(1, 4), pool=st.integers(1, 4),
       same=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_random_shapes(t, c_in, c_out, k, stride, pool, same, seed):
    pad = reference.same_padding(t, k, stride) if same else (0, 0)
    if (t + sum(pad) - k) // stride + 1 < pool or t + sum(pad) < k:
        return  # too short for one pooled row; covered by test_too_short_is_an_error
    x, w, b = random_case(np.random.default_rng(seed), t, c_in, c_out, k)
    check_against_reference(x, w, b, stride=stride, pad=pad, pool=pool)


def test_too_short_is_an_error():
    x, w, b = random_case(np.random.default_rng(0), 4, 1, 3, 5)
    with pytest.raises(ValueError, match="too short"):
        run(x, w, b)
    with pytest.raises(ValueError, match="too short"):
        run(np.ones((6, 1), np.float32), w, b, pool=3)


def test_wrong_dtype_and_shapes_are_rejected():
    x, w, b = random_case(np.random.default_rng(0), 10, 2, 3, 3)
    with pytest.raises(TypeError):
        run(x.astype(np.float64), w, b)
    with pytest.raises(TypeError):
        run(np.asfortranarray(np.ones((10, 2), np.float32)), w, b)
    with pytest.raises(ValueError, match="input channels"):
        run(np.ones((10, 3), np.float32), w, b)
    with pytest.raises(ValueError, match="activation"):
        run(x, w, b, activation="tanh")
    with pytest.raises(ValueError, match="4-D"):
        _core.conv(x[:, None, :], w, b, stride=(1, 1), padding=(0, 0, 0, 0), activation="relu",
                   pool=(1, 1), write_output=True, n_threads=1)
    with pytest.raises(ValueError):
        run(x, w, b, n_threads=-1)


# ---------------------------------------------------------------- 2-D: time x frequency


def random_2d(rng, t, f, c_in, c_out, kh, kw):
    x = rng.standard_normal((t, f, c_in)).astype(np.float32)
    w = (rng.standard_normal((c_out, c_in, kh, kw)) / np.sqrt(c_in * kh * kw)).astype(np.float32)
    b = (0.1 * rng.standard_normal(c_out)).astype(np.float32)
    return x, w, b


@pytest.mark.parametrize("t,f,c_in", [(1, 1, 1), (7, 5, 3), (13, 96, 1), (40, 48, 9), (23, 16, 33)])
@pytest.mark.parametrize("pool", [(1, 1), (4, 2), (4, 3), (5, 2)])
@pytest.mark.parametrize("activation", ["elu", "relu"])
def test_3x3_same_like_vgg(isa, t, f, c_in, pool, activation):
    rng = np.random.default_rng(t * f + c_in)
    x, w, b = random_2d(rng, t, f, c_in, 2 * nr() + 3, 3, 3)
    if t < pool[0] or f < pool[1]:
        return
    check_2d(x, w, b, padding=(1, 1, 1, 1), pool=pool, activation=activation)


@pytest.mark.parametrize("kh,kw,pool_f", [(7, 96, 1), (7, 86, 11), (7, 86, 1), (3, 38, 59), (1, 86, 11)])
@pytest.mark.parametrize("t", [7, 8, 2 * TILE_ROWS + 5])
def test_tall_filters_over_the_mel_axis(isa, kh, kw, pool_f, t):
    rng = np.random.default_rng(kh * kw + t)
    x, w, b = random_2d(rng, t, 96, 1, 37, kh, kw)
    check_2d(x, w, b, pool=(1, pool_f))


@pytest.mark.parametrize("kh,kw,pool_f", [(7, 86, 11), (3, 38, 59), (1, 38, 59)])
def test_time_padded_timbral_shapes(isa, kh, kw, pool_f):
    rng = np.random.default_rng(kh + kw)
    x, w, b = random_2d(rng, 50, 96, 1, 19, kh, kw)
    check_2d(x, w, b, padding=(kh // 2, kh // 2, 0, 0), pool=(1, pool_f))


@pytest.mark.parametrize("t", [7, 8, 100])
def test_backend_kernel_spanning_all_filters(isa, t):
    # Frame-level back-end: a [7, nf] kernel over the front-end map seen as a 1-channel image.
    rng = np.random.default_rng(t)
    x, w, b = random_2d(rng, t, 45, 1, 45, 7, 45)
    check_2d(x, w, b)
    check_2d(x, w, b, padding=(3, 3, 0, 0), pool=(2, 1))


def test_frequency_stride_and_uneven_padding(isa):
    rng = np.random.default_rng(12)
    x, w, b = random_2d(rng, 31, 20, 4, 9, 3, 4)
    check_2d(x, w, b, stride=(2, 3), padding=(0, 2, 1, 2), pool=(2, 2))


def test_2d_thread_count_and_sums_only(isa):
    rng = np.random.default_rng(8)
    f, c_in, c_out = 24, 5, 64
    x, w, b = random_2d(rng, 3 * PER_WORKER // (f * c_in * 9 * c_out) + 7, f, c_in, c_out, 3, 3)
    kw = dict(padding=(1, 1, 1, 1), pool=(4, 3), activation="elu")
    y1, s1 = run2d(x, w, b, n_threads=1, **kw)
    y2, s2 = run2d(x, w, b, n_threads=2, **kw)
    none, s3 = run2d(x, w, b, n_threads=2, write=False, **kw)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(s1, s3)
    assert none is None


def test_long_input_spans_many_chunks(isa):
    # More tiles than the kernel keeps partial sums for at once: sums still exact. 2048
    # channels fill whole panels of every width, so each tile keeps 2048 partial sums.
    channels = 2048
    per_chunk = max(_core.CONV_MIN_TILES_PER_CHUNK, _core.CONV_CHUNK_SUM_FLOATS // channels)
    rng = np.random.default_rng(13)
    x, w, b = random_case(rng, (per_chunk + 12) * TILE_ROWS + 17, 1, channels, 1)
    check_against_reference(x, w, b, pool=3)


@settings(max_examples=40, deadline=None)
@given(t=st.integers(1, 60), f=st.integers(1, 30), c_in=st.integers(1, 6), c_out=st.integers(1, 20),
       kh=st.integers(1, 5), kw=st.integers(1, 5), st_=st.integers(1, 3), sf=st.integers(1, 3),
       pads=st.tuples(*[st.integers(0, 2)] * 4), pool=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       activation=st.sampled_from(["none", "relu", "elu"]), seed=st.integers(0, 2**32 - 1))
def test_random_2d_shapes(t, f, c_in, c_out, kh, kw, st_, sf, pads, pool, activation, seed):
    t_out = (t + pads[0] + pads[1] - kh) // st_ + 1 if t + pads[0] + pads[1] >= kh else 0
    f_out = (f + pads[2] + pads[3] - kw) // sf + 1 if f + pads[2] + pads[3] >= kw else 0
    if t_out < pool[0] or f_out < pool[1]:
        return  # too short for one pooled output
    x, w, b = random_2d(np.random.default_rng(seed), t, f, c_in, c_out, kh, kw)
    check_2d(x, w, b, stride=(st_, sf), padding=pads, pool=pool, activation=activation)


# 2-D layers over one input channel put a row's frequency positions in the lanes (whole vectors
# a row, the last one partial), or, with one position a row (a kernel as wide as the input),
# positions along time. Positions a row (cols) around the vector and the block, kernels 1 wide
# to full width, several taps and strides over time, then runs around the reduction block.
def run_lanes2d(x, w, b, *, stride=(1, 1), padding=(0, 0, 0, 0), activation="relu", pool=(1, 1),
                algorithm="lanes"):
    return _core.conv(x, w, b, stride=stride, padding=padding, activation=activation, pool=pool,
                      write_output=True, n_threads=1, algorithm=algorithm)


@pytest.mark.parametrize("t_out", [1, 2, 7, 13, TILE_ROWS + 1])
@pytest.mark.parametrize("f,kw", [(1, 1), (5, 1), (16, 1), (17, 1), (31, 16), (47, 16), (97, 1),
                                  (96, 38), (96, 86), (96, 96)])
@pytest.mark.parametrize("c_out", [1, 4, 7, 8, 17])
def test_2d_positions_in_lanes(isa, t_out, f, kw, c_out):
    rng = np.random.default_rng(t_out * 1000 + f * 10 + c_out)
    cols = f - kw + 1
    for kh, stride_t in ((1, 1), (3, 1), (7, 1), (3, 2), (2, 3)):
        x, w, b = random_2d(rng, (t_out - 1) * stride_t + kh, f, 1, c_out, kh, kw)
        for kwargs in ({}, {"pool": (1, cols), "padding": (kh // 2, kh // 2, 0, 0),
                            "activation": "none"}, {"padding": (0, 1, 2, 1), "pool": (1, 2)}):
            kwargs["stride"] = (stride_t, 1)
            y, sums = run_lanes2d(x, w, b, **kwargs)
            assert_close(y, sums, reference.conv2d(x, w, b, **kwargs), kh * kw)


@pytest.mark.parametrize("t_out", [1, 13])
@pytest.mark.parametrize("kw", [KC - 1, KC, KC + 1, 2 * KC + 1])
@pytest.mark.parametrize("c_out", [3, 8])
def test_2d_lanes_runs_around_the_reduction_block(isa, t_out, kw, c_out):
    rng = np.random.default_rng(t_out + kw + c_out)
    for kh in (1, 3):
        x, w, b = random_2d(rng, t_out + kh - 1, kw + 20, 1, c_out, kh, kw)
        y, sums = run_lanes2d(x, w, b, pool=(1, 3))
        assert_close(y, sums, reference.conv2d(x, w, b, pool=(1, 3)), kh * kw)


@pytest.mark.parametrize("t_out", [1, 8, 3 * TILE_ROWS + 11])
@pytest.mark.parametrize("c_out,kh,kw", [(1, 7, 38), (4, 7, 86), (8, 3, 38), (8, 1, 86), (12, 1, 38),
                                         (17, 5, 40), (8, 3, 2), (5, 7, 96)])
def test_2d_positions_in_lanes_give_the_channel_panels_bits(isa, t_out, c_out, kh, kw):
    # Each output is the same chain of multiply-adds in either layout, also in Winograd's
    # products (auto takes them for 3, 5 and 7 taps over enough rows): a narrow layer, in the
    # lanes, gives the first channels of a wide one with the same weights, on the panels.
    rng = np.random.default_rng(t_out + c_out + kh + kw)
    x, w, b = random_2d(rng, t_out + kh - 1, 96, 1, 64, kh, kw)
    cols = 96 - kw + 1
    for kwargs in ({}, {"pool": (1, cols), "padding": (kh // 2, kh // 2, 0, 0)},
                   {"stride": (2, 1), "padding": (0, 0, 3, 3)}):
        y, sums = run_lanes2d(x, w[:c_out], b[:c_out], **kwargs)
        y2, sums2 = run_lanes2d(x, w[:c_out], b[:c_out], algorithm="direct", **kwargs)
        np.testing.assert_array_equal(y, y2)
        np.testing.assert_array_equal(sums, sums2)
        y_auto, sums_auto = run_lanes2d(x, w[:c_out], b[:c_out], algorithm="auto", **kwargs)
        y_wide, sums_wide = run_lanes2d(x, w, b, algorithm="auto", **kwargs)
        np.testing.assert_array_equal(y_auto, y_wide[..., :c_out])
        np.testing.assert_array_equal(sums_auto, sums_wide[:c_out])


@settings(max_examples=60, deadline=None)
@given(t=st.integers(1, 40), f=st.integers(1, 70), c_out=st.integers(1, 20), kh=st.integers(1, 7),
       kw=st.integers(1, 40), st_=st.integers(1, 3), pads=st.tuples(*[st.integers(0, 3)] * 4),
       pool=st.tuples(st.integers(1, 3), st.integers(1, 3)), seed=st.integers(0, 2**32 - 1))
def test_random_2d_lanes_shapes(t, f, c_out, kh, kw, st_, pads, pool, seed):
    t_out = (t + pads[0] + pads[1] - kh) // st_ + 1 if t + pads[0] + pads[1] >= kh else 0
    f_out = f + pads[2] + pads[3] - kw + 1
    if t_out < pool[0] or f_out < pool[1]:
        return  # too short for one pooled output
    x, w, b = random_2d(np.random.default_rng(seed), t, f, 1, c_out, kh, kw)
    kwargs = dict(stride=(st_, 1), padding=pads, pool=pool)
    y, sums = run_lanes2d(x, w, b, **kwargs)
    assert_close(y, sums, reference.conv2d(x, w, b, **kwargs), kh * kw)
    y2, sums2 = run_lanes2d(x, w, b, algorithm="direct", **kwargs)
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(sums, sums2)
