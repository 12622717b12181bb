"""Feature scaling before a classifier: "none" (the paper's: features as the network gives
them) or "standard" (each feature to zero mean and unit variance, with the mean and standard
deviation of the training part only, so no statistic of a test clip reaches the classifier)."""
from __future__ import annotations

import numpy as np

SCALES = ("none", "standard")


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {SCALES}")
    return scale


def split_features(X: np.ndarray, train: np.ndarray, test: np.ndarray,
                   scale: str) -> tuple[np.ndarray, np.ndarray]:
    """(X[train], X[test]), standardised with the training part's statistics for "standard";
    a feature constant over the training part is only centred."""
    X_train, X_test = X[train], X[test]
    if check_scale(scale) == "none":
        return X_train, X_test
    mean = X_train.mean(axis=0, dtype=np.float64)
    std = X_train.std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0
    return (X_train - mean) / std, (X_test - mean) / std
