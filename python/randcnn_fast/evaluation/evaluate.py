"""The paper's experiments as one call: datasets x architectures x sizes x classifiers x seeds.

Features come from :mod:`randcnn_fast.features.cache` (cached), classifiers and protocols from
:mod:`randcnn_fast.evaluation.protocols`; :mod:`randcnn_fast.evaluation.report` writes the tables and plots.
"""
from __future__ import annotations

import json
import platform
import time
import warnings
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from tqdm.auto import tqdm

from .. import _core
from .._version import __version__
from ..classifiers.elm import PAPER_HIDDEN_SIZES
from ..classifiers.scaling import check_scale
from ..datasets import demo
from ..datasets import loaders as datasets
from ..features.cache import MFCC, FeatureConfig, configs_features
from ..features.stage_clock import StageClock
from ..network.archfile import is_architecture_file, load_architecture
from ..network.architectures import ARCHITECTURES, SIZES
from .choices import RESULTS_ROOT, SVM_MAX_ITER
from .protocols import CLASSIFIERS, PROTOCOLS, check_dataset, run_protocol, fits_to_run
from .report import write_report

__all__ = ["evaluate"]


def _demo_dataset() -> datasets.Dataset:
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


def _run_folder(dataset_name: str, root=RESULTS_ROOT) -> Path:
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


def _feature_configs(archs, sizes, seeds, *, features=None, length=None, pad="repeat",
                     backend_features="faithful", precision="fp32") -> list[FeatureConfig]:
    """One FeatureConfig per (architecture, size, seed), every network built and checked
    first, so a bad name, file or width fails before any audio is read.

    A built-in's name keeps the cache keys it always had; any other network (a file, a
    Network, a width) is described in full in its configuration. Architectures must have
    distinct names, the label of their rows.
    """
    configs = []
    for size in sizes:
        named = {}
        for arch in archs:
            network = load_architecture(arch, size=size, backend_features=backend_features,
                                        features=features)
            if network.arch in named or network.arch == MFCC:
                raise ValueError(f"two architectures are named {network.arch!r} ({named.get(network.arch, MFCC)!r} "
                                 f"and {arch!r}); rows are labelled by name: give the file "
                                 f"another name = ...")
            named[network.arch] = arch
            plain = isinstance(arch, str) and not is_architecture_file(arch) and features is None
            description = "" if plain else json.dumps(network.to_dict(), sort_keys=True)
            configs += [FeatureConfig(network.arch, size, seed, length, pad,
                                      backend_features=backend_features, precision=precision,
                                      features=features, network=description)
                        for seed in seeds]
    return configs


def _stage_seconds(clock: StageClock) -> dict:
    """The feature step's thread-seconds: decode, front-end, and forward per configuration."""
    seconds = dict(clock.seconds)
    return {"decode": seconds.pop("decode", 0.0), "front-end": seconds.pop("front-end", 0.0),
            "forward": {stage.removeprefix("forward "): t for stage, t in seconds.items()}}


def evaluate(dataset: datasets.Dataset | None = None, *, archs=None, sizes=("small",),
             classifiers=CLASSIFIERS, seeds=(0,), protocols=("paper",), mfcc: bool = True,
             out_dir=None, overwrite: bool = False, cache_dir=None, length=None, pad="repeat",
             backend_features="faithful", hidden_sizes=PAPER_HIDDEN_SIZES, n_threads: int = 0,
             svm_max_iter: int = SVM_MAX_ITER, precision: str = "fp32",
             progress: bool = True, features: int | None = None, scale: str = "none",
             mfcc_classifiers=("svm",)) -> dict:
    """Run the experiments and write results.json, results.csv, results.md and PNG plots.

    Clips that fail to load are recorded in the results and left out of every configuration,
    so all rows compare the same clips; clips embedded with a decoding warning (an MP3 whose
    header announced another length) are used and listed under "warnings".

    Parameters
    ----------
    dataset : Dataset, optional
        The clips, labels and protocol; None uses the built-in demo.
    archs : list, optional
        Built-in names, architecture files or Networks; every built-in when None.
    sizes : sequence of {"small", "paper"}
        The built-ins' sizes.
    classifiers : sequence of {"svm", "elm"}
        Classifiers of the CNN features.
    seeds : sequence of int
        Network seeds (and the ELM's).
    protocols : sequence of {"paper", "nested"}
        See :mod:`randcnn_fast.evaluation.protocols`.
    mfcc : bool
        Also run the 120-d MFCC baseline, with ``mfcc_classifiers`` (the SVM, as in the
        paper; an ELM once per seed).
    out_dir : str or os.PathLike, optional
        Where to write; None makes a folder named for the run,
        ``randcnn_fast_results/<dataset>-<date>-<time>``.
    overwrite : bool
        Allow an ``out_dir`` that holds an earlier run's results.json.
    cache_dir : str or os.PathLike, optional
        The feature cache (:func:`randcnn_fast.features.cache.configs_features`).
    length, pad, backend_features, precision
        As :class:`randcnn_fast.Embedder` takes them.
    hidden_sizes : sequence of int
        The ELM sizes to select from.
    n_threads : int
        Threads for embedding and classifiers; 0 uses every core.
    svm_max_iter : int
        Caps libsvm's iterations per fit (-1: none): on the paper's unscaled features a
        linear SVM can otherwise run for many minutes on large-magnitude embeddings (the
        temporal models); a capped fit that stopped early can differ from plain
        GridSearchCV(SVC()).
    progress : bool
        Show progress bars.
    features : int, optional
        Scale each network to this embedding size (:mod:`randcnn_fast.network.width`).
    scale : {"none", "standard"}
        "standard" standardises the features, fitted on each training part only
        (:mod:`randcnn_fast.classifiers.scaling`); "none" is the paper's.
    mfcc_classifiers : sequence of {"svm", "elm"}
        Classifiers of the MFCC baseline.

    Returns
    -------
    dict
        The results written to results.json: ``results`` (one row per configuration, seed,
        classifier and protocol), ``dataset``, ``configuration``, ``confusion``,
        ``failures``, ``warnings``, ``provenance``, ``timings`` and more. ``timings``
        says where the time went: ``features`` (wall seconds of the feature step: every file
        decoded once, each log-mel computed once, then every network), within it the
        thread-seconds of ``decode``, ``front-end`` and ``forward`` (per configuration;
        cached features take none), then wall seconds of all ``svm`` and all ``elm`` fits and
        of the ``report``'s plots.

    Raises
    ------
    ValueError
        For an unknown choice, a dataset no classifier can be scored on, or an ``out_dir``
        holding an earlier run without ``overwrite``.

    Examples
    --------
    >>> import numpy as np, soundfile
    >>> from pathlib import Path
    >>> from randcnn_fast.datasets.loaders import folder
    >>> for label, hz in (("low", 220), ("high", 1760)):
    ...     Path("tones", label).mkdir(parents=True)
    ...     for i in range(6):
    ...         wave = np.sin(2 * np.pi * hz * (1 + i / 50) * np.arange(6000) / 12000)
    ...         soundfile.write(f"tones/{label}/{i}.wav", wave, 12000)
    >>> tones = folder("tones", n_folds=3)
    >>> results = evaluate(tones, archs=["vgg"], classifiers=["elm"], hidden_sizes=(8,),
    ...                    mfcc=False, out_dir="results", cache_dir="cache", progress=False)
    >>> row = results["results"][0]
    >>> row["features"], row["n_features"], row["classifier"], row["n_clips"]
    ('vgg', 160, 'elm', 12)
    >>> sorted(path.name for path in Path("results").iterdir())  # doctest: +NORMALIZE_WHITESPACE
    ['accuracy_small_paper.png', 'confusion_small_paper_elm.png', 'results.csv', 'results.json',
     'results.md']
    """
    started = time.time()
    width = features  # the name is taken below by the feature matrices
    archs = list(ARCHITECTURES) if archs is None else list(archs)
    sizes = _check_choices(sizes, SIZES, "sizes")
    classifiers = _check_choices(classifiers, CLASSIFIERS, "classifiers")
    mfcc_classifiers = _check_choices(mfcc_classifiers, CLASSIFIERS, "mfcc_classifiers")
    protocols = _check_choices(protocols, PROTOCOLS, "protocols")
    scale = check_scale(scale)
    seeds = [int(s) for s in seeds]
    configs = _feature_configs(archs, sizes, seeds, features=features, length=length, pad=pad,
                               backend_features=backend_features, precision=precision)
    dataset = _demo_dataset() if dataset is None else dataset
    for problem in check_dataset(dataset):  # before any forward pass
        warnings.warn(problem, stacklevel=2)
    out_dir = _run_folder(dataset.name) if out_dir is None else Path(out_dir)
    _check_out_dir(out_dir, overwrite)
    if mfcc:
        configs.append(FeatureConfig(MFCC, size="-", seed=0, length=None))
    # Where the run's time goes: the feature step's wall seconds and, within it, the
    # thread-seconds of decoding, front-ends and each network (cached features cost ~0).
    stages = StageClock()
    started_features = time.perf_counter()
    computed = configs_features(dataset.paths, configs, cache_dir=cache_dir, n_threads=n_threads,
                                progress=progress, clock=stages)
    timings = {"features": time.perf_counter() - started_features, **_stage_seconds(stages),
               "svm": 0.0, "elm": 0.0}
    features, failures, warned = {}, [], {}
    for config in configs:
        features[config], failed, noticed = computed[config]
        failures += failed
        for w in noticed:  # every configuration decodes the same files: keep each once
            warned.setdefault((w["path"], w["warning"]), w)
    usable = np.all([np.isfinite(X).all(axis=1) for X in features.values()], axis=0)
    clips = dataset.subset(usable)
    if not usable.all():
        unusable = f" without its {len(usable) - usable.sum()} unusable clip(s)"
        for problem in check_dataset(clips, context=unusable):
            warnings.warn(problem, stacklevel=2)

    rows, confusions = [], {}
    # (config, classifier, protocol, seed); the MFCC features have no seed, an ELM on them has
    jobs = [(config, classifier, protocol, seed) for config in configs for protocol in protocols
            for classifier in (mfcc_classifiers if config.arch == MFCC else classifiers)
            for seed in ([config.seed] if config.arch != MFCC or classifier == "svm" else seeds)]
    total = sum(fits_to_run(clips, c, p, hidden_sizes) for _, c, p, _ in jobs)
    svm_fits = svm_stopped_early = 0
    with tqdm(total=total, desc="classifiers", unit="fit", disable=not progress) as bar, \
            warnings.catch_warnings():
        # libsvm's early stops at svm_max_iter are counted and reported once, in the summary
        # and results.json, rather than printed fit by fit.
        warnings.filterwarnings("ignore", message="Solver terminated early",
                                category=ConvergenceWarning)
        for config, classifier, protocol, seed in jobs:
            clock = time.perf_counter()
            outcome = run_protocol(features[config][usable], clips, classifier, protocol,
                                   seed=seed, hidden_sizes=hidden_sizes,
                                   n_threads=n_threads, progress=bar, svm_max_iter=svm_max_iter,
                                   scale=scale)
            timings[classifier] += time.perf_counter() - clock
            rows.append({"dataset": dataset.name, "features": config.arch, "size": config.size,
                         "n_features": features[config].shape[1], "seed": seed,
                         "classifier": classifier, "protocol": protocol, "scale": scale,
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
        "configuration": {"archs": [a if isinstance(a, str) else getattr(a, "arch", str(a))
                                    for a in archs],
                          "sizes": sizes, "classifiers": classifiers, "seeds": seeds,
                          "protocols": protocols, "mfcc": mfcc, "hidden_sizes": list(hidden_sizes),
                          "svm_max_iter": svm_max_iter, "width": width, "scale": scale,
                          "mfcc_classifiers": mfcc_classifiers if mfcc else [],
                          "features": [asdict(c) for c in configs]},
        "results": rows,
        "confusion": [{"features": k[0], "size": k[1], "classifier": k[2], "protocol": k[3],
                       "matrix": m.tolist()} for k, m in confusions.items()],
        "failures": failures,
        "warnings": list(warned.values()),
        "svm_convergence": {"fits": svm_fits, "stopped_early": svm_stopped_early,
                            "max_iter": svm_max_iter},
        "out_dir": str(out_dir),
        "timings": timings,
    }
    write_report(results, out_dir)
    return results
