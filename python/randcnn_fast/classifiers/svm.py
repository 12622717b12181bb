"""SVM model selection over the paper's grid, with each fold's kernels computed once.

``GridSearchCV(SVC(), SVM_GRID)`` recomputes the kernel for every grid point. The same choices
come from computing, per fold, one linear Gram matrix and one squared-distance matrix, and
exponentiating the distances once per gamma for ``SVC(kernel="precomputed")``. The fits are
independent and libsvm releases the GIL, so they run on a thread pool.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn import config_context
from sklearn.model_selection import ParameterGrid
from sklearn.svm import SVC

from .. import _core
from .scaling import split_features

__all__ = ["SVM_GRID", "grid_configs", "grid_scores", "best_config"]

# PAPER.md 2.1: 28 rbf and 4 linear configurations ('auto' gamma = 1 / n_features).
SVM_GRID = (
    {"kernel": ["rbf"], "gamma": [1 / 2**3, 1 / 2**5, 1 / 2**7, 1 / 2**9, 1 / 2**11, 1 / 2**13, "auto"],
     "C": [0.1, 2, 8, 32]},
    {"kernel": ["linear"], "C": [0.1, 2, 8, 32]},
)


def grid_configs(grid=SVM_GRID) -> list[dict]:
    """List a parameter grid's configurations in GridSearchCV's order (which decides ties).

    Parameters
    ----------
    grid : sequence of dict
        Parameter lists per kernel, as scikit-learn's ``ParameterGrid`` takes them; the
        paper's :data:`SVM_GRID` by default.

    Returns
    -------
    list of dict
        One dict of SVC parameters per configuration.

    Examples
    --------
    >>> len(grid_configs())
    32
    >>> grid_configs([{"kernel": ["linear"], "C": [0.1, 2]}])
    [{'C': 0.1, 'kernel': 'linear'}, {'C': 2, 'kernel': 'linear'}]
    """
    return list(ParameterGrid(list(grid)))


class FoldKernels:
    """The kernel matrices of one train/test split, computed once for the whole grid.

    The linear and squared-distance matrices are made at construction; each gamma's RBF
    matrices on first use, by whichever thread asks first (the others wait for it), so the
    fitting threads share that work.
    """

    def __init__(self, X_train: np.ndarray, X_test: np.ndarray):
        X_train = np.asarray(X_train, dtype=np.float64)
        X_test = np.asarray(X_test, dtype=np.float64)
        self.n_features = X_train.shape[1]
        # The native products on one thread, not BLAS: OpenBLAS leaves its threads spinning
        # after a call, taking CPU from the fits running beside.
        self.linear_train = np.ascontiguousarray(_core.row_gram(np.ascontiguousarray(X_train), 1))
        self.linear_test = _core.matmul(np.ascontiguousarray(X_test), np.ascontiguousarray(X_train.T), 1)
        norms_train = np.einsum("ij,ij->i", X_train, X_train)
        norms_test = np.einsum("ij,ij->i", X_test, X_test)
        # ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b, clipped at 0 against rounding.
        self.distance_train = np.maximum(norms_train[:, None] + norms_train[None, :] - 2 * self.linear_train, 0)
        self.distance_test = np.maximum(norms_test[:, None] + norms_train[None, :] - 2 * self.linear_test, 0)
        self._rbf: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        self._locks: dict[float, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def matrices(self, config: dict) -> tuple[np.ndarray, np.ndarray]:
        """(train x train, test x train) kernel matrices for one configuration."""
        if config["kernel"] == "linear":
            return self.linear_train, self.linear_test
        gamma = 1.0 / self.n_features if config["gamma"] == "auto" else float(config["gamma"])
        with self._locks_lock:
            lock = self._locks.setdefault(gamma, threading.Lock())
        with lock:
            if gamma not in self._rbf:
                self._rbf[gamma] = (np.exp(-gamma * self.distance_train), np.exp(-gamma * self.distance_test))
        return self._rbf[gamma]


class FitCounter:
    """How many SVM fits ran and how many of them libsvm stopped at ``max_iter`` before they
    converged (``fit_status_`` 1: the fits scikit-learn gives a ConvergenceWarning); shared by
    the fitting threads."""

    def __init__(self):
        self.fits = 0
        self.stopped_early = 0
        self._lock = threading.Lock()

    def record(self, model: SVC) -> None:
        with self._lock:
            self.fits += 1
            self.stopped_early += int(model.fit_status_ == 1)


def fit_predict(kernels: FoldKernels, y_train, config: dict, max_iter: int = -1,
                counter: FitCounter | None = None) -> np.ndarray:
    """Fit SVC(config) on the split's training part and predict its test part.

    ``max_iter=-1`` (SVC's default) lets libsvm run to convergence, as GridSearchCV(SVC())
    does; on unscaled features of large magnitude a linear SVM can then take minutes per fit.
    ``counter`` records the fit and whether it stopped early.
    """
    K_train, K_test = kernels.matrices(config)
    model = SVC(kernel="precomputed", C=config["C"], max_iter=max_iter).fit(K_train, y_train)
    if counter is not None:
        counter.record(model)
    return model.predict(K_test)


def _fit_predict_finite(kernels: FoldKernels, y_train, config: dict, max_iter: int,
                        counter: FitCounter | None) -> np.ndarray:
    # Kernels of features already checked finite: skip scikit-learn's scan of each matrix
    # (the setting is per thread, so it is made in the thread that fits).
    with config_context(assume_finite=True):
        return fit_predict(kernels, y_train, config, max_iter, counter)


def grid_scores(X, y, splits, grid=SVM_GRID, progress=None, max_iter: int = -1,
                n_threads: int = 0, scale: str = "none", counter: FitCounter | None = None):
    """Score every SVM configuration of a grid on every (train_index, test_index) split.

    Parameters
    ----------
    X : array-like, (n_samples, n_features)
        Features; must be finite.
    y : array-like, (n_samples,)
        Integer class labels.
    splits : iterable of (train_index, test_index)
        The cross-validation splits.
    grid : sequence of dict
        As :func:`grid_configs`; the paper's :data:`SVM_GRID` by default.
    progress : tqdm bar, optional
        Advanced by one per fitted model.
    max_iter : int
        libsvm's iteration limit per fit; -1 (SVC's default) runs to convergence.
    n_threads : int
        Models fitted at once (0: one per core); each fit is deterministic and on its own, so
        the results do not depend on it.
    scale : str
        A scaling of :mod:`randcnn_fast.classifiers.scaling`, fitted on each split's training
        part.
    counter : FitCounter, optional
        Records every fit and whether libsvm stopped it early.

    Returns
    -------
    configs : list of dict
        The configurations, in GridSearchCV's order.
    scores : numpy.ndarray, (n_configs, n_splits)
        Test accuracy of each configuration on each split.
    predictions : numpy.ndarray, (n_configs, n_samples)
        Each clip's prediction from the split that tests it (the last one, if several do; -1
        where none does).

    Raises
    ------
    ValueError
        When ``X`` holds NaN or infinity.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1]])
    >>> y = np.array([0, 0, 1, 1])
    >>> splits = [(np.array([0, 2]), np.array([1, 3])), (np.array([1, 3]), np.array([0, 2]))]
    >>> configs, scores, predictions = grid_scores(X, y, splits, n_threads=1)
    >>> scores.shape, predictions.shape
    ((32, 2), (32, 4))
    """
    X = np.asarray(X, dtype=np.float64)
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity")
    y = np.asarray(y)
    configs = grid_configs(grid)
    splits = list(splits)
    scores = np.zeros((len(configs), len(splits)))
    predictions = np.full((len(configs), len(y)), -1, dtype=y.dtype if y.dtype.kind in "iu" else np.int64)

    def collect(j, test, fits):
        for i, fit in enumerate(fits):
            predicted = fit.result()
            predictions[i, test] = predicted
            scores[i, j] = np.mean(predicted == y[test])
            if progress is not None:
                progress.update(1)

    # A split's fits are queued before the previous split's are collected, so the threads
    # never wait while a split's kernels are made; at most two splits' kernels are alive.
    with ThreadPoolExecutor(_core.resolve_threads(n_threads)) as pool:
        pending = None
        for j, (train, test) in enumerate(splits):
            kernels = FoldKernels(*split_features(X, train, test, scale))
            fits = [pool.submit(_fit_predict_finite, kernels, y[train], config, max_iter, counter)
                    for config in configs]
            del kernels  # held by the fits only, so freed with the last of them
            if pending is not None:
                collect(*pending)
            pending = (j, test, fits)
        if pending is not None:
            collect(*pending)
    return configs, scores, predictions


def best_config(configs: list[dict], scores: np.ndarray) -> tuple[int, dict, float]:
    """Choose as GridSearchCV does: the first configuration with the highest mean score.

    Parameters
    ----------
    configs : list of dict
        The configurations, as :func:`grid_scores` returns them.
    scores : numpy.ndarray, (n_configs, n_splits)
        Their scores on each split.

    Returns
    -------
    index : int
        The chosen configuration's row.
    config : dict
        The chosen configuration.
    mean : float
        Its mean score.

    Examples
    --------
    >>> import numpy as np
    >>> best_config([{"C": 1}, {"C": 2}, {"C": 3}], np.array([[0.5, 0.7], [0.8, 0.6], [0.7, 0.7]]))
    (1, {'C': 2}, 0.7)
    """
    means = scores.mean(axis=1)
    index = int(np.flatnonzero(means == means.max())[0])
    return index, configs[index], float(means[index])
