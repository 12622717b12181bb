"""Extreme learning machine: a random ReLU layer and a least-squares read-out (PAPER.md 2.2).

The original (Python-ELM's GenELMClassifier with a RandomLayer) draws N(0, 1) biases, then
N(0, 1) weights, applies max(0, X W + b) to the unscaled features, binarises the targets to
+-1 and solves the read-out with an SVD pseudo-inverse, unregularised. :class:`ELMClassifier`
does the same by default (``alpha=0``); ``alpha > 0`` gives ridge regression instead.

The hidden layer runs on the native kernels (a float32 product, the bias and ReLU in float64,
its weights packed once per layer, or drawn straight into the packed form). The read-out is
solved from the smaller Gram matrix with a Cholesky factorisation (both native, float64), which
gives the same minimum-norm solution as the pseudo-inverse when the Gram matrix is well
conditioned, and falls back to an SVD least-squares solve when it is not. Its products also run
natively rather than through BLAS: OpenBLAS leaves its threads spinning for a while after a
call, taking a core from whatever runs next. Nested hidden sizes share one random layer and, where the Gram matrix of the largest
layer is positive definite, one factorisation: the Cholesky factor of a leading block is the
leading block of the Cholesky factor.
"""
from __future__ import annotations

import numbers
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _core

__all__ = ["PAPER_HIDDEN_SIZES", "ELMClassifier", "hidden_size_predictions"]

PAPER_HIDDEN_SIZES = (100, 250, 500, 1200, 1800, 2500)
# Above this estimated condition number of the Gram matrix the Cholesky solution loses the
# digits the pseudo-inverse keeps, so the solve falls back to SVD least squares.
MAX_GRAM_CONDITION = 1e10


def _randomstate_state(rng):
    """The get_state() fields the native draw continues, or None for a generator it cannot."""
    if type(rng) is not np.random.RandomState:
        return None
    state = rng.get_state(legacy=False)
    if state["bit_generator"] != "MT19937":
        return None
    return (state["state"]["key"], int(state["state"]["pos"]), bool(state["has_gauss"]),
            float(state["gauss"]))


def _set_randomstate_state(rng: np.random.RandomState, key, pos, has_gauss, gauss) -> None:
    rng.set_state({"bit_generator": "MT19937", "state": {"key": key, "pos": pos},
                   "has_gauss": int(has_gauss), "gauss": gauss})


def standard_normals(rng: np.random.RandomState, shape, n_threads: int = 0) -> np.ndarray:
    """``rng.normal(size=shape)``, the same values and the same state after it.

    A RandomState on MT19937 (what sklearn's check_random_state gives) is continued on
    the native generator (on up to ``n_threads`` threads; the values do not depend on them),
    several times faster than numpy's call per value; anything else draws through its own
    ``normal``.
    """
    state = _randomstate_state(rng)
    if state is None:
        return rng.normal(size=shape)
    values, *after = _core.randomstate_normals(*state, int(np.prod(shape, dtype=np.int64)), n_threads)
    _set_randomstate_state(rng, *after)
    return values.reshape(shape)


def draw_layer(rng: np.random.RandomState, n_features: int, n_hidden: int, n_threads: int = 0):
    """Biases then weights, both N(0, 1), in the original's order."""
    biases = standard_normals(rng, (n_hidden,), n_threads)
    weights = standard_normals(rng, (n_features, n_hidden), n_threads)
    return weights, biases


def hidden_layer(weights: np.ndarray, biases: np.ndarray, n_threads: int = 0) -> _core.DenseRelu:
    """The random layer packed for the native kernels; call it on float32 inputs."""
    return _core.DenseRelu(np.ascontiguousarray(weights, dtype=np.float64),
                           np.ascontiguousarray(biases, dtype=np.float64), n_threads)


def draw_hidden_layer(rng: np.random.RandomState, n_features: int, n_hidden: int,
                      n_threads: int = 0) -> _core.DenseRelu:
    """``hidden_layer(*draw_layer(rng, ...))``: the same layer and the same state after it.

    From an MT19937 RandomState the weights are drawn straight into the kernels' float32
    panels, skipping the float64 weights array and its packing.
    """
    state = _randomstate_state(rng)
    if state is None:
        return hidden_layer(*draw_layer(rng, n_features, n_hidden, n_threads), n_threads)
    layer, *after = _core.DenseRelu.draw(*state, n_features, n_hidden, n_threads)
    _set_randomstate_state(rng, *after)
    return layer


def hidden_activations(X: np.ndarray, weights: np.ndarray, biases: np.ndarray,
                       n_threads: int = 0, transposed: bool = False) -> np.ndarray:
    """max(0, X W + b) on the native kernels (products in float32), as float64 (n_samples,
    n_hidden), or (n_hidden, n_samples) with ``transposed``."""
    x = np.ascontiguousarray(X, dtype=np.float32)
    return hidden_layer(weights, biases, n_threads)(x, n_threads, transposed)


def _contiguous_rows(R: np.ndarray) -> np.ndarray:
    """R as float64 with contiguous rows (a view with strided rows is kept), as the native
    products take it."""
    R = np.asarray(R, dtype=np.float64)
    if R.ndim == 2 and R.shape[1] > 1 and R.strides[1] != R.itemsize:
        R = np.ascontiguousarray(R)
    return R


def _row_gram(R: np.ndarray, alpha: float, n_threads: int, rows=None) -> np.ndarray:
    """The lower triangle of R R^T + alpha I on the native kernels, over the given rows of R or
    all of them (the upper triangle is undefined: only a Cholesky factorisation reads it)."""
    R = _contiguous_rows(R)
    gram = _core.row_gram(R, n_threads, rows, mirror=False)
    gram[np.diag_indices_from(gram)] += alpha
    return gram


def _leading_cholesky(gram: np.ndarray, n_threads: int = 0):
    """(factor, usable): the Cholesky factor L of ``gram`` with L^T in its upper triangle (both
    halves of a solve), computed in place of ``gram`` where its layout allows, and how many
    leading rows it serves: the leading usable x usable block is the factor of the Gram
    matrix's leading block, which is positive definite and, by the estimate from the factor's
    diagonal, conditioned well enough (the estimate only grows with the block)."""
    factor, factored = _core.cholesky_partial(gram, n_threads, overwrite=True, mirror=True)
    if factored == 0:
        return factor, 0
    diagonal = np.diag(factor)[:factored]  # square roots of positive pivots: all > 0
    estimate = (np.maximum.accumulate(diagonal) / np.minimum.accumulate(diagonal)) ** 2
    refused = np.flatnonzero(estimate > MAX_GRAM_CONDITION)
    return factor, int(refused[0]) if len(refused) else factored


def _cholesky(gram: np.ndarray, n_threads: int = 0):
    """The factor of ``_leading_cholesky`` if it serves the whole matrix, else None."""
    factor, usable = _leading_cholesky(gram, n_threads)
    return factor if usable == len(gram) else None


def _cho_solve(factor: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    forward = _core.triangular_solve(factor, np.ascontiguousarray(rhs, dtype=np.float64))
    return _core.triangular_solve(factor, forward, upper=True)


def _direct(H: np.ndarray, T: np.ndarray, alpha: float, n_threads: int) -> np.ndarray:
    """One read-out: ridge or minimum-norm least squares for H beta = T."""
    n, h = H.shape
    if n >= h:
        factor = _cholesky(_row_gram(H.T, alpha, n_threads), n_threads)
        if factor is not None:
            return _cho_solve(factor, H.T @ T)
    else:  # fewer samples than units: the dual form, beta = H^T (H H^T + alpha I)^-1 T
        factor = _cholesky(_row_gram(H, alpha, n_threads), n_threads)
        if factor is not None:
            return H.T @ _cho_solve(factor, T)
    return _without_cholesky(H, T, alpha)


def _without_cholesky(H: np.ndarray, T: np.ndarray, alpha: float) -> np.ndarray:
    """The read-out where the Cholesky factorisation is refused: ridge by a general solve, the
    minimum-norm least squares by SVD (as the original's pseudo-inverse)."""
    if alpha > 0:
        return np.linalg.solve(H.T @ H + alpha * np.eye(H.shape[1]), H.T @ T)
    return np.linalg.lstsq(H, T, rcond=None)[0]


def solve_readouts(H_units: np.ndarray, T: np.ndarray, sizes, alpha: float = 0.0,
                   n_threads: int = 0) -> dict[int, np.ndarray]:
    """Read-out weights for every hidden size in ``sizes``, each using the first k units.

    ``H_units`` holds the activations one row per unit, (units, samples): the Gram matrix of
    chosen units is then the Gram matrix of chosen rows, computed without a copy.

    Units that never fire (all-zero rows: common with N(0, 1) weights on small, unscaled
    features) get a zero weight and leave the solve: the minimum-norm and the ridge solutions
    both give them zero, and without them the Gram matrix is usually well conditioned. Sizes
    whose firing units are no more than the samples share one Cholesky factorisation of the
    Gram matrix of the largest of them, as far as its leading blocks are usable (a size beyond
    that would have its own factorisation refused too, so it goes straight to the fallback);
    the others are solved on their own.
    """
    H_units = _contiguous_rows(H_units)
    n = H_units.shape[1]
    sizes = sorted(set(int(k) for k in sizes))
    firing = np.flatnonzero(np.any(H_units[:max(sizes)] != 0, axis=1))
    counts = {k: int(np.searchsorted(firing, k)) for k in sizes}  # firing units among the first k

    def full(k, beta_firing):
        beta = np.zeros((k, T.shape[1]))
        beta[firing[:counts[k]]] = beta_firing
        return beta

    def units(k):
        return H_units[firing[:counts[k]]].T

    shared = [k for k in sizes if counts[k] <= n]
    out: dict[int, np.ndarray] = {}
    if shared:
        factor, usable = _leading_cholesky(
            _row_gram(H_units, alpha, n_threads, rows=firing[:counts[shared[-1]]]), n_threads)
        served = [k for k in shared if counts[k] <= usable]  # a prefix: counts grow with k
        for k in shared[len(served):]:
            out[k] = full(k, _without_cholesky(units(k), T, alpha))
        if served:
            # The forward half of each solve is a leading block of one forward solve.
            top = counts[served[-1]]
            rhs = _core.matmul(H_units, np.ascontiguousarray(T, dtype=np.float64), n_threads,
                               firing[:top])
            forward = _core.triangular_solve(factor[:top, :top], rhs)

            def backward(k):  # independent per size: they run side by side (the GIL is released)
                c = counts[k]
                return full(k, _core.triangular_solve(factor[:c, :c], forward[:c], upper=True,
                                                      n_threads=1))

            with ThreadPoolExecutor(min(len(served), _core.resolve_threads(n_threads))) as pool:
                out.update(zip(served, pool.map(backward, served)))
    for k in sizes:
        if k not in out:
            out[k] = full(k, _direct(units(k), T, alpha, n_threads))
    return out


class ELMClassifier(ClassifierMixin, BaseEstimator):
    """Extreme learning machine classifier (scikit-learn estimator).

    Parameters
    ----------
    n_hidden : int
        Random ReLU units.
    alpha : float
        Ridge penalty on the read-out. 0 (default) is the original's unregularised
        minimum-norm least squares.
    random_state : int, RandomState or None
        Seeds the random layer (N(0, 1) biases, then N(0, 1) weights, as the original). The
        default 0 makes every fit of the same data the same model; None draws a new layer
        each time, as scikit-learn's convention has it.
    n_threads : int
        Threads for the layer draw, the hidden layer and the read-out; 0 uses every core.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    weights_ : ndarray (n_features, n_hidden)
    biases_ : ndarray (n_hidden,)
    coef_ : ndarray (n_hidden, n_classes)
        Read-out weights onto the +-1 one-vs-all targets.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.1]])
    >>> y = np.array(["a", "a", "b", "b"])
    >>> model = ELMClassifier(n_hidden=20).fit(X, y)
    >>> model.classes_
    array(['a', 'b'], dtype='<U1')
    >>> model.coef_.shape
    (20, 2)
    """

    def __init__(self, n_hidden: int = 500, *, alpha: float = 0.0, random_state=0,
                 n_threads: int = 0):
        self.n_hidden = n_hidden
        self.alpha = alpha
        self.random_state = random_state
        self.n_threads = n_threads

    def _check_params(self):
        if not isinstance(self.n_hidden, numbers.Integral) or self.n_hidden < 1:
            raise ValueError(f"n_hidden must be a positive integer, got {self.n_hidden!r}")
        if not isinstance(self.alpha, numbers.Real) or self.alpha < 0:
            raise ValueError(f"alpha must be a number >= 0, got {self.alpha!r}")

    def _targets(self, y):
        check_classification_targets(y)
        self._binarizer = LabelBinarizer(neg_label=-1, pos_label=1).fit(y)
        self.classes_ = self._binarizer.classes_
        T = self._binarizer.transform(y).astype(np.float64)
        if T.shape[1] == 1 and len(self.classes_) == 2:  # one +-1 column per class, always
            T = np.hstack([-T, T])
        return T

    def fit(self, X, y):
        """Draw the random layer and fit the read-out to ``y``.

        Parameters
        ----------
        X : array-like, (n_samples, n_features)
            Training features.
        y : array-like, (n_samples,)
            Class labels.

        Returns
        -------
        ELMClassifier
            The fitted model itself.

        Raises
        ------
        ValueError
            When ``n_hidden`` is not a positive integer or ``alpha`` is negative.

        Examples
        --------
        >>> import numpy as np
        >>> ELMClassifier(n_hidden=20).fit(np.eye(2), [0, 1]).weights_.shape
        (2, 20)
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        T = self._targets(y)
        rng = check_random_state(self.random_state)
        self.weights_, self.biases_ = draw_layer(rng, X.shape[1], self.n_hidden, self.n_threads)
        H_units = hidden_activations(X, self.weights_, self.biases_, self.n_threads, transposed=True)
        self.coef_ = solve_readouts(H_units, T, [self.n_hidden], self.alpha, self.n_threads)[self.n_hidden]
        return self

    def _scores(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        H = hidden_activations(X, self.weights_, self.biases_, self.n_threads)
        return _core.matmul(H, np.ascontiguousarray(self.coef_), self.n_threads)

    def decision_function(self, X):
        """Compute the read-out scores of each class.

        Parameters
        ----------
        X : array-like, (n_samples, n_features)
            Features.

        Returns
        -------
        numpy.ndarray
            (n_samples, n_classes); for two classes, the second class's score (n_samples,),
            positive where it is predicted, as scikit-learn expects.

        Examples
        --------
        >>> import numpy as np
        >>> model = ELMClassifier(n_hidden=20).fit(np.eye(3), ["a", "b", "c"])
        >>> model.decision_function(np.eye(3)).shape
        (3, 3)
        """
        scores = self._scores(X)
        return scores[:, 1] if len(self.classes_) == 2 else scores

    def predict_proba(self, X):
        """Compute class probabilities: the softmax of the read-out scores.

        The read-out is fitted to +-1 targets, not to likelihoods, so these are a monotone
        rescaling of the scores (their argmax is :meth:`predict`'s class), not calibrated
        probabilities; wrap the model in scikit-learn's ``CalibratedClassifierCV`` for those.

        Parameters
        ----------
        X : array-like, (n_samples, n_features)
            Features.

        Returns
        -------
        numpy.ndarray
            (n_samples, n_classes), each row summing to 1.

        Examples
        --------
        >>> import numpy as np
        >>> proba = ELMClassifier(n_hidden=20).fit(np.eye(4), [0, 0, 1, 1]).predict_proba(np.eye(4))
        >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1))
        ((4, 2), True)
        """
        scores = self._scores(X)
        exps = np.exp(scores - scores.max(axis=1, keepdims=True))
        return exps / exps.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predict the class of each row: the one with the highest read-out score.

        Parameters
        ----------
        X : array-like, (n_samples, n_features)
            Features.

        Returns
        -------
        numpy.ndarray
            (n_samples,), labels from :attr:`classes_`.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.1]])
        >>> ELMClassifier(n_hidden=20).fit(X, ["a", "a", "b", "b"]).predict(X)
        array(['a', 'a', 'b', 'b'], dtype='<U1')
        """
        winners = np.argmax(self._scores(X), axis=1)
        return self.classes_[winners]


def hidden_size_predictions(X_train, y_train, X_test, sizes=PAPER_HIDDEN_SIZES, *,
                            alpha: float = 0.0, random_state=None,
                            n_threads: int = 0) -> dict[int, np.ndarray]:
    """Predict the test set with ELMs of every hidden size, from one random layer.

    Each size uses the first k units of one layer of the largest size (a prefix, itself an
    N(0, 1) layer of k units), so the layer is drawn and applied once and the read-outs share a
    factorisation.

    Parameters
    ----------
    X_train : array-like, (n_train, n_features)
        Training features.
    y_train : array-like, (n_train,)
        Training labels.
    X_test : array-like, (n_test, n_features)
        Test features.
    sizes : sequence of int
        Hidden sizes; the paper's :data:`PAPER_HIDDEN_SIZES` by default.
    alpha, random_state, n_threads
        As :class:`ELMClassifier`.

    Returns
    -------
    dict of int to numpy.ndarray
        Per hidden size, the (n_test,) predicted labels.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.1]])
    >>> predictions = hidden_size_predictions(X, [0, 0, 1, 1], X, sizes=(5, 10), random_state=0)
    >>> sorted(predictions), predictions[10].shape
    ([5, 10], (4,))
    """
    model = ELMClassifier(max(sizes), alpha=alpha, random_state=random_state, n_threads=n_threads)
    model._check_params()
    X_train = np.ascontiguousarray(X_train, dtype=np.float32)
    T = model._targets(np.asarray(y_train))
    layer = draw_hidden_layer(check_random_state(random_state), X_train.shape[1], max(sizes), n_threads)
    H_units = layer(X_train, n_threads, True)
    H_test = layer(np.ascontiguousarray(X_test, dtype=np.float32), n_threads)
    readouts = solve_readouts(H_units, T, sizes, alpha, n_threads)
    return {k: model.classes_[np.argmax(_core.matmul(H_test[:, :k], beta, n_threads), axis=1)]
            for k, beta in readouts.items()}
