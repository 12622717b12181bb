"""Architectures ranked with confidence: the study's method for trying new designs.

:func:`rank` runs :func:`randcnn_fast.evaluation.evaluate.evaluate` over several seeds (default 5) and
ranks, per (size, classifier, protocol), every architecture and the MFCC baseline by mean
accuracy over seeds, with

* a 95 % confidence interval over seeds: Student's t interval, mean +- t(0.975, n - 1) s / sqrt(n);
* ``p_vs_best``: a two-sided paired t-test over seeds of each architecture against the best
  (the highest mean). Each seed's accuracy is its score on the same test clips (the same folds,
  averaged, for fold datasets) as the best's for that seed, so the pairs share the data; seeds
  are the independent replicates (folds of one seed share its network and are not).

The MFCC + SVM baseline has no random part: its one result stands for every seed (interval
of zero width). Embeddings are cached per seed as in ``evaluate``, so adding an architecture to
a ranking costs only its own forward passes.
"""
from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

from ..atomic import atomic_write
from ..features.cache import MFCC
from .choices import SEEDS
from .protocols import CLASSIFIERS
from .report import _text

__all__ = ["SEEDS", "rank", "ranking_entries", "ranking_markdown", "paired_p"]

TEST = "paired t-test over seeds, two-sided"
INTERVAL = "95 % Student t interval over seeds"
LEVEL = 0.05  # p below this: distinguishable from the best
SAME = 1e-12  # accuracy differences closer than this are float rounding of equal counts
CSV_FIELDS = ("rank", "features", "size", "classifier", "protocol", "scale", "n_features", "mean",
              "ci_low", "ci_high", "n_seeds", "p_vs_best", "best")


def rank(dataset=None, *, archs=None, seeds=SEEDS, classifiers=CLASSIFIERS,
         out_dir="randcnn_fast_ranking", **options) -> dict:
    """Evaluate architectures over seeds and rank them, with intervals and paired tests.

    Writes ranking.md, ranking.csv, ranking_<size>_<classifier>_<protocol>.png and
    results.json with a ``ranking`` list, beside the files of
    :func:`~randcnn_fast.evaluation.evaluate.evaluate`.

    Parameters
    ----------
    dataset : randcnn_fast.datasets.loaders.Dataset, optional
        None: the built-in demo.
    archs : list
        Built-in names, architecture files or Networks (default: every built-in).
    seeds : sequence of int
        At least two, for an interval and a test; default five.
    classifiers : sequence of str
        Each ranks on its own; the MFCC baseline runs with every one.
    out_dir : str or os.PathLike
        Where to write.
    **options
        Any other :func:`randcnn_fast.evaluation.evaluate.evaluate` option (``sizes``,
        ``protocols``, ``features``, ``scale``, ``mfcc``, ``cache_dir``, ...).

    Returns
    -------
    dict
        evaluate's results with ``ranking`` added (one entry per (features, size, classifier,
        protocol): ``mean``, ``ci_low``, ``ci_high``, ``n_seeds``, ``p_vs_best``, ...).

    Raises
    ------
    ValueError
        With fewer than two distinct seeds, or as ``evaluate``.

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
    >>> results = rank(tones, archs=["vgg", "timbral"], seeds=(0, 1), classifiers=["elm"],
    ...                hidden_sizes=(8,), mfcc=False, out_dir="ranking", cache_dir="cache",
    ...                progress=False)
    >>> sorted(entry["features"] for entry in results["ranking"])
    ['timbral', 'vgg']
    >>> Path("ranking/ranking.md").is_file()
    True
    """
    from .evaluate import evaluate

    seeds = [int(s) for s in seeds]
    if len(set(seeds)) < 2:
        raise ValueError(f"a ranking needs at least two distinct seeds for its intervals and "
                         f"tests, got {seeds}")
    results = evaluate(dataset, archs=archs, seeds=seeds, classifiers=classifiers,
                       out_dir=out_dir, mfcc_classifiers=classifiers, **options)
    results["ranking"] = ranking_entries(results["results"])
    results["configuration"]["ranking"] = {"interval": INTERVAL, "test": TEST, "level": LEVEL}
    _write_ranking(results, Path(out_dir))
    return results


def _seed_scores(rows) -> dict:
    """(size, classifier, protocol) -> features -> {seed: accuracy}, n_features; MFCC rows
    go into every size's group."""
    sizes = list(dict.fromkeys(r["size"] for r in rows if r["features"] != MFCC)) or ["-"]
    groups = defaultdict(dict)
    for row in rows:
        for size in (sizes if row["features"] == MFCC else [row["size"]]):
            entry = groups[(size, row["classifier"], row["protocol"])].setdefault(
                row["features"], {"seeds": {}, "n_features": row["n_features"],
                                  "scale": row.get("scale", "none")})
            entry["seeds"][row["seed"]] = row["accuracy"]
    return groups


def _interval(values: np.ndarray) -> tuple[float, float]:
    mean = float(values.mean())
    if len(values) < 2:
        return mean, mean
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return mean - float(half), mean + float(half)


def paired_p(best: np.ndarray, other: np.ndarray) -> float | None:
    """Test whether two architectures' accuracies over the same seeds differ.

    Parameters
    ----------
    best, other : array-like of float
        Accuracies, paired by seed.

    Returns
    -------
    float or None
        The two-sided paired t-test p-value of ``best - other``: 1.0 when every difference
        is zero, 0.0 when every seed shows the same non-zero gap, None with fewer than two
        pairs.

    Examples
    --------
    >>> paired_p([0.9, 0.8, 0.85], [0.9, 0.8, 0.85])
    1.0
    >>> round(paired_p([0.9, 0.8, 0.85], [0.7, 0.75, 0.8]), 3)
    0.184
    >>> paired_p([0.9], [0.8]) is None
    True
    """
    differences = np.asarray(best, float) - np.asarray(other, float)
    if len(differences) < 2:
        return None
    if np.ptp(differences) <= SAME:  # no spread: equal, or the same gap every seed
        return 1.0 if abs(differences[0]) <= SAME else 0.0
    return float(stats.ttest_1samp(differences, 0.0).pvalue)


def ranking_entries(rows) -> list[dict]:
    """Rank the result rows of :func:`~randcnn_fast.evaluation.evaluate.evaluate`.

    Parameters
    ----------
    rows : list of dict
        ``results["results"]``, over at least two seeds.

    Returns
    -------
    list of dict
        One entry per (features, size, classifier, protocol), best first within each group:
        ``rank``, ``mean``, ``ci_low``, ``ci_high`` (see the module for the interval),
        ``n_seeds``, ``p_vs_best`` (the paired test) and ``best``.

    Examples
    --------
    >>> rows = [{"features": name, "size": "small", "classifier": "elm", "protocol": "paper",
    ...          "scale": "none", "n_features": 160, "seed": seed, "accuracy": accuracy}
    ...         for name, scores in (("vgg", (0.7, 0.8)), ("timbral", (0.9, 0.9)))
    ...         for seed, accuracy in enumerate(scores)]
    >>> [(e["rank"], e["features"], round(e["mean"], 2)) for e in ranking_entries(rows)]
    [(1, 'timbral', 0.9), (2, 'vgg', 0.75)]
    """
    entries = []
    for (size, classifier, protocol), by_name in _seed_scores(rows).items():
        seeds = sorted({s for name, e in by_name.items() if name != MFCC for s in e["seeds"]})
        scores = {}
        for name, entry in by_name.items():
            if name == MFCC and classifier == "svm":  # deterministic: one run for every seed
                value = next(iter(entry["seeds"].values()))
                scores[name] = {s: value for s in seeds}
            else:
                scores[name] = entry["seeds"]
        means = {name: float(np.mean(list(v.values()))) for name, v in scores.items()}
        order = sorted(means, key=lambda name: -means[name])  # stable: ties keep row order
        best = order[0]
        for position, name in enumerate(order, start=1):
            own = by_name[name]["seeds"]
            low, high = _interval(np.array(list(own.values())))
            common = sorted(set(scores[name]) & set(scores[best]))
            p = None if name == best else paired_p([scores[best][s] for s in common],
                                                   [scores[name][s] for s in common])
            entries.append({"rank": position, "features": name, "size": size,
                            "classifier": classifier, "protocol": protocol,
                            "scale": by_name[name]["scale"],
                            "n_features": by_name[name]["n_features"], "mean": means[name],
                            "ci_low": low, "ci_high": high, "n_seeds": len(own),
                            "p_vs_best": p, "best": best})
    return entries


def _groups(entries):
    groups = defaultdict(list)
    for entry in entries:
        groups[(entry["size"], entry["classifier"], entry["protocol"])].append(entry)
    return groups


def _label(name: str) -> str:
    return "MFCC (120)" if name == MFCC else name


def ranking_markdown(results: dict) -> str:
    """Write the text of ranking.md: per (size, classifier, protocol), the architectures best
    first.

    Parameters
    ----------
    results : dict
        What :func:`rank` returns.

    Returns
    -------
    str
        Markdown.

    Examples
    --------
    >>> row = {"size": "small", "classifier": "elm", "protocol": "paper", "scale": "none",
    ...        "n_features": 160}
    >>> rows = [dict(row, features="vgg", seed=0, accuracy=0.7),
    ...         dict(row, features="vgg", seed=1, accuracy=0.8),
    ...         dict(row, features="timbral", seed=0, accuracy=0.9),
    ...         dict(row, features="timbral", seed=1, accuracy=0.9)]
    >>> results = {"dataset": {"name": "toy", "used": 12, "classes": ["lo", "hi"]},
    ...            "configuration": {"seeds": [0, 1]}, "ranking": ranking_entries(rows)}
    >>> print(ranking_markdown(results))  # doctest: +ELLIPSIS
    # toy: ranking
    ...
    | 1 | timbral | 160 | 90.0 | 90.0-90.0 | best |  |
    | 2 | vgg | 160 | 75.0 | 11.5-138.5 | 0.205 | no |
    <BLANKLINE>
    """
    data = results["dataset"]
    config = results["configuration"]
    lines = [f"# {data['name']}: ranking", "",
             f"{data['used']} clips, {len(data['classes'])} classes; seeds {config['seeds']}; "
             f"feature scaling: {config.get('scale', 'none')}. Accuracy in %, mean over seeds "
             f"with its {INTERVAL}; p vs best: {TEST} against the best architecture; "
             f"distinguishable: p < {LEVEL}.", ""]
    for (size, classifier, protocol), entries in _groups(results["ranking"]).items():
        lines += [f"## size {size}, {classifier.upper()}, protocol {protocol}: best "
                  f"{_label(entries[0]['best'])}", "",
                  "| rank | architecture | features | mean | 95 % CI | p vs best | distinguishable |",
                  "|---|---|---|---|---|---|---|"]
        for e in entries:
            p = "best" if e["features"] == e["best"] else (
                "-" if e["p_vs_best"] is None else f"{e['p_vs_best']:.3g}")
            verdict = "" if e["p_vs_best"] is None else ("yes" if e["p_vs_best"] < LEVEL else "no")
            lines.append(f"| {e['rank']} | {_label(e['features'])} | {e['n_features']} | "
                         f"{100 * e['mean']:.1f} | {100 * e['ci_low']:.1f}-{100 * e['ci_high']:.1f} | "
                         f"{p} | {verdict} |")
        lines.append("")
    if any(e["features"] == MFCC and e["classifier"] == "svm" for e in results["ranking"]):
        lines += ["The MFCC + SVM baseline has no random part: one run stands for every seed.", ""]
    return "\n".join(lines)


def _csv(entries) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for entry in entries:
        writer.writerow({k: ("" if entry[k] is None else entry[k]) for k in CSV_FIELDS})
    return out.getvalue()


def _plot(path: Path, entries: list, title: str) -> None:
    """Architectures best first, means with their intervals, the MFCC baseline as a line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    archs = [e for e in entries if e["features"] != MFCC]
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(archs) + 2), 4))
    x = np.arange(len(archs))
    means = np.array([100 * e["mean"] for e in archs])
    errors = np.array([[100 * (e["mean"] - e["ci_low"]) for e in archs],
                       [100 * (e["ci_high"] - e["mean"]) for e in archs]])
    ax.errorbar(x, means, yerr=errors, fmt="o", capsize=4, label="mean, 95 % CI over seeds")
    for e in entries:
        if e["features"] == MFCC:
            ax.axhline(100 * e["mean"], color="red", linestyle="--", label="MFCC (120)")
    ax.set_xticks(x, [e["features"] for e in archs], rotation=30, ha="right")
    ax.set_xlim(-0.6, len(archs) - 0.4)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def _write_ranking(results: dict, out_dir: Path) -> None:
    """ranking.md, ranking.csv, one plot per (size, classifier, protocol), and results.json
    (rewritten with the ranking)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _text(out_dir / "results.json", json.dumps(results, indent=1, default=str) + "\n")
    _text(out_dir / "ranking.md", ranking_markdown(results))
    _text(out_dir / "ranking.csv", _csv(results["ranking"]))
    name = results["dataset"]["name"]
    for (size, classifier, protocol), entries in _groups(results["ranking"]).items():
        _plot(out_dir / f"ranking_{size}_{classifier}_{protocol}.png", entries,
              f"{name}: {classifier.upper()}, size {size}, protocol {protocol}")
