"""randcnn_fast: random-weight CNN audio embeddings on SIMD C++ kernels.

After Pons & Serra, "Randomly weighted CNNs for (music) audio classification", ICASSP 2019.
"""
from ._version import __version__
from .backends.machine import isa_info
from .features.embedder import Embedder, embed, embed_frames
from .frontend.spectrogram import logmel, mfcc_features
from .input.audio import AudioError, AudioWarning, decode_file
from .network.archfile import load_architecture
from .network.architectures import ARCHITECTURES, SIZES, architectures
from .network.layers import Network




__all__ = ["ARCHITECTURES", "SIZES", "AudioError", "AudioWarning", "ELMClassifier", "Embedder",
           "Network", "architectures", "decode_file", "embed", "embed_frames", "evaluate",
           "isa_info", "load_architecture", "load_embeddings", "logmel", "mfcc_features", "rank",
           "__version__"]


def __getattr__(name):
    # ELMClassifier is a scikit-learn estimator: importing it imports scikit-learn (about a
    # second), which embedding never needs, so it is imported on first use.
    if name == "ELMClassifier":
        from .classifiers.elm import ELMClassifier

        return ELMClassifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_embeddings(out_dir, *, frames: bool = False):
    """See :func:`randcnn_fast.extraction.reader.load_embeddings`: (X float32, metadata DataFrame)."""
    from .extraction.reader import load_embeddings as load

    return load(out_dir, frames=frames)


def evaluate(*args, **kwargs):
    """See :func:`randcnn_fast.evaluation.evaluate.evaluate` (imported on first use: matplotlib and the
    dataset loaders are not needed to embed)."""
    from .evaluation.evaluate import evaluate as run

    return run(*args, **kwargs)


def rank(*args, **kwargs):
    """See :func:`randcnn_fast.evaluation.ranking.rank`: architectures over seeds, with 95 % intervals
    and a paired test against the best (imported on first use, as :func:`evaluate`)."""
    from .evaluation.ranking import rank as run

    return run(*args, **kwargs)
