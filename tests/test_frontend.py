"""Tests for randcnn_fast.frontend.spectrogram: log-mel spectrogram and MFCC baseline against librosa."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from randcnn_fast.input import audio
from randcnn_fast.input import clips as input_clips

from randcnn_fast.frontend import spectrogram as frontend
librosa = pytest.importorskip("librosa", reason="librosa is the test-time reference")

SR = 12000
FSDD = Path(__file__).resolve().parents[1].parent / "shared/data/fsdd"
DB_TOL = 1e-3  # dB, at every bin above the 80 dB floor
MFCC_TOL = 1e-3
PAD_MODES = {"elmarc": "reflect", "librosa": "constant"}
# Edge lengths: 1 frame, shorter than the reflect pad (numpy reflects repeatedly),
# around one hop / one window, odd primes, and 3 s.
EDGE_LENGTHS = [1, 2, 100, 255, 256, 257, 511, 512, 513, 1009, 7919, 3 * SR]


# ---------------------------------------------------------------- helpers


def noise(n: int, seed: int = 0, amp: float = 0.1) -> np.ndarray:
    return (amp * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def sine(freq: float = 440.0, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def fsdd_clips(n: int = 6) -> list[np.ndarray]:
    """`n` recordings spread over the dataset, resampled from 8 kHz to 12 kHz."""
    if not (FSDD / "recordings").is_dir():
        pytest.skip(f"shared FSDD recordings not found at {FSDD}")
    files = sorted((FSDD / "recordings").glob("*.wav"))
    clips = []
    for path in files[:: max(1, len(files) // n)][:n]:
        x, sr = sf.read(path, dtype="float32")
        clips.append(soxr.resample(x, sr, SR))
    return clips


def librosa_logmel(y: np.ndarray, pad_mode: str, *, center: bool = True) -> np.ndarray:
    with warnings.catch_warnings():
        # librosa warns when n_fft exceeds a very short clip; the result is still defined.
        warnings.simplefilter("ignore", UserWarning)
        S = librosa.feature.melspectrogram(
            y=y, sr=SR, n_fft=512, hop_length=256, n_mels=96, fmin=0, fmax=6000,
            power=2, center=center, pad_mode=pad_mode,
        )
    return librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=80).T


def librosa_mfcc(y: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return librosa.feature.mfcc(
            y=y, sr=SR, n_mfcc=20, n_fft=2048, hop_length=512, n_mels=128, fmax=6000,
            center=True, pad_mode="reflect",
        )


def baseline_vector(m: np.ndarray) -> np.ndarray:
    """The 120-d vector from a (20, frames) MFCC matrix, written out with numpy."""
    d1 = np.diff(m, axis=1)
    d2 = np.diff(d1, axis=1)
    return np.concatenate([m.mean(1), m.std(1), d1.mean(1), d1.std(1), d2.mean(1), d2.std(1)])


def assert_db_close(ours: np.ndarray, ref: np.ndarray) -> None:
    """Within DB_TOL above the floor; bins at the reference's floor are at ours."""
    assert ours.shape == ref.shape
    ref = ref.astype(np.float64)
    ours64 = ours.astype(np.float64)
    ref_floor = ref.max() - 80.0
    our_floor = ours64.max() - 80.0
    above = ref > ref_floor
    np.testing.assert_allclose(ours64[above], ref[above], rtol=0, atol=DB_TOL)
    at_floor = ~above
    # A bin within DB_TOL of the floor may sit on either side of it in the two
    # implementations; anything clearly below must be clipped in both.
    assert np.all(np.abs(ours64[at_floor] - our_floor) <= DB_TOL)
    assert ours64.min() >= our_floor - 1e-4


def check_against_librosa(y: np.ndarray, preset: str) -> None:
    ours = frontend.logmel(y, preset=preset)
    ref = librosa_logmel(y, PAD_MODES[preset])
    if preset == "elmarc" and len(y) % frontend.HOP == 0:
        # librosa >= 0.10 reflect-pads the end of the signal from a tail slice of the
        # clip; when the last frame ends exactly 256 samples past the clip, its last
        # sample is reflected inside that slice instead of the whole clip, so it
        # differs from numpy.pad (what librosa 0.4/0.5 used) in that one sample. The
        # last frame is checked against explicit numpy.pad in
        # test_elmarc_is_numpy_reflect_padding.
        ours, ref = ours[:-1], ref[:-1]
    assert_db_close(ours, ref)


# ---------------------------------------------------------------- constants and sizes


def test_constants():
    assert (frontend.N_FFT, frontend.HOP, frontend.N_MELS) == (512, 256, 96)
    assert frontend.FMAX == 6000.0
    assert frontend.LOGMEL_PRESETS == ("elmarc", "librosa")
    assert frontend.MFCC_DIM == 120
    assert frontend.MFCC_MIN_SAMPLES == 1024


@pytest.mark.parametrize("n", [1, 255, 256, 257, 350_000, np.int64(360_000)])
def test_n_frames(n):
    assert frontend.n_frames(n) == 1 + int(n) // 256


def test_n_frames_paper_lengths():
    # PAPER.md: 30 s gives 1407 frames, 350,000 samples 1368, 4 s 188.
    assert [frontend.n_frames(n) for n in (30 * SR, 350_000, 4 * SR)] == [1407, 1368, 188]


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "100"])
def test_n_frames_rejects_bad(bad):
    with pytest.raises(ValueError, match="positive int"):
        frontend.n_frames(bad)


# ---------------------------------------------------------------- mel filterbank


def test_mel_filterbank_matches_librosa():
    ours = frontend.mel_filterbank()
    assert ours.shape == (96, 257) and ours.dtype == np.float64
    ref = librosa.filters.mel(sr=SR, n_fft=512, n_mels=96, fmin=0, fmax=6000, dtype=np.float64)
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=0)
    # Area normalisation: each triangle integrates (over Hz) to 1, up to the error of
    # sampling it at 23.4 Hz bins, which is large for the narrow low bands.
    area = ours.sum(axis=1) * (SR / 512)
    assert np.all(np.abs(area - 1) < 0.12)
    assert np.all(np.abs(area[64:] - 1) < 0.02)


def test_mel_filterbank_is_a_copy():
    y = noise(4000)
    before = frontend.logmel(y)
    fb = frontend.mel_filterbank()
    fb[:] = 0
    np.testing.assert_array_equal(frontend.logmel(y), before)


# ---------------------------------------------------------------- log-mel against librosa


@pytest.mark.parametrize("preset", frontend.LOGMEL_PRESETS)
def test_logmel_real_recordings(preset):
    for y in fsdd_clips():
        check_against_librosa(y, preset)


@pytest.mark.parametrize("preset", frontend.LOGMEL_PRESETS)
@pytest.mark.parametrize("kind", ["noise", "sine", "silence", "loud"])
def test_logmel_synthetic(preset, kind):
    y = {
        "noise": noise(2 * SR + 77),
        "sine": sine(),
        "silence": np.zeros(SR, np.float32),
        "loud": noise(SR, seed=3, amp=30.0),
    }[kind]
    check_against_librosa(y, preset)


def test_logmel_silence_is_amin():
    # max(S, 1e-10) for S = 0 gives -100 dB everywhere, which is also the maximum.
    np.testing.assert_array_equal(frontend.logmel(np.zeros(1000, np.float32)), -100.0)


@pytest.mark.parametrize("preset", frontend.LOGMEL_PRESETS)
@pytest.mark.parametrize("n", EDGE_LENGTHS)
def test_logmel_edge_lengths(preset, n):
    y = noise(n, seed=n)
    out = frontend.logmel(y, preset=preset)
    assert out.shape == (frontend.n_frames(n), 96)
    check_against_librosa(y, preset)


@pytest.mark.parametrize("n", EDGE_LENGTHS)
def test_elmarc_is_numpy_reflect_padding(n):
    # The paper's librosa padded with numpy.pad(y, n_fft // 2, mode="reflect"), then
    # framed without centring; this is checked on every frame and every length.
    y = noise(n, seed=n + 1)
    ref = librosa_logmel(np.pad(y, 256, mode="reflect"), "constant", center=False)
    assert_db_close(frontend.logmel(y, preset="elmarc"), ref)


def test_presets_differ_only_at_the_edges():
    y = noise(5000)
    a = frontend.logmel(y, preset="elmarc")
    b = frontend.logmel(y, preset="librosa")
    np.testing.assert_array_equal(a[1:-1], b[1:-1])
    assert not np.array_equal(a[0], b[0])


# ---------------------------------------------------------------- log-mel behaviour


def test_logmel_output_layout():
    out = frontend.logmel(noise(3000))
    assert out.dtype == np.float32 and out.flags.c_contiguous
    assert out.shape == (1 + 3000 // 256, 96)


def test_logmel_float64_input():
    y = noise(3000)
    np.testing.assert_allclose(
        frontend.logmel(y.astype(np.float64)), frontend.logmel(y), rtol=0, atol=1e-4
    )


def test_logmel_blocks_do_not_change_the_result(monkeypatch):
    y = noise(40_000, seed=7)
    whole = frontend.logmel(y)
    # 3 frames per block: many blocks and a ragged last one.
    monkeypatch.setattr(frontend, "_BLOCK_SAMPLES", 3 * frontend.N_FFT)
    np.testing.assert_allclose(frontend.logmel(y), whole, rtol=0, atol=1e-4)


def test_logmel_floor_uses_whole_clip():
    # A loud second half raises the floor of the quiet first half.
    y = np.concatenate([noise(SR, amp=1e-5), noise(SR, seed=1, amp=1.0)])
    out = frontend.logmel(y)
    assert out.min() == pytest.approx(out.max() - 80.0, abs=1e-4)
    quiet_alone = frontend.logmel(y[:SR])
    assert quiet_alone.min() < out.min()


def test_logmel_bad_preset():
    with pytest.raises(ValueError, match="unknown log-mel preset 'htk'.*elmarc, librosa"):
        frontend.logmel(noise(1000), preset="htk")


@pytest.mark.parametrize("bad", [np.zeros(0, np.float32), np.zeros((2, 600), np.float32)])
def test_logmel_bad_shape(bad):
    with pytest.raises(ValueError, match="non-empty 1-D"):
        frontend.logmel(bad)


# ---------------------------------------------------------------- MFCC against librosa


def mfcc_clips() -> list[np.ndarray]:
    return fsdd_clips(4) + [noise(3 * SR + 11), sine(seconds=1.5)] + [
        noise(n, seed=n) for n in (1024, 1025, 2048, 4099)
    ]


def test_mfcc_matches_librosa():
    for y in mfcc_clips():
        ours = frontend.mfcc(y)
        assert ours.shape == (20, 1 + len(y) // 512) and ours.dtype == np.float64
        np.testing.assert_allclose(ours, librosa_mfcc(y), rtol=0, atol=MFCC_TOL)


def test_mfcc_features_match_librosa_vector():
    for y in mfcc_clips():
        ours = frontend.mfcc_features(y)
        assert ours.shape == (120,) and ours.dtype == np.float32
        np.testing.assert_allclose(ours, baseline_vector(librosa_mfcc(y)), rtol=0, atol=MFCC_TOL)


def test_dct_matrix_is_orthonormal_dct_ii():
    scipy_fft = pytest.importorskip("scipy.fft")
    full = frontend._dct_matrix(128, 128)
    np.testing.assert_allclose(full @ full.T, np.eye(128), atol=1e-12)
    x = np.random.default_rng(0).standard_normal((128, 5))
    np.testing.assert_allclose(
        frontend._dct_matrix(128, 20) @ x,
        scipy_fft.dct(x, type=2, norm="ortho", axis=0)[:20],
        atol=1e-12,
    )


# ---------------------------------------------------------------- MFCC length handling


def test_mfcc_features_crop_2048_reproduces_original_config():
    y = noise(SR, seed=2)
    np.testing.assert_array_equal(
        frontend.mfcc_features(y, length=2048, pad="crop"), frontend.mfcc_features(y[:2048])
    )


@pytest.mark.parametrize("pad", ["zero", "repeat"])
def test_mfcc_features_pads_short_clips(pad):
    y = noise(1500, seed=4)
    if pad == "zero":
        expected = np.concatenate([y, np.zeros(3000, np.float32)])
    else:
        expected = np.resize(y, 4500)
    np.testing.assert_array_equal(
        frontend.mfcc_features(y, length=4500, pad=pad), frontend.mfcc_features(expected)
    )


def test_mfcc_features_crop_leaves_short_clips():
    y = noise(3000, seed=5)
    np.testing.assert_array_equal(
        frontend.mfcc_features(y, length=9000, pad="crop"), frontend.mfcc_features(y)
    )


def test_mfcc_features_resamples():
    y = noise(8000, seed=6)
    np.testing.assert_array_equal(
        frontend.mfcc_features(y, sr=8000), frontend.mfcc_features(input_clips.resample(y, 8000))
    )


def test_mfcc_features_minimum_length():
    frontend.mfcc_features(noise(1024))  # 3 frames: one second-order difference
    with pytest.raises(ValueError, match="1024 samples"):
        frontend.mfcc_features(noise(1023))
    with pytest.raises(ValueError, match="1024 samples"):
        frontend.mfcc_features(noise(SR), length=1000, pad="crop")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"pad": "zero"}, "needs a length"),
        ({"length": 2048}, "needs a pad mode"),
        ({"length": 2048, "pad": "mirror"}, "unknown pad mode"),
        ({"length": 0, "pad": "zero"}, "positive int"),
        ({"sr": -1}, "sr must be"),
    ],
)
def test_mfcc_features_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        frontend.mfcc_features(noise(4000), **kwargs)


def test_mfcc_features_validates_audio():
    with pytest.raises(TypeError, match="dtype"):
        frontend.mfcc_features(np.zeros(4000, np.int16))
    bad = noise(4000)
    bad[10] = np.nan
    with pytest.raises(audio.AudioError, match="non-finite"):
        frontend.mfcc_features(bad)
