"""Front-ends: the log-mel spectrogram the spectrogram models read, and the MFCC baseline."""
