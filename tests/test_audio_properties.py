"""Property-based tests of the audio loader on random shapes and values."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from randcnn_fast.input import audio, decode
from randcnn_fast.input import clips as input_clips
finite = st.floats(-1.0, 1.0, width=32)
clips = hnp.arrays(np.float32, st.integers(1, 400), elements=finite)


@given(clip=clips, length=st.integers(1, 900), mode=st.sampled_from(input_clips.PAD_MODES))
def test_fix_length_keeps_the_start_and_reaches_the_length(clip, length, mode):
    out = input_clips.fix_length(clip, length, mode, name="x")
    expected = {"crop": min(len(clip), length), "none": len(clip)}.get(mode, length)
    assert out.shape == (expected,) and out.dtype == np.float32
    head = min(len(clip), length)
    np.testing.assert_array_equal(out[:head], clip[:head])
    if mode == "zero" and length > len(clip):
        assert not out[len(clip):].any()
    if mode == "repeat":
        np.testing.assert_array_equal(out, clip[np.arange(length) % len(clip)])


@given(clip=hnp.arrays(st.sampled_from([np.float16, np.float32, np.float64]), st.integers(1, 300),
                       elements=st.floats(-1, 1, width=16)))
def test_check_array_returns_contiguous_float32(clip):
    out = input_clips.check_array(clip, name="x")
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, clip.astype(np.float32))


@given(clip=clips, position=st.integers(0, 10_000), bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_any_non_finite_sample_is_reported_with_its_position(clip, position, bad):
    clip = clip.copy()
    position %= len(clip)
    clip[position] = bad
    with pytest.raises(audio.AudioError, match=f"first at index {position}"):
        input_clips.check_array(clip, name="x")


@given(shape=st.one_of(st.just(()), hnp.array_shapes(min_dims=2, max_dims=4, max_side=3)))
def test_check_array_rejects_every_other_shape(shape):
    with pytest.raises(ValueError):
        input_clips.check_array(np.zeros(shape, np.float32), name="x")


@settings(max_examples=25, deadline=None)
@given(clip=hnp.arrays(np.float32, st.integers(16, 3000), elements=st.floats(-0.875, 0.875, width=32)),
       rate=st.sampled_from([8000, 12000, 16000, 22050, 44100]), channels=st.integers(1, 3))
def test_files_round_trip_through_the_loader(tmp_path_factory, clip, rate, channels):
    path = tmp_path_factory.mktemp("wav") / "clip.wav"
    frames = np.stack([clip] * channels, axis=1)
    sf.write(path, frames, rate, subtype="FLOAT")
    loaded = decode.load_file(path)
    assert loaded.dtype == np.float32 and loaded.ndim == 1 and np.isfinite(loaded).all()
    assert abs(len(loaded) - len(clip) * 12000 / rate) <= 2
    if rate == 12000:
        np.testing.assert_allclose(loaded, clip, atol=1e-6)
