"""Event detection on frame embeddings: frame labels from known segments, and segments from
predicted frame labels.

A segment is ``(onset, offset, label)`` in seconds. A frame belongs to a segment when its
timestamp (its centre, see :meth:`randcnn_fast.Embedder.embed_frames`) falls in
``[onset, offset)``; a run of frames with one label becomes the segment from half a hop before
its first timestamp to half a hop after its last.
"""
from __future__ import annotations

import numpy as np

__all__ = ["frame_labels", "segments_from_frames"]


def frame_labels(timestamps, segments, background) -> np.ndarray:
    """Label each frame with the segment holding its timestamp, else ``background``.

    Parameters
    ----------
    timestamps : array of float, (n_frames,)
        Frame centres in seconds.
    segments : sequence of (onset, offset, label)
        Known events in seconds; they must not overlap.
    background : label
        The label of frames outside every segment.

    Returns
    -------
    numpy.ndarray
        (n_frames,), of the labels' common type.

    Raises
    ------
    ValueError
        When two segments overlap.

    Examples
    --------
    >>> frame_labels([0.25, 0.75, 1.25, 1.75], [(0.5, 1.5, "dog")], "none")
    array(['none', 'dog', 'dog', 'none'], dtype='<U4')
    """
    timestamps = np.asarray(timestamps, dtype=np.float64)
    ordered = sorted(segments, key=lambda s: s[0])
    for (_, end, _), (start, _, _) in zip(ordered, ordered[1:]):
        if start < end:
            raise ValueError(f"segments overlap: one ends at {end} s after the next starts at "
                             f"{start} s")
    common = np.array([background, *(label for _, _, label in ordered)]).dtype
    labels = np.full(len(timestamps), background, dtype=common)
    for onset, offset, label in ordered:
        labels[(timestamps >= onset) & (timestamps < offset)] = label
    return labels


def segments_from_frames(labels, timestamps, hop: float, background,
                         min_frames: int = 1) -> list[tuple[float, float, object]]:
    """Turn runs of equal, non-background frame labels into segments.

    Parameters
    ----------
    labels : array, (n_frames,)
        Predicted label of each frame.
    timestamps : array of float, (n_frames,)
        Frame centres in seconds, evenly spaced by ``hop``.
    hop : float
        Seconds between frames.
    background : label
        The label that is no event.
    min_frames : int
        Runs shorter than this are dropped (isolated wrong frames).

    Returns
    -------
    list of (onset, offset, label)
        In time order; onset half a hop before the run's first frame, offset half a hop after
        its last.

    Raises
    ------
    ValueError
        When ``labels`` and ``timestamps`` are not 1-D and of one length.

    Examples
    --------
    >>> labels = ["none", "dog", "dog", "none"]
    >>> segments_from_frames(labels, [0.25, 0.75, 1.25, 1.75], 0.5, "none")
    [(0.5, 1.5, 'dog')]
    """
    labels = np.asarray(labels)
    timestamps = np.asarray(timestamps, dtype=np.float64)
    if labels.shape != timestamps.shape or labels.ndim != 1:
        raise ValueError(f"labels {labels.shape} and timestamps {timestamps.shape} must be "
                         f"1-D and of one length")
    if len(labels) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    stops = np.r_[starts[1:], len(labels)]
    return [(float(timestamps[a] - hop / 2), float(timestamps[b - 1] + hop / 2), labels[a].item())
            for a, b in zip(starts, stops) if labels[a] != background and b - a >= min_frames]
