"""The evaluation protocols: how a classifier is selected and scored on a dataset.

"paper" is exactly the study's (PAPER.md 2): on a split dataset, select on valid, fit on train,
score test; on a fold dataset, report the best grid point's mean cross-validated accuracy, the
same folds choosing and scoring (optimistic). "nested" selects inside each training part and
scores the held-out fold, the honest number. Split datasets without a valid part (FSDD's
official split) select by 5-fold cross-validation inside train in both protocols.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import StratifiedKFold

from ..classifiers import svm
from ..classifiers.elm import ELMClassifier, PAPER_HIDDEN_SIZES, hidden_size_predictions
from ..classifiers.scaling import check_scale, split_features
from ..datasets.loaders import Dataset
from .choices import CLASSIFIERS, PROTOCOLS

__all__ = ["PROTOCOLS", "CLASSIFIERS", "Outcome", "run_protocol", "check_dataset"]



@dataclass
class Outcome:
    """One classifier's result under a protocol, as :func:`run_protocol` returns it.

    Parameters
    ----------
    accuracy : float
        The reported accuracy.
    chosen : list of dict
        The chosen hyper-parameters: one set, or one per outer fold for "nested".
    y_true, y_pred : numpy.ndarray
        The class indices behind the accuracy.
    fold_accuracies : list of float
        Per fold, for fold datasets.
    svm_fits, svm_stopped_early : int
        SVM fits run, and those libsvm stopped at its iteration cap before converging.

    Attributes
    ----------
    accuracy, chosen, y_true, y_pred, fold_accuracies, svm_fits, svm_stopped_early
        As given.

    Examples
    --------
    >>> import numpy as np
    >>> Outcome(0.5, [{"C": 2}], np.array([0, 1]), np.array([0, 0])).accuracy
    0.5
    """

    accuracy: float
    chosen: list[dict]
    y_true: np.ndarray
    y_pred: np.ndarray
    fold_accuracies: list[float] = field(default_factory=list)
    svm_fits: int = 0
    svm_stopped_early: int = 0


def check_dataset(dataset: Dataset, *, context: str = "") -> list[str]:
    """Refuse a dataset no classifier can be scored on, before anything is embedded.

    Parameters
    ----------
    dataset : Dataset
        The clips, labels and protocol.
    context : str
        Added to messages.

    Returns
    -------
    list of str
        Warnings for what runs but weakens the result: a class with fewer clips than there
        are folds (some folds never test it), a test class absent from train (it can never
        be predicted).

    Raises
    ------
    ValueError
        For fewer than two classes with clips; for a fold dataset, a class with a single
        clip (it is never both learnt and tested), one fold only, or a fold whose training
        part holds one class; for a split dataset, a train part with fewer than two classes
        or an empty test part.

    Examples
    --------
    >>> from randcnn_fast.datasets.loaders import Dataset
    >>> dataset = Dataset("toy", ["a.wav", "b.wav", "c.wav", "d.wav"], ["x", "x", "y", "y"],
    ...                   ["x", "y"], folds=[0, 1, 0, 1])
    >>> check_dataset(dataset)
    []
    """
    where = f"dataset {dataset.name!r}{context}"
    counts = {c: k for c, k in dataset.class_counts().items() if k}
    if len(counts) < 2:
        raise ValueError(f"{where}: {dataset.n_clips} clip(s) in {len(counts)} class(es) "
                         f"{sorted(counts)}; classification needs at least two classes")
    labels = np.asarray(dataset.labels, dtype=object)  # str items, for the messages
    if dataset.protocol_kind == "split":
        split = np.asarray(dataset.split)
        learnt = set(labels[split == "train"])
        tested = set(labels[split == "test"])
        if len(learnt) < 2:
            raise ValueError(f"{where}: the train part holds {len(learnt)} class(es) "
                             f"{sorted(learnt)}; a classifier needs at least two to learn")
        if not tested:
            raise ValueError(f"{where}: the test part is empty; nothing would be scored")
        unseen = sorted(tested - learnt)
        return [f"{where}: test class(es) {unseen} have no train clips and can never be "
                "predicted"] if unseen else []
    single = sorted(c for c, k in counts.items() if k < 2)
    if single:
        raise ValueError(f"{where}: class(es) {single} have a single clip, which can never be "
                         "both learnt and tested; add clips or leave the class out")
    folds = np.asarray(dataset.folds)
    fold_ids = np.unique(folds)
    if len(fold_ids) < 2:
        raise ValueError(f"{where}: every clip is in fold {fold_ids[0]}; cross-validation "
                         "needs at least two folds")
    for fold in fold_ids:
        learnt = set(labels[folds != fold])
        if len(learnt) < 2:
            raise ValueError(f"{where}: with fold {fold} held out the training part holds only "
                             f"class(es) {sorted(learnt)}; a classifier needs at least two")
    few = sorted(c for c, k in counts.items() if k < len(fold_ids))
    return [f"{where}: class(es) {few} have fewer clips than the {len(fold_ids)} folds, so "
            "some folds never test them"] if few else []


def _fold_splits(folds: np.ndarray, keep: np.ndarray | None = None):
    """(train, test) index pairs, one per fold id among the clips in ``keep``."""
    keep = np.arange(len(folds)) if keep is None else keep
    return [(keep[folds[keep] != f], keep[folds[keep] == f]) for f in np.unique(folds[keep])]


def _selection_splits(y: np.ndarray, train: np.ndarray, valid: np.ndarray):
    """Where to choose hyper-parameters for a split dataset: valid if it has one, else
    stratified 5-fold cross-validation inside train (fixed seed)."""
    if len(valid):
        return [(train, valid)]
    counts = np.bincount(y[train])
    n_splits = int(max(2, min(5, counts[counts > 0].min())))
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=0)
    return [(train[a], train[b]) for a, b in folds.split(train, y[train])]


def _split_parts(dataset: Dataset):
    split = np.asarray(dataset.split)
    return tuple(np.flatnonzero(split == part) for part in ("train", "valid", "test"))


def _derived_seed(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


class _SVM:
    """Selection over the paper's grid; scores per split, then the first best."""

    def __init__(self, X, y, progress, max_iter, n_threads, scale):
        self.X, self.y, self.progress, self.max_iter = X, y, progress, max_iter
        self.n_threads, self.scale = n_threads, scale
        self.counter = svm.FitCounter()

    def select(self, splits):
        configs, scores, predictions = svm.grid_scores(self.X, self.y, splits, progress=self.progress,
                                                       max_iter=self.max_iter,
                                                       n_threads=self.n_threads, scale=self.scale,
                                                       counter=self.counter)
        index, config, score = svm.best_config(configs, scores)
        return config, score, predictions[index]

    def fit_predict(self, config, train, test):
        kernels = svm.FoldKernels(*split_features(self.X, train, test, self.scale))
        return svm.fit_predict(kernels, self.y[train], config, self.max_iter, self.counter)


class _ELM:
    """Selection over the paper's hidden sizes, one random layer per split."""

    def __init__(self, X, y, seed, sizes, n_threads, progress, scale):
        self.X, self.y, self.seed, self.sizes = X, y, seed, tuple(sizes)
        self.n_threads, self.progress, self.scale = n_threads, progress, scale

    def select(self, splits):
        predictions = {k: np.full(len(self.y), -1) for k in self.sizes}
        scores = {k: [] for k in self.sizes}
        for train, test in splits:
            # The same seed in every split, as cross_val_score clones the estimator.
            X_train, X_test = split_features(self.X, train, test, self.scale)
            per_size = hidden_size_predictions(X_train, self.y[train], X_test, self.sizes,
                                               random_state=self.seed, n_threads=self.n_threads)
            for k, predicted in per_size.items():
                predictions[k][test] = predicted
                scores[k].append(np.mean(predicted == self.y[test]))
            if self.progress is not None:
                self.progress.update(len(self.sizes))
        means = {k: float(np.mean(v)) for k, v in scores.items()}
        best = max(self.sizes, key=lambda k: (means[k], -self.sizes.index(k)))
        return {"n_hidden": best}, means[best], predictions[best]

    def fit_predict(self, config, train, test):
        # A new random layer for the final model, as the original re-created its ELM.
        model = ELMClassifier(config["n_hidden"], random_state=_derived_seed(self.seed, 1),
                              n_threads=self.n_threads)
        X_train, X_test = split_features(self.X, train, test, self.scale)
        return model.fit(X_train, self.y[train]).predict(X_test)


def run_protocol(X: np.ndarray, dataset: Dataset, classifier: str, protocol: str, *, seed: int = 0,
                 hidden_sizes=PAPER_HIDDEN_SIZES, n_threads: int = 0, progress=None,
                 svm_max_iter: int = -1, scale: str = "none") -> Outcome:
    """Select and score a classifier on features under an evaluation protocol.

    Parameters
    ----------
    X : numpy.ndarray
        Features, one row per clip of ``dataset``.
    dataset : Dataset
        Labels and the folds or split.
    classifier : {"svm", "elm"}
        The classifier.
    protocol : {"paper", "nested"}
        "paper" is the study's (on fold datasets the same folds choose and score);
        "nested" selects inside each training part and scores the held-out fold.
    seed : int
        Seeds the ELM's random layers.
    hidden_sizes : sequence of int
        The ELM sizes to select from.
    n_threads : int
        Runs the ELM's kernels and the SVM grid's fits (0: every core).
    progress : tqdm bar, optional
        Advanced by one per fitted model.
    svm_max_iter : int
        Caps libsvm's iterations per fit (-1: none, GridSearchCV's behaviour).
    scale : str
        A scaling of :mod:`randcnn_fast.classifiers.scaling`, fitted on every training part
        the protocol uses.

    Returns
    -------
    Outcome
        The accuracy, the chosen hyper-parameters and the labels behind them; an SVM's
        counts its fits and those stopped at ``svm_max_iter``.

    Raises
    ------
    ValueError
        For an unknown classifier, protocol or scale.

    Examples
    --------
    >>> import numpy as np
    >>> from randcnn_fast.datasets.loaders import Dataset
    >>> labels = ["lo"] * 6 + ["hi"] * 6
    >>> dataset = Dataset("toy", [f"{i}.wav" for i in range(12)], labels, ["lo", "hi"],
    ...                   folds=[0, 1, 2] * 4)
    >>> X = np.r_[np.zeros((6, 2)), np.ones((6, 2))] + np.arange(12)[:, None] / 100
    >>> outcome = run_protocol(X, dataset, "elm", "paper", hidden_sizes=(5, 10), n_threads=1)
    >>> outcome.accuracy, len(outcome.fold_accuracies)
    (1.0, 3)
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {PROTOCOLS}")
    check_scale(scale)
    y = dataset.y
    if classifier == "svm":
        model = _SVM(X, y, progress, svm_max_iter, n_threads, scale)
    elif classifier == "elm":
        model = _ELM(X, y, seed, hidden_sizes, n_threads, progress, scale)
    else:
        raise ValueError(f"unknown classifier {classifier!r}; choose one of {CLASSIFIERS}")
    outcome = _score(model, dataset, protocol)
    if classifier == "svm":
        outcome.svm_fits, outcome.svm_stopped_early = model.counter.fits, model.counter.stopped_early
    return outcome


def _score(model, dataset: Dataset, protocol: str) -> Outcome:
    """Select and score ``model`` (an _SVM or an _ELM) on ``dataset`` under ``protocol``."""
    y = dataset.y
    if dataset.protocol_kind == "split":
        train, valid, test = _split_parts(dataset)
        config, _, _ = model.select(_selection_splits(y, train, valid))
        predicted = model.fit_predict(config, train, test)
        return Outcome(float(np.mean(predicted == y[test])), [config], y[test], predicted)

    folds = np.asarray(dataset.folds)
    outer = _fold_splits(folds)
    if protocol == "paper":
        config, score, predicted = model.select(outer)
        fold_scores = [float(np.mean(predicted[test] == y[test])) for _, test in outer]
        return Outcome(score, [config], y, predicted, fold_scores)

    chosen, fold_scores, predicted = [], [], np.full(len(y), -1)
    for train, test in outer:
        config, _, _ = model.select(_fold_splits(folds, keep=train))
        predicted[test] = model.fit_predict(config, train, test)
        chosen.append(config)
        fold_scores.append(float(np.mean(predicted[test] == y[test])))
    return Outcome(float(np.mean(fold_scores)), chosen, y, predicted, fold_scores)


def fits_to_run(dataset: Dataset, classifier: str, protocol: str, hidden_sizes=PAPER_HIDDEN_SIZES) -> int:
    """About how many models :func:`run_protocol` fits (for progress bars)."""
    per_split = len(svm.grid_configs()) if classifier == "svm" else len(hidden_sizes)
    if dataset.protocol_kind == "split":
        train, valid, _ = _split_parts(dataset)
        return per_split * (1 if len(valid) else 5)
    n_folds = len(set(dataset.folds))
    return per_split * (n_folds if protocol == "paper" else n_folds * (n_folds - 1))
