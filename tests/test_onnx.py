"""The ONNX Runtime backend: every architecture against the native executor."""
from __future__ import annotations

import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the ONNX backend needs onnx (pip install onnx onnxruntime)")
ort = pytest.importorskip("onnxruntime",
                          reason="the ONNX backend needs onnxruntime (pip install onnx onnxruntime)")

import randcnn_fast as rf  # noqa: E402
from randcnn_fast.backends import onnx_runtime as ob  # noqa: E402
from randcnn_fast.network.architectures import build  # noqa: E402
from randcnn_fast.backends.native import run_native  # noqa: E402
from randcnn_fast.network.layers import Conv, Feature, Network  # noqa: E402
from randcnn_fast.network.weights import make_parameters  # noqa: E402

FRAME = 32 * 60 + 17  # frame-level models: 61 frames of the stride-32 front end, odd padding
# Two input lengths per architecture: the model is built for the first, the second checks
# that its time axis is really dynamic. Log-mel lengths are frames, waveform ones samples.
LENGTHS = {"sample_level": (7000, 6600), "frame_level": (FRAME, 32 * 45 + 5),
           "frame_level_many": (FRAME, 32 * 45 + 5), "vgg": (1283, 1300)}
LOGMEL_LENGTHS = (150, 97)
CASES = [(arch, mode) for arch in rf.ARCHITECTURES
         for mode in (("faithful", "per_filter") if arch in ("frame_level", "frame_level_many")
                      else ("faithful",))]


def embedder(arch, length, mode="faithful"):
    kind = build(arch, "small").input_kind
    return rf.Embedder(arch, size="small", length=length, backend_features=mode,
                       input="logmel" if kind == "logmel" else "audio")


def input_map(embedder_, seed):
    """A random input map at the embedder's length: dB-like frames or a noise waveform."""
    rng = np.random.default_rng(seed)
    if embedder_.input == "logmel":
        return rng.uniform(-60, 10, (embedder_.length, 96, 1)).astype(np.float32)
    return (rng.standard_normal((embedder_.length, 1, 1)) * 0.3).astype(np.float32)


def native(embedder_, maps):
    if embedder_.input == "logmel":
        return embedder_.embed(np.stack([m[:, :, 0] for m in maps]))
    return embedder_.embed(np.stack([m[:, 0, 0] for m in maps]), sr=12000)


def assert_matches(got, expected):
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max())


@pytest.mark.parametrize("arch,mode", CASES, ids=[f"{a}-{m}" for a, m in CASES])
def test_every_architecture_matches_native(arch, mode):
    first, second = LENGTHS.get(arch, LOGMEL_LENGTHS)
    emb = embedder(arch, first, mode)
    runner = ob.OnnxRunner(emb.network, emb.parameters(), length=first)
    onnx.checker.check_model(runner.model, full_check=True)
    assert runner.model.opset_import[0].version == ob.OPSET == 17
    dims = runner.model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 1, "time", emb.network.input_shape(first)[1]]
    assert runner.dynamic_time and runner.n_features == emb.n_features

    x = [input_map(emb, seed=1)]
    got = runner.run(x)
    assert got.shape == (1, emb.n_features) and got.dtype == np.float32
    assert_matches(got, native(emb, x))

    # the same model at another time length
    other = embedder(arch, second, mode)
    y = [input_map(other, seed=2)]
    assert_matches(runner.run(y), native(other, y))


@pytest.mark.parametrize("arch", ["sample_level", "frame_level_many", "vgg", "cnn_audio"])
def test_batch_rows_equal_single_runs(arch):
    length = LENGTHS.get(arch, LOGMEL_LENGTHS)[0]
    emb = embedder(arch, length)
    runner = ob.OnnxRunner.from_embedder(emb)
    maps = [input_map(emb, seed) for seed in range(3)]
    batch = runner.run(maps)
    assert batch.shape == (3, emb.n_features)
    for row, x in zip(batch, maps):
        np.testing.assert_allclose(row, runner.run([x])[0], rtol=1e-6, atol=1e-7 * np.abs(row).max())
    assert_matches(batch, native(emb, maps))


def test_saved_model_loads_and_gives_the_same_output(tmp_path):
    emb = embedder("frame_level_many", FRAME, "per_filter")
    runner = ob.OnnxRunner.from_embedder(emb)
    path = tmp_path / "frame_level_many.onnx"
    runner.save(path)
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded.SerializeToString() == runner.model.SerializeToString()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    maps = [input_map(emb, seed) for seed in range(2)]
    x = np.stack(maps)[..., 0][:, None]  # (n, 1, time, freq)
    (out,) = session.run(["embedding"], {"input": x})
    np.testing.assert_allclose(out, runner.run(maps), rtol=1e-6, atol=1e-7 * np.abs(out).max())


def custom(padding, stride):
    """A one-conv log-mel network with a strided layer, for the fixed/dynamic time rules."""
    conv = Conv("conv", "input", 6, (5, 3), stride=stride, padding=padding, activation="elu")
    return Network("custom", "small", "logmel", 100, (conv,), (Feature("conv"),))


def test_strided_same_that_same_upper_cannot_express_fixes_the_time_axis():
    network = custom(("same", "valid"), (2, 1))  # time zeros depend on the length
    params = make_parameters(network, 0)
    assert not ob.dynamic_time(network, 101)
    runner = ob.OnnxRunner(network, params, length=101)
    dims = runner.model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 1, 101, 96]
    x = np.random.default_rng(0).uniform(-60, 10, (101, 96, 1)).astype(np.float32)
    assert_matches(runner.run([x])[0], run_native(network, params, x, 1))
    with pytest.raises(ValueError, match="fixed time axis of 101"):
        runner.run([x[:100]])


def test_strided_same_on_both_axes_stays_dynamic():
    network = custom(("same", "same"), (3, 2))  # ONNX SAME_UPPER is TensorFlow's rule
    params = make_parameters(network, 0)
    runner = ob.OnnxRunner(network, params, length=101)
    assert runner.dynamic_time
    for length in (101, 100, 98):
        x = np.random.default_rng(length).uniform(-60, 10, (length, 96, 1)).astype(np.float32)
        assert_matches(runner.run([x])[0], run_native(network, params, x, 1))


def test_cuda_without_onnxruntime_gpu_raises():
    if "CUDAExecutionProvider" in ob.available_providers():
        pytest.skip("this onnxruntime has the CUDA provider")
    emb = embedder("sample_level", 7000)
    with pytest.raises(RuntimeError, match="onnxruntime-gpu"):
        ob.OnnxRunner.from_embedder(emb, device="cuda")


def test_bad_arguments_raise_value_error():
    emb = embedder("sample_level", 7000)
    with pytest.raises(ValueError, match="device"):
        ob.OnnxRunner.from_embedder(emb, device="tpu")
    with pytest.raises(ValueError, match="n_threads"):
        ob.OnnxRunner.from_embedder(emb, n_threads=-1)
    runner = ob.OnnxRunner.from_embedder(emb, n_threads=1)
    x = input_map(emb, 0)
    assert_matches(runner.run([x]), native(emb, [x]))
    # maps of different lengths run one at a time, each as it would alone
    mixed = runner.run([x, x[:6000]])
    assert_matches(mixed[0], runner.run([x])[0])
    assert_matches(mixed[1], runner.run([x[:6000]])[0])
    with pytest.raises(ValueError, match="expected shape"):
        runner.run([x[:, 0]])
    with pytest.raises(ValueError, match="too short"):
        runner.run([x[:100]])
    assert runner.run([]).shape == (0, emb.n_features)


def test_providers_and_missing_packages(monkeypatch):
    assert "CPUExecutionProvider" in ob.available_providers()
    ob.require_onnx()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    assert ob.available_providers() == []
    with pytest.raises(ImportError, match="pip install onnx onnxruntime"):
        ob.require_onnx()


# ---------------------------------------------------------------- through the public API

def test_embed_with_the_onnx_backend_matches_native(tmp_path):
    clip = (np.random.default_rng(0).standard_normal(7000) * 0.3).astype(np.float32)
    native = rf.embed(clip, sr=12000, arch="sample_level", size="small", length=7000)
    onnx_result = rf.embed(clip, sr=12000, arch="sample_level", size="small", length=7000, backend="onnx")
    np.testing.assert_allclose(onnx_result, native, rtol=1e-5, atol=1e-6 * np.abs(native).max())
    embedder = rf.Embedder("vgg", size="small", input="logmel", length=1300, backend="onnx")
    frames = np.random.default_rng(1).uniform(-60, 10, (2, 1300, 96)).astype(np.float32)
    native = rf.Embedder("vgg", size="small", input="logmel", length=1300).embed(frames)
    np.testing.assert_allclose(embedder.embed(frames), native, rtol=1e-5, atol=1e-6 * np.abs(native).max())
    embedder.to_onnx(tmp_path / "vgg.onnx")
    onnx.checker.check_model(str(tmp_path / "vgg.onnx"))


def test_public_api_refuses_cuda_without_the_provider():
    with pytest.raises(RuntimeError, match="onnxruntime-gpu"):
        rf.Embedder("7x96", size="small", backend="onnx", device="cuda")
    with pytest.raises(ValueError, match="backend='onnx'"):
        rf.Embedder("7x96", size="small", device="cuda")
    assert "CPUExecutionProvider" in rf.isa_info()["onnx_providers"]
