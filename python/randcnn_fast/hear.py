"""The HEAR 2021 common API: ``load_model``, ``get_scene_embeddings`` and
``get_timestamp_embeddings`` over a random-weight CNN.

Audio comes in at the model's ``sample_rate`` (one of HEAR's rates, 16 kHz by default) and is
resampled to 12 kHz inside. A scene embedding is the clip embedding of the whole sound
(``pad="none"``); timestamp embeddings are :meth:`randcnn_fast.Embedder.embed_frames` with the
model's hop and window, and their timestamps the frames' centres in milliseconds.

Arrays go in and come out as numpy; PyTorch tensors (``pip install 'randcnn_fast[hear]'``) go
in and come out as CPU float32 tensors, and the model is then a ``torch.nn.Module`` as HEAR's
validator asks. PyTorch is never needed otherwise.
"""
from __future__ import annotations

import functools
import json
import os

import numpy as np

from .features.embedder import Embedder

__all__ = ["HearModel", "load_model", "get_scene_embeddings", "get_timestamp_embeddings"]

HEAR_SAMPLE_RATES = (16000, 22050, 44100, 48000)
DEFAULTS = {
    "arch": "sample_level",
    "size": "paper",
    "seed": 0,
    "sample_rate": 16000,
    "hop": 0.05,  # seconds: HEAR asks for 50 ms or less between timestamps
    "window": 0.5,  # seconds
    "n_threads": 0,
}


class HearModel:
    """A random-weight CNN behind the HEAR API; :func:`load_model` makes one.

    Parameters
    ----------
    arch, size, seed, n_threads
        As :class:`randcnn_fast.Embedder` takes them.
    sample_rate : int
        One of HEAR's rates, :data:`HEAR_SAMPLE_RATES`.
    hop, window : float
        Seconds between timestamps and seconds each timestamp embedding spans.

    Attributes
    ----------
    sample_rate : int
        The rate the audio must come in at (Hz).
    scene_embedding_size, timestamp_embedding_size : int
        The length of the vectors the two calls return.
    hop, window : float
        Seconds between timestamps and seconds each timestamp embedding spans.
    embedder : randcnn_fast.Embedder
        The network, with ``pad="none"``.

    Raises
    ------
    ValueError
        For a sample rate HEAR does not use.

    Examples
    --------
    >>> model = HearModel(arch="vgg", size="small", seed=0, sample_rate=16000, hop=0.05,
    ...                   window=0.5, n_threads=1)
    >>> model.scene_embedding_size, model.sample_rate
    (160, 16000)
    """

    def __init__(self, *, arch, size, seed, sample_rate, hop, window, n_threads):
        if sample_rate not in HEAR_SAMPLE_RATES:
            raise ValueError(f"sample_rate={sample_rate!r} is not one of HEAR's rates "
                             f"{HEAR_SAMPLE_RATES}")
        self.embedder = Embedder(arch, size=size, seed=seed, pad="none", n_threads=n_threads)
        self.sample_rate = int(sample_rate)
        self.hop, self.window = hop, window
        self.scene_embedding_size = int(self.embedder.n_features)
        self.timestamp_embedding_size = int(self.embedder.n_features)

    def __repr__(self) -> str:
        return (f"HearModel({self.embedder!r}, sample_rate={self.sample_rate}, hop={self.hop}, "
                f"window={self.window})")


@functools.lru_cache(maxsize=1)
def _torch_model_class():
    """HearModel as a ``torch.nn.Module`` (no parameters: ``.to(device)`` moves nothing)."""
    import torch

    class TorchHearModel(torch.nn.Module, HearModel):
        def __init__(self, **settings):
            torch.nn.Module.__init__(self)
            HearModel.__init__(self, **settings)

        __repr__ = HearModel.__repr__

    return TorchHearModel


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def load_model(model_file_path: str = "", **options) -> HearModel:
    """Load the model: a :class:`HearModel`, a ``torch.nn.Module`` too when PyTorch is
    installed.

    Parameters
    ----------
    model_file_path : str
        Empty (the default), or a JSON file of options (the weights are drawn from the seed,
        so the options are the whole model).
    **options
        ``arch`` ("sample_level"), ``size`` ("paper"), ``seed`` (0), ``sample_rate`` (16000,
        one of 16000, 22050, 44100, 48000), ``hop`` (0.05 s), ``window`` (0.5 s) and
        ``n_threads`` (0: every core); they override the file's.

    Returns
    -------
    HearModel
        The model.

    Raises
    ------
    ValueError
        For an unknown option, a file that is not JSON, or a rate HEAR does not use.

    Examples
    --------
    >>> import json
    >>> with open("model.json", "w") as f:
    ...     json.dump({"arch": "vgg", "size": "small"}, f)
    >>> model = load_model("model.json", sample_rate=22050)
    >>> model.embedder.arch, model.sample_rate, model.timestamp_embedding_size
    ('vgg', 22050, 160)
    """
    settings = dict(DEFAULTS)
    if model_file_path:
        with open(model_file_path) as f:
            try:
                settings.update(json.load(f))
            except json.JSONDecodeError as error:
                raise ValueError(f"{os.fspath(model_file_path)}: not a JSON file of options "
                                 f"({error})") from None
    settings.update(options)
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown options {unknown}; choose from {sorted(DEFAULTS)}")
    if _torch_available():
        return _torch_model_class()(**settings)
    return HearModel(**settings)


def _as_batch(audio) -> tuple[np.ndarray, bool]:
    """float32 (n_sounds, n_samples) numpy from numpy or a torch tensor, and whether it was
    a tensor (the results then go back as tensors)."""
    is_tensor = type(audio).__module__.startswith("torch")
    batch = audio.detach().cpu().numpy() if is_tensor else np.asarray(audio)
    if batch.ndim != 2:
        raise ValueError(f"audio must be (n_sounds, n_samples), got shape {batch.shape}")
    return np.ascontiguousarray(batch, dtype=np.float32), is_tensor


def _out(array: np.ndarray, is_tensor: bool):
    if not is_tensor:
        return array
    import torch

    return torch.from_numpy(array)


def get_scene_embeddings(audio, model: HearModel):
    """Embed each sound whole.

    Parameters
    ----------
    audio : numpy.ndarray or torch.Tensor
        (n_sounds, n_samples) at ``model.sample_rate``.
    model : HearModel
        From :func:`load_model`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        float32 (n_sounds, model.scene_embedding_size), a tensor for a tensor input.

    Raises
    ------
    ValueError
        When ``audio`` is not 2-D.

    Examples
    --------
    >>> import numpy as np
    >>> model = load_model(arch="sample_level", size="small")
    >>> get_scene_embeddings(np.zeros((2, 16000), np.float32), model).shape
    (2, 161)
    """
    batch, is_tensor = _as_batch(audio)
    embeddings = model.embedder.embed(batch, sr=model.sample_rate)
    return _out(np.ascontiguousarray(embeddings, dtype=np.float32), is_tensor)


def get_timestamp_embeddings(audio, model: HearModel):
    """Embed each sound frame by frame, with the frames' times.

    Parameters
    ----------
    audio : numpy.ndarray or torch.Tensor
        (n_sounds, n_samples) at ``model.sample_rate``.
    model : HearModel
        From :func:`load_model`.

    Returns
    -------
    embeddings
        float32 (n_sounds, n_timestamps, model.timestamp_embedding_size).
    timestamps
        float32 (n_sounds, n_timestamps): each frame's centre in milliseconds, evenly spaced by
        ``model.hop``, the first at half a window, the last frame ending at or before the end
        of the sound (see :meth:`randcnn_fast.Embedder.embed_frames`).

    Raises
    ------
    ValueError
        When ``audio`` is not 2-D or a sound is shorter than a window.

    Examples
    --------
    >>> import numpy as np
    >>> model = load_model(arch="sample_level", size="small", hop=0.25, window=0.5)
    >>> embeddings, timestamps = get_timestamp_embeddings(np.zeros((1, 16000), np.float32),
    ...                                                   model)
    >>> embeddings.shape, timestamps
    ((1, 3, 161), array([[250., 500., 750.]], dtype=float32))
    """
    batch, is_tensor = _as_batch(audio)
    frames, times = model.embedder.embed_frames(batch, sr=model.sample_rate, hop=model.hop,
                                                window=model.window)
    embeddings = np.stack(frames).astype(np.float32, copy=False)
    timestamps = (1000.0 * np.stack(times)).astype(np.float32)
    return _out(embeddings, is_tensor), _out(timestamps, is_tensor)
