"""Classifiers on embeddings: the SVM grid search, the extreme learning machine, feature scaling."""
