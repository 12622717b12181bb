"""Whole networks against the independent float64 reference; weights and descriptions."""
from __future__ import annotations

import numpy as np
import pytest

import randcnn_fast as rf
from randcnn_fast.network.architectures import build

import reference


def test_sample_level_small_matches_reference(isa):
    embedder = rf.Embedder("sample_level", size="small", seed=3, length=7001, pad="zero")
    clip = np.random.default_rng(1).standard_normal(6500).astype(np.float32) * 0.3
    got = embedder.embed(clip, sr=12000)
    want = reference.sample_level(np.concatenate([clip, np.zeros(501, np.float32)]), embedder.parameters())
    assert got.dtype == np.float32 and got.shape == (161,)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_sample_level_at_the_minimum_length(isa):
    embedder = rf.Embedder("sample_level", size="small", length=2187, pad="crop")
    clip = np.random.default_rng(2).standard_normal(2187).astype(np.float32)
    want = reference.sample_level(clip, embedder.parameters())
    np.testing.assert_allclose(embedder.embed(clip, sr=12000), want, rtol=1e-4, atol=1e-6)


def test_paper_size_matches_reference_on_a_short_clip():
    embedder = rf.Embedder("sample_level", size="paper", length=2200)
    clip = np.random.default_rng(4).standard_normal(2200).astype(np.float32)
    want = reference.sample_level(clip, embedder.parameters())
    got = embedder.embed(clip, sr=12000)
    assert got.shape == (3584,)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("size,filters,n_features,macs", [
    ("small", 23, 161, 285_387_726),
    ("paper", 512, 3584, 137_612_909_568),  # PAPER.md 1.4 (g)
])
def test_sizes_features_and_macs(size, filters, n_features, macs):
    embedder = rf.Embedder("sample_level", size=size)
    summary = embedder.describe()
    assert embedder.n_features == n_features == summary.n_features
    assert summary.macs == macs
    assert [layer.output_shape for layer in summary.layers] == [
        (116_666, 1, filters), (38_888, 1, filters), (12_962, 1, filters), (4_320, 1, filters),
        (1_440, 1, filters), (480, 1, filters), (160, 1, filters)]
    assert "total" in str(summary) and f"{macs:,}" in str(summary)


def test_minimum_length():
    network = build("sample_level", "small")
    assert network.min_length == 2187  # 3 * 3**6: one row left after the sixth pool
    assert network.accepts(2187) and not network.accepts(2186)
    with pytest.raises(ValueError, match="at least 2187"):
        network.describe(2000)


def test_parameters_layout_and_order():
    params = rf.Embedder("sample_level", size="small").parameters()
    names = [f"conv{i}.{kind}" for i in range(7) for kind in ("weight", "bias")]
    assert list(params) == names
    assert params["conv0.weight"].shape == (23, 1, 3)
    for i in range(1, 7):
        assert params[f"conv{i}.weight"].shape == (23, 23, 3)
    for name, value in params.items():
        assert value.dtype == np.float32
        if name.endswith("bias"):
            assert not value.any()


def test_parameters_are_copies():
    embedder = rf.Embedder("sample_level", size="small")
    embedder.parameters()["conv1.weight"][:] = 0
    assert embedder.parameters()["conv1.weight"].any()


def test_weight_distribution_is_the_truncated_he_normal():
    w = rf.Embedder("sample_level", size="paper").parameters()["conv1.weight"]
    fan_in = 512 * 3
    sigma_draw = np.sqrt(2.6 / fan_in)
    assert np.abs(w).max() <= 2 * sigma_draw * (1 + 1e-6)
    # Variance of a unit normal truncated at +-2 is 0.77374 (PAPER.md 1.2).
    assert w.std() == pytest.approx(np.sqrt(0.77374 * 2.6 / fan_in), rel=0.01)
    assert abs(w.mean()) < 1e-4


def test_golden_weights():
    # Pinned: a change here changes every embedding users have computed with seed 0.
    params = rf.Embedder("sample_level", size="small", seed=0).parameters()
    np.testing.assert_allclose(params["conv0.weight"][0, 0], [0.9738239, -1.7037891, -0.8173690], rtol=1e-6)
    np.testing.assert_allclose(params["conv1.weight"][0, 0], [0.0028010772, -0.068452083, 0.037260376], rtol=1e-6)


def test_seed_controls_the_weights():
    a = rf.Embedder("sample_level", size="small", seed=1).parameters()
    b = rf.Embedder("sample_level", size="small", seed=1).parameters()
    c = rf.Embedder("sample_level", size="small", seed=2).parameters()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["conv1.weight"], c["conv1.weight"])


def test_layers_have_independent_generators():
    params = rf.Embedder("sample_level", size="small").parameters()
    assert not np.allclose(params["conv1.weight"], params["conv2.weight"])
