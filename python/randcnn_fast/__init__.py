"""randcnn_fast: random-weight CNN audio embeddings on SIMD C++ kernels.

After Pons & Serra, "Randomly weighted CNNs for (music) audio classification", ICASSP 2019.
"""
from . import _core
from .architectures import ARCHITECTURES, SIZES, architectures
from .audio import AudioError
from .embedder import Embedder, embed
from .frontend import logmel, mfcc_features

__version__ = "0.1.0"


def isa_info() -> dict:
    """The instruction sets: ``detected`` (best this CPU runs), ``active`` (in use; set
    RANDCNN_FAST_ISA=scalar|avx2|avx512 to override), ``compiled`` (built in), ``supported``
    (compiled and runnable here) and the active register ``tile``."""
    return _core.isa_info()


__all__ = ["ARCHITECTURES", "SIZES", "AudioError", "Embedder", "architectures", "embed",
           "isa_info", "logmel", "mfcc_features", "__version__"]
