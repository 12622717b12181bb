"""Where the threads of side-by-side ``embed_files`` spend their time, at size small.

For each architecture given, FSDD's first N files (``../shared/data/fsdd``) are embedded side
by side on 2 threads, and each worker thread's time between its first and last file is split
(from Linux's ``/proc/self/task/<tid>/schedstat``) into running on a core, waiting for a core
(other processes: the machine's load) and the rest, sleeping: waiting for the GIL, or for work.
A large sleeping share means the clips' Python work (decoding, log-mel, the executor's layer
calls) serialises on the GIL; a large waiting share means the machine is busy.

    python benchmarks/many_files_threads.py 600 temporal 7x96 vgg sample_level
"""
from __future__ import annotations

import csv
import sys
import threading
import time
from pathlib import Path

import randcnn_fast as rf

FSDD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fsdd"


def schedstat() -> tuple[float, float]:
    """(seconds on a core, seconds waiting for one) of the calling thread so far."""
    with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as f:
        running, waiting, _ = f.read().split()
    return int(running) / 1e9, int(waiting) / 1e9


def main(n_files: int, archs: list[str]) -> None:
    with open(FSDD / "labels.csv", newline="") as f:
        paths = [str(FSDD / row["path"]) for row in csv.DictReader(f)][:n_files]
    for arch in archs:
        embedder = rf.Embedder(arch, size="small", n_threads=2)
        embedder._arrangement = "side_by_side"
        first, last = {}, {}
        embed_file_on = embedder._embed_file_on

        def timed(path, n_threads):
            tid = threading.get_native_id()
            first.setdefault(tid, (time.perf_counter(), *schedstat()))
            result = embed_file_on(path, n_threads)
            last[tid] = (time.perf_counter(), *schedstat())
            return result

        embedder._embed_file_on = timed
        embedder.embed(paths[:20])  # warm-up
        first.clear()
        last.clear()
        start = time.perf_counter()
        embedder.embed(paths)
        rate = len(paths) * 350_000 / 12000 / (time.perf_counter() - start)
        shares = []
        for tid, (wall0, running0, waiting0) in first.items():
            wall, running, waiting = (b - a for a, b in zip((wall0, running0, waiting0), last[tid]))
            shares.append(f"running {running / wall:.0%}, waiting for a core {waiting / wall:.0%}, "
                          f"sleeping {(wall - running - waiting) / wall:.0%}")
        print(f"{arch}: {rate:,.0f} audio-s/s; " + " | ".join(shares), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:] or list(rf.ARCHITECTURES))
