"""Datasets: the study's collections, any labelled folder or CSV, and the synthetic demo set."""
