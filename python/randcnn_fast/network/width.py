"""Width control: a network's channels scaled by one factor to reach a chosen feature count.

The rule (README, "Your own architectures"): every convolution's channel count ``c`` becomes
``max(1, round_half_up(r * c))``, and a collapsed feature's width likewise; a convolution with a
residual takes its residual's count, so the sum stays defined. The factor ``r`` is ``N / n``
(``n`` the network's own feature count) when that gives exactly ``N`` features; otherwise it is
the smallest factor giving the count nearest ``N`` that any factor reaches (the smaller count
on a tie). The count is a non-decreasing step function of ``r``, so both are well defined, and
exact rational arithmetic keeps the result the same on every machine.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from fractions import Fraction

from .layers import Concat, Conv, Feature, Network

__all__ = ["scale_factor", "scale_to_features"]

BISECTIONS = 80  # halvings of the factor's bracket before it is snapped to a rounding step


def check_features(features) -> int:
    """A feature count as an int; ValueError naming the value otherwise."""
    if isinstance(features, bool) or not isinstance(features, numbers.Integral) or features < 1:
        raise ValueError(f"features must be a positive integer (the embedding size to scale the "
                         f"network's channels to), got {features!r}")
    return int(features)


def _round_half_up(value: Fraction) -> int:
    return max(1, math.floor(value + Fraction(1, 2)))


def _channels(network: Network, factor: Fraction) -> dict[str, int]:
    """The channels of every tensor once the convolutions are scaled by ``factor``."""
    channels = {"input": 1}
    for layer in network.layers:
        if isinstance(layer, Conv):
            channels[layer.name] = (channels[layer.residual] if layer.residual is not None
                                    else _round_half_up(layer.out_channels * factor))
        elif isinstance(layer, Concat):
            channels[layer.name] = sum(channels[s] for s in layer.sources)
        else:  # MaxPoolTime, MeanFrequency keep their source's channels
            channels[layer.name] = channels[layer.source]
    return channels


def _count(network: Network, factor: Fraction) -> int:
    channels = _channels(network, factor)
    return sum(_round_half_up(f.collapse * factor) if f.collapse else channels[f.name]
               for f in network.features)


def _bases(network: Network) -> list[int]:
    """The widths that scaling rounds: free convolution channels and collapsed features."""
    convs = [layer.out_channels for layer in network.layers
             if isinstance(layer, Conv) and layer.residual is None]
    return convs + [f.collapse for f in network.features if f.collapse]


def _smallest_factor(network: Network, at_least: int, start: Fraction) -> Fraction:
    """The smallest factor whose count is at least ``at_least`` (it is a rounding step:
    (k + 1/2) / c for some base width c and integer k >= 1)."""
    low, high = Fraction(0), start
    while _count(network, high) < at_least:
        high *= 2
    for _ in range(BISECTIONS):
        middle = (low + high) / 2
        if _count(network, middle) >= at_least:
            high = middle
        else:
            low = middle
    steps = [Fraction(2 * k + 1, 2 * c) for c in set(_bases(network))
             for k in [math.floor(high * c - Fraction(1, 2))] if k >= 1]
    reached = [s for s in steps if s <= high]
    # No rounding step below: the count is reached with every width at its minimum, as it is
    # for any factor under the first step; take half of that step.
    step = max(reached) if reached else min(Fraction(3, 2 * c) for c in set(_bases(network))) / 2
    if _count(network, step) < at_least:
        raise AssertionError(f"{network.arch}: the width search missed its rounding step")
    return step


def scale_factor(network: Network, features: int) -> Fraction:
    """Find the factor :func:`scale_to_features` multiplies a network's channels by.

    Parameters
    ----------
    network : Network
        The architecture to scale.
    features : int
        The embedding size wanted.

    Returns
    -------
    fractions.Fraction
        ``features / n_features`` when that reaches ``features`` exactly; otherwise the
        smallest factor giving the reachable count nearest ``features`` (see the module).

    Raises
    ------
    ValueError
        When ``features`` is not a positive integer, or is fewer than the network has with
        one channel per convolution.

    Examples
    --------
    >>> from randcnn_fast.network.architectures import build
    >>> network = build("vgg", "small")
    >>> network.n_features
    160
    >>> scale_factor(network, 320)
    Fraction(2, 1)
    """
    features = check_features(features)
    fewest = _count(network, Fraction(0))
    if features < fewest:
        raise ValueError(f"{network.arch}: features={features} is fewer than the {fewest} it has "
                         f"with one channel per convolution; ask for at least {fewest}")
    proportional = Fraction(features, network.n_features)
    if _count(network, proportional) == features:
        return proportional
    above = _smallest_factor(network, features, proportional)
    count_above = _count(network, above)
    if count_above == features:
        return above
    count_below = _count(network, above - Fraction(1, 10 ** 12))  # just before the step
    if features - count_below <= count_above - features:
        return _smallest_factor(network, count_below, proportional)
    return above


def scale_to_features(network: Network, features: int) -> Network:
    """Scale a network's channels so that its embedding has (about) ``features`` entries.

    Layer names, kernels and the network's name are kept, so the weights of a scaled network
    come from the same per-layer generators (:mod:`randcnn_fast.network.weights`).

    Parameters
    ----------
    network : Network
        The architecture to scale.
    features : int
        The embedding size wanted.

    Returns
    -------
    Network
        ``network`` itself when it already has ``features`` features; otherwise a copy whose
        count is the nearest to ``features`` that one common factor allows (its
        ``n_features`` says which).

    Raises
    ------
    ValueError
        As :func:`scale_factor`.

    Examples
    --------
    >>> from randcnn_fast.network.architectures import build
    >>> scale_to_features(build("vgg", "small"), 100).n_features
    100
    >>> scale_to_features(build("timbral", "small"), 333).n_features
    332
    """
    features = check_features(features)
    if network.n_features == features:
        return network
    factor = scale_factor(network, features)
    channels = _channels(network, factor)
    layers = tuple(dataclasses.replace(layer, out_channels=channels[layer.name])
                   if isinstance(layer, Conv) else layer for layer in network.layers)
    kept = tuple(Feature(f.name, _round_half_up(f.collapse * factor) if f.collapse else None)
                 for f in network.features)
    return dataclasses.replace(network, layers=layers, features=kept)
