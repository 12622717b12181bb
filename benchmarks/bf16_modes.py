"""bf16 against fp32 per architecture: is precision="bf16" ever slower?

    python benchmarks/bf16_modes.py [--size small] [--rounds 21] [--archs ...] [--threads 2]

One 29.17 s clip of seeded noise (log-mel frames for the spectrogram models, so the network
alone is timed), embedded in fp32, in bf16 as dispatched (mode "auto": the bfloat16 kernels on
the layers and CPUs where they pay) and in bf16 on every layer (mode "native", where the CPU has
AVX512-BF16). The three run in turn within each round, so a changing machine load touches them
alike; prints the median milliseconds and each bf16 mode's time over fp32's as a Markdown table.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import randcnn_fast as rf
from randcnn_fast import _core

SAMPLES = 350_000  # the paper's 29.17 s at 12 kHz


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=["small", "paper"])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--archs", nargs="+", default=list(rf.ARCHITECTURES))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    try:
        _core.set_bf16_mode("native")
        modes = {"fp32": ("fp32", "auto"), "bf16 auto": ("bf16", "auto"),
                 "bf16 native": ("bf16", "native")}
    except ValueError:  # no AVX512-BF16: both bf16 modes run the float32 kernels
        modes = {"fp32": ("fp32", "auto"), "bf16 auto": ("bf16", "auto")}
    _core.set_bf16_mode("auto")
    clip = (0.1 * np.random.default_rng(0).standard_normal(SAMPLES)).astype(np.float32)
    print(f"{_core.isa_info()['bf16_reason']}; size {args.size}, {args.threads} threads, "
          f"median of {args.rounds} rounds\n")
    print("| arch | " + " | ".join(f"{m} (ms)" for m in modes) + " | "
          + " | ".join(f"{m} / fp32" for m in list(modes)[1:]) + " |")
    print("|---|" + "---:|" * (2 * len(modes) - 1))
    for arch in args.archs:
        logmel = rf.Embedder(arch, size=args.size).network.input_kind == "logmel"
        x, sr = (rf.logmel(clip), None) if logmel else (clip, 12000)
        embedders = {name: rf.Embedder(arch, size=args.size, precision=precision,
                                       n_threads=args.threads,
                                       input="logmel" if logmel else "audio")
                     for name, (precision, _) in modes.items()}
        times = {name: [] for name in modes}
        for round_ in range(args.rounds + 1):  # the first round warms up (packing, caches)
            for name, (_, mode) in modes.items():
                _core.set_bf16_mode(mode)
                start = time.perf_counter()
                embedders[name].embed(x, sr=sr)
                if round_:
                    times[name].append(time.perf_counter() - start)
        _core.set_bf16_mode("auto")
        ms = {name: 1e3 * float(np.median(t)) for name, t in times.items()}
        print(f"| {arch} | " + " | ".join(f"{ms[m]:.2f}" for m in modes) + " | "
              + " | ".join(f"{ms[m] / ms['fp32']:.2f}" for m in list(modes)[1:]) + " |",
              flush=True)


if __name__ == "__main__":
    main()
