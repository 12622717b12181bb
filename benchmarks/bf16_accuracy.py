"""FSDD accuracy with precision="bf16" against fp32, for the issue's heavy architectures.

    python benchmarks/bf16_accuracy.py --root ../shared/data/fsdd [--size small] [--elm-seeds 10]
                                       [--control-noise 1e-3] [--archs ...] [--no-svm]

Prints a Markdown table: the SVM's test accuracy (paper protocol: grid chosen by 5-fold
cross-validation inside the official train split) and the ELM's, as the mean over several ELM
seeds. One ELM seed's accuracy moves by a point or two under any perturbation of the features,
even float32 rounding-level ones (direct against Winograd convolution), because the 300-clip test
set makes one clip a third of a point; the mean over seeds is what bf16 is judged on. Seed s
draws the same random layers for fp32 and bf16 features, so the difference is also given per
seed: its mean and that mean's standard error.
``--control-noise r`` adds a control column: the ELM on the fp32 features times (1 + r N(0, 1)),
a random change of about bf16's size, to tell bf16's effect from the ELM's instability.
Features go to the usual cache (see ``randcnn_fast.features.cache``), so a rerun only classifies.
"""
from __future__ import annotations

import argparse

import numpy as np

import randcnn_fast as rf
from randcnn_fast.datasets import loaders as datasets
from randcnn_fast.features.cache import FeatureConfig, dataset_features
from randcnn_fast.evaluation.protocols import run_protocol

HEAVY = ("sample_level", "frame_level", "frame_level_many", "vgg", "7x86")


def accuracies(X, dataset, elm_seeds: int, svm: bool = True) -> tuple[float, list[float]]:
    """The SVM's accuracy (nan when skipped) and the ELM's for each seed."""
    svm_accuracy = (run_protocol(X, dataset, "svm", "paper", svm_max_iter=10**6).accuracy
                    if svm else float("nan"))
    elm = [run_protocol(X, dataset, "elm", "paper", seed=seed).accuracy for seed in range(elm_seeds)]
    return svm_accuracy, elm


def standard_error(values) -> float:
    """The standard error of the mean (0 for a single value)."""
    values = np.asarray(values, dtype=float)
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="the FSDD folder")
    parser.add_argument("--size", default="small", choices=("small", "paper"))
    parser.add_argument("--archs", nargs="+", default=list(HEAVY))
    parser.add_argument("--elm-seeds", type=int, default=10)
    parser.add_argument("--cache", help="feature cache folder (default: the package's)")
    parser.add_argument("--control-noise", type=float, default=0.0,
                        help="relative noise for the control column (0: no control)")
    parser.add_argument("--no-svm", action="store_true",
                        help="skip the SVM columns (its grid search is the slow part)")
    args = parser.parse_args()

    dataset = datasets.fsdd(args.root)
    print(f"native bf16 kernels: {rf.isa_info()['bf16']} (isa {rf.isa_info()['active']})")
    control = args.control_noise > 0
    print("| arch | SVM fp32 | SVM bf16 | ELM fp32 (mean +- sd) | ELM bf16 (mean +- sd) | "
          "ELM difference (+- s.e., paired by seed) | embedding rel. L2 difference |"
          + (f" ELM fp32 x (1 + {args.control_noise:g} N(0,1)) |" if control else ""))
    print("|---|---|---|---|---|---|---|" + ("---|" if control else ""))
    for arch in args.archs:
        results, features = {}, {}
        for precision in ("fp32", "bf16"):
            config = FeatureConfig(arch, args.size, precision=precision)
            X, failures, _ = dataset_features(dataset.paths, config, cache_dir=args.cache, progress=False)
            if failures:
                raise SystemExit(f"{len(failures)} clips failed, e.g. {failures[0]}")
            features[precision] = X
            results[precision] = accuracies(X, dataset, args.elm_seeds, svm=not args.no_svm)
        (svm32, elm32), (svm16, elm16) = results["fp32"], results["bf16"]
        paired = np.subtract(elm16, elm32)
        drift = np.linalg.norm(features["bf16"] - features["fp32"], axis=1) / np.linalg.norm(
            features["fp32"], axis=1)
        row = (f"| {arch} | {100 * svm32:.1f} | {100 * svm16:.1f} | "
               f"{100 * np.mean(elm32):.1f} +- {100 * np.std(elm32):.1f} | "
               f"{100 * np.mean(elm16):.1f} +- {100 * np.std(elm16):.1f} | "
               f"{100 * np.mean(paired):+.1f} +- {100 * standard_error(paired):.1f} | "
               f"median {np.median(drift):.1e}, max {drift.max():.1e} |")
        if control:
            noise = np.random.default_rng(0).standard_normal(features["fp32"].shape)
            noisy = (features["fp32"] * (1 + args.control_noise * noise)).astype(np.float32)
            elm_noisy = [run_protocol(noisy, dataset, "elm", "paper", seed=seed).accuracy
                         for seed in range(args.elm_seeds)]
            control_paired = np.subtract(elm_noisy, elm32)
            row += (f" {100 * np.mean(elm_noisy):.1f} +- {100 * np.std(elm_noisy):.1f} "
                    f"(difference {100 * np.mean(control_paired):+.1f} +- "
                    f"{100 * standard_error(control_paired):.1f}) |")
        print(row, flush=True)


if __name__ == "__main__":
    main()
