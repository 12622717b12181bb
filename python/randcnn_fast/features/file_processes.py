"""Files worked on side by side in worker processes.

For networks so small that a file's Python work (decoding, the log-mel, the executor's calls)
takes about as long as their forward passes, threads side by side take turns at the GIL;
worker processes do not. A pool runs one *job* on many files: a picklable object that the
worker builds once (``job.start()``, such as building an embedder) and then calls on each item
(``job(item)``), with the parent's kernels (instruction set and bf16 mode) and one thread, so
that its results are those of the same call in the parent, bit for bit.

The parent talks to each worker over its stdin and stdout: length-prefixed pickles, a request
``(first index, items, working folder)`` for a chunk of consecutive items and a reply
``(first index, results)``, each result what the job returned or the Exception it raised. A
worker's own stdout is moved to stderr, so nothing printed can corrupt the replies; a worker
ends when its stdin closes, which also happens when the parent dies.
"""
from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import traceback
import weakref
from collections import deque
from typing import Iterator

__all__ = ["FileProcesses", "WorkerError"]

#: Files a request carries at most: the parent's work per file (a pickle, a queue hand-off, a
#: reply) then costs an eighth as much, on the cores the workers need.
CHUNK_FILES = 8
#: Requests each worker holds: the chunk it embeds and the next, so it never waits for the parent.
IN_FLIGHT = 2
#: How many chunks past the next file to yield may be under way or waiting to be yielded, per
#: worker: a file that takes long holds back the rest of the list by a bounded number of results.
AHEAD_CHUNKS_PER_WORKER = 4
#: Seconds a new worker may take to import and build its network before it counts as failed.
START_SECONDS = 120.0
#: Seconds a closing worker may take to exit before it is killed.
EXIT_SECONDS = 5.0

_HEADER = struct.Struct("<Q")
# The worker imports the parent's randcnn_fast: the folder holding the package comes first on its
# path (an installed package's site-packages, or the script's folder it was found in).
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_WORKER_MAIN = ("import sys; sys.path.insert(0, sys.argv[1]); "
                "from randcnn_fast.features.file_processes import serve; serve()")
_EOF = None  # what _receive returns at the end of the stream


class WorkerError(RuntimeError):
    """A worker process could not start, or exited while it was working on a file.

    Examples
    --------
    >>> str(WorkerError("a.wav: the worker process embedding this file exited with code -9"))
    'a.wav: the worker process embedding this file exited with code -9'
    """


def _send(stream, message) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream):
    """The next message, or ``_EOF`` when the stream ends (a message cut short included)."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return _EOF
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    return pickle.loads(data) if len(data) == size else _EOF


class _Worker:
    """One worker process, the requests it has not answered yet, and a thread that passes its
    replies to the pool's queue as ``(worker, message)``."""

    def __init__(self, recipe: dict, replies: queue.Queue):
        try:
            self.process = subprocess.Popen([sys.executable, "-c", _WORKER_MAIN, _PACKAGE_ROOT],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        except OSError as error:  # no interpreter to start (an embedded Python), no resources
            raise WorkerError(f"a worker process could not start: {error}") from error
        self.pending: deque = deque()  # (first index, items) of each chunk, in the order sent
        self.ready = False
        try:
            _send(self.process.stdin, recipe)
        except OSError:
            pass  # it died at once: its end of stream says so
        threading.Thread(target=self._read, args=(replies,), daemon=True).start()

    def _read(self, replies: queue.Queue) -> None:
        while (message := _receive(self.process.stdout)) is not _EOF:
            replies.put((self, message))
        self.process.stdout.close()
        replies.put((self, _EOF))

    def send(self, first: int, items: list) -> None:
        self.pending.append((first, items))
        try:
            # With the parent's working folder, so a relative path names the same file.
            _send(self.process.stdin, (first, items, os.getcwd()))
        except OSError:
            pass  # the worker is gone: its end of stream, still to come, hands these files on

    def close(self) -> None:
        self.ask_to_exit()
        self.reap()

    def ask_to_exit(self) -> None:
        try:
            self.process.stdin.close()
        except OSError:
            pass  # already gone

    def reap(self) -> None:
        """Wait for the process to exit, killing it after EXIT_SECONDS."""
        try:
            self.process.wait(EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class FileProcesses:
    """Worker processes that run one job on many files.

    Parameters
    ----------
    job : object
        Picklable, with ``job.start()``, called once in each worker (to build an embedder, for
        instance), and ``job(item)``, called on each item there. Its class must be importable
        in a fresh interpreter.
    n_workers : int
        Processes to run.

    Attributes
    ----------
    n_workers : int
        Worker processes running (0 once closed).

    Raises
    ------
    WorkerError
        If a worker process cannot be started at all. One that starts but fails to run
        ``job.start()`` raises it from :meth:`run` (its error in the message).

    Examples
    --------
    >>> import numpy as np, soundfile
    >>> from randcnn_fast import Embedder
    >>> soundfile.write("a.wav", np.zeros(12000, np.float32), 12000)
    >>> pool = FileProcesses(Embedder("temporal", size="small")._file_job(), 2)
    >>> [(path, result.vector.shape) for path, result in pool.run(["a.wav", "a.wav"])]
    [('a.wav', (112,)), ('a.wav', (112,))]
    >>> pool.close(); pool.n_workers
    0
    """

    def __init__(self, job, n_workers: int):
        from .. import _core

        info = _core.isa_info()
        # The module file too: a worker that imported another randcnn_fast refuses to start.
        self._recipe = {"job": job, "isa": info["active"], "bf16_mode": info["bf16_mode"],
                        "module": os.path.abspath(__file__)}
        self._replies: queue.Queue = queue.Queue()
        self._workers: list[_Worker] = []
        # Closes the workers when the pool is dropped or the interpreter exits.
        self._finalizer = weakref.finalize(self, _close_workers, self._workers)
        # The workers start in the background: the caller may go on with other work (a run's
        # set-up) meanwhile, and run() waits for them.
        try:
            for _ in range(n_workers):
                self._workers.append(_Worker(self._recipe, self._replies))
        except BaseException:
            self.close()
            raise

    @property
    def n_workers(self) -> int:
        """Worker processes running."""
        return len(self._workers)

    def run(self, items) -> Iterator[tuple[object, object]]:
        """Run the job on each item in the workers, yielding the results in the order given.

        An item whose worker dies while working on it gets a :class:`WorkerError`; the worker
        is replaced and the items it held are sent again. Stopping before the last item (or an
        error here) closes the workers, since replies still owed would otherwise reach the
        next call.

        Parameters
        ----------
        items : iterable
            Files: each a path, or a tuple whose first element is one (errors name it).

        Yields
        ------
        (item, object)
            Each item with what ``job(item)`` returned, or the Exception it raised.

        Raises
        ------
        WorkerError
            If a worker cannot start (a first one, or one replacing a worker that died), or
            the pool is closed.

        Examples
        --------
        >>> from randcnn_fast import Embedder
        >>> pool = FileProcesses(Embedder("temporal", size="small")._file_job(), 1)
        >>> [type(result).__name__ for _, result in pool.run(["missing.wav"])]
        ['AudioError']
        >>> pool.close()
        """
        items = list(items)
        if items and not self._workers:
            raise WorkerError("the worker processes are closed; start a new FileProcesses")
        done: dict[int, object] = {}
        sent = yielded = 0
        # Chunks small enough that every worker has two of a short list.
        chunk = max(1, min(CHUNK_FILES, len(items) // (IN_FLIGHT * max(1, self.n_workers))))

        def feed():
            nonlocal sent
            ahead = AHEAD_CHUNKS_PER_WORKER * chunk * len(self._workers)
            for worker in self._workers:
                while (len(worker.pending) < IN_FLIGHT and sent < len(items)
                       and sent - yielded < ahead):
                    worker.send(sent, items[sent:sent + chunk])
                    sent += len(worker.pending[-1][1])

        try:
            feed()
            while yielded < len(items):
                if yielded in done:
                    yield items[yielded], done.pop(yielded)
                    yielded += 1
                    feed()
                    continue
                worker, message = self._next_reply()
                if message is _EOF or message[0] == "failed":
                    self._replace(worker, message, done)
                elif message[0] == "ready":
                    worker.ready = True
                else:  # a worker answers its requests in the order sent
                    first, _ = worker.pending.popleft()
                    done.update(enumerate(message[1], first))
                feed()
        finally:
            # Replies still owed (a caller that stopped early, or an error here) would reach
            # the next call: end the workers instead. A caller that stops after the last file
            # owes nothing.
            if any(worker.pending for worker in self._workers):
                self.close()

    def close(self) -> None:
        """End every worker; calling it again does nothing.

        Examples
        --------
        >>> from randcnn_fast import Embedder
        >>> pool = FileProcesses(Embedder("temporal", size="small")._file_job(), 1)
        >>> pool.close(); pool.close(); pool.n_workers
        0
        """
        self._finalizer()

    def wait_ready(self) -> None:
        """Wait until every worker has started its job; call it between runs, not during one.

        Raises
        ------
        WorkerError
            If a worker could not start (its error in the message), or took more than
            :data:`START_SECONDS`.

        Examples
        --------
        >>> from randcnn_fast import Embedder
        >>> pool = FileProcesses(Embedder("temporal", size="small")._file_job(), 2)
        >>> pool.wait_ready(); pool.n_workers
        2
        >>> pool.close()
        """
        while any(not worker.ready for worker in self._workers):
            worker, message = self._next_reply()
            if message is not _EOF and message[0] == "ready":
                worker.ready = True
            elif not worker.ready:
                raise WorkerError(f"a worker process could not start: {_failure(worker, message)}")

    def _next_reply(self) -> tuple:
        """The next ``(worker, message)``; a worker still starting has START_SECONDS."""
        starting = any(not worker.ready for worker in self._workers)
        try:
            return self._replies.get(timeout=START_SECONDS if starting else None)
        except queue.Empty:
            raise WorkerError(f"a worker process did not start within {START_SECONDS:.0f} s") from None

    def _replace(self, worker: _Worker, message, done: dict) -> None:
        """A worker failed or died: a new worker takes the items it held. Those of the chunk
        it was working on are sent again one per request, and a worker that dies on a chunk of
        one item gives that item the error. One that never started stops the whole call: its
        successor would fail alike."""
        if worker not in self._workers:
            return  # already replaced: its "failed" came before its end of stream
        if not worker.ready:
            raise WorkerError(f"a worker process could not start: {_failure(worker, message)}")
        held = list(worker.pending)
        if held and len(held[0][1]) == 1:
            first, (item,) = held.pop(0)
            done[first] = WorkerError(f"{_file_of(item)}: the worker process working on this "
                                      f"file {_failure(worker, message)}")
        elif held:
            first, items = held.pop(0)
            held[:0] = [(first + i, [item]) for i, item in enumerate(items)]
        self._workers.remove(worker)
        worker.close()
        new = _Worker(self._recipe, self._replies)
        self._workers.append(new)
        for first, items in held:
            new.send(first, items)


def _close_workers(workers: list) -> None:
    """End every worker: all are asked first, so that they exit together."""
    for worker in workers:
        worker.ask_to_exit()
    while workers:
        workers.pop().reap()


def _failure(worker: _Worker, message) -> str:
    """What happened to a worker: the error it reported, or how its process ended."""
    if message is not _EOF:
        return message[1]
    return f"exited with code {worker.process.wait()}"


def _file_of(item) -> str:
    """The file an item names: the item itself, or a tuple's first element."""
    return item[0] if isinstance(item, tuple) else item


def _picklable(result, item):
    """``result``, or a WorkerError with its text when it cannot cross to the parent."""
    try:
        pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        return result
    except Exception:  # noqa: BLE001
        return WorkerError(f"{_file_of(item)}: {type(result).__name__}: {result}")


def serve() -> None:
    """A worker's life: start the job of the recipe, then answer requests until stdin closes."""
    requests, replies = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else written to stdout goes to stderr, never into the replies
    try:
        recipe = _receive(requests)  # imports the job's module
        parents = recipe["module"]
        if os.path.abspath(__file__) != parents:
            raise ImportError(f"the worker imported {os.path.abspath(__file__)}, the parent "
                              f"{parents}")
        from randcnn_fast import _core
        from randcnn_fast.features.ordered import attempt

        _core.set_isa(recipe["isa"])
        _core.set_bf16_mode(recipe["bf16_mode"])
        job = recipe["job"]
        job.start()
    except Exception as error:  # noqa: BLE001
        _send(replies, ("failed", "".join(traceback.format_exception_only(error)).strip()))
        return
    _send(replies, ("ready", None))
    while (request := _receive(requests)) is not _EOF:
        first, items, folder = request
        if folder != os.getcwd():
            os.chdir(folder)
        _send(replies, (first, [_picklable(attempt(job, item), item) for item in items]))
