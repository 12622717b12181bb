"""Embeddings: the public Embedder, and per-file features cached for a dataset."""
