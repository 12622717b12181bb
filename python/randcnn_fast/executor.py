"""Runs a network description on the native core, one clip at a time."""
from __future__ import annotations

from collections import Counter
from typing import Mapping

import numpy as np

from . import _core
from .network import Network


def run_native(network: Network, params: Mapping[str, np.ndarray], clip: np.ndarray,
               n_threads: int) -> np.ndarray:
    """The embedding of one validated clip (1-D float32) as float32 (n_features,).

    Each layer's map is kept only while a later layer still reads it; feature layers that no
    other layer reads are never written out, only their channel sums.
    """
    readers = Counter(layer.source for layer in network.layers)
    tensors = {"input": np.ascontiguousarray(clip, dtype=np.float32).reshape(-1, 1)}
    means = {}
    for layer in network.layers:
        x = tensors[layer.source]
        left, right = layer.padding_amounts(x.shape[0])
        # A 1-D convolution is the 2-D kernel with one frequency position: views, no copies.
        y, sums = _core.conv(
            x[:, None, :], params[f"{layer.name}.weight"][..., None],
            params[f"{layer.name}.bias"], stride=(layer.stride, 1), padding=(left, right, 0, 0),
            activation=layer.activation, pool=(layer.pool, 1),
            write_output=readers[layer.name] > 0, n_threads=n_threads)
        means[layer.name] = sums / layer.output_length(x.shape[0])
        readers[layer.source] -= 1
        if readers[layer.source] == 0:
            del tensors[layer.source]
        if y is not None:
            tensors[layer.name] = y[:, 0, :]
    return np.concatenate([means[name] for name in network.features]).astype(np.float32)
