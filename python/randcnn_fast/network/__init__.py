"""Networks as data: layers, the study's architectures, architecture files, widths, random weights and the time alignment of every position."""
