"""MP3 files as real collections hold them, built for the decoding tests.

libsndfile takes an MP3's length from its Xing/LAME header when there is one; without it, the
length is an estimate from the file's size and the first frame's bitrate. A stream that opens
with quiet (small, low-bitrate frames) and goes on loud (large frames), stripped of its Xing
frame and tagged like a ripped track, makes that estimate several times too large: the kind of
file on which a reader that trusts the announced length invents audio.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

# Bitrates (kbit/s) of MPEG audio layer III by header index: MPEG-1, and MPEG-2/2.5.
_BITRATES = {1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
             2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
# Sample rates by version bits (3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5) and header index.
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def first_frame_bytes(stream: bytes) -> int:
    """Length in bytes of the layer III frame that opens ``stream``."""
    header = int.from_bytes(stream[:4], "big")
    if header >> 21 != 0x7FF:
        raise ValueError("the stream does not open with an MPEG frame")
    version, bitrate_index = (header >> 19) & 3, (header >> 12) & 15
    rate_index, padding = (header >> 10) & 3, (header >> 9) & 1
    mpeg1 = version == 3
    kbps = _BITRATES[1 if mpeg1 else 2][bitrate_index]
    return (144 if mpeg1 else 72) * kbps * 1000 // _RATES[version][rate_index] + padding


def id3v2_tag(title: str) -> bytes:
    """A minimal ID3v2.3 tag with one title frame, as taggers put before the audio."""
    text = b"\x00" + title.encode("latin-1")
    frame = b"TIT2" + len(text).to_bytes(4, "big") + b"\x00\x00" + text
    size = len(frame)
    syncsafe = bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x03\x00\x00" + syncsafe + frame


def decoded_frames(path) -> int:
    """Frames libsndfile really delivers, counted read by read (no announced length used)."""
    total = 0
    with sf.SoundFile(path) as f:
        buffer = np.empty((4096, f.channels), np.float32)
        while n := len(f.read(out=buffer)):
            total += n
    return total


def write_overcounting_mp3(path: Path, *, sr: int = 22050, channels: int = 2,
                           seconds: float = 3.0, seed: int = 0) -> Path:
    """Write an MP3 whose announced frame count exceeds its audio (checked), or skip."""
    if "MP3" not in sf.available_formats():
        pytest.skip(f"this libsndfile ({sf.__libsndfile_version__}) cannot write MP3")
    n = int(seconds * sr)
    rng = np.random.default_rng(seed)
    audio = np.zeros((n, channels), np.float32)
    audio[n // 3:] = 0.4 * rng.standard_normal((n - n // 3, channels)).astype(np.float32)
    plain = path.with_name(path.stem + ".plain.mp3")
    sf.write(plain, audio, sr, format="MP3")
    stream = plain.read_bytes()
    plain.unlink()
    xing = first_frame_bytes(stream)
    if b"Xing" not in stream[:xing] and b"Info" not in stream[:xing]:
        pytest.skip("this libsndfile writes MP3 without a Xing frame to strip")
    path.write_bytes(id3v2_tag("over-counted") + stream[xing:])
    with sf.SoundFile(path) as f:
        announced = f.frames
    real = decoded_frames(path)
    if not announced > real + sr // 10:
        pytest.skip(f"this libsndfile does not over-count the fixture ({announced} announced, "
                    f"{real} decoded)")
    return path
