"""What frame embeddings cost over the clip embedding of the same long input.

    python benchmarks/frames_cost.py [--seconds 3600] [--archs ...] [--size small] [--repeats 3]
                                     [--hop 0.1] [--window 1.0]

For each architecture, a fresh process per measurement embeds seeded noise of ``--seconds``
(12 kHz, in memory) once with ``embed`` (``pad="none"``) and once with ``embed_frames``, on one
thread, and reports the CPU seconds (the least of ``--repeats`` runs, each in its own process)
and the peak resident memory above the process's size just before the call. Prints a Markdown
table. CPU time is less disturbed than wall time by other work on the machine, but a loaded
machine still moves it by several percent.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap

import randcnn_fast as rf

MEASURE = textwrap.dedent("""
    import sys, time
    import numpy as np
    import randcnn_fast as rf

    def kib(field):
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field))

    arch, size, mode, seconds, hop, window = sys.argv[1:7]
    embedder = rf.Embedder(arch, size=size, pad="none", n_threads=1)
    x = (np.random.default_rng(0).standard_normal(int(float(seconds) * 12000)) * 0.3).astype(np.float32)
    embedder.embed(x[:480000], sr=12000)  # weights packed, kernels chosen
    before = kib("VmRSS:")
    started = time.process_time()
    if mode == "clip":
        embedder.embed(x, sr=12000)
    else:
        embedder.embed_frames(x, sr=12000, hop=float(hop), window=float(window))
    print(time.process_time() - started, (kib("VmHWM:") - before) * 1024)
""")


def measure(arch: str, size: str, mode: str, seconds: float, hop: float, window: float):
    """(CPU seconds, peak bytes above the RSS before the call) of one run in a fresh process."""
    result = subprocess.run([sys.executable, "-c", MEASURE, arch, size, mode, str(seconds),
                             str(hop), str(window)], capture_output=True, text=True, check=True)
    cpu, peak = result.stdout.split()
    return float(cpu), int(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3600.0)
    parser.add_argument("--archs", nargs="+", default=list(rf.ARCHITECTURES))
    parser.add_argument("--size", default="small", choices=rf.SIZES)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hop", type=float, default=0.1)
    parser.add_argument("--window", type=float, default=1.0)
    args = parser.parse_args()
    print(f"| arch | clip CPU s | frames CPU s | time ratio | clip peak MiB | frames peak MiB "
          f"| memory ratio |\n|---|---:|---:|---:|---:|---:|---:|")
    for arch in args.archs:
        runs = {mode: [measure(arch, args.size, mode, args.seconds, args.hop, args.window)
                       for _ in range(args.repeats)] for mode in ("clip", "frames")}
        cpu = {mode: min(r[0] for r in runs[mode]) for mode in runs}
        peak = {mode: min(r[1] for r in runs[mode]) for mode in runs}
        print(f"| {arch} | {cpu['clip']:.2f} | {cpu['frames']:.2f} | "
              f"{cpu['frames'] / cpu['clip']:.2f} | {peak['clip'] / 2**20:.0f} | "
              f"{peak['frames'] / 2**20:.0f} | {peak['frames'] / peak['clip']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
