"""Evaluation: protocols, the experiments as one call, rankings over seeds, reports and event scoring."""
