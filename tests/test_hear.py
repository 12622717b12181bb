"""The HEAR 2021 API contract of randcnn_fast.hear, checked here in full (shapes, dtypes,
spacing, the last timestamp), and by HEAR's own validator when it installs."""
from __future__ import annotations

import json
import sys
import types
import warnings

import numpy as np
import pytest

import randcnn_fast as rf
from randcnn_fast import hear
SMALL = {"size": "small", "n_threads": 1}


def white(n_sounds, seconds, sr, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n_sounds, int(seconds * sr))) * 2 - 1).astype(np.float32)


@pytest.mark.parametrize("sr", hear.HEAR_SAMPLE_RATES)
def test_timestamp_embeddings_contract(sr):
    model = hear.load_model(sample_rate=sr, **SMALL)
    assert model.sample_rate == sr and isinstance(model.timestamp_embedding_size, int)
    audio = white(3, 2.0, sr)
    embeddings, timestamps = hear.get_timestamp_embeddings(audio, model)
    n = embeddings.shape[1]
    assert embeddings.dtype == np.float32 and timestamps.dtype == np.float32
    assert embeddings.shape == (3, n, model.timestamp_embedding_size) and timestamps.shape == (3, n)
    assert n == 1 + int((2.0 - model.window) / model.hop + 1e-9)
    spacing = np.diff(timestamps, axis=1)
    assert np.abs(spacing - 1000 * model.hop).max() < 1e-3  # regular to within 1 us
    assert 1000 * model.hop <= 50.0  # HEAR asks for 50 ms or less
    np.testing.assert_allclose(timestamps[:, 0], 1000 * model.window / 2)
    # The last frame ends inside the sound (resampling to 12 kHz rounds to half a sample).
    assert timestamps[:, -1].max() + 1000 * model.window / 2 <= 2000.0 + 1000 / 24000
    assert np.isfinite(embeddings).all() and np.ptp(embeddings[0], axis=0).max() > 0


def test_scene_embeddings_are_whole_clip_embeddings():
    model = hear.load_model(sample_rate=48000, **SMALL)
    audio = white(4, 3.74, 48000, seed=1)
    scene = hear.get_scene_embeddings(audio, model)
    assert scene.dtype == np.float32 and scene.shape == (4, model.scene_embedding_size)
    expected = rf.Embedder("sample_level", size="small", pad="none", n_threads=1).embed(audio, sr=48000)
    np.testing.assert_array_equal(scene, expected)


def test_timestamp_embeddings_are_the_frames_of_embed_frames():
    model = hear.load_model(arch="frame_level", hop=0.025, window=0.2, **SMALL)
    audio = white(2, 1.5, 16000, seed=2)
    embeddings, timestamps = hear.get_timestamp_embeddings(audio, model)
    frames, times = rf.embed_frames(audio[1], "frame_level", sr=16000, size="small", hop=0.025,
                                    window=0.2, n_threads=1)
    np.testing.assert_array_equal(embeddings[1], frames)
    np.testing.assert_allclose(timestamps[1], 1000 * times, rtol=1e-7)


def test_options_from_a_model_file_and_bad_options(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"arch": "temporal", "size": "small", "seed": 3}))
    model = hear.load_model(str(path), n_threads=1)
    assert model.embedder.arch == "temporal" and model.embedder.seed == 3
    with pytest.raises(ValueError, match=r"sample_rate=12000 is not one of HEAR's rates"):
        hear.load_model(sample_rate=12000)
    with pytest.raises(ValueError, match=r"unknown options \['stride'\]"):
        hear.load_model(stride=3)
    (tmp_path / "bad.json").write_text("arch: vgg")
    with pytest.raises(ValueError, match="bad.json: not a JSON file of options"):
        hear.load_model(str(tmp_path / "bad.json"))
    with pytest.raises(ValueError, match=r"audio must be \(n_sounds, n_samples\)"):
        hear.get_scene_embeddings(np.zeros(16000, np.float32), hear.load_model(**SMALL))


def test_torch_tensors_in_and_out():
    torch = pytest.importorskip("torch", reason="PyTorch is the optional '[hear]' extra")
    model = hear.load_model(**SMALL)
    assert isinstance(model, torch.nn.Module)
    model.to("cpu")
    audio = torch.rand((2, 16000)) * 2 - 1
    embeddings, timestamps = hear.get_timestamp_embeddings(audio, model)
    scene = hear.get_scene_embeddings(audio, model)
    assert isinstance(embeddings, torch.Tensor) and embeddings.dtype == torch.float32
    assert isinstance(timestamps, torch.Tensor) and timestamps.shape == embeddings.shape[:2]
    assert isinstance(scene, torch.Tensor) and scene.shape == (2, model.scene_embedding_size)
    np.testing.assert_array_equal(scene.numpy(), hear.get_scene_embeddings(audio.numpy(), model))


def test_hear_validator(monkeypatch):
    pytest.importorskip("torch", reason="PyTorch is the optional '[hear]' extra")
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        # The validator imports TensorFlow only to recognise TensorFlow models; for a PyTorch
        # model a stand-in with no Module of that kind is all it reads.
        monkeypatch.setitem(sys.modules, "tensorflow", types.SimpleNamespace(Module=type("Module", (), {})))
    validate = pytest.importorskip(
        "hearvalidator.validate", reason="hearvalidator is not installed (pip install "
                                         "--no-deps hearvalidator)")
    # The validator imports a module by name; this one fixes the small size for speed.
    module = types.ModuleType("randcnn_fast_hear_small")
    module.load_model = lambda model_file_path="": hear.load_model(model_file_path, **SMALL)
    module.get_scene_embeddings = hear.get_scene_embeddings
    module.get_timestamp_embeddings = hear.get_timestamp_embeddings
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # its only warning: timestamps more than 50 ms apart
        validate.ValidateModel(module.__name__, "", device="cpu")()
