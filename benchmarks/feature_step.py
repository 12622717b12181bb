"""The feature step of ``randcnn-fast evaluate`` alone, timed as evaluate times it.

Every architecture at size small and the MFCC baseline over a dataset's files, one seed, from
an empty cache (a temporary folder), through ``features.cache.configs_features``: each file
decoded once, its log-mel computed once, the networks side by side. Prints the wall time and
the thread-seconds of decoding, front-ends and each network (``features.stage_clock``), and
writes them to a JSON file. The classifiers' time is not included: with the same features
they make the same fits, so the forward passes' share of a run follows from these figures and
a run's ``results.json`` timings.

    python benchmarks/feature_step.py ../shared/data/fsdd --seed 0 --out feature_step.json
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time

import randcnn_fast as rf
from randcnn_fast.datasets.loaders import fsdd
from randcnn_fast.features.cache import MFCC, FeatureConfig, configs_features
from randcnn_fast.features.stage_clock import StageClock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the FSDD folder (with labels.csv)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="JSON file for the figures")
    args = parser.parse_args()
    dataset = fsdd(args.root)
    configs = [FeatureConfig(arch, seed=args.seed) for arch in rf.ARCHITECTURES]
    configs.append(FeatureConfig(MFCC, size="-"))
    clock = StageClock()
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        configs_features(dataset.paths, configs, cache_dir=cache, progress=False, clock=clock)
        wall = time.perf_counter() - start
    seconds = dict(clock.seconds)
    forward = sum(v for k, v in seconds.items() if k.startswith("forward"))
    busy = sum(seconds.values())
    figures = {"files": len(dataset.paths), "wall_s": wall, "thread_s": seconds,
               "forward_thread_s": forward, "forward_wall_s": wall * forward / busy}
    print(f"{len(dataset.paths)} files, {wall:.1f} s; forward passes {forward:.1f} "
          f"thread-seconds, about {figures['forward_wall_s']:.1f} s of the wall time")
    for stage, value in seconds.items():
        print(f"  {stage:45s} {value:8.2f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()
