"""randcnn_fast: random-weight CNN audio embeddings on SIMD C++ kernels.

After Pons & Serra, "Randomly weighted CNNs for (music) audio classification", ICASSP 2019.
"""
from .archfile import load_architecture
from .architectures import ARCHITECTURES, SIZES, architectures
from .audio import AudioError, AudioWarning, decode_file
from .embedder import Embedder, embed, embed_frames
from .frontend import logmel, mfcc_features
from .machine import isa_info
from .network import Network

from ._version import __version__




__all__ = ["ARCHITECTURES", "SIZES", "AudioError", "AudioWarning", "ELMClassifier", "Embedder",
           "Network", "architectures", "decode_file", "embed", "embed_frames", "evaluate",
           "isa_info", "load_architecture", "load_embeddings", "logmel", "mfcc_features", "rank",
           "__version__"]


def __getattr__(name):
    # ELMClassifier is a scikit-learn estimator: importing it imports scikit-learn (about a
    # second), which embedding never needs, so it is imported on first use.
    if name == "ELMClassifier":
        from .elm import ELMClassifier

        return ELMClassifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_embeddings(out_dir, *, frames: bool = False):
    """See :func:`randcnn_fast.extract.load_embeddings`: (X float32, metadata DataFrame)."""
    from .extract import load_embeddings as load

    return load(out_dir, frames=frames)


def evaluate(*args, **kwargs):
    """See :func:`randcnn_fast.evaluate.evaluate` (imported on first use: matplotlib and the
    dataset loaders are not needed to embed)."""
    from .evaluate import evaluate as run

    return run(*args, **kwargs)


def rank(*args, **kwargs):
    """See :func:`randcnn_fast.ranking.rank`: architectures over seeds, with 95 % intervals
    and a paired test against the best (imported on first use, as :func:`evaluate`)."""
    from .ranking import rank as run

    return run(*args, **kwargs)
