"""Work over a list of files in its order, a bounded number ahead, each file's error its own
result: how :meth:`~randcnn_fast.Embedder.embed_files` and the feature cache run files on
threads."""
from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator

__all__ = ["attempt", "in_order"]


def attempt(fn: Callable, *args):
    """``fn(*args)``, or the exception it raised (one file's failure is its own result).

    Parameters
    ----------
    fn : callable
        The work.
    *args
        Its arguments.

    Returns
    -------
    object
        What ``fn`` returned, or the Exception it raised.

    Examples
    --------
    >>> attempt(int, "7"), type(attempt(int, "seven")).__name__
    (7, 'ValueError')
    """
    try:
        return fn(*args)
    except Exception as error:  # noqa: BLE001
        return error


def in_order(pool: ThreadPoolExecutor, fn: Callable, items, *, ahead: int) -> Iterator[tuple]:
    """Yield ``(item, fn(item))`` in the order of ``items``, run on ``pool`` with at most
    ``ahead`` submitted and not yet yielded, so memory holds a bounded number of results.

    Parameters
    ----------
    pool : concurrent.futures.ThreadPoolExecutor
        Where ``fn`` runs.
    fn : callable
        Called with one item; an exception it raises is raised here, so wrap it with
        :func:`attempt` to keep going.
    items : iterable
        The work, in order.
    ahead : int
        How many items may be submitted before their results are taken.

    Yields
    ------
    (item, result)
        In the order of ``items``.

    Examples
    --------
    >>> with ThreadPoolExecutor(max_workers=2) as pool:
    ...     list(in_order(pool, lambda x: x * x, [3, 1, 2], ahead=2))
    [(3, 9), (1, 1), (2, 4)]
    """
    items = iter(items)
    pending = deque((item, pool.submit(fn, item)) for _, item in zip(range(ahead), items))
    while pending:
        item, future = pending.popleft()
        following = next(items, _END)
        if following is not _END:
            pending.append((following, pool.submit(fn, following)))
        yield item, future.result()


_END = object()
