"""The architectures of the study, as data (PAPER.md section 1.4), at two sizes each.

"paper" gives the ~3585-d features of the published figures, "small" the ~160-d ones. Where the
original code cannot reach 160 (the cnn_music family allows 14 * nf features with nf a power of
two), the nearest setting the code allows is used: 112 features.
"""
from __future__ import annotations

from typing import Callable

from .layers import Concat, Conv, Feature, MaxPoolTime, MeanFrequency, Network, conv1d

__all__ = ["SIZES", "ARCHITECTURES", "FRAME_LEVEL", "build", "architectures"]

SIZES = ("small", "paper")
BACKEND_FEATURES = ("faithful", "per_filter")
WAVEFORM_LENGTH = 350_000  # samples at 12 kHz (29.17 s), the paper's GTZAN/Ballroom input
LOGMEL_LENGTH = 1376  # frames of 256 samples (29.35 s), the paper's spectrogram input


def _pick(size: str, small: int, paper: int) -> int:
    return {"small": small, "paper": paper}[size]


def _vgg(size: str) -> Network:
    """cnn_small_filters: five 3x3 'same' ELU convs, each max-pooled; features: pool1..pool5."""
    filters = _pick(size, 32, 717)
    layers, source = [], "input"
    for i, pool in enumerate([(4, 2), (4, 3), (5, 2), (4, 2), (4, 4)], start=1):
        layers.append(Conv(f"conv{i}", source, filters, (3, 3), padding=("same", "same"),
                           activation="elu", pool=pool))
        source = f"conv{i}"
    return Network("vgg", size, "logmel", LOGMEL_LENGTH, tuple(layers),
                   tuple(Feature(layer.name) for layer in layers))


def _single_conv(arch: str, width: int, freq_pool: int) -> Callable[[str], Network]:
    """cnn_single: one 7 x width 'valid' conv over the spectrogram, max-pooled over frequency."""

    def build(size: str) -> Network:
        conv = Conv("conv1", "input", _pick(size, 160, 3585), (7, width), pool=(1, freq_pool))
        return Network(arch, size, "logmel", LOGMEL_LENGTH, (conv,), (Feature("conv1"),))

    build.__doc__ = f"{arch}: one 7x{width} conv, max-pool 1x{freq_pool}; features: its means."
    return build


def _timbral_branch(filters: int) -> list:
    """Six convs on the spectrogram (86 and 38 mel bands tall, 7, 3 and 1 frames wide), time
    padded to keep the length, each max-pooled over every frequency position, concatenated."""
    layers = []
    for width in (86, 38):  # int(0.9 * 96), int(0.4 * 96)
        for frames, multiple in ((7, 1), (3, 2), (1, 4)):
            pad = frames // 2
            layers.append(Conv(f"timbral_{frames}x{width}", "input", multiple * filters,
                               (frames, width), padding=((pad, pad), "valid"), pool=(1, None)))
    return layers + [Concat("timbral", tuple(layer.name for layer in layers))]


def _temporal_branch(filters: int, kernels: tuple[int, ...]) -> list:
    """The mel-band average, then four 'same' conv1d of the given lengths with nf - r, 2nf - r,
    4nf - r and 8nf - r filters (r = nf / 4, so the branch has 14 nf maps), concatenated."""
    remove = filters // 4
    convs = [conv1d(f"temporal_k{k}", "mel_mean", multiple * filters - remove, k, padding="same")
             for k, multiple in zip(kernels, (1, 2, 4, 8))]
    return [MeanFrequency("mel_mean", "input"), *convs,
            Concat("temporal", tuple(conv.name for conv in convs))]


MUSIC_KERNELS = (165, 128, 64, 32)
AUDIO_KERNELS = (64, 32, 16, 8)  # cnn_audio, the UrbanSound8K variant


def _timbral(size: str) -> Network:
    """cnn_music, timbral branch: 14 nf features (nf 8 -> 112, nf 256 -> 3584)."""
    layers = _timbral_branch(_pick(size, 8, 256))
    return Network("timbral", size, "logmel", LOGMEL_LENGTH, tuple(layers), (Feature("timbral"),))


def _temporal(size: str) -> Network:
    """cnn_music, temporal branch: 14 nf features (nf 8 -> 112, nf 256 -> 3584)."""
    layers = _temporal_branch(_pick(size, 8, 256), MUSIC_KERNELS)
    return Network("temporal", size, "logmel", LOGMEL_LENGTH, tuple(layers), (Feature("temporal"),))


def _both_branches(arch: str, kernels: tuple[int, ...]) -> Callable[[str], Network]:
    def build(size: str) -> Network:
        filters = _pick(size, 4, 128)
        layers = _timbral_branch(filters) + _temporal_branch(filters, kernels)
        return Network(arch, size, "logmel", LOGMEL_LENGTH, tuple(layers),
                       (Feature("timbral"), Feature("temporal")))

    build.__doc__ = (f"{arch}: timbral then temporal features, 28 nf (nf 4 -> 112, nf 128 -> "
                     f"3584); temporal kernels {kernels}.")
    return build


def _sample_level(size: str) -> Network:
    """Sample-level CNN (after Lee et al. 2017): a strided 3-tap conv, then six 3-tap 'same'
    convs each max-pooled by 3; features: conv0 and pool1..pool6 (7 x 23 or 7 x 512)."""
    filters = _pick(size, 23, 512)
    layers = [conv1d("conv0", "input", filters, 3, stride=3)]
    for i in range(1, 7):
        layers.append(conv1d(f"conv{i}", f"conv{i - 1}", filters, 3, padding="same", pool=3))
    return Network("sample_level", size, "waveform", WAVEFORM_LENGTH, tuple(layers),
                   tuple(Feature(layer.name) for layer in layers))


def _backend(source: str, filters: int) -> list:
    """The frame-level back-end: 7-tap convs over time spanning every front-end channel, with
    residual sums taken after the ReLU and a max-pool of 2 before the last conv."""
    return [
        conv1d("backend1", source, filters, 7),
        conv1d("backend2", "backend1", filters, 7, padding="same", residual="backend1"),
        MaxPoolTime("backend_pool", "backend2", 2),
        conv1d("backend3", "backend_pool", filters, 7, padding="same", residual="backend_pool"),
    ]


def backend_features(filters: int, mode: str) -> tuple[Feature, ...]:
    """The back-end's feature layers: collapsed to ``filters`` numbers each ("faithful") or a
    mean per filter ("per_filter"); ValueError for another mode."""
    if mode not in BACKEND_FEATURES:
        raise ValueError(f"unknown backend_features {mode!r}; choose one of {BACKEND_FEATURES}")
    collapse = filters if mode == "faithful" else None
    return tuple(Feature(name, collapse) for name in ("backend1", "backend2", "backend3"))


def _frame_level(size: str, backend_mode: str = "faithful") -> Network:
    """A 512-sample stride-32 front conv, then the back-end; features: front + 3 back-end."""
    filters = _pick(size, 40, 896)
    layers = [conv1d("conv1", "input", filters, 512, stride=32)] + _backend("conv1", filters)
    return Network("frame_level", size, "waveform", WAVEFORM_LENGTH, tuple(layers),
                   (Feature("conv1"),) + backend_features(filters, backend_mode))


def _frame_level_many(size: str, backend_mode: str = "faithful") -> Network:
    """Five stride-32 'same' front convs (512 to 32 samples), concatenated, then the back-end."""
    filters = _pick(size, 20, 448)
    front = [conv1d(f"front_k{k}", "input", filters, k, stride=32, padding="same")
             for k in (512, 256, 128, 64, 32)]
    layers = front + [Concat("front", tuple(c.name for c in front))] + _backend("front", filters)
    return Network("frame_level_many", size, "waveform", WAVEFORM_LENGTH, tuple(layers),
                   tuple(Feature(c.name) for c in front) + backend_features(filters, backend_mode))


ARCHITECTURES: dict[str, Callable[..., Network]] = {
    "sample_level": _sample_level,
    "frame_level": _frame_level,
    "frame_level_many": _frame_level_many,
    "vgg": _vgg,
    "7x96": _single_conv("7x96", 96, 1),
    "7x86": _single_conv("7x86", 86, 11),
    "timbral": _timbral,
    "temporal": _temporal,
    "timbral_temporal": _both_branches("timbral_temporal", MUSIC_KERNELS),
    "cnn_audio": _both_branches("cnn_audio", AUDIO_KERNELS),
}
FRAME_LEVEL = ("frame_level", "frame_level_many")


def build(arch: str, size: str, backend_mode: str = "faithful") -> Network:
    """Build a built-in architecture at one size.

    Parameters
    ----------
    arch : str
        A name in :data:`ARCHITECTURES`.
    size : {"small", "paper"}
        "small" gives about 160 features, "paper" about 3585 (the published figures').
    backend_mode : {"faithful", "per_filter"}
        Applies to the frame-level architectures: "faithful" keeps the original code's one
        number per back-end layer, "per_filter" a mean per filter.

    Returns
    -------
    Network
        The network, checked at its default length.

    Raises
    ------
    ValueError
        Naming the choices, for an unknown ``arch``, ``size`` or ``backend_mode``.

    Examples
    --------
    >>> network = build("vgg", "small")
    >>> network.input_kind, network.n_features
    ('logmel', 160)
    >>> build("frame_level", "small", "per_filter").n_features
    160
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown arch {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {SIZES}")
    if arch in FRAME_LEVEL:
        return ARCHITECTURES[arch](size, backend_mode)
    if backend_mode not in BACKEND_FEATURES:
        raise ValueError(f"unknown backend_features {backend_mode!r}; choose one of {BACKEND_FEATURES}")
    return ARCHITECTURES[arch](size)


def architectures() -> list[dict]:
    """List every built-in architecture with its input and, per size, its costs.

    Returns
    -------
    list of dict
        Per architecture: ``arch``, ``input`` kind, ``default_length``, ``unit``,
        ``min_length``, and per size in :data:`SIZES` a dict of ``features``, ``parameters``
        and ``macs`` for the default input.

    Examples
    --------
    >>> table = architectures()
    >>> [row["arch"] for row in table][:3]
    ['sample_level', 'frame_level', 'frame_level_many']
    >>> table[0]["small"]["features"], table[0]["unit"]
    (161, 'samples')
    """
    table = []
    for arch in ARCHITECTURES:
        row = None
        for size in SIZES:
            network = build(arch, size)
            summary = network.describe()
            if row is None:
                row = {"arch": arch, "input": network.input_kind,
                       "default_length": network.default_length, "unit": network.input_unit,
                       "min_length": network.min_length}
            row[size] = {"features": summary.n_features, "parameters": summary.parameters,
                         "macs": summary.macs}
        table.append(row)
    return table
