"""Architectures as files: round trips of the built-ins, the README's example, and every error a
bad description gets (naming the file, the layer and the problem) before any audio is read."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import randcnn_fast as rf
from randcnn_fast.datasets import loaders as datasets
from randcnn_fast.network.archfile import builtin_of, read_architecture
from randcnn_fast.network.architectures import ARCHITECTURES, FRAME_LEVEL, build
from randcnn_fast.cli import main
from randcnn_fast.evaluation.evaluate import evaluate

README = Path(__file__).resolve().parents[1] / "README.md"
BUILTINS = [(arch, size, mode) for arch in ARCHITECTURES for size in ("small", "paper")
            for mode in (("faithful", "per_filter") if arch in FRAME_LEVEL else ("faithful",))]


@pytest.mark.parametrize("arch, size, mode", BUILTINS)
@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_every_builtin_saved_and_loaded_is_that_builtin(tmp_path, arch, size, mode, suffix):
    network = build(arch, size, mode)
    path = tmp_path / f"{arch}{suffix}"
    network.save(path)
    loaded = rf.load_architecture(path)
    assert loaded == network and loaded.layers == network.layers
    assert builtin_of(loaded) == (arch, size, mode)
    assert rf.load_architecture(str(path)) == network


@pytest.mark.parametrize("arch, length", [("sample_level", 2500), ("frame_level_many", 3000),
                                          ("cnn_audio", 80), ("vgg", 1290)])
def test_a_saved_builtin_gives_bit_identical_embeddings(tmp_path, arch, length):
    path = tmp_path / f"{arch}.toml"
    build(arch, "small").save(path)
    by_name = rf.Embedder(arch, size="small", seed=7, length=length, pad="zero")
    by_file = rf.Embedder(path, seed=7, length=length, pad="zero")
    by_object = rf.Embedder(rf.load_architecture(path), seed=7, length=length, pad="zero")
    rng = np.random.default_rng(0)
    if by_name.network.input_kind == "waveform":
        x, sr = (rng.standard_normal(length) * 0.3).astype(np.float32), 12000
    else:
        x, sr = rng.standard_normal(length * 256).astype(np.float32) * 0.3, 12000
    want = by_name.embed(x, sr=sr)
    for embedder in (by_file, by_object):
        assert embedder.builtin and embedder.size == "small"
        np.testing.assert_array_equal(embedder.embed(x, sr=sr), want)


def readme_toml() -> str:
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "the README has one fenced toml example"
    return blocks[0]


def test_the_readme_example_runs_as_it_is(tmp_path):
    path = tmp_path / "design.toml"
    path.write_text(readme_toml(), encoding="utf-8")
    network = rf.load_architecture(path)
    assert network.arch not in ARCHITECTURES  # a new design, not a copy
    summary = network.describe()
    assert summary.n_features == network.n_features and summary.min_length == network.min_length
    frames = np.random.default_rng(0).uniform(-60, 10, (network.min_length + 5, 96)).astype(np.float32)
    got = rf.embed(frames, arch=path, input="logmel", length=network.min_length + 5)
    assert got.shape == (network.n_features,) and np.isfinite(got).all()
    assert rf.Embedder(path, features=160).n_features == 160


def test_a_file_exports_to_onnx_and_runs_there(tmp_path):
    pytest.importorskip("onnxruntime", reason="the ONNX backend needs onnxruntime")
    path = tmp_path / "design.toml"
    path.write_text(readme_toml(), encoding="utf-8")
    frames = np.random.default_rng(1).uniform(-60, 10, (60, 96)).astype(np.float32)
    native = rf.Embedder(path, input="logmel", length=60)
    on_onnx = rf.Embedder(path, input="logmel", length=60, backend="onnx")
    np.testing.assert_allclose(on_onnx.embed(frames), native.embed(frames), rtol=1e-4, atol=1e-5)
    native.to_onnx(tmp_path / "design.onnx")
    assert (tmp_path / "design.onnx").stat().st_size > 0


def test_layers_in_any_order_run_in_an_order_that_reads_forward(tmp_path):
    build("sample_level", "small").save(tmp_path / "s.json")
    data = json.loads((tmp_path / "s.json").read_text())
    data["layer"].reverse()  # conv6 first: every layer now comes before the one it reads
    (tmp_path / "reversed.json").write_text(json.dumps(data))
    assert rf.load_architecture(tmp_path / "reversed.json") == build("sample_level", "small")


# ------------------------------------------------------------------ bad descriptions

GOOD = """
name = "tiny"
input = "logmel"
length = 40
embedding = ["a", "cat"]

[[layer]]
name = "a"
type = "conv2d"
channels = 4
kernel = [3, 96]
padding = ["same", "valid"]

[[layer]]
name = "b"
type = "conv2d"
source = "input"
channels = 6
kernel = [5, 96]
padding = ["same", "valid"]
activation = "elu"

[[layer]]
name = "cat"
type = "concat"
sources = ["a", "b"]
"""


def variant(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


BAD = {
    "unknown source": (variant('source = "input"', 'source = "nowhere"'),
                       r"layer 'b'.*unknown source.*nowhere"),
    "concat shape": (variant('kernel = [5, 96]\npadding = ["same", "valid"]',
                             'kernel = [5, 96]\npadding = ["valid", "valid"]'),
                     r"cat: inputs differ in time or frequency extent \(a 40 x 1, b 36 x 1\)"),
    "residual shape": (variant('activation = "elu"', 'activation = "elu"\nresidual = "a"'),
                       r"b: its output \(40 x 1 x 6\) and the residual a \(40 x 1 x 4\) differ"),
    "kernel too long": (variant('kernel = [3, 96]\npadding = ["same", "valid"]',
                                'kernel = [41, 96]\npadding = [[0, 0], "valid"]'),
                        r"a: its time kernel \(41\) is longer than its padded input \(40\) at the "
                        r"default length 40"),
    "kernel too long, frequency": (variant("kernel = [3, 96]", "kernel = [3, 97]"),
                                   r"a: its frequency kernel \(97\) is longer"),
    "pools to nothing": (variant('padding = ["same", "valid"]\n\n', 'padding = ["same", "valid"]\npool = [50, 1]\n\n'),
                         r"a: pooling leaves nothing of its 40 x 96 input"),
    "unknown layer field": (variant("channels = 4", "channels = 4\nkernal = 3"),
                            r"layer 'a': unknown field\(s\) \['kernal'\]"),
    "unknown top field": ("colour = 1\n" + GOOD, r"unknown field\(s\) \['colour'\]"),
    "unknown activation": (variant('activation = "elu"', 'activation = "tanh"'),
                           r"b: activation must be one of .*'tanh'"),
    "duplicate names": (variant('name = "b"', 'name = "a"'), r"\['a'\] used more than once"),
    "cycle": (variant('channels = 4', 'source = "b"\nchannels = 4').replace(
        'source = "input"', 'source = "a"'), r"'a' -> 'b' -> 'a'.* form a cycle"),
    "no feature layers": (variant('embedding = ["a", "cat"]', "embedding = []"),
                          r"no feature layers"),
    "unknown feature layer": (variant('embedding = ["a", "cat"]', 'embedding = ["z"]'),
                              r"feature layers \['z'\] are not in the network"),
    "unknown type": (variant('type = "concat"', 'type = "add"'), r"layer 'cat': unknown type 'add'"),
    "bad kernel": (variant("kernel = [3, 96]", "kernel = 3"), r"layer 'a'.*kernel must be a \[time, frequency\] pair"),
    "negative channels": (variant("channels = 4", "channels = -4"), r"a: out_channels must be a positive integer"),
    "bad input kind": (variant('input = "logmel"', 'input = "video"'), r"input must be one of"),
    "missing field": (variant("length = 40\n", ""), r"missing field\(s\) \['length'\]"),
    "bad width": ("features = 0\n" + GOOD, r"features must be a positive integer"),
    "not toml": ("name = \n", r"not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_description_names_the_file_the_layer_and_the_problem(tmp_path, case):
    text, pattern = BAD[case]
    path = tmp_path / "design.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + pattern):
        rf.load_architecture(path)


def test_the_good_description_builds(tmp_path):
    path = tmp_path / "design.toml"
    path.write_text(GOOD)
    network, features = read_architecture(path)
    assert network.n_features == 14 and features is None
    assert [layer.name for layer in network.layers] == ["a", "b", "cat"]


def test_bad_files_fail_before_any_audio_is_read(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BAD["cycle"][0])
    # the clips do not exist: reading them would be recorded as failures, not raised
    data = datasets.Dataset("none", ("/no/such/a.wav", "/no/such/b.wav"), ("x", "y"), ("x", "y"),
                            folds=(0, 1))
    with pytest.raises(ValueError, match="form a cycle"):
        evaluate(data, archs=["7x96", path], out_dir=tmp_path / "out", progress=False)
    with pytest.raises(ValueError, match="form a cycle"):
        rf.Embedder(path)
    with pytest.raises(ValueError, match="no such architecture file"):
        rf.Embedder(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="unknown arch 'nope'.*toml"):
        rf.Embedder("nope")
    assert not (tmp_path / "out").exists()


def test_two_architectures_with_one_name_are_refused(tmp_path):
    build("7x96", "small").save(tmp_path / "copy.toml")
    data = datasets.Dataset("none", ("/no/a.wav",), ("x",), ("x",), folds=(0,))
    with pytest.raises(ValueError, match="two architectures are named '7x96'"):
        evaluate(data, archs=["7x96", tmp_path / "copy.toml"], out_dir=tmp_path / "o", progress=False)


def test_command_line_writes_a_builtin_to_start_from(tmp_path, capsys):
    path = tmp_path / "vgg.toml"
    assert main(["arch", "vgg", "--save", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "minimum 1280" in printed and str(path) in printed
    assert rf.load_architecture(path) == build("vgg", "small")
    assert "cnn_small_filters" in rf.load_architecture(path).notes  # its docstring, as description
    assert main(["arch", str(path), "--features", "100"]) == 0
    assert "100 features" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["arch", "no_such_net"])
    assert "unknown architecture 'no_such_net'" in capsys.readouterr().err


def test_builtin_feature_cache_keys_are_unchanged_and_files_get_their_own(tmp_path):
    """A built-in's cache key is made of its configuration's original fields (the width and
    network fields are left out while unset); a file's network is part of its key."""
    import hashlib
    import os

    from randcnn_fast import __version__
    from randcnn_fast.features.cache import CACHE_FORMAT, FeatureConfig, _cache_path, _native_build

    clip = tmp_path / "a.wav"
    clip.write_bytes(b"x")
    config = FeatureConfig("7x96", "small", 0)
    stat = os.stat(clip)
    old_fields = {"arch": "7x96", "size": "small", "seed": 0, "length": None, "pad": "repeat",
                  "logmel_preset": "elmarc", "backend_features": "faithful", "precision": "fp32"}
    key = json.dumps({"format": CACHE_FORMAT, "version": __version__, "native": _native_build(),
                      "config": old_fields,
                      "path": os.path.abspath(clip), "bytes": stat.st_size,
                      "mtime_ns": stat.st_mtime_ns}, sort_keys=True)
    assert _cache_path(tmp_path, config, str(clip)).stem == hashlib.sha256(key.encode()).hexdigest()
    described = FeatureConfig("7x96", "small", 0, features=100, network="{}")
    assert _cache_path(tmp_path, described, str(clip)) != _cache_path(tmp_path, config, str(clip))
