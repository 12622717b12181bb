"""Input: audio files and arrays decoded, checked and resampled to 12 kHz mono clips; folders and CSV manifests listed."""
