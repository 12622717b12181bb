"""precision="bf16": bfloat16 multiplies with float32 accumulation where the CPU has
AVX512-BF16 and they pay, float32 elsewhere; on every instruction set."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import randcnn_fast
from randcnn_fast import _core
import reference
from cases import conv_case as case
from conftest import isa_fixture


def to_bf16(a) -> np.ndarray:
    """float32 rounded to the nearest bfloat16 (ties to even), kept as float32."""
    bits = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16
    return bits.astype(np.uint32).view(np.float32)


def conv(x, w, b, precision, algorithm="direct", *, stride=(1, 1), padding=(0, 0, 0, 0),
         pool=(1, 1), n_threads=1):
    return _core.conv(x, w, b, stride=stride, padding=padding, activation="relu", pool=pool,
                      write_output=True, n_threads=n_threads, algorithm=algorithm,
                      precision=precision)


def _cpu_has_bf16() -> bool:
    try:
        _core.set_bf16_mode("native")
    except ValueError:
        return False
    finally:
        _core.set_bf16_mode("auto")
    return True


CPU_HAS_BF16 = _cpu_has_bf16()


@pytest.fixture(autouse=True)
def bf16_kernels_wherever_the_cpu_has_them():
    """The kernels are tested on every CPU that can run them, also where "auto" would not
    take them (Intel's, on which they are slower than float32)."""
    _core.set_bf16_mode("native" if CPU_HAS_BF16 else "auto")
    yield
    _core.set_bf16_mode("auto")


def _isas_where_bf16_is(native: bool) -> list[str]:
    """The supported instruction sets on which precision "bf16" runs bfloat16 kernels (True)
    or falls back to float32 (False), with the kernels taken wherever the CPU has them."""
    before = _core.isa_info()["active"]
    try:
        _core.set_bf16_mode("native" if CPU_HAS_BF16 else "auto")
        found = []
        for isa in _core.isa_info()["supported"]:
            _core.set_isa(isa)
            if _core.isa_info()["bf16"] == native:
                found.append(isa)
        return found
    finally:
        _core.set_isa(before)
        _core.set_bf16_mode("auto")


bf16_isa = isa_fixture(_isas_where_bf16_is(True),
                        "no instruction set of this CPU has AVX512-BF16: bf16 kernels cannot run")
fallback_isa = isa_fixture(_isas_where_bf16_is(False),
                            "every instruction set here runs bf16 kernels: no float32 fallback")


def test_rounding_helper_matches_the_definition():
    x = np.array([1.0, 1.00390625, 1.005859375, -3.0e-5, 65504.0], np.float32)
    # 1 + 2^-8 is a tie between 1 and 1 + 2^-7: to even (1); 1 + 1.5 * 2^-8 rounds up.
    np.testing.assert_array_equal(to_bf16(x)[:3], np.array([1.0, 1.0, 1.0078125], np.float32))
    assert np.all(np.abs(to_bf16(x) - x) <= np.abs(x) * 2.0**-8)  # half a unit in the last place


# Rows and channels around the tiles; odd reductions (kw * c_in) that leave half a pair.
@pytest.mark.parametrize("t,f,c_in,c_out,kh,kw", [
    (1, 1, 1, 1, 1, 1), (5, 1, 3, 33, 3, 1), (97, 1, 7, 31, 1, 1), (40, 12, 5, 17, 3, 3),
    (13, 96, 1, 40, 7, 86), (200, 1, 257, 65, 3, 1), (9, 1, 513, 8, 1, 1),
])
def test_direct_bf16_is_exact_on_rounded_operands(bf16_isa, t, f, c_in, c_out, kh, kw):
    x, w, b = case(np.random.default_rng(t * f + c_in), t, f, c_in, c_out, kh, kw)
    pads = ((kh - 1) // 2, kh // 2, 0, 0)
    y, sums = conv(x, w, b, "bf16", padding=pads)
    # Products of bfloat16 values are exact in float32: only the accumulation order differs.
    ref = reference.conv2d(to_bf16(x), to_bf16(w), b, padding=pads)
    scale = max(np.abs(ref).max(), 1e-3)
    np.testing.assert_allclose(y, ref, rtol=0, atol=2e-6 * scale * np.sqrt(w[0].size))
    np.testing.assert_allclose(sums, ref.sum(axis=(0, 1)), rtol=1e-5, atol=1e-5 * scale * ref.shape[0])
    if ref.size >= 16:  # enough outputs that some must show the rounding
        assert np.abs(y - reference.conv2d(x, w, b, padding=pads)).max() > 0


@pytest.mark.parametrize("algorithm", ["direct", "winograd"])
def test_bf16_without_the_instructions_is_the_float32_computation(fallback_isa, algorithm):
    x, w, b = case(np.random.default_rng(2), 200, 1, 257, 65, 3, 1)
    y, sums = conv(x, w, b, "bf16", algorithm, padding=(1, 1, 0, 0))
    y32, sums32 = conv(x, w, b, "fp32", algorithm, padding=(1, 1, 0, 0))
    np.testing.assert_array_equal(y, y32)
    np.testing.assert_array_equal(sums, sums32)


@pytest.mark.parametrize("k,rows", [(3, 1), (3, 101), (5, 37), (7, 64), (7, 3)])
def test_winograd_bf16_stays_near_float64(bf16_isa, k, rows):
    x, w, b = case(np.random.default_rng(k + rows), rows + k - 1, 1, 48, 40, k, 1)
    y, _ = conv(x, w, b, "bf16", "winograd")
    ref = reference.conv2d(x, w, b)
    # bf16 rounding (2^-9 relative) grown by the transforms: a few percent of the largest
    # output at worst (F(4,7)), about a third of that in the root mean square.
    scale = np.abs(ref).max()
    assert np.abs(y - ref).max() <= 8e-2 * scale
    assert np.sqrt(np.mean((y - ref) ** 2)) <= 3e-2 * scale


def test_bf16_does_not_depend_on_thread_count(isa):
    x, w, b = case(np.random.default_rng(1), 3000, 1, 40, 48, 3, 1)
    for algorithm in ("direct", "winograd"):
        y1, s1 = conv(x, w, b, "bf16", algorithm, padding=(1, 1, 0, 0), pool=(3, 1), n_threads=1)
        y2, s2 = conv(x, w, b, "bf16", algorithm, padding=(1, 1, 0, 0), pool=(3, 1), n_threads=2)
        np.testing.assert_array_equal(y1, y2)
        np.testing.assert_array_equal(s1, s2)


def test_unknown_precision_is_an_error():
    x, w, b = case(np.random.default_rng(0), 5, 1, 2, 2, 1, 1)
    with pytest.raises(ValueError, match="unknown precision"):
        conv(x, w, b, "fp16")
    with pytest.raises(ValueError, match="unknown precision"):
        randcnn_fast.Embedder("sample_level", size="small", precision="half")


def test_bf16_needs_the_native_backend():
    pytest.importorskip("onnxruntime", reason="onnxruntime not installed")
    with pytest.raises(ValueError, match="backend='native'"):
        randcnn_fast.Embedder("vgg", size="small", precision="bf16", backend="onnx")


def embeddings(arch: str):
    """(fp32, bf16) embeddings of one short noise clip at size small."""
    # Three times the shortest input the network takes: below the default minimum duration.
    embedder32 = randcnn_fast.Embedder(arch, size="small", n_threads=1, min_seconds=0)
    embedder16 = randcnn_fast.Embedder(arch, size="small", n_threads=1, precision="bf16",
                                       min_seconds=0)
    length = 3 * embedder32.network.min_length
    rng = np.random.default_rng(7)
    if embedder32.network.input_kind == "waveform":
        clip = (0.1 * rng.standard_normal(length)).astype(np.float32)
    else:
        clip = (0.1 * rng.standard_normal(256 * length)).astype(np.float32)
    assert "precision='bf16'" in repr(embedder16)
    return embedder32.embed(clip, sr=12000), embedder16.embed(clip, sr=12000)


@pytest.mark.parametrize("arch", [row["arch"] for row in randcnn_fast.architectures()])
def test_bf16_embeddings_stay_close_to_fp32(bf16_isa, arch):
    e32, e16 = embeddings(arch)
    # Clip-level means average the rounding out: well inside 2 % of the vector's size.
    assert np.linalg.norm(e16 - e32) <= 2e-2 * np.linalg.norm(e32)
    assert not np.array_equal(e16, e32)  # the bfloat16 kernels did run


@pytest.mark.parametrize("arch", ["sample_level", "vgg"])
def test_bf16_embeddings_without_the_instructions_are_fp32s(fallback_isa, arch):
    e32, e16 = embeddings(arch)
    np.testing.assert_array_equal(e16, e32)


def cpu_vendor() -> str:
    with open("/proc/cpuinfo") as f:
        return next((line.split(":")[1].strip() for line in f if line.startswith("vendor_id")), "")


@pytest.mark.skipif(not CPU_HAS_BF16, reason="this CPU lacks AVX512-BF16: no choice to make")
def test_auto_takes_the_bfloat16_kernels_only_where_they_beat_float32():
    _core.set_isa("avx512")
    _core.set_bf16_mode("auto")
    info = _core.isa_info()
    intel = cpu_vendor() == "GenuineIntel"
    assert info["bf16"] is not intel and info["bf16_mode"] == "auto"
    assert ("half its float32 FMA rate" in info["bf16_reason"]) is intel


@pytest.mark.parametrize("arch", ["sample_level", "vgg"])
def test_mode_fp32_makes_bf16_the_float32_computation(bf16_isa, arch):
    e32, native = embeddings(arch)
    _core.set_bf16_mode("fp32")
    assert not _core.isa_info()["bf16"] and "bf16 mode fp32" in _core.isa_info()["bf16_reason"]
    np.testing.assert_array_equal(embeddings(arch)[1], e32)
    assert not np.array_equal(native, e32)


def test_a_bad_mode_is_refused_in_process_and_at_import():
    with pytest.raises(ValueError, match="'half' is not a bf16 mode"):
        _core.set_bf16_mode("half")
    if not CPU_HAS_BF16:
        with pytest.raises(ValueError, match="needs a CPU with AVX512_BF16"):
            _core.set_bf16_mode("native")
    env = dict(os.environ, RANDCNN_FAST_BF16="half")
    bad = subprocess.run([sys.executable, "-c", "import randcnn_fast"], env=env,
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "RANDCNN_FAST_BF16='half' is not a bf16 mode" in bad.stderr
    env["RANDCNN_FAST_BF16"] = "fp32"
    good = subprocess.run([sys.executable, "-c", "import randcnn_fast as rf; "
                           "print(rf.isa_info()['bf16_mode'])"], env=env, capture_output=True,
                          text=True, check=True)
    assert good.stdout.strip() == "fp32"


@pytest.mark.parametrize("c_out, kw, by_bf16", [
    (16, 40, False),  # one 16-lane float32 panel holds it: bf16's 32 lanes gain nothing
    (17, 40, True),
    (32, 31, False),  # a reduction of 31: too short to repay rounding the input
    (32, 32, True),
])
def test_auto_uses_the_bfloat16_kernels_on_the_layers_they_pay_for(bf16_isa, c_out, kw, by_bf16):
    _core.set_bf16_mode("auto")
    if not _core.isa_info()["bf16"]:
        pytest.skip(_core.isa_info()["bf16_reason"])
    x, w, b = case(np.random.default_rng(3), 50, kw, 1, c_out, 1, kw)
    y32, _ = conv(x, w, b, "fp32")
    y16, _ = conv(x, w, b, "bf16")
    assert np.array_equal(y16, y32) is not by_bf16
    _core.set_bf16_mode("native")
    assert not np.array_equal(conv(x, w, b, "bf16")[0], y32)  # every layer in mode native
