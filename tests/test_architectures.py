"""Every architecture at small size against the independent float64 reference."""
from __future__ import annotations

import numpy as np
import pytest

import randcnn_fast as rf
from randcnn_fast.frontend import spectrogram as frontend
import reference

PAPER_FEATURES = {"sample_level": 3584, "frame_level": 3584, "frame_level_many": 3584, "vgg": 3585,
                  "7x96": 3585, "7x86": 3585, "timbral": 3584, "temporal": 3584,
                  "timbral_temporal": 3584, "cnn_audio": 3584}
SMALL_FEATURES = {"sample_level": 161, "frame_level": 160, "frame_level_many": 160, "vgg": 160,
                  "7x96": 160, "7x86": 160, "timbral": 112, "temporal": 112,
                  "timbral_temporal": 112, "cnn_audio": 112}
# PAPER.md 1.4, per 29 s clip (cnn_audio: timbral at nf 128 plus the 39.8 M of its temporal branch)
PAPER_MACS = {"sample_level": 137_612_909_568, "frame_level": 158_372_429_824,
              "frame_level_many": 104_692_396_032, "vgg": 84_319_905_528, "7x96": 3_300_494_400,
              "7x86": 32_523_621_900, "timbral": 19_090_866_176, "temporal": 294_397_952,
              "timbral_temporal": 9_545_433_088 + 147_198_976}


def logmel_input(frames, seed=0):
    # dB-like values: the spectrogram models see raw dB (no normalisation).
    return np.random.default_rng(seed).uniform(-60, 10, (frames, 96)).astype(np.float32)


def waveform(samples, seed=0):
    return (np.random.default_rng(seed).standard_normal(samples) * 0.3).astype(np.float32)


def compare(got, want):
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


SPECTROGRAM_CASES = {
    "vgg": (1283, reference.vgg),
    "7x96": (40, lambda x, p: reference.single_conv(x, p, 1)),
    "7x86": (41, lambda x, p: reference.single_conv(x, p, 11)),
    "timbral": (37, reference.timbral),
    "temporal": (200, reference.temporal),
    "timbral_temporal": (170, lambda x, p: np.concatenate([reference.timbral(x, p), reference.temporal(x, p)])),
    "cnn_audio": (70, lambda x, p: np.concatenate([reference.timbral(x, p),
                                                    reference.temporal(x, p, (64, 32, 16, 8))])),
}


@pytest.mark.parametrize("arch", sorted(SPECTROGRAM_CASES))
def test_spectrogram_models_match_reference(isa, arch):
    frames, ref = SPECTROGRAM_CASES[arch]
    embedder = rf.Embedder(arch, size="small", seed=5, input="logmel", length=frames)
    x = logmel_input(frames)
    got = embedder.embed(x)
    assert got.shape == (SMALL_FEATURES[arch],)
    compare(got, ref(x, embedder.parameters()))


@pytest.mark.parametrize("arch,filters", [("frame_level", 40), ("frame_level_many", 20)])
@pytest.mark.parametrize("mode", ["faithful", "per_filter"])
def test_frame_level_models_match_reference(isa, arch, filters, mode):
    samples = 32 * 60 + 17
    embedder = rf.Embedder(arch, size="small", seed=2, length=samples, backend_features=mode)
    clip = waveform(samples)
    got = embedder.embed(clip, sr=12000)
    ref = getattr(reference, arch)(clip, embedder.parameters(), filters, faithful=mode == "faithful")
    compare(got, ref)


def test_faithful_backend_keeps_one_number_per_layer():
    embedder = rf.Embedder("frame_level", size="small", length=5000)
    got = embedder.embed(waveform(5000), sr=12000)
    assert got.shape == (160,)
    for row in got[40:].reshape(3, 40):
        assert row[0] != 0 and not row[1:].any()
    per_filter = rf.Embedder("frame_level", size="small", length=5000, backend_features="per_filter")
    assert np.count_nonzero(per_filter.embed(waveform(5000), sr=12000)[40:]) > 100


@pytest.mark.parametrize("arch", sorted(PAPER_FEATURES))
def test_sizes_and_costs(arch):
    rows = {row["arch"]: row for row in rf.architectures()}
    assert rows[arch]["paper"]["features"] == PAPER_FEATURES[arch]
    assert rows[arch]["small"]["features"] == SMALL_FEATURES[arch]
    if arch in PAPER_MACS:
        assert rows[arch]["paper"]["macs"] == PAPER_MACS[arch]
    else:
        assert rows[arch]["paper"]["macs"] == pytest.approx(9_545_433_088 + 39.8e6, rel=1e-4)


@pytest.mark.parametrize("arch", sorted(PAPER_FEATURES))
def test_parameters_keep_layout_and_order(arch):
    embedder = rf.Embedder(arch, size="small")
    network = embedder.network
    shapes = network.shapes(network.default_length)
    params = embedder.parameters()
    convs = [layer for layer in network.layers if hasattr(layer, "kernel")]
    assert list(params) == [f"{c.name}.{kind}" for c in convs for kind in ("weight", "bias")]
    for conv in convs:
        w = params[f"{conv.name}.weight"]
        c_in = shapes[conv.source][2]
        kernel = conv.kernel[:1] if conv.dims == 1 else conv.kernel
        assert w.shape == (conv.out_channels, c_in, *kernel)
        assert np.abs(w).max() <= 2 * np.sqrt(2.6 / (c_in * np.prod(kernel))) * (1 + 1e-6)


def test_audio_goes_through_the_log_mel_front_end():
    clip = waveform(12000 * 3)
    embedder = rf.Embedder("7x86", size="small", length=100)
    frames = frontend.logmel(clip)[:100]
    np.testing.assert_array_equal(embedder.embed(clip, sr=12000),
                                  rf.Embedder("7x86", size="small", length=100, input="logmel").embed(frames))


def test_logmel_is_taken_over_the_whole_clip_before_cropping():
    # The -80 dB floor uses the whole clip's maximum, so a loud ending changes early frames.
    quiet = waveform(12000 * 2) * 1e-4
    loud_end = np.concatenate([quiet, waveform(12000, seed=1)])
    a = rf.embed(quiet, arch="7x96", size="small", sr=12000, length=50)
    b = rf.embed(loud_end, arch="7x96", size="small", sr=12000, length=50)
    assert not np.allclose(a, b)


def test_vgg_too_short_suggests_length():
    with pytest.raises(ValueError, match="vgg, which needs at least 1280 frames.*length=1280.*pad="):
        rf.Embedder("vgg", size="small", length=188)
    with pytest.raises(ValueError, match="clip 0: 188 frames is too short for vgg"):
        rf.embed(np.zeros((1, 188, 96), np.float32), arch="vgg", size="small", input="logmel", pad="crop")


def test_repeat_pad_makes_short_spectrograms_usable():
    x = logmel_input(188)
    got = rf.embed(x, arch="vgg", size="small", input="logmel", length=1376, pad="repeat")
    want = rf.embed(np.resize(x, (1376, 96)), arch="vgg", size="small", input="logmel", length=1376)
    np.testing.assert_array_equal(got, want)


def test_logmel_input_errors():
    with pytest.raises(ValueError, match="expected"):
        rf.embed(np.zeros((10, 95), np.float32), arch="7x96", input="logmel")
    with pytest.raises(TypeError, match="dtype"):
        rf.embed(np.zeros((10, 96), np.int32), arch="7x96", input="logmel")
    bad = logmel_input(20)
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        rf.embed(bad, arch="7x96", input="logmel")
    with pytest.raises(ValueError, match="reads the waveform"):
        rf.Embedder("sample_level", input="logmel")
    with pytest.raises(ValueError, match="backend_features"):
        rf.Embedder("frame_level", backend_features="bogus")
