"""The evaluation's choices and defaults, apart from the code that needs scikit-learn and SciPy,
so that the command line offers them without importing those (about a second, which
``randcnn-fast embed`` would otherwise pay on every run)."""
from __future__ import annotations

__all__ = ["PROTOCOLS", "CLASSIFIERS", "SEEDS", "SVM_MAX_ITER", "RESULTS_ROOT"]

#: How accuracies are estimated: the paper's protocol, or nested cross-validation.
PROTOCOLS = ("paper", "nested")
#: The classifiers on the embeddings.
CLASSIFIERS = ("svm", "elm")
#: The seeds a ranking runs by default.
SEEDS = (0, 1, 2, 3, 4)
# libsvm iterations per SVM fit: a bound on the fits that would run for minutes (linear SVMs on
# large unscaled features); fits that converge stop well before it.
SVM_MAX_ITER = 1_000_000
#: Where runs without an out_dir write, each into a folder named for the run.
RESULTS_ROOT = "randcnn_fast_results"
