"""The paper's experiments as one call: datasets x architectures x sizes x classifiers x seeds.

Features come from :mod:`randcnn_fast.features` (cached), classifiers and protocols from
:mod:`randcnn_fast.protocols`; :mod:`randcnn_fast.report` writes the tables and plots.
"""
from __future__ import annotations

import platform
import time
import warnings
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from tqdm.auto import tqdm

from . import __version__, _core, datasets, demo
from .architectures import ARCHITECTURES, SIZES
from .elm import PAPER_HIDDEN_SIZES
from .features import MFCC, FeatureConfig, dataset_features
from .protocols import CLASSIFIERS, PROTOCOLS, check_dataset, run_protocol, work_units
from .report import write_report

# libsvm iterations per SVM fit: about 15 s for 2,000 clips; converged fits are unaffected.
SVM_MAX_ITER = 1_000_000

#: Where runs without an out_dir write, each into a folder named for the run.
RESULTS_ROOT = "randcnn_fast_results"


def demo_dataset() -> datasets.Dataset:
    """The built-in synthetic demo set (made once, then read from the cache folder)."""
    folder = demo.make_demo(demo.default_demo_dir())
    return datasets.manifest(folder / "labels.csv", fold_column="fold", name="demo")


def _versions() -> dict:
    names = ["numpy", "scipy", "scikit-learn", "soundfile", "soxr", "matplotlib", "onnxruntime"]
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def run_folder(dataset_name: str, root=RESULTS_ROOT) -> Path:
    """A new folder name for a run: ``root/<dataset>-<date>-<time>`` (a suffix -2, -3... when
    one of that name exists already)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in dataset_name) or "dataset"
    base = Path(root) / f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def _check_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuse to write over an earlier run's results unless asked to."""
    if not overwrite and (out_dir / "results.json").exists():
        raise FileExistsError(f"{out_dir} holds the results of an earlier run (results.json); "
                              "pass overwrite=True to replace them, or choose another out_dir")


def _check_choices(values, allowed, what):
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValueError(f"unknown {what} {bad}; choose from {list(allowed)}")
    return list(values)


def evaluate(dataset: datasets.Dataset | None = None, *, archs=None, sizes=("small",),
             classifiers=CLASSIFIERS, seeds=(0,), protocols=("paper",), mfcc: bool = True,
             out_dir=None, overwrite: bool = False, cache_dir=None, length=None, pad="repeat",
             backend_features="faithful", hidden_sizes=PAPER_HIDDEN_SIZES, n_threads: int = 0,
             svm_max_iter: int = SVM_MAX_ITER, precision: str = "fp32",
             progress: bool = True) -> dict:
    """Run the experiments and write results.json, results.csv, results.md and PNG plots.

    ``dataset`` None uses the built-in demo. ``out_dir`` None writes into a new folder named
    for the run, ``randcnn_fast_results/<dataset>-<date>-<time>``; a folder holding an earlier
    run's results.json is refused unless ``overwrite``. ``svm_max_iter`` caps libsvm's iterations per fit
    (-1: none): on the paper's unscaled features a linear SVM can otherwise run for many
    minutes on large-magnitude embeddings (the temporal models); a capped fit that stopped
    early can differ from plain GridSearchCV(SVC()). Clips that fail to load are recorded in the
    results and left out of every configuration, so all rows compare the same clips.
    Returns the results dictionary written to results.json.
    """
    started = time.time()
    dataset = demo_dataset() if dataset is None else dataset
    archs = _check_choices(list(ARCHITECTURES) if archs is None else archs, ARCHITECTURES, "archs")
    sizes = _check_choices(sizes, SIZES, "sizes")
    classifiers = _check_choices(classifiers, CLASSIFIERS, "classifiers")
    protocols = _check_choices(protocols, PROTOCOLS, "protocols")
    seeds = [int(s) for s in seeds]
    for problem in check_dataset(dataset):  # before any forward pass
        warnings.warn(problem, stacklevel=2)
    out_dir = run_folder(dataset.name) if out_dir is None else Path(out_dir)
    _check_out_dir(out_dir, overwrite)

    configs = [FeatureConfig(arch, size, seed, length, pad, backend_features=backend_features,
                             precision=precision)
               for arch in archs for size in sizes for seed in seeds]
    if mfcc:
        configs.append(FeatureConfig(MFCC, size="-", seed=0, length=None))
    features, failures = {}, []
    for config in tqdm(configs, desc="features", unit="config", disable=not progress):
        features[config], failed = dataset_features(dataset.paths, config, cache_dir=cache_dir,
                                                    n_threads=n_threads, progress=progress)
        failures += failed
    usable = np.all([np.isfinite(X).all(axis=1) for X in features.values()], axis=0)
    clips = dataset.subset(usable)
    if not usable.all():
        unusable = f" without its {len(usable) - usable.sum()} unusable clip(s)"
        for problem in check_dataset(clips, context=unusable):
            warnings.warn(problem, stacklevel=2)

    rows, confusions = [], {}
    jobs = [(config, classifier, protocol) for config in configs for protocol in protocols
            for classifier in (["svm"] if config.arch == MFCC else classifiers)]
    total = sum(work_units(clips, c, p, hidden_sizes) for _, c, p in jobs)
    svm_fits = svm_stopped_early = 0
    with tqdm(total=total, desc="classifiers", unit="fit", disable=not progress) as bar, \
            warnings.catch_warnings():
        # libsvm's early stops at svm_max_iter are counted and reported once, in the summary
        # and results.json, rather than printed fit by fit.
        warnings.filterwarnings("ignore", message="Solver terminated early",
                                category=ConvergenceWarning)
        for config, classifier, protocol in jobs:
            outcome = run_protocol(features[config][usable], clips, classifier, protocol,
                                   seed=config.seed, hidden_sizes=hidden_sizes,
                                   n_threads=n_threads, progress=bar, svm_max_iter=svm_max_iter)
            rows.append({"dataset": dataset.name, "features": config.arch, "size": config.size,
                         "n_features": features[config].shape[1], "seed": config.seed,
                         "classifier": classifier, "protocol": protocol,
                         "accuracy": outcome.accuracy, "fold_accuracies": outcome.fold_accuracies,
                         "chosen": outcome.chosen, "n_clips": clips.n_clips,
                         "svm_stopped_early": outcome.svm_stopped_early})
            svm_fits += outcome.svm_fits
            svm_stopped_early += outcome.svm_stopped_early
            key = (config.arch, config.size, classifier, protocol)
            matrix = confusions.setdefault(key, np.zeros((clips.n_classes,) * 2, dtype=np.int64))
            np.add.at(matrix, (outcome.y_true, outcome.y_pred), 1)

    results = {
        "provenance": {"randcnn_fast": __version__, "isa": _core.isa_info(), "python": platform.python_version(),
                       "platform": platform.platform(), "dependencies": _versions(),
                       "seconds": round(time.time() - started, 1)},
        "dataset": {"name": dataset.name, "clips": dataset.n_clips, "used": clips.n_clips,
                    "classes": list(dataset.classes), "protocol_kind": dataset.protocol_kind,
                    "protocol_source": dataset.protocol_source,
                    "protocol_used": clips.describe_protocol()},
        "configuration": {"archs": archs, "sizes": sizes, "classifiers": classifiers, "seeds": seeds,
                          "protocols": protocols, "mfcc": mfcc, "hidden_sizes": list(hidden_sizes),
                          "svm_max_iter": svm_max_iter,
                          "features": [asdict(c) for c in configs]},
        "results": rows,
        "confusion": [{"features": k[0], "size": k[1], "classifier": k[2], "protocol": k[3],
                       "matrix": m.tolist()} for k, m in confusions.items()],
        "failures": failures,
        "svm_convergence": {"fits": svm_fits, "stopped_early": svm_stopped_early,
                            "max_iter": svm_max_iter},
        "out_dir": str(out_dir),
    }
    write_report(results, out_dir)
    return results
