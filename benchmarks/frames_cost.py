"""What frame embeddings cost over the clip embedding of the same long input.

    python benchmarks/frames_cost.py [--seconds 3600] [--archs ...] [--size small] [--repeats 3]
                                     [--hop 0.1] [--window 1.0]

For each architecture, seeded noise of ``--seconds`` (12 kHz, in memory) is embedded with
``embed`` (``pad="none"``) and with ``embed_frames``, on one thread: the CPU seconds are the
least of ``--repeats`` calls of each, alternating in one process in both orders; the peak
resident memory above the process's size just before the call is measured in a fresh process
per mode. Prints a Markdown table. CPU time is less disturbed than wall time by other work on
the machine, but a loaded machine still moves it by several percent.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap

import randcnn_fast as rf

PRELUDE = textwrap.dedent("""
    import sys, time
    import numpy as np
    import randcnn_fast as rf

    def kib(field):
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field))

    def run(mode):
        if mode == "clip":
            embedder.embed(x, sr=12000)
        else:
            embedder.embed_frames(x, sr=12000, hop=float(hop), window=float(window))

    arch, size, seconds, hop, window, mode, repeats = sys.argv[1:8]
    embedder = rf.Embedder(arch, size=size, pad="none", n_threads=1)
    x = (np.random.default_rng(0).standard_normal(int(float(seconds) * 12000)) * 0.3).astype(np.float32)
    embedder.embed(x[:480000], sr=12000)  # weights packed, kernels chosen
""")
# Peak memory: one call of one mode in a fresh process.
MEMORY = PRELUDE + textwrap.dedent("""
    before = kib("VmRSS:")
    run(mode)
    print((kib("VmHWM:") - before) * 1024)
""")
# CPU time: the two modes alternate in one process, so both meet the same phases of whatever
# else the machine runs, and swap places every repeat, so that what one call leaves for the next
# (memory to reuse or to fault in again) falls on both modes alike; the least of each is kept.
TIME = PRELUDE + textwrap.dedent("""
    best = {"clip": float("inf"), "frames": float("inf")}
    for repeat in range(int(repeats)):
        for name in ("clip", "frames") if repeat % 2 == 0 else ("frames", "clip"):
            started = time.process_time()
            run(name)
            best[name] = min(best[name], time.process_time() - started)
    print(best["clip"], best["frames"])
""")


def child(script: str, arch: str, size: str, seconds: float, hop: float, window: float,
          mode: str = "clip", repeats: int = 1) -> list[float]:
    """The numbers a measuring script prints, run in a fresh process."""
    result = subprocess.run([sys.executable, "-c", script, arch, size, str(seconds), str(hop),
                             str(window), mode, str(repeats)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{arch} {mode}: {result.stderr}")
    return [float(v) for v in result.stdout.split()]


def peak_memory(arch: str, size: str, mode: str, seconds: float, hop: float, window: float) -> int:
    """Peak bytes above the RSS just before one call of ``mode`` ("clip" or "frames")."""
    return int(child(MEMORY, arch, size, seconds, hop, window, mode)[0])


def cpu_seconds(arch: str, size: str, seconds: float, hop: float, window: float,
                repeats: int) -> tuple[float, float]:
    """The least CPU seconds of ``repeats`` alternating clip and frames calls."""
    clip, frames = child(TIME, arch, size, seconds, hop, window, repeats=repeats)
    return clip, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3600.0)
    parser.add_argument("--archs", nargs="+", default=list(rf.ARCHITECTURES))
    parser.add_argument("--size", default="small", choices=rf.SIZES)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hop", type=float, default=0.1)
    parser.add_argument("--window", type=float, default=1.0)
    args = parser.parse_args()
    print("| arch | clip CPU s | frames CPU s | time ratio | clip peak MiB | frames peak MiB "
          "| memory ratio |\n|---|---:|---:|---:|---:|---:|---:|")
    for arch in args.archs:
        cpu = dict(zip(("clip", "frames"), cpu_seconds(arch, args.size, args.seconds, args.hop,
                                                       args.window, args.repeats)))
        peak = {mode: peak_memory(arch, args.size, mode, args.seconds, args.hop, args.window)
                for mode in ("clip", "frames")}
        print(f"| {arch} | {cpu['clip']:.2f} | {cpu['frames']:.2f} | "
              f"{cpu['frames'] / cpu['clip']:.2f} | {peak['clip'] / 2**20:.0f} | "
              f"{peak['frames'] / 2**20:.0f} | {peak['frames'] / peak['clip']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
