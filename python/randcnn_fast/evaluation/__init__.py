"""Evaluation: the protocols, the experiments as one call, rankings over seeds, the reports and
the scoring of detected events."""
