"""Corpus-scale extraction into resumable, crash-safe Parquet shards, locally or on Dask."""
