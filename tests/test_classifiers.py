"""ELM and the SVM grid against numpy/scipy and plain GridSearchCV."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, PredefinedSplit, StratifiedKFold
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks

import randcnn_fast as rf
from randcnn_fast.classifiers import elm
from randcnn_fast.classifiers import svm
@parametrize_with_checks([elm.ELMClassifier(n_hidden=20, random_state=0)])
def test_elm_is_a_scikit_learn_estimator(estimator, check):
    check(estimator)


def test_hidden_layer_matches_numpy(isa):
    rng = np.random.default_rng(0)
    for n, d, h in [(1, 1, 1), (7, 13, 17), (97, 33, 250)]:
        X = rng.standard_normal((n, d))
        W, b = rng.standard_normal((d, h)), rng.standard_normal(h)
        want = np.maximum(X @ W + b, 0)
        got = elm.hidden_activations(X, W, b, n_threads=1)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("n,h", [(200, 50), (60, 150), (1, 3), (31, 31)])
def test_minimum_norm_least_squares_matches_lstsq(n, h):
    rng = np.random.default_rng(n + h)
    H = np.maximum(rng.standard_normal((n, h)), 0) + 0.01 * rng.standard_normal((n, h))
    T = np.sign(rng.standard_normal((n, 4)))
    beta = elm.solve_readouts(H.T, T, [h])[h]
    np.testing.assert_allclose(beta, np.linalg.lstsq(H, T, rcond=None)[0], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(beta, np.linalg.pinv(H) @ T, rtol=1e-6, atol=1e-8)


def test_rank_deficient_falls_back_to_the_pseudo_inverse():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((80, 10))
    H = np.hstack([base, base])  # duplicated units: the Gram matrix is singular
    T = np.sign(rng.standard_normal((80, 3)))
    beta = elm.solve_readouts(H.T, T, [20])[20]
    np.testing.assert_allclose(beta, np.linalg.pinv(H) @ T, rtol=1e-6, atol=1e-8)


def test_sizes_past_a_singular_unit_fall_back_and_the_others_share_the_factor():
    # Units 30.. repeat earlier ones: the shared factorisation serves sizes up to 30, and the
    # sizes beyond go to the pseudo-inverse, each agreeing with a separate solve.
    rng = np.random.default_rng(6)
    base = np.maximum(rng.standard_normal((90, 30)), 0)
    H = np.hstack([base, base[:, :20]])
    T = np.sign(rng.standard_normal((90, 3)))
    sizes = [10, 30, 40, 50]
    got = elm.solve_readouts(H.T, T, sizes)
    for k in sizes:
        np.testing.assert_allclose(got[k], np.linalg.pinv(H[:, :k]) @ T, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("n,h", [(120, 40), (30, 90)])
def test_ridge_matches_the_closed_form(n, h):
    rng = np.random.default_rng(2)
    H, T = rng.standard_normal((n, h)), rng.standard_normal((n, 2))
    want = np.linalg.solve(H.T @ H + 0.5 * np.eye(h), H.T @ T)
    np.testing.assert_allclose(elm.solve_readouts(H.T, T, [h], alpha=0.5)[h], want, rtol=1e-8, atol=1e-10)


def test_nested_sizes_equal_separate_solves():
    rng = np.random.default_rng(3)
    H = np.maximum(rng.standard_normal((150, 120)), 0)
    T = np.sign(rng.standard_normal((150, 5)))
    sizes = [10, 40, 100, 120]
    shared = elm.solve_readouts(H.T, T, sizes)
    for k in sizes:
        np.testing.assert_allclose(shared[k], np.linalg.lstsq(H[:, :k], T, rcond=None)[0], rtol=1e-6, atol=1e-8)


def test_faithful_draw_order_and_prediction():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((60, 8))
    y = np.array(["a", "b", "c"])[rng.integers(0, 3, 60)]
    model = elm.ELMClassifier(25, random_state=7).fit(X, y)
    state = np.random.RandomState(7)
    biases = state.normal(size=25)  # the original draws the biases first
    weights = state.normal(size=(8, 25))
    np.testing.assert_array_equal(model.biases_, biases)
    np.testing.assert_array_equal(model.weights_, weights)
    H = np.maximum(X @ weights + biases, 0)
    T = np.where(y[:, None] == model.classes_[None, :], 1.0, -1.0)
    beta = np.linalg.pinv(H) @ T
    np.testing.assert_array_equal(model.predict(X), model.classes_[np.argmax(H @ beta, axis=1)])


def test_hidden_size_search_equals_prefix_models():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((90, 12)), rng.integers(0, 3, 90)
    Xt, yt = rng.standard_normal((40, 12)), rng.integers(0, 3, 40)
    sizes = (5, 20, 60)
    predictions = elm.hidden_size_predictions(X, y, Xt, sizes, random_state=3)
    state = np.random.RandomState(3)
    biases, weights = state.normal(size=60), state.normal(size=(12, 60))
    for k in sizes:
        H, Ht = np.maximum(X @ weights[:, :k] + biases[:k], 0), np.maximum(Xt @ weights[:, :k] + biases[:k], 0)
        T = np.where(y[:, None] == np.arange(3)[None, :], 1.0, -1.0)
        predicted = np.argmax(Ht @ np.linalg.lstsq(H, T, rcond=None)[0], axis=1)
        np.testing.assert_array_equal(predictions[k], predicted)


@pytest.fixture(scope="module")
def fsdd_embeddings():
    from conftest import FSDD
    if not (FSDD / "labels.csv").is_file():
        pytest.skip(f"shared FSDD recordings not found at {FSDD}")
    with open(FSDD / "labels.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["speaker"] in ("george", "jackson")]
    rows = rows[::3]  # 200 clips, every digit
    X = rf.embed([FSDD / r["path"] for r in rows], arch="sample_level", size="small", length=12000)
    y = np.array([int(r["digit"]) for r in rows])
    folds = np.arange(len(rows)) % 4
    return X, y, folds


def test_svm_grid_gives_gridsearchcv_choices_on_real_embeddings(fsdd_embeddings):
    X, y, folds = fsdd_embeddings
    split = PredefinedSplit(folds)
    search = GridSearchCV(SVC(), list(svm.SVM_GRID), cv=split).fit(X, y)
    configs, scores, predictions = svm.grid_scores(X, y, split.split(X, y))
    index, config, score = svm.best_config(configs, scores)
    assert config == search.best_params_
    assert score == pytest.approx(search.best_score_, abs=1e-12)
    np.testing.assert_allclose(scores.mean(axis=1), search.cv_results_["mean_test_score"], atol=1e-12)
    assert np.mean(predictions[index] == y) == pytest.approx(np.mean(scores[index]), abs=0.02)


def test_threaded_svm_grid_equals_one_fit_after_another():
    """grid_scores on a thread pool gives exactly the scores and predictions of fitting each
    configuration in turn on each fold's precomputed kernels."""
    rng = np.random.default_rng(8)
    y = np.arange(240) % 4
    X = np.abs(rng.standard_normal((4, 30))[y] + rng.standard_normal((240, 30))) * 0.1
    splits = list(StratifiedKFold(4).split(X, y))
    configs = svm.grid_configs()
    expected = np.zeros((len(configs), len(splits)))
    expected_predictions = np.full((len(configs), len(y)), -1)
    for j, (train, test) in enumerate(splits):
        kernels = svm.FoldKernels(X[train], X[test])
        for i, config in enumerate(configs):
            expected_predictions[i, test] = svm.fit_predict(kernels, y[train], config)
            expected[i, j] = np.mean(expected_predictions[i, test] == y[test])
    for n_threads in (1, 3):
        got_configs, scores, predictions = svm.grid_scores(X, y, splits, n_threads=n_threads)
        assert got_configs == configs
        np.testing.assert_array_equal(scores, expected)
        np.testing.assert_array_equal(predictions, expected_predictions)


@pytest.mark.parametrize("n_train, n_test, d", [(1, 1, 1), (17, 5, 3), (97, 31, 160)])
def test_fold_kernels_match_float64(isa, n_train, n_test, d):
    # The linear products run on the native kernels (every instruction set), the RBF matrices
    # are made on first use: all of them against numpy in float64.
    rng = np.random.default_rng(n_train)
    X_train, X_test = rng.standard_normal((n_train, d)), rng.standard_normal((n_test, d))
    kernels = svm.FoldKernels(X_train, X_test)
    linear_train, linear_test = kernels.matrices({"kernel": "linear", "C": 1})
    np.testing.assert_allclose(linear_train, X_train @ X_train.T, rtol=1e-12, atol=1e-12 * d)
    np.testing.assert_allclose(linear_test, X_test @ X_train.T, rtol=1e-12, atol=1e-12 * d)
    assert linear_train.flags.c_contiguous and linear_test.flags.c_contiguous
    np.testing.assert_array_equal(linear_train, linear_train.T)
    gamma = 1 / 2**5
    rbf_train, rbf_test = kernels.matrices({"kernel": "rbf", "gamma": gamma, "C": 1})
    distances = ((X_train[:, None, :] - X_train[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(rbf_train, np.exp(-gamma * distances), rtol=1e-10, atol=1e-12)
    distances = ((X_test[:, None, :] - X_train[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(rbf_test, np.exp(-gamma * distances), rtol=1e-10, atol=1e-12)
    assert kernels.matrices({"kernel": "rbf", "gamma": gamma, "C": 8})[0] is rbf_train


def test_svm_grid_rejects_non_finite_features():
    X = np.ones((20, 3))
    X[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        svm.grid_scores(X, np.arange(20) % 2, StratifiedKFold(2).split(X, np.arange(20) % 2))


def test_grid_has_the_papers_32_configurations():
    configs = svm.grid_configs()
    assert len(configs) == 32
    assert sum(c["kernel"] == "linear" for c in configs) == 4
    assert {c["gamma"] for c in configs if c["kernel"] == "rbf"} == {2.0**-k for k in (3, 5, 7, 9, 11, 13)} | {"auto"}


def test_units_that_never_fire_get_zero_weight():
    rng = np.random.default_rng(6)
    H = np.maximum(rng.standard_normal((70, 40)), 0)
    H[:, [0, 7, 8, 39]] = 0  # dead units make the Gram matrix singular
    T = np.sign(rng.standard_normal((70, 3)))
    for k, beta in elm.solve_readouts(H.T, T, [8, 20, 40]).items():
        np.testing.assert_allclose(beta, np.linalg.pinv(H[:, :k]) @ T, rtol=1e-6, atol=1e-8)
        assert not beta[[0, 7]].any()


@pytest.mark.parametrize("n_classes", [2, 3])
def test_elm_probabilities_follow_its_scores(n_classes):
    rng = np.random.default_rng(8)
    X = rng.standard_normal((60, 5))
    y = np.arange(60) % n_classes
    model = elm.ELMClassifier(30).fit(X, y)
    proba = model.predict_proba(X[:10])
    assert proba.shape == (10, n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], model.predict(X[:10]))
    scores = model.decision_function(X[:10])
    if n_classes == 2:  # the second class's score: positive where it is predicted
        np.testing.assert_array_equal(scores > 0, proba[:, 1] > 0.5)
    else:
        np.testing.assert_array_equal(scores.argmax(axis=1), proba.argmax(axis=1))


def test_elm_default_is_one_fixed_layer():
    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((40, 4)), np.arange(40) % 2
    first, second = elm.ELMClassifier(20).fit(X, y), elm.ELMClassifier(20).fit(X, y)
    np.testing.assert_array_equal(first.weights_, second.weights_)
    np.testing.assert_array_equal(first.coef_, second.coef_)
