"""Results as files: results.json (everything), results.csv, results.md and PNG plots.

The bar chart is the paper's kind: architectures along the x axis, one bar per classifier with
error bars over seeds (standard deviation), the MFCC + SVM baseline as a horizontal line.
"""
from __future__ import annotations

import csv
import io
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from ..features.cache import MFCC

__all__ = ["markdown", "write_report", "bar_chart", "confusion_matrices"]

def _text(path: Path, text: str) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _summarise(rows) -> dict:
    """(size, protocol) -> {(features, classifier): (mean %, std %, n seeds)}, in row order."""
    groups = defaultdict(lambda: defaultdict(list))
    for row in rows:
        groups[(row["size"] if row["features"] != MFCC else None, row["protocol"])][
            (row["features"], row["classifier"])].append(100 * row["accuracy"])
    summary = {}
    for (size, protocol), cells in groups.items():
        if size is None:
            continue
        table = {key: (float(np.mean(v)), float(np.std(v)), len(v)) for key, v in cells.items()}
        for key, v in groups.get((None, protocol), {}).items():
            table[key] = (float(np.mean(v)), float(np.std(v)), len(v))
        summary[(size, protocol)] = table
    return summary


def markdown(results: dict) -> str:
    """Write the text of results.md: per (size, protocol), a table of accuracies.

    Parameters
    ----------
    results : dict
        What :func:`~randcnn_fast.evaluation.evaluate.evaluate` returns.

    Returns
    -------
    str
        Markdown: mean +- std over seeds per architecture and classifier, the clips used,
        failures and warnings.

    Examples
    --------
    >>> row = {"features": "vgg", "size": "small", "classifier": "svm", "protocol": "paper",
    ...        "accuracy": 0.8}
    >>> results = {"results": [row], "failures": [], "configuration": {"seeds": [0]},
    ...            "dataset": {"name": "toy", "used": 12, "clips": 12, "classes": ["lo", "hi"],
    ...                        "protocol_used": "3 folds"}}
    >>> print(markdown(results))
    # toy: accuracy (%)
    <BLANKLINE>
    12 clips (12 listed), 2 classes; seeds [0]; mean +- std over seeds; feature scaling: none.
    <BLANKLINE>
    Clips used: 3 folds.
    <BLANKLINE>
    ## size small, protocol paper
    <BLANKLINE>
    | features | SVM |
    |---|---|
    | vgg | 80.0 |
    <BLANKLINE>
    """
    rows = results["results"]
    classifiers = list(dict.fromkeys(r["classifier"] for r in rows if r["features"] != MFCC)) or ["svm"]
    data = results["dataset"]
    lines = [f"# {data['name']}: accuracy (%)", "",
             f"{data['used']} clips ({data['clips']} listed), {len(data['classes'])} classes; "
             f"seeds {results['configuration']['seeds']}; mean +- std over seeds; feature "
             f"scaling: {results['configuration'].get('scale', 'none')}.", "",
             f"Clips used: {data['protocol_used']}.", ""]
    for (size, protocol), table in _summarise(rows).items():
        lines += [f"## size {size}, protocol {protocol}", "",
                  "| features | " + " | ".join(c.upper() for c in classifiers) + " |",
                  "|---|" + "---|" * len(classifiers)]
        for features in dict.fromkeys(f for f, _ in table):
            cells = []
            for classifier in classifiers:
                value = table.get((features, classifier))
                cells.append("" if value is None else
                             f"{value[0]:.1f}" + (f" +- {value[1]:.1f}" if value[2] > 1 else ""))
            name = "MFCC (120)" if features == MFCC else features
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    convergence = results.get("svm_convergence", {})
    if convergence.get("stopped_early"):
        lines += [f"{convergence['stopped_early']} of {convergence['fits']} SVM fits stopped at "
                  f"the iteration cap ({convergence['max_iter']}, --svm-max-iter) before "
                  "converging (libsvm's ConvergenceWarning, counted here instead of printed); "
                  "their rows can differ from an uncapped GridSearchCV.", ""]
    if results["failures"]:
        # A clip that fails fails in every feature configuration: count clips, not records.
        lines += [f"{data['clips'] - data['used']} of {data['clips']} clip(s) could not be used "
                  f"({len(results['failures'])} failure record(s) over the feature "
                  "configurations); see results.json.", ""]
    if results.get("warnings"):
        lines += [f"{len(results['warnings'])} clip(s) were used with a decoding warning (for "
                  f"example an MP3 whose header announced another length); see results.json.", ""]
    if results.get("timings"):
        lines += _time_table(results["timings"])
    return "\n".join(lines)


def _time_table(timings: dict) -> list[str]:
    """Lines of results.md saying where the run's time went.

    The feature step's wall seconds are shared between decoding, front-ends and forward
    passes in proportion to their thread-seconds (they run side by side on the workers).
    """
    forward = sum(timings["forward"].values())
    parts = {"decode": timings["decode"], "front-end": timings["front-end"], "forward": forward}
    busy = sum(parts.values())
    stages = {name: timings["features"] * t / busy if busy else 0.0 for name, t in parts.items()}
    if not busy:
        stages["features (cached)"] = timings["features"]
    stages.update({"SVM": timings["svm"], "ELM": timings["elm"],
                   "report": timings.get("report", 0.0)})
    total = sum(stages.values())
    lines = ["## where the time went", "",
             f"The feature step took {timings['features']:.1f} s, shared below between its parts "
             f"by their thread-seconds ({len(timings['forward'])} network(s) run; cached "
             "features cost almost nothing).", "",
             "| stage | seconds | share |", "|---|---|---|"]
    lines += [f"| {name} | {t:.1f} | {100 * t / total:.0f} % |" for name, t in stages.items()]
    return lines + [f"| total | {total:.1f} | |", ""]


def _csv(rows) -> str:
    out = io.StringIO()
    fields = ["dataset", "features", "size", "n_features", "seed", "classifier", "protocol",
              "scale", "accuracy", "n_clips", "chosen"]
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "chosen": json.dumps(row["chosen"])})
    return out.getvalue()


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_chart(table: dict, title: str):
    """Draw the paper's grouped bar chart of one (size, protocol) table.

    Parameters
    ----------
    table : dict
        ``(features, classifier)`` to ``(mean, std, n_seeds)`` accuracy in %; the
        ``("mfcc", "svm")`` entry becomes the baseline line.
    title : str
        The chart's title.

    Returns
    -------
    matplotlib.figure.Figure
        Bars labelled with their accuracy.

    Examples
    --------
    >>> figure = bar_chart({("vgg", "svm"): (80.0, 2.0, 3), ("vgg", "elm"): (75.0, 1.0, 3),
    ...                     ("mfcc", "svm"): (60.0, 0.0, 1)}, "demo")
    >>> figure.axes[0].get_title()
    'demo'
    """
    plt = _pyplot()
    archs = list(dict.fromkeys(f for f, _ in table if f != MFCC))
    classifiers = list(dict.fromkeys(c for f, c in table if f != MFCC))
    width = 0.8 / max(len(classifiers), 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(archs) + 2), 4.2))
    x = np.arange(len(archs))
    for i, classifier in enumerate(classifiers):
        means = [table.get((a, classifier), (np.nan, 0, 0))[0] for a in archs]
        stds = [table.get((a, classifier), (0, 0, 0))[1] for a in archs]
        bars = ax.bar(x + (i - (len(classifiers) - 1) / 2) * width, means, width, yerr=stds,
                      capsize=3, label=classifier.upper())
        ax.bar_label(bars, labels=["" if np.isnan(m) else f"{m:.1f}" for m in means],
                     fontsize=6, padding=2)
    if (MFCC, "svm") in table:
        ax.axhline(table[(MFCC, "svm")][0], color="red", linestyle="--", label="MFCC (120) + SVM")
    ax.set_xticks(x, archs, rotation=30, ha="right")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 105)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=len(classifiers) + 1, fontsize=8)
    fig.tight_layout()
    return fig


def confusion_matrices(entries: list, classes: list, title: str):
    """Draw confusion matrices, one panel per entry.

    Parameters
    ----------
    entries : list of dict
        ``matrix`` (counts, true classes down, predicted across), ``features`` and
        ``classifier``.
    classes : list of str
        The class names, in the matrices' order.
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        Each matrix normalised by true class (the colour, with a colour bar), its counts
        written in the cells.

    Examples
    --------
    >>> entry = {"matrix": [[5, 1], [0, 6]], "features": "vgg", "classifier": "svm"}
    >>> len(confusion_matrices([entry], ["lo", "hi"], "demo").axes)  # a panel and its colour bar
    2
    """
    plt = _pyplot()
    cols = min(4, len(entries))
    rows = -(-len(entries) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[len(entries):]:
        ax.axis("off")
    size = max(3.0, min(7.0, 40.0 / max(len(classes), 1)))  # counts stay inside their cells
    for ax, entry in zip(axes.flat, entries):
        matrix = np.asarray(entry["matrix"], dtype=np.int64)
        normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        image = ax.imshow(normalised, vmin=0, vmax=1, cmap="Blues")
        for (i, j), count in np.ndenumerate(matrix):
            ax.text(j, i, str(count), ha="center", va="center", fontsize=size,
                    color="white" if normalised[i, j] > 0.5 else "black")
        name = "MFCC (120)" if entry["features"] == MFCC else entry["features"]
        ax.set_title(f"{name} + {entry['classifier'].upper()}", fontsize=9)
        ticks = np.arange(len(classes))
        ax.set_xticks(ticks, classes, rotation=90, fontsize=6)
        ax.set_yticks(ticks, classes, fontsize=6)
        ax.set_xlabel("predicted class", fontsize=7)
        ax.set_ylabel("true class", fontsize=7)
        colour_bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        colour_bar.set_label("share of the true class", fontsize=6)
        colour_bar.ax.tick_params(labelsize=6)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _save(fig, path: Path, dpi: int) -> None:
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    _pyplot().close(fig)


def write_report(results: dict, out_dir: Path) -> None:
    """Write results.json, results.csv, results.md and the PNG plots.

    Parameters
    ----------
    results : dict
        What :func:`~randcnn_fast.evaluation.evaluate.evaluate` returns; where it has
        ``timings``, the plots' wall seconds are added to them as ``report``.
    out_dir : pathlib.Path
        The folder to write into, created if needed.

    Examples
    --------
    >>> from pathlib import Path
    >>> results = {
    ...     "results": [{"features": "vgg", "size": "small", "classifier": "elm", "seed": 0,
    ...                  "protocol": "paper", "accuracy": 0.9, "chosen": [{"n_hidden": 8}]}],
    ...     "confusion": [{"features": "vgg", "size": "small", "classifier": "elm",
    ...                    "protocol": "paper", "matrix": [[6, 0], [1, 5]]}],
    ...     "dataset": {"name": "toy", "used": 12, "clips": 12, "classes": ["lo", "hi"],
    ...                 "protocol_used": "3 folds"},
    ...     "configuration": {"seeds": [0]}, "failures": []}
    >>> write_report(results, Path("report"))
    >>> sorted(path.name for path in Path("report").iterdir())  # doctest: +NORMALIZE_WHITESPACE
    ['accuracy_small_paper.png', 'confusion_small_paper_elm.png', 'results.csv', 'results.json',
     'results.md']
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    name = results["dataset"]["name"]
    for (size, protocol), table in _summarise(results["results"]).items():
        _save(bar_chart(table, f"{name}, size {size}, protocol {protocol}"),
              out_dir / f"accuracy_{size}_{protocol}.png", dpi=120)
        entries = [e for e in results["confusion"] if e["protocol"] == protocol
                   and (e["size"] == size or e["features"] == MFCC)]
        for classifier in dict.fromkeys(e["classifier"] for e in entries):
            chosen = [e for e in entries if e["classifier"] == classifier]
            _save(confusion_matrices(chosen, results["dataset"]["classes"],
                                     f"{name}: confusion ({size}, {protocol})"),
                  out_dir / f"confusion_{size}_{protocol}_{classifier}.png", dpi=110)
    # The plots first, so the text files can say what they cost.
    if "timings" in results:
        results["timings"]["report"] = time.perf_counter() - started
    _text(out_dir / "results.json", json.dumps(results, indent=1, default=str) + "\n")
    _text(out_dir / "results.csv", _csv(results["results"]))
    _text(out_dir / "results.md", markdown(results))
