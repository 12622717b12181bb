"""Networks as data: layers, the study's architectures, architecture files, widths, random
weights, and where each position of a network sits in time (frames)."""
