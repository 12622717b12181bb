"""Width control: features=N scales a network's channels by the documented rule."""
from __future__ import annotations

import re

import numpy as np
import pytest

import randcnn_fast as rf
from randcnn_fast.network.architectures import ARCHITECTURES, build
from randcnn_fast.network.layers import Conv
from randcnn_fast.network.width import scale_factor, scale_to_features


def channels(network):
    return {layer.name: layer.out_channels for layer in network.layers if isinstance(layer, Conv)}


def test_the_small_timbral_family_reaches_160_without_changing_the_default():
    for arch in ("timbral", "temporal", "timbral_temporal", "cnn_audio"):
        assert build(arch, "small").n_features == 112  # the default small size stays
        assert rf.Embedder(arch, size="small", features=160).n_features == 160


def test_proportional_when_that_is_exact():
    network = build("timbral", "small")  # 8, 16, 32 per filter height
    scaled = scale_to_features(network, 160)
    assert scale_factor(network, 160) == pytest.approx(160 / 112)
    assert [channels(scaled)[f"timbral_{f}x86"] for f in (7, 3, 1)] == [11, 23, 46]


def test_the_nearest_reachable_count_otherwise():
    # seven equal layers: 154 or 161 features; 161 is nearer to 160
    assert scale_to_features(build("sample_level", "paper"), 160).n_features == 161
    # five equal layers: 160 or 165; 160 is nearer to 161
    assert scale_to_features(build("vgg", "small"), 161).n_features == 160
    # 157 lies between 154 and 161, nearer 154
    assert scale_to_features(build("sample_level", "small"), 157).n_features == 154


def test_residual_layers_keep_their_residuals_width_and_collapse_scales():
    scaled = scale_to_features(build("frame_level", "small"), 100)
    c = channels(scaled)
    assert c["backend1"] == c["backend2"] == c["backend3"] == 25 and c["conv1"] == 25
    assert [f.collapse for f in scaled.features] == [None, 25, 25, 25]
    assert scaled.n_features == 100


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("target", [37, 160, 170, 777])
def test_every_builtin_scales_to_the_nearest_count(arch, target):
    network = build(arch, "small")
    scaled = scale_to_features(network, target)
    reached = scaled.n_features
    # no single factor on a fine grid reaches a count nearer the target
    counts = {scale_to_features(network, n).n_features for n in range(max(target - 12, 30), target + 13)}
    assert all(abs(n - target) >= abs(reached - target) for n in counts)
    assert scaled.arch == network.arch and [l.name for l in scaled.layers] == [l.name for l in network.layers]


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_the_fewest_features_are_reached_with_every_width_at_its_minimum(arch):
    network = build(arch, "small")
    try:
        fewest = scale_to_features(network, 1).n_features
    except ValueError as refused:  # "... fewer than the N it has with one channel per ..."
        fewest = int(re.search(r"the (\d+) it has", str(refused)).group(1))
    assert scale_to_features(network, fewest).n_features == fewest
    assert abs(scale_to_features(network, fewest + 1).n_features - (fewest + 1)) <= 1


def test_the_same_width_is_the_same_network():
    network = build("vgg", "small")
    assert scale_to_features(network, network.n_features) is network


def test_bad_widths_are_refused():
    for bad in (0, -3, 1.5, True, "160"):
        with pytest.raises(ValueError, match="features must be a positive integer"):
            rf.Embedder("vgg", features=bad)
    with pytest.raises(ValueError, match="fewer than the 7 it has with one channel"):
        rf.Embedder("sample_level", features=5)


def test_scaled_embeddings_run_and_keep_the_layers_generators():
    clip = (np.random.default_rng(0).standard_normal(3000) * 0.3).astype(np.float32)
    embedder = rf.Embedder("sample_level", size="small", features=70, length=3000)
    assert embedder.embed(clip, sr=12000).shape == (70,) and not embedder.builtin
    assert embedder.parameters()["conv0.weight"].shape == (10, 1, 3)


def test_a_files_own_width_and_the_argument_that_overrides_it(tmp_path):
    path = tmp_path / "vgg.toml"
    build("vgg", "small").save(path)
    path.write_text("features = 80\n" + path.read_text())
    assert rf.load_architecture(path).n_features == 80
    assert rf.load_architecture(path, features=120).n_features == 120
