"""Frame-wise embeddings: a grid of windows over a clip, and the per-window channel means.

The alignment, exactly (all positions are integer samples at 12 kHz):

- Frame ``i`` covers samples ``[i * hop, i * hop + window)`` of the clip; its timestamp is the
  centre of that span, ``(i * hop + window / 2) / 12000`` seconds. Frames run while the whole
  window fits, so there are ``1 + (n_samples - window) // hop`` of them and the last ends at or
  before the clip's end.
- A position of a layer stands at the centre of its receptive field in the input: for a
  waveform model the samples its value reads, counting 'same' padding as if it were input; for
  a spectrogram model the log-mel frames it reads, log-mel frame ``t`` being centred on sample
  ``256 t``. A centre before the first sample or after the last counts as that sample. A
  concatenation takes the geometry of its first input.
- A frame's vector holds, for each feature layer, the mean of each channel (over frequency
  too) at the positions whose centre falls in the frame's span. Where no centre falls in it (a
  window shorter than the layer's step), the frame takes the one position whose centre is
  nearest the frame's centre, the earlier one on a tie.

So a window of the whole clip (``window = n_samples``) gives exactly the clip embedding of the
whole clip (``pad="none"``), and a layer's frame means are always a reduction of the same maps
that the clip embedding averages, computed in the same single pass over the clip.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np

from .. import _core
from ..frontend.spectrogram import HOP as LOGMEL_HOP
from ..input.audio import SAMPLE_RATE
from .layers import Conv, MaxPoolTime, Network

__all__ = ["FrameGrid", "frame_grid", "to_samples"]

DEFAULT_HOP = 0.1  # seconds
DEFAULT_WINDOW = 1.0  # seconds


@dataclass(frozen=True)
class FrameGrid:
    """Windows of ``window`` samples every ``hop`` samples over a clip (all at 12 kHz).

    Parameters
    ----------
    n_samples : int
        The clip's length.
    hop : int
        Samples between the starts of consecutive frames.
    window : int
        Samples in a frame.

    Attributes
    ----------
    n_frames : int
        Whole windows that fit in the clip.
    starts : numpy.ndarray
        The first sample of each frame, int64 (n_frames,).
    timestamps : numpy.ndarray
        The centre of each frame in seconds, float64 (n_frames,).

    Examples
    --------
    >>> grid = FrameGrid(n_samples=36000, hop=6000, window=12000)
    >>> grid.n_frames
    5
    >>> grid.timestamps
    array([0.5, 1. , 1.5, 2. , 2.5])
    """

    n_samples: int
    hop: int
    window: int

    @property
    def n_frames(self) -> int:
        return 1 + (self.n_samples - self.window) // self.hop

    @property
    def starts(self) -> np.ndarray:
        """The first sample of each frame, int64 (n_frames,)."""
        return np.arange(self.n_frames, dtype=np.int64) * self.hop

    @property
    def timestamps(self) -> np.ndarray:
        """The centre of each frame in seconds, float64 (n_frames,), from integer positions so
        that spacing neither drifts nor accumulates rounding over long clips."""
        return (2 * self.starts + self.window) / (2 * SAMPLE_RATE)


def to_samples(seconds, what: str) -> int:
    """Convert a positive duration in seconds to a whole number of 12 kHz samples (rounded).

    Parameters
    ----------
    seconds : float
        The duration.
    what : str
        Its name, for error messages.

    Returns
    -------
    int
        Samples, at least 1.

    Raises
    ------
    ValueError
        When ``seconds`` is not finite, not positive, or shorter than one sample.

    Examples
    --------
    >>> to_samples(0.1, "hop")
    1200
    >>> to_samples(0, "hop")
    Traceback (most recent call last):
    ...
    ValueError: hop=0 s must be positive
    """
    if isinstance(seconds, bool) or not isinstance(seconds, Real) or not math.isfinite(seconds):
        raise ValueError(f"{what} must be a finite number of seconds, got {seconds!r}")
    if seconds <= 0:
        raise ValueError(f"{what}={seconds!r} s must be positive")
    samples = round(seconds * SAMPLE_RATE)
    if samples < 1:
        raise ValueError(f"{what}={seconds!r} s is shorter than one sample at {SAMPLE_RATE} Hz "
                         f"(1/{SAMPLE_RATE} s)")
    return samples


def frame_grid(n_samples: int, hop: float, window: float, *, name: str = "audio") -> FrameGrid:
    """Lay frames of ``window`` seconds every ``hop`` seconds over a clip.

    Parameters
    ----------
    n_samples : int
        The clip's length in samples at 12 kHz.
    hop, window : float
        Seconds between frame starts, and in a frame.
    name : str
        The clip's name, for error messages.

    Returns
    -------
    FrameGrid
        The frames, in samples.

    Raises
    ------
    ValueError
        Naming the value and the limit when ``hop`` or ``window`` is not positive or is
        longer than the clip.

    Examples
    --------
    >>> frame_grid(24000, hop=0.5, window=1.0)
    FrameGrid(n_samples=24000, hop=6000, window=12000)
    """
    hop_n, window_n = to_samples(hop, "hop"), to_samples(window, "window")
    duration = n_samples / SAMPLE_RATE
    for what, value, samples in (("hop", hop, hop_n), ("window", window, window_n)):
        if samples > n_samples:
            raise ValueError(f"{what}={value!r} s is longer than {name} ({duration:.6g} s, "
                             f"{n_samples} samples at {SAMPLE_RATE} Hz); it can be at most the "
                             f"clip's duration")
    return FrameGrid(int(n_samples), hop_n, window_n)


@dataclass(frozen=True)
class _Footprint:
    """Where a tensor's positions sit in the input: position ``p`` reads input rows
    ``[start + p * scale, start + p * scale + span)`` (rows before 0 or past the end are
    padding)."""

    start: int
    scale: int
    span: int


def _footprints(network: Network, length: int) -> dict[str, _Footprint]:
    """The footprint of every tensor for an input of ``length`` rows ('same' padding depends
    on the length)."""
    shapes = network.shapes(length)
    prints = {"input": _Footprint(0, 1, 1)}
    for layer in network.layers:
        src = prints[layer.sources[0]]
        if isinstance(layer, Conv):
            k, s, pool = layer.kernel[0], layer.stride[0], layer.pool[0]
            before = layer.paddings(shapes[layer.source])[0]
            prints[layer.name] = _Footprint(src.start - before * src.scale, src.scale * s * pool,
                                            ((pool - 1) * s + k - 1) * src.scale + src.span)
        elif isinstance(layer, MaxPoolTime):
            prints[layer.name] = _Footprint(src.start, src.scale * layer.pool,
                                            (layer.pool - 1) * src.scale + src.span)
        else:  # MeanFrequency keeps the grid; a Concat takes its first input's
            prints[layer.name] = src
    return prints


def _ceil_div(a, b):
    return -np.floor_divide(-a, b)


def _position_ranges(footprint: _Footprint, rows_per_sample_unit: int, n_positions: int,
                     grid: FrameGrid) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the positions ``[lo, hi)`` of a tensor whose centres fall in its span (the
    nearest one where none does), int64 arrays (n_frames,), both non-decreasing.

    Centres are handled doubled, as integers: ``2 * centre = offset + p * step`` samples.
    """
    unit = rows_per_sample_unit
    offset = unit * (2 * footprint.start + footprint.span - 1)
    step = 2 * unit * footprint.scale
    starts = grid.starts
    lo = np.clip(_ceil_div(2 * starts - offset, step), 0, n_positions)
    hi = np.clip(_ceil_div(2 * (starts + grid.window) - offset, step), 0, n_positions)
    lo[starts == 0] = 0  # centres before the clip's start count as its first sample
    hi[starts + grid.window >= grid.n_samples] = n_positions  # and past its end as its last
    empty = lo >= hi
    nearest = np.clip(_ceil_div(2 * (2 * starts + grid.window - offset) - step, 2 * step),
                      0, n_positions - 1)
    lo[empty], hi[empty] = nearest[empty], nearest[empty] + 1
    if np.any(np.diff(lo) < 0) or np.any(np.diff(hi) < 0):
        raise AssertionError("frame position ranges must be non-decreasing")
    return lo, hi


class FrameMeans:
    """The frame reduction (an executor reducer): per frame, the sum of each reduced tensor's
    outputs over the positions of the frame, added chunk by chunk from the owned rows.

    A chunk sums its frames in float64 and adds them once to float32 totals, which are as
    large as the result itself (frames x channels)."""

    def __init__(self, network: Network, length: int, grid: FrameGrid, reduced: set[str]):
        shapes = network.shapes(length)
        prints = _footprints(network, length)
        unit = 1 if network.input_kind == "waveform" else LOGMEL_HOP
        self.layers = reduced
        self.ranges = {name: _position_ranges(prints[name], unit, shapes[name][0], grid)
                       for name in reduced}
        self.counts = {name: (hi - lo) * shapes[name][1] for name, (lo, hi) in self.ranges.items()}
        self.totals = {name: np.zeros((grid.n_frames, shapes[name][2]), np.float32)
                       for name in reduced}

    def wants_map(self, name: str) -> bool:
        """True: frames need the outputs per position, not only the kernels' channel sums."""
        return True

    def add_sums(self, name: str, sums: np.ndarray) -> None:
        raise AssertionError("frame means need per-position outputs, not channel sums")

    def add_rows(self, name: str, rows: np.ndarray, first: int) -> None:
        """Rows (positions ``first``, ``first + 1``, ...; frequency; channel) of a tensor, added
        to every frame whose range covers them, in one native pass over the rows (running
        float64 sums, differenced where each frame starts and ends)."""
        lo, hi = self.ranges[name]
        _core.add_frame_sums(rows, first, lo, hi, self.totals[name])

    def means(self) -> dict[str, np.ndarray]:
        """Per reduced tensor, (n_frames, channels) float32 means, divided in place."""
        for name, total in self.totals.items():
            total /= self.counts[name][:, None].astype(np.float32)
        return self.totals
