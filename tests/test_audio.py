"""Tests for randcnn_fast.input.audio: loading, validation, resampling, length fixing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from randcnn_fast.input import audio, decode
from randcnn_fast.input import clips as input_clips
SR = audio.SAMPLE_RATE
FSDD = Path(__file__).resolve().parents[1].parent / "shared/data/fsdd"

HAS_MP3 = "MP3" in sf.available_formats()
FORMATS = ["wav", "flac", "ogg"] + (["mp3"] if HAS_MP3 else [])
LOSSY = {"ogg", "mp3"}


# ---------------------------------------------------------------- helpers


def sine(freq: float, sr: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write(tmp_path: Path, name: str, data, sr: int, **kwargs) -> Path:
    path = tmp_path / name
    sf.write(path, data, sr, **kwargs)
    return path


def peak_freq(x: np.ndarray, sr: int = SR) -> float:
    """Frequency (Hz) of the strongest FFT bin, with a Hann window."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spectrum)])


def rms(x) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def assert_mono_f32(x: np.ndarray) -> None:
    assert isinstance(x, np.ndarray)
    assert x.dtype == np.float32
    assert x.ndim == 1
    assert x.flags.c_contiguous
    assert np.isfinite(x).all()


def message(excinfo) -> str:
    return str(excinfo.value)


# ---------------------------------------------------------------- constants


def test_constants():
    assert audio.SAMPLE_RATE == 12000
    assert input_clips.PAD_MODES == ("crop", "zero", "repeat", "none")
    assert issubclass(audio.AudioError, ValueError)


# ---------------------------------------------------------------- load_file


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("sr", [8000, 22050, 44100])
def test_load_file_formats_and_rates(tmp_path, fmt, sr):
    data = sine(1000, sr, 0.75)
    path = write(tmp_path, f"tone.{fmt}", data, sr)

    y = decode.load_file(path)

    assert_mono_f32(y)
    assert abs(len(y) - len(data) * SR / sr) <= 2
    assert abs(peak_freq(y) - 1000) <= 2
    # Lossy codecs change the waveform a little; the level stays close.
    assert rms(y) == pytest.approx(rms(data), rel=0.02 if fmt in LOSSY else 1e-3)


def test_load_file_at_model_rate_is_not_resampled(tmp_path):
    data = np.random.default_rng(0).uniform(-1, 1, 1001).astype(np.float32)
    path = write(tmp_path, "exact.wav", data, SR, subtype="FLOAT")

    y = decode.load_file(path)

    assert_mono_f32(y)
    np.testing.assert_array_equal(y, data)


@pytest.mark.parametrize("channels", [2, 4])
def test_load_file_mixes_channels_by_mean(tmp_path, channels):
    rng = np.random.default_rng(channels)
    data = rng.uniform(-1, 1, (500, channels)).astype(np.float32)
    path = write(tmp_path, "multi.wav", data, SR, subtype="FLOAT")

    y = decode.load_file(path)

    assert_mono_f32(y)
    np.testing.assert_allclose(y, data.mean(axis=1), atol=1e-6)


def test_load_file_stereo_resampled(tmp_path):
    left = sine(700, 44100, 0.5)
    stereo = np.stack([left, left], axis=1)
    path = write(tmp_path, "stereo.flac", stereo, 44100)

    y = decode.load_file(path)

    assert_mono_f32(y)
    assert abs(len(y) - len(left) * SR / 44100) <= 2
    assert abs(peak_freq(y) - 700) <= 3


def test_load_file_accepts_str_and_pathlike(tmp_path):
    path = write(tmp_path, "a.wav", sine(440, SR, 0.1), SR)
    np.testing.assert_array_equal(decode.load_file(str(path)), decode.load_file(path))


def test_load_file_rejects_non_path_type():
    with pytest.raises(TypeError, match="str or os.PathLike"):
        decode.load_file(123)


def test_load_file_missing(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(audio.AudioError) as excinfo:
        decode.load_file(path)
    assert str(path) in message(excinfo)
    assert "no such file" in message(excinfo)


def test_load_file_directory_is_not_a_file(tmp_path):
    with pytest.raises(audio.AudioError, match="is a directory, not an audio file"):
        decode.load_file(tmp_path)


def test_load_file_corrupt(tmp_path):
    path = tmp_path / "corrupt.wav"
    path.write_bytes(np.random.default_rng(1).bytes(2048))
    with pytest.raises(audio.AudioError) as excinfo:
        decode.load_file(path)
    assert str(path) in message(excinfo)
    assert "not audio" in message(excinfo)


def test_load_file_headerless_raw_is_not_audio(tmp_path):
    path = tmp_path / "samples.raw"
    path.write_bytes(b"\x00\x01" * 100)
    with pytest.raises(audio.AudioError) as excinfo:
        decode.load_file(path)
    assert str(path) in message(excinfo)
    assert "not audio" in message(excinfo)


def test_load_file_empty(tmp_path):
    path = write(tmp_path, "empty.wav", np.zeros((0, 1), np.float32), 8000)
    with pytest.raises(audio.AudioError) as excinfo:
        decode.load_file(path)
    assert str(path) in message(excinfo)
    assert "empty" in message(excinfo)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_load_file_non_finite(tmp_path, bad):
    data = sine(440, 8000, 0.1)
    data[17] = bad
    path = write(tmp_path, "bad.wav", data, 8000, subtype="FLOAT")
    with pytest.raises(audio.AudioError) as excinfo:
        decode.load_file(path)
    assert str(path) in message(excinfo)
    assert "non-finite" in message(excinfo)
    assert "index 17" in message(excinfo)


def test_load_file_non_finite_in_one_channel(tmp_path):
    data = np.zeros((100, 2), np.float32)
    data[40, 1] = np.nan
    path = write(tmp_path, "bad_right.wav", data, SR, subtype="FLOAT")
    with pytest.raises(audio.AudioError, match="non-finite"):
        decode.load_file(path)


def test_load_file_too_short_to_resample(tmp_path):
    path = write(tmp_path, "one.wav", np.full(1, 0.5, np.float32), 44100)
    with pytest.raises(audio.AudioError) as excinfo:
        decode.load_file(path)
    assert str(path) in message(excinfo)
    assert "too short" in message(excinfo)


def test_load_real_fsdd_recording():
    path = FSDD / "recordings" / "0_george_0.wav"
    if not path.exists():
        pytest.skip(f"shared FSDD data not found at {FSDD}")
    original, sr = sf.read(path, dtype="float32")
    assert sr == 8000 and original.ndim == 1  # 8 kHz mono PCM16

    y = decode.load_file(path)

    assert_mono_f32(y)
    assert abs(len(y) - 1.5 * len(original)) <= 2
    assert rms(y) == pytest.approx(rms(original), rel=0.05)


# ---------------------------------------------------------------- check_array


def test_check_array_float64_becomes_float32_copy():
    x = np.linspace(-1, 1, 50)
    y = input_clips.check_array(x, name="audio")
    assert_mono_f32(y)
    np.testing.assert_allclose(y, x, rtol=1e-6)


def test_check_array_never_lets_later_processing_change_the_callers_data():
    # A float32 clip is not copied but comes back read-only; any other is a new array.
    x = np.ones(10, np.float32)
    y = input_clips.check_array(x, name="audio")
    assert np.shares_memory(x, y)
    with pytest.raises(ValueError, match="read-only"):
        y[0] = 5
    for other in (x.astype(np.float64), x[::2]):
        z = input_clips.check_array(other, name="audio")
        assert not np.shares_memory(other, z) and z.flags.c_contiguous
        z[0] = 5
        assert other[0] == 1
    assert x[0] == 1


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_check_array_float_dtypes(dtype):
    y = input_clips.check_array(np.full(8, 0.25, dtype), name="audio")
    assert_mono_f32(y)
    np.testing.assert_array_equal(y, np.full(8, 0.25, np.float32))


def test_check_array_list_and_strided_input():
    assert_mono_f32(input_clips.check_array([0.1, -0.2, 0.3], name="audio"))
    y = input_clips.check_array(np.arange(20, dtype=np.float32)[::2], name="audio")
    assert_mono_f32(y)
    np.testing.assert_array_equal(y, np.arange(0, 20, 2))


def test_check_array_int16_hint():
    with pytest.raises(TypeError) as excinfo:
        input_clips.check_array(np.zeros(10, np.int16), name="clip 3")
    msg = message(excinfo)
    assert "clip 3" in msg and "int16" in msg and "float" in msg and "32768" in msg


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.bool_, np.complex64, object])
def test_check_array_rejects_non_float_dtypes(dtype):
    with pytest.raises(TypeError) as excinfo:
        input_clips.check_array(np.zeros(4, dtype), name="audio")
    assert str(np.dtype(dtype)) in message(excinfo)
    assert "float" in message(excinfo)


def test_check_array_integer_list_rejected():
    with pytest.raises(TypeError, match="int64"):
        input_clips.check_array([1, 2, 3], name="audio")


@pytest.mark.parametrize("shape", [(), (2, 10), (1, 1, 5)])
def test_check_array_must_be_1d(shape):
    with pytest.raises(ValueError) as excinfo:
        input_clips.check_array(np.zeros(shape, np.float32), name="clip 0")
    msg = message(excinfo)
    assert "clip 0" in msg and "1-D" in msg and str(shape) in msg


def test_check_array_empty():
    with pytest.raises(audio.AudioError) as excinfo:
        input_clips.check_array(np.zeros(0, np.float32), name="audio")
    assert "audio" in message(excinfo) and "empty" in message(excinfo)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_array_non_finite(bad):
    x = np.zeros(10)
    x[6] = bad
    with pytest.raises(audio.AudioError) as excinfo:
        input_clips.check_array(x, name="clip 2")
    msg = message(excinfo)
    assert "clip 2" in msg and "non-finite" in msg and "index 6" in msg


def test_check_array_float64_out_of_float32_range():
    x = np.array([0.0, 1e300])
    with pytest.raises(audio.AudioError, match="audio: .*float32 range"):
        input_clips.check_array(x, name="audio")


def test_check_array_ragged_list():
    with pytest.raises(audio.AudioError, match="audio: cannot convert"):
        input_clips.check_array([[0.1, 0.2], [0.3]], name="audio")


# ---------------------------------------------------------------- resample


def test_resample_noop_at_model_rate():
    x = np.ones(10, np.float32)
    assert input_clips.resample(x, 12000) is x
    assert input_clips.resample(x, 12000.0) is x


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100, 48000, 11025.0])
def test_resample_length_and_frequency(sr):
    x = sine(440, int(sr), 1.0)
    y = input_clips.resample(x, sr)
    assert_mono_f32(y)
    assert abs(len(y) - len(x) * SR / sr) <= 1
    assert abs(peak_freq(y) - 440) <= 2


def test_resample_float64_input_gives_float32():
    y = input_clips.resample(np.zeros(800), 8000)
    assert_mono_f32(y)
    assert len(y) == 1200


@pytest.mark.parametrize("sr", [0, -8000, float("nan"), float("inf"), "8000", None, True])
def test_resample_invalid_sr(sr):
    with pytest.raises(ValueError, match="positive"):
        input_clips.resample(np.zeros(10, np.float32), sr)


# ---------------------------------------------------------------- fix_length

CLIP = np.arange(1, 11, dtype=np.float32)  # 10 samples: 1..10


@pytest.mark.parametrize("mode", ["crop", "zero", "repeat"])
@pytest.mark.parametrize("length", [4, 10])
def test_fix_length_crops_in_every_fixing_mode(mode, length):
    y = input_clips.fix_length(CLIP, length, mode, name="audio")
    np.testing.assert_array_equal(y, CLIP[:length])
    assert y.dtype == np.float32 and y.flags.c_contiguous


def test_fix_length_crop_never_pads():
    y = input_clips.fix_length(CLIP, 25, "crop", name="audio")
    np.testing.assert_array_equal(y, CLIP)


@pytest.mark.parametrize("length", [4, 25])
def test_fix_length_none_keeps_the_whole_clip(length):
    y = input_clips.fix_length(CLIP, length, "none", name="audio")
    np.testing.assert_array_equal(y, CLIP)
    assert y.flags.c_contiguous


def test_fix_length_zero_pads():
    y = input_clips.fix_length(CLIP, 25, "zero", name="audio")
    assert y.dtype == np.float32 and len(y) == 25
    np.testing.assert_array_equal(y[:10], CLIP)
    np.testing.assert_array_equal(y[10:], 0)


def test_fix_length_repeat_tiles_then_cuts():
    y = input_clips.fix_length(CLIP, 25, "repeat", name="audio")
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.concatenate([CLIP, CLIP, CLIP[:5]]))


def test_fix_length_repeat_exact_multiple():
    y = input_clips.fix_length(CLIP, 30, "repeat", name="audio")
    np.testing.assert_array_equal(y, np.tile(CLIP, 3))


def test_fix_length_repeat_single_sample():
    y = input_clips.fix_length(np.array([0.5], np.float32), 7, "repeat", name="audio")
    np.testing.assert_array_equal(y, np.full(7, 0.5, np.float32))


def test_fix_length_accepts_numpy_int():
    assert len(input_clips.fix_length(CLIP, np.int64(3), "zero", name="audio")) == 3


def test_fix_length_unknown_mode():
    with pytest.raises(ValueError) as excinfo:
        input_clips.fix_length(CLIP, 5, "reflect", name="audio")
    msg = message(excinfo)
    assert "reflect" in msg and all(mode in msg for mode in input_clips.PAD_MODES)


@pytest.mark.parametrize("length", [0, -5, 2.5, "10", True, None])
def test_fix_length_invalid_length(length):
    with pytest.raises(ValueError, match="positive int"):
        input_clips.fix_length(CLIP, length, "zero", name="audio")


def test_fix_length_empty_clip_names_clip():
    with pytest.raises(audio.AudioError, match="clip 4"):
        input_clips.fix_length(np.zeros(0, np.float32), 5, "repeat", name="clip 4")


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 50),
    length=st.integers(1, 200),
    mode=st.sampled_from(input_clips.PAD_MODES),
)
def test_fix_length_properties(n, length, mode):
    x = np.arange(1, n + 1, dtype=np.float32)
    y = input_clips.fix_length(x, length, mode, name="audio")
    expected_len = {"crop": min(n, length), "none": n}.get(mode, length)
    assert len(y) == expected_len
    m = min(n, length)
    np.testing.assert_array_equal(y[:m], x[:m])
    if mode == "zero":
        assert not y[m:].any()
    if mode == "repeat":
        np.testing.assert_array_equal(y, x[np.arange(length) % n])


# ---------------------------------------------------------------- load_clips


def test_load_clips_1d_array():
    clips, names, single = input_clips.load_clips(sine(440, 8000, 0.5), sr=8000, length=3000, pad="zero")
    assert single is True
    assert names == ["audio"]
    assert len(clips) == 1
    assert_mono_f32(clips[0])
    assert len(clips[0]) == 3000


def test_load_clips_array_requires_sr():
    with pytest.raises(ValueError, match="sr is required for arrays"):
        input_clips.load_clips(np.zeros(100, np.float32), length=50, pad="crop")


def test_load_clips_array_invalid_sr():
    with pytest.raises(ValueError, match="positive"):
        input_clips.load_clips(np.zeros(100, np.float32), sr=-1, length=50, pad="crop")


def test_load_clips_2d_batch():
    batch = np.stack([sine(300, 24000, 0.5), sine(600, 24000, 0.5)])
    clips, names, single = input_clips.load_clips(batch, sr=24000, length=6000, pad="repeat")
    assert single is False
    assert names == ["clip 0", "clip 1"]
    assert len(clips) == 2
    for clip, freq in zip(clips, [300, 600]):
        assert_mono_f32(clip)
        assert len(clip) == 6000
        assert abs(peak_freq(clip) - freq) <= 3


def test_load_clips_2d_error_names_row():
    batch = np.zeros((3, 100), np.float32)
    batch[1, 10] = np.nan
    with pytest.raises(audio.AudioError) as excinfo:
        input_clips.load_clips(batch, sr=SR, length=100, pad="crop", min_seconds=0)
    msg = message(excinfo)
    assert "clip 1" in msg and "non-finite" in msg
    assert "clip 0" not in msg and "clip 2" not in msg


def test_load_clips_2d_int_batch_type_error():
    with pytest.raises(TypeError, match="int16"):
        input_clips.load_clips(np.zeros((2, 10), np.int16), sr=SR, length=10, pad="crop")


def test_load_clips_2d_float64_batch():
    clips, _, _ = input_clips.load_clips(np.zeros((2, 10)), sr=SR, length=10, pad="crop", min_seconds=0)
    assert all(c.dtype == np.float32 for c in clips)


@pytest.mark.parametrize("shape", [(), (2, 3, 10)])
def test_load_clips_bad_ndim(shape):
    with pytest.raises(ValueError) as excinfo:
        input_clips.load_clips(np.zeros(shape, np.float32), sr=SR, length=10, pad="crop")
    msg = message(excinfo)
    assert str(shape) in msg and "1-D" in msg and "2-D" in msg


def test_load_clips_empty_batch():
    with pytest.raises(ValueError, match="no clips"):
        input_clips.load_clips(np.zeros((0, 10), np.float32), sr=SR, length=10, pad="crop")


def test_load_clips_cannot_change_the_input():
    # A clip that needs no conversion is a read-only view; a resampled one is new.
    x = np.ones(20, np.float32)
    clips, _, _ = input_clips.load_clips(x, sr=SR, length=30, pad="crop", min_seconds=0)
    with pytest.raises(ValueError, match="read-only"):
        clips[0][:] = 0
    clips, _, _ = input_clips.load_clips(x, sr=SR * 2, length=30, pad="crop", min_seconds=0)
    clips[0][:] = 0
    assert (x == 1).all()


def test_load_clips_crop_keeps_short_clip_short():
    clips, _, _ = input_clips.load_clips(np.ones(20, np.float32), sr=SR, length=30, pad="crop", min_seconds=0)
    assert len(clips[0]) == 20


def test_load_clips_too_short_after_resampling():
    with pytest.raises(audio.AudioError, match="audio: too short"):
        input_clips.load_clips(np.ones(1, np.float32), sr=44100, length=10, pad="zero", min_seconds=0)


def test_load_clips_array_like_with_dunder_array():
    class Tensorish:
        def __array__(self, dtype=None, copy=None):
            return np.full(30, 0.1, np.float32)

    clips, names, single = input_clips.load_clips(Tensorish(), sr=SR, length=30, pad="crop", min_seconds=0)
    assert single is True
    np.testing.assert_allclose(clips[0], 0.1)


@pytest.mark.parametrize("as_str", [False, True])
def test_load_clips_single_path(tmp_path, as_str):
    path = write(tmp_path, "one.wav", sine(440, 8000, 1.0), 8000)
    clips, names, single = input_clips.load_clips(
        str(path) if as_str else path, length=5000, pad="crop"
    )
    assert single is True
    assert len(clips) == 1
    assert_mono_f32(clips[0])
    assert len(clips[0]) == 5000


@pytest.mark.parametrize("container", [list, tuple])
def test_load_clips_path_batch_mixed_rates(tmp_path, container):
    paths = [
        write(tmp_path, "a.wav", sine(440, 8000, 0.5), 8000),
        write(tmp_path, "b.flac", sine(440, 44100, 2.0), 44100),
        str(write(tmp_path, "c.ogg", sine(440, 22050, 1.0), 22050)),
    ]
    clips, names, single = input_clips.load_clips(container(paths), length=12000, pad="repeat")
    assert single is False
    assert names == [str(p) for p in paths]
    assert len(clips) == 3
    for clip in clips:
        assert_mono_f32(clip)
        assert len(clip) == 12000


def test_load_clips_one_path_in_list_is_a_batch(tmp_path):
    path = write(tmp_path, "a.wav", sine(440, SR, 0.1), SR)
    clips, names, single = input_clips.load_clips([path], length=100, pad="crop")
    assert single is False and len(clips) == 1


def test_load_clips_batch_error_names_bad_file(tmp_path):
    good = write(tmp_path, "good.wav", sine(440, SR, 0.1), SR)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all" * 10)
    with pytest.raises(audio.AudioError) as excinfo:
        input_clips.load_clips([good, bad], length=100, pad="crop")
    msg = message(excinfo)
    assert str(bad) in msg and str(good) not in msg and "not audio" in msg


def test_load_clips_sr_with_files(tmp_path):
    path = write(tmp_path, "a.wav", sine(440, SR, 0.1), SR)
    expected = "sr applies to arrays only; files carry their own sample rate"
    for arg in (path, [path]):
        with pytest.raises(ValueError) as excinfo:
            input_clips.load_clips(arg, sr=SR, length=100, pad="crop")
        assert message(excinfo) == expected


def test_load_clips_empty_list():
    with pytest.raises(ValueError, match="empty list"):
        input_clips.load_clips([], length=100, pad="crop")


def test_load_clips_list_of_arrays_rejected():
    with pytest.raises(TypeError, match=r"audio\[1\].*file paths"):
        input_clips.load_clips(["x.wav", np.zeros(10)], length=100, pad="crop")


@pytest.mark.parametrize("value", [None, 3, 0.5, {"a": 1}])
def test_load_clips_unsupported_type(value):
    with pytest.raises(TypeError, match="numpy array, a file path, or a list"):
        input_clips.load_clips(value, sr=SR, length=100, pad="crop")


def test_load_clips_checks_pad_before_reading(tmp_path):
    missing = tmp_path / "missing.wav"
    with pytest.raises(ValueError, match="unknown pad mode 'bogus'"):
        input_clips.load_clips(missing, length=100, pad="bogus")
    with pytest.raises(ValueError, match="positive int"):
        input_clips.load_clips(missing, length=0, pad="zero")


def test_load_clips_missing_file(tmp_path):
    missing = tmp_path / "missing.wav"
    with pytest.raises(audio.AudioError) as excinfo:
        input_clips.load_clips(os.fspath(missing), length=100, pad="zero")
    assert str(missing) in message(excinfo) and "no such file" in message(excinfo)
