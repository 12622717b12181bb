"""randcnn_fast: random-weight CNN audio embeddings on SIMD C++ kernels.

After Pons & Serra, "Randomly weighted CNNs for (music) audio classification", ICASSP 2019.
"""
from ._version import __version__
from .backends.machine import isa_info
from .features.embedder import Embedder, embed, embed_frames
from .frontend.spectrogram import logmel, mfcc_features
from .input.audio import AudioError, AudioWarning
from .input.decode import decode_file
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
    """Read the embeddings an extraction (``randcnn-fast embed``) has written so far.

    Imported on first use: pyarrow and pandas are not needed to embed. See
    :func:`randcnn_fast.extraction.reader.load_embeddings`.

    Parameters
    ----------
    out_dir : str or os.PathLike
        The extraction's output folder.
    frames : bool
        True to read a run of frame embeddings; reading one kind of run as the other is an
        error.

    Returns
    -------
    X : numpy.ndarray
        float32 (n_rows, n_features), sorted by clip (and time).
    metadata : pandas.DataFrame
        Row k describes X[k]: clip_id, path, seconds, warning (and time, for frames).

    Examples
    --------
    >>> import numpy as np, soundfile
    >>> from pathlib import Path
    >>> from randcnn_fast.cli import main
    >>> Path("clips").mkdir()
    >>> for i in range(3):
    ...     soundfile.write(f"clips/{i}.wav", np.zeros(12000, np.float32), 12000)
    >>> main(["embed", "clips", "--out", "embeddings", "--arch", "vgg", "--size", "small"])
    0
    >>> X, metadata = load_embeddings("embeddings")
    >>> X.shape, list(metadata.columns)
    ((3, 160), ['clip_id', 'path', 'seconds', 'warning'])
    """
    from .extraction.reader import load_embeddings as load

    return load(out_dir, frames=frames)


def evaluate(*args, **kwargs):
    """Classify a dataset with every architecture and write the results.

    Imported on first use: matplotlib and the dataset loaders are not needed to embed. See
    :func:`randcnn_fast.evaluation.evaluate.evaluate` for the options.

    Parameters
    ----------
    *args, **kwargs
        As :func:`randcnn_fast.evaluation.evaluate.evaluate` takes them.

    Returns
    -------
    dict
        The results written to results.json.

    Examples
    --------
    Every choice is checked before any clip is read:

    >>> evaluate(sizes=["tiny"])
    Traceback (most recent call last):
    ...
    ValueError: unknown sizes ['tiny']; choose from ['small', 'paper']
    """
    from .evaluation.evaluate import evaluate as run

    return run(*args, **kwargs)


def rank(*args, **kwargs):
    """Rank architectures over seeds, with 95 % intervals and a paired test against the best.

    Imported on first use, as :func:`evaluate`. See :func:`randcnn_fast.evaluation.ranking.rank`
    for the options.

    Parameters
    ----------
    *args, **kwargs
        As :func:`randcnn_fast.evaluation.ranking.rank` takes them.

    Returns
    -------
    dict
        evaluate's results with a ``ranking`` list.

    Examples
    --------
    >>> rank(seeds=[0])
    Traceback (most recent call last):
    ...
    ValueError: a ranking needs at least two distinct seeds for its intervals and tests, got [0]
    """
    from .evaluation.ranking import rank as run

    return run(*args, **kwargs)
