"""Protocols and the evaluate pipeline on small synthetic data."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.svm import SVC

from randcnn_fast.datasets import loaders as datasets

from randcnn_fast.datasets import demo

from randcnn_fast.classifiers import svm
from randcnn_fast.cli import main
from randcnn_fast.evaluation.evaluate import evaluate
from randcnn_fast.evaluation.protocols import run_protocol
from cases import tone_folder


def blobs(n_per_class=12, n_classes=3, d=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, d)) * 2
    y = np.repeat(np.arange(n_classes), n_per_class)
    return centres[y] + rng.standard_normal((len(y), d)), y


def fold_dataset(y, n_folds=4):
    labels = [str(v) for v in y]
    folds = [i % n_folds for i in range(len(y))]
    return datasets.Dataset("blobs", [f"/x/{i}.wav" for i in range(len(y))], labels,
                            sorted(set(labels)), folds=folds)


def test_paper_protocol_on_folds_is_gridsearchcvs_best_score():
    X, y = blobs()
    data = fold_dataset(y)
    outcome = run_protocol(X, data, "svm", "paper")
    search = GridSearchCV(SVC(), list(svm.SVM_GRID), cv=PredefinedSplit(np.asarray(data.folds))).fit(X, data.y)
    assert outcome.accuracy == pytest.approx(search.best_score_, abs=1e-12)
    assert outcome.chosen == [search.best_params_]


def test_nested_protocol_selects_inside_each_training_part():
    X, y = blobs(seed=1)
    data = fold_dataset(y)
    outcome = run_protocol(X, data, "svm", "nested")
    assert len(outcome.chosen) == 4 and len(outcome.fold_accuracies) == 4
    assert outcome.accuracy == pytest.approx(np.mean(outcome.fold_accuracies))
    assert (outcome.y_pred >= 0).all()


def test_split_protocol_selects_on_valid_and_scores_test():
    X, y = blobs(seed=2)
    split = np.array(["train", "valid", "test"])[np.arange(len(y)) % 3]
    labels = [str(v) for v in y]
    data = datasets.Dataset("s", [f"/x/{i}" for i in range(len(y))], labels, sorted(set(labels)), split=split)
    outcome = run_protocol(X, data, "svm", "paper")
    train, valid, test = (np.flatnonzero(split == s) for s in ("train", "valid", "test"))
    configs, scores, _ = svm.grid_scores(X, data.y, [(train, valid)])
    assert outcome.chosen == [svm.best_config(configs, scores)[1]]
    assert len(outcome.y_true) == len(test)


@pytest.mark.parametrize("protocol", ["paper", "nested"])
def test_elm_protocols(protocol):
    X, y = blobs(n_per_class=15, seed=3)
    outcome = run_protocol(X, fold_dataset(y), "elm", protocol, seed=1, hidden_sizes=(5, 20, 40))
    assert 0.5 < outcome.accuracy <= 1.0
    assert all(c["n_hidden"] in (5, 20, 40) for c in outcome.chosen)


def test_evaluate_writes_every_output_and_records_failures(tmp_path):
    root = demo.make_demo(tmp_path / "demo", clips_per_class=6, seconds=1.5)
    data = datasets.manifest(root / "labels.csv", fold_column="fold", name="tiny")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all")
    data = datasets.Dataset(data.name, data.paths + (str(broken),), data.labels + (data.labels[0],),
                            data.classes, folds=data.folds + (0,),
                            protocol_source=data.protocol_source)
    out = tmp_path / "out"
    results = evaluate(data, archs=["temporal", "sample_level"], seeds=[0, 1], out_dir=out,
                       cache_dir=tmp_path / "cache", length=None, hidden_sizes=(10, 30), progress=False)
    for name in ("results.json", "results.csv", "results.md", "accuracy_small_paper.png",
                 "confusion_small_paper_svm.png", "confusion_small_paper_elm.png"):
        assert (out / name).is_file(), name
    saved = json.loads((out / "results.json").read_text())
    assert saved["dataset"]["used"] == 24 and saved["dataset"]["clips"] == 25
    assert {f["path"] for f in saved["failures"]} == {str(broken)}
    assert saved["provenance"]["isa"]["active"] and "numpy" in saved["provenance"]["dependencies"]
    # 2 archs x 2 seeds x 2 classifiers + the MFCC baseline
    assert len(saved["results"]) == 9
    report = (out / "results.md").read_text()
    assert "MFCC (120)" in report and "## where the time went" in report
    # One broken file fails in each of the 5 feature configurations: one clip, 5 records.
    assert len(saved["failures"]) == 5
    assert "1 of 25 clip(s) could not be used (5 failure record(s)" in report
    assert f"Clips used: 5 folds 0-4 (4-8 clips each), from column 'fold' of {root / 'labels.csv'}" in report
    # The cache makes a second run reuse every embedding.
    again = evaluate(data, archs=["temporal"], seeds=[0], out_dir=tmp_path / "out2",
                     cache_dir=tmp_path / "cache", hidden_sizes=(10, 30), progress=False)
    assert again["results"][0]["accuracy"] == results["results"][0]["accuracy"]
    # Where the time went: one feature step, decoding and front-ends in it, every network.
    timings = saved["timings"]
    assert sorted(timings["forward"]) == ["sample_level small seed 0", "sample_level small seed 1",
                                          "temporal small seed 0", "temporal small seed 1"]
    assert all(t > 0 for t in [*timings["forward"].values(), timings["decode"],
                               timings["front-end"], timings["svm"], timings["elm"],
                               timings["report"]])
    assert timings["features"] > 0 and "| forward | " in report and "| SVM | " in report
    # Cached: no network runs; only the broken file, whose failure is not cached, is decoded.
    assert again["timings"]["forward"] == {} and again["timings"]["decode"] < timings["decode"]


def test_command_line_on_a_folder(tmp_path, capsys):
    root = tone_folder(tmp_path / "set")
    code = main(["evaluate", "--dataset", str(root), "--arch", "7x96", "--classifier", "svm",
                 "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"), "--length", "30"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| 7x96 |" in printed and (tmp_path / "out" / "results.csv").is_file()


def test_command_line_uses_a_manifests_fold_column_and_says_so(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = ["path,label,fold"]
    for i in range(12):
        label, freq = ("low", 200.0) if i % 2 else ("high", 2000.0)
        t = np.arange(6000) / 12000
        sf.write(tmp_path / f"{i}.wav", 0.3 * np.sin(2 * np.pi * freq * t)
                 + 0.01 * rng.standard_normal(6000), 12000)
        rows.append(f"{i}.wav,{label},{11 + i % 3}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    code = main(["evaluate", "--dataset", str(tmp_path / "labels.csv"), "--arch", "7x96",
                 "--classifier", "svm", "--no-mfcc", "--out", str(tmp_path / "out"),
                 "--cache", str(tmp_path / "cache"), "--length", "30"])
    assert code == 0
    printed = capsys.readouterr().out
    assert (f"Clips used: 3 folds 11-13 (4 clips each), from column 'fold' of "
            f"{tmp_path / 'labels.csv'}") in printed
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert len(saved["results"][0]["fold_accuracies"]) == 3


@pytest.fixture
def no_forward_pass(monkeypatch):
    """Makes any attempt to embed fail the test: the dataset checks come first."""
    import randcnn_fast.evaluation.evaluate as evaluate_module

    def embed(*args, **kwargs):
        raise AssertionError("a forward pass ran before the dataset was checked")

    monkeypatch.setattr(evaluate_module, "configs_features", embed)


def labelled(labels, folds=None, split=None):
    return datasets.Dataset("toy", [f"/x/{i}.wav" for i in range(len(labels))], labels,
                            sorted(set(labels)), folds=folds, split=split)


@pytest.mark.parametrize("dataset, message", [
    (labelled(["a"] * 6, folds=[0, 1, 2] * 2), r"6 clip\(s\) in 1 class\(es\) \['a'\]; "
                                                "classification needs at least two classes"),
    (labelled(["a"] * 5 + ["b"], folds=[0, 1] * 3), r"class\(es\) \['b'\] have a single clip"),
    (labelled(["a", "b"] * 3, folds=[4] * 6), "every clip is in fold 4"),
    (labelled(["a", "a", "b", "b"], folds=[0, 0, 1, 1]),
     r"with fold 0 held out the training part holds only class\(es\) \['b'\]"),
    (labelled(["a", "a", "b", "b"], split=["train", "train", "test", "test"]),
     r"the train part holds 1 class\(es\) \['a'\]"),
    (labelled(["a", "b"] * 2, split=["train"] * 4), "the test part is empty"),
])
def test_evaluate_refuses_a_dataset_before_embedding(no_forward_pass, tmp_path, dataset, message):
    with pytest.raises(ValueError, match=message):
        evaluate(dataset, archs=["temporal"], out_dir=tmp_path / "out", progress=False)


def test_evaluate_warns_of_a_class_some_folds_never_test(no_forward_pass, tmp_path):
    dataset = labelled(["a"] * 6 + ["b"] * 2, folds=[0, 1, 2] * 2 + [0, 1])
    with pytest.warns(UserWarning, match=r"class\(es\) \['b'\] have fewer clips than the 3 folds"):
        with pytest.raises(AssertionError, match="forward pass"):
            evaluate(dataset, archs=["temporal"], out_dir=tmp_path / "out", progress=False)
    split = labelled(["a", "b", "a", "b", "c"], split=["train"] * 4 + ["test"])
    with pytest.warns(UserWarning, match=r"test class\(es\) \['c'\] have no train clips"):
        with pytest.raises(AssertionError, match="forward pass"):
            evaluate(split, archs=["temporal"], out_dir=tmp_path / "out", progress=False)


def test_empty_class_folder_and_repeated_manifest_paths(tmp_path):
    for name in ("a", "b"):
        (tmp_path / "set" / name).mkdir(parents=True)
        for i in range(2):
            (tmp_path / "set" / name / f"{i}.wav").write_bytes(b"")
    (tmp_path / "set" / "c").mkdir()
    with pytest.warns(UserWarning, match=r"class folder\(s\) \['c'\] hold no audio files"):
        datasets.folder(tmp_path / "set", n_folds=2)
    (tmp_path / "set" / "labels.csv").write_text("path,label\na/0.wav,a\na/1.wav,a\nb/0.wav,b\n"
                                                 "a/0.wav,a\nb/1.wav,b\n")
    with pytest.raises(ValueError, match=r"1 path\(s\) listed more than once: .*a/0.wav on lines "
                                         "2, 5; list each clip once"):
        datasets.manifest(tmp_path / "set" / "labels.csv")


def test_svm_early_stops_are_counted_not_printed(tmp_path):
    import warnings

    root = demo.make_demo(tmp_path / "demo", clips_per_class=5, seconds=1.0)
    data = datasets.manifest(root / "labels.csv", name="tiny")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = evaluate(data, archs=["temporal"], classifiers=["svm"], mfcc=False,
                           out_dir=tmp_path / "out", cache_dir=tmp_path / "cache",
                           svm_max_iter=1, progress=False)
    assert not [w for w in caught if "terminated early" in str(w.message)]
    counted = results["svm_convergence"]
    # the paper protocol on the demo's 5 folds: 32 configurations x 5 folds
    assert counted["fits"] == 160 and 0 < counted["stopped_early"] <= 160
    assert counted["max_iter"] == 1
    report = (tmp_path / "out" / "results.md").read_text()
    assert report.count(f"{counted['stopped_early']} of 160 SVM fits stopped at the iteration "
                        "cap (1, --svm-max-iter)") == 1
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["svm_convergence"] == counted


def test_plots_label_their_bars_axes_and_counts():
    from randcnn_fast.evaluation.report import bar_chart, confusion_matrices

    table = {("temporal", "svm"): (81.25, 2.0, 2), ("temporal", "elm"): (75.0, 0.0, 1),
             ("vgg", "svm"): (62.5, 0.0, 1), ("mfcc", "svm"): (70.0, 0.0, 1)}
    fig = bar_chart(table, "t")
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"81.2", "75.0", "62.5"} <= texts
    matrix = [[3, 1], [0, 4]]
    fig = confusion_matrices([{"features": "temporal", "classifier": "svm", "matrix": matrix}],
                             ["a", "b"], "t")
    panel, colour_bar = fig.axes
    assert panel.get_xlabel() == "predicted class" and panel.get_ylabel() == "true class"
    assert colour_bar.get_ylabel() == "share of the true class"
    assert sorted(t.get_text() for t in panel.texts) == ["0", "1", "3", "4"]
