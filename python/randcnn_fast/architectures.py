"""The architectures of the study, as data (see PAPER.md section 1.4)."""
from __future__ import annotations

from typing import Callable

from .network import Conv1d, Network

SIZES = ("small", "paper")
WAVEFORM_LENGTH = 350_000  # samples at 12 kHz (29.17 s), the paper's GTZAN/Ballroom input


def sample_level(size: str) -> Network:
    """Sample-level CNN (after Lee et al. 2017).

    A strided 3-tap front conv, then six 3-tap 'same' convs each followed by a max-pool of 3;
    features are the means of conv0 and of pool1..pool6: 7 x 23 = 161 ("small") or
    7 x 512 = 3584 ("paper") features.
    """
    filters = {"small": 23, "paper": 512}[size]
    layers = [Conv1d("conv0", "input", filters, kernel=3, stride=3, padding="valid")]
    for i in range(1, 7):
        layers.append(Conv1d(f"conv{i}", f"conv{i - 1}", filters, kernel=3, padding="same", pool=3))
    return Network(
        arch="sample_level",
        size=size,
        input_kind="waveform",
        default_length=WAVEFORM_LENGTH,
        layers=tuple(layers),
        features=tuple(layer.name for layer in layers),
    )


ARCHITECTURES: dict[str, Callable[[str], Network]] = {
    "sample_level": sample_level,
}


def build(arch: str, size: str) -> Network:
    """The network for ``arch`` at ``size``; ValueError naming the choices otherwise."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown arch {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {SIZES}")
    return ARCHITECTURES[arch](size)
