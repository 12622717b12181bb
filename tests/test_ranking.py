"""Ranking with confidence (intervals over seeds, a paired test against the best) and feature
scaling fitted on training parts only."""
from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pytest
from scipy import stats

import randcnn_fast as rf
from randcnn_fast.datasets import loaders as datasets
from randcnn_fast.datasets import demo
from randcnn_fast.network.architectures import build
from randcnn_fast.cli import main
from randcnn_fast.evaluation.protocols import run_protocol
from randcnn_fast.evaluation.ranking import paired_p, ranking_entries
from randcnn_fast.classifiers.scaling import split_features


def row(features, seed, accuracy, classifier="svm", size="small", n_features=160):
    return {"features": features, "size": "-" if features == "mfcc" else size, "seed": seed,
            "classifier": classifier, "protocol": "paper", "accuracy": accuracy,
            "n_features": n_features, "scale": "none"}


A = [0.80, 0.82, 0.79, 0.85, 0.81]
B = [0.70, 0.74, 0.69, 0.72, 0.75]


def test_intervals_and_the_paired_test_against_the_best():
    rows = ([row("a", s, v) for s, v in enumerate(A)] + [row("b", s, v) for s, v in enumerate(B)]
            + [row("mfcc", 0, 0.78, n_features=120)])
    entries = {e["features"]: e for e in ranking_entries(rows)}
    a, b, mfcc = entries["a"], entries["b"], entries["mfcc"]
    assert [a["rank"], mfcc["rank"], b["rank"]] == [1, 2, 3] and b["best"] == "a"
    low, high = stats.t.interval(0.95, 4, loc=np.mean(B), scale=stats.sem(B))
    assert (b["ci_low"], b["ci_high"]) == pytest.approx((low, high))
    assert b["mean"] == pytest.approx(np.mean(B)) and b["n_seeds"] == 5
    assert b["p_vs_best"] == pytest.approx(stats.ttest_rel(A, B).pvalue)
    assert a["p_vs_best"] is None
    # the MFCC + SVM baseline has no random part: its one run stands for every seed
    assert mfcc["n_seeds"] == 1 and mfcc["ci_low"] == mfcc["ci_high"] == 0.78
    assert mfcc["p_vs_best"] == pytest.approx(stats.ttest_1samp(np.array(A) - 0.78, 0).pvalue)


def test_each_classifier_ranks_on_its_own_with_the_mfcc_baseline():
    rows = [row(f, s, v, classifier=c) for c in ("svm", "elm") for f, vals in (("a", A), ("b", B))
            for s, v in enumerate(vals if c == "svm" else vals[::-1])]
    rows += [row("mfcc", s, 0.9 - 0.01 * s, classifier="elm", n_features=120) for s in range(5)]
    entries = ranking_entries(rows)
    assert {(e["classifier"], e["features"]) for e in entries} == {
        ("svm", "a"), ("svm", "b"), ("elm", "a"), ("elm", "b"), ("elm", "mfcc")}
    elm_mfcc = next(e for e in entries if e["features"] == "mfcc")
    assert elm_mfcc["rank"] == 1 and elm_mfcc["n_seeds"] == 5 and elm_mfcc["ci_low"] < elm_mfcc["ci_high"]


def test_paired_p_edge_cases():
    assert paired_p([0.5], [0.4]) is None
    assert paired_p([0.5, 0.6], [0.5, 0.6]) == 1.0
    assert paired_p([0.6, 0.7], [0.5, 0.6]) == 0.0  # the same gap every seed


def test_standard_scaling_uses_the_training_part_only():
    X = np.arange(20, dtype=float).reshape(10, 2) * [1.0, 1000.0]
    X[:, 1] += 5.0
    train, test = np.arange(6), np.arange(6, 10)
    X_train, X_test = split_features(X, train, test, "standard")
    np.testing.assert_allclose(X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X_train.std(axis=0), 1)
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    np.testing.assert_allclose(X_test, (X[test] - mean) / std)
    same_train, same_test = split_features(X, train, test, "none")
    np.testing.assert_array_equal(same_test, X[test])
    with pytest.raises(ValueError, match="unknown scale 'minmax'"):
        split_features(X, train, test, "minmax")


def test_standard_scaling_rescues_a_feature_drowned_by_a_large_one():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    X = np.column_stack([y + 0.3 * rng.standard_normal(40), 1e4 * rng.standard_normal(40)])
    data = datasets.Dataset("toy", tuple(f"/x/{i}.wav" for i in range(40)), tuple(map(str, y)),
                            ("0", "1"), folds=tuple(i % 4 for i in range(40)))
    plain = run_protocol(X, data, "svm", "paper", svm_max_iter=10_000)
    scaled = run_protocol(X, data, "svm", "paper", svm_max_iter=10_000, scale="standard")
    assert scaled.accuracy > 0.9 > plain.accuracy


def test_rank_end_to_end_with_a_file_and_a_builtin(tmp_path, capsys):
    root = demo.make_demo(tmp_path / "demo", clips_per_class=5, seconds=1.0)
    path = tmp_path / "mine.toml"
    network = build("7x96", "small")
    dataclasses.replace(network, arch="mine").save(path)
    out = tmp_path / "out"
    code = main(["rank", "--dataset", str(root / "labels.csv"), "--arch", "7x86", str(path),
                 "--seed", "0", "1", "--classifier", "svm", "elm", "--features", "40",
                 "--scale", "standard", "--length", "30", "--out", str(out),
                 "--cache", str(tmp_path / "cache")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "paired t-test over seeds" in printed and "| mine | 40 |" in printed
    results = json.loads((out / "results.json").read_text())
    keys = {(e["features"], e["classifier"]) for e in results["ranking"]}
    assert keys == {(f, c) for f in ("7x86", "mine", "mfcc") for c in ("svm", "elm")}
    for entry in results["ranking"]:
        assert {"mean", "ci_low", "ci_high", "n_seeds", "p_vs_best"} <= set(entry)
        assert entry["scale"] == "standard" and entry["size"] == "small"
    assert all(r["scale"] == "standard" for r in results["results"])
    assert "feature scaling: standard" in (out / "results.md").read_text()
    with open(out / "results.csv") as f:
        assert {r["scale"] for r in csv.DictReader(f)} == {"standard"}
    assert results["configuration"]["width"] == 40
    with open(out / "ranking.csv") as f:
        assert len(list(csv.DictReader(f))) == 6
    for name in ("ranking.md", "ranking_small_svm_paper.png", "ranking_small_elm_paper.png"):
        assert (out / name).is_file()
    # the embeddings are cached: a ranking with one more architecture embeds only that one
    cached = {p for p in (tmp_path / "cache").rglob("*.npz")}
    rf.rank(datasets.manifest(root / "labels.csv", fold_column="fold"), archs=["7x86", path, "7x96"],
            seeds=[0, 1], classifiers=["elm"], features=40, length=30, out_dir=tmp_path / "o2",
            cache_dir=tmp_path / "cache", hidden_sizes=(10,), progress=False)
    added = {p for p in (tmp_path / "cache").rglob("*.npz")} - cached
    assert len(added) == 2 * 20  # 7x96's two seeds, 20 clips each


def test_rank_needs_two_seeds():
    with pytest.raises(ValueError, match="at least two distinct seeds"):
        rf.rank(archs=["7x96"], seeds=[3])


def test_evaluate_and_rank_keep_their_own_default_seeds_and_folders(tmp_path, monkeypatch):
    root = demo.make_demo(tmp_path / "demo", clips_per_class=5, seconds=1.0)
    monkeypatch.chdir(tmp_path)
    common = ["--dataset", str(root / "labels.csv"), "--arch", "7x96", "--classifier", "elm",
              "--no-mfcc", "--length", "30", "--cache", str(tmp_path / "cache")]
    assert main(["rank"] + common) == 0
    assert main(["evaluate"] + common) == 0
    ranked = json.loads((tmp_path / "randcnn_fast_ranking" / "results.json").read_text())
    (run,) = (tmp_path / "randcnn_fast_results").iterdir()  # a folder named for the run
    evaluated = json.loads((run / "results.json").read_text())
    assert ranked["configuration"]["seeds"] == [0, 1, 2, 3, 4]
    assert evaluated["configuration"]["seeds"] == [0]
