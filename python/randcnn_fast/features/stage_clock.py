"""Where a feature step's time goes: seconds per stage, summed over the threads that ran it."""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from contextlib import contextmanager

__all__ = ["StageClock"]


class StageClock:
    """Seconds spent in named stages (decode, front-end, each network's forward pass...).

    Threads that work side by side each add their own time, so a stage's figure is in
    thread-seconds: on two busy threads the stages add up to about twice the wall time.

    Attributes
    ----------
    seconds : dict of str to float
        Thread-seconds per stage, in the order stages were first timed.

    Examples
    --------
    >>> clock = StageClock()
    >>> with clock("decode"):
    ...     pass
    >>> list(clock.seconds), clock.seconds["decode"] >= 0
    (['decode'], True)
    """

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self, stage: str):
        """Time the block under ``stage``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            with self._lock:
                self.seconds[stage] += elapsed
