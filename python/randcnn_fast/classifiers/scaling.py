"""Feature scaling before a classifier: "none" (the paper's: features as the network gives
them) or "standard" (each feature to zero mean and unit variance, with the mean and standard
deviation of the training part only, so no statistic of a test clip reaches the classifier)."""
from __future__ import annotations

import numpy as np

__all__ = ["SCALES", "check_scale", "split_features"]

#: The feature scalings a classifier can be given.
SCALES = ("none", "standard")


def check_scale(scale: str) -> str:
    """Return ``scale`` when it names a scaling in :data:`SCALES`.

    Parameters
    ----------
    scale : str
        "none" or "standard".

    Returns
    -------
    str
        ``scale`` itself.

    Raises
    ------
    ValueError
        For any other name, listing the choices.

    Examples
    --------
    >>> check_scale("standard")
    'standard'
    >>> check_scale("minmax")
    Traceback (most recent call last):
    ...
    ValueError: unknown scale 'minmax'; choose one of ('none', 'standard')
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {SCALES}")
    return scale


def split_features(X: np.ndarray, train: np.ndarray, test: np.ndarray,
                   scale: str) -> tuple[np.ndarray, np.ndarray]:
    """Split features into a training and a test part, scaled with the training part only.

    Parameters
    ----------
    X : numpy.ndarray
        Features, one row per clip.
    train, test : numpy.ndarray
        Row indices (or boolean masks) of the two parts.
    scale : str
        "none" keeps the values; "standard" subtracts the training part's mean and divides by
        its standard deviation (a feature constant over the training part is only centred).

    Returns
    -------
    X_train, X_test : numpy.ndarray
        ``X[train]`` and ``X[test]``, scaled (float64 when standardised).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 5.0], [3.0, 5.0], [10.0, 7.0]])
    >>> X_train, X_test = split_features(X, np.array([0, 1]), np.array([2]), "standard")
    >>> X_train
    array([[-1.,  0.],
           [ 1.,  0.]])
    >>> X_test
    array([[8., 2.]])
    """
    X_train, X_test = X[train], X[test]
    if check_scale(scale) == "none":
        return X_train, X_test
    mean = X_train.mean(axis=0, dtype=np.float64)
    std = X_train.std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0
    return (X_train - mean) / std, (X_test - mean) / std
