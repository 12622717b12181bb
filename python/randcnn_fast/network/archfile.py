"""Architectures as files: a network description in TOML or JSON, read, checked and written.

A file holds the network's ``name`` (which, with the layer names, keys its random weights),
its ``input`` kind and default ``length``, its layers as ``[[layer]]`` tables and the
``embedding``: the layers whose per-channel means form the embedding. docs/architectures.md
lists every field. Layers may come in any order: they run in an order where each reads only
layers before it (the file's order when it already is one), and a cycle is an error.

:func:`load_architecture` resolves anything accepted as an architecture (a built-in name, a
path to a file, a :class:`~randcnn_fast.network.layers.Network`) to a network; every error names the
file, the layer and the problem before any audio is read.
"""
from __future__ import annotations

import dataclasses
import inspect
import json
import os
import sys
from pathlib import Path

from .architectures import ARCHITECTURES, build
from .layers import Concat, Conv, Feature, MaxPoolTime, MeanFrequency, Network
from .width import check_features, scale_to_features

__all__ = ["ArchitectureError", "load_architecture", "read_architecture", "network_from_dict",
           "is_architecture_file", "describe_architecture"]

SUFFIXES = (".toml", ".json")
TOP_FIELDS = ("name", "size", "input", "length", "features", "description", "embedding", "layer")
REQUIRED_TOP = ("name", "input", "length", "embedding", "layer")
CONV_FIELDS = ("name", "type", "source", "channels", "kernel", "stride", "padding", "activation",
               "pool", "residual")
LAYER_FIELDS = {
    "conv1d": CONV_FIELDS,
    "conv2d": CONV_FIELDS,
    "mean_frequency": ("name", "type", "source"),
    "maxpool_time": ("name", "type", "source", "pool"),
    "concat": ("name", "type", "sources"),
}
DEFAULT_SIZE = "custom"  # the size label of a file that names none


class ArchitectureError(ValueError):
    """A bad architecture description: the message names the file, the layer and the problem.

    Examples
    --------
    >>> network_from_dict({"name": "x"}, where="x.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    randcnn_fast.network.archfile.ArchitectureError: x.toml: ...
    """


def _toml_module():
    if sys.version_info >= (3, 11):
        import tomllib
        return tomllib
    try:
        import tomli
    except ImportError as error:  # a dependency on these Pythons; missing only if uninstalled
        raise ImportError("reading TOML on Python < 3.11 needs tomli: pip install tomli") from error
    return tomli


# --------------------------------------------------------------------------- resolving


def is_architecture_file(arch) -> bool:
    """Tell whether ``arch`` names an architecture file rather than a built-in.

    Parameters
    ----------
    arch : object
        What was given as an architecture.

    Returns
    -------
    bool
        True for a path object, or a string that is not a built-in name and ends in .toml or
        .json or is an existing file.

    Examples
    --------
    >>> is_architecture_file("vgg"), is_architecture_file("mine.toml")
    (False, True)
    """
    if isinstance(arch, os.PathLike):
        return True
    return isinstance(arch, str) and arch not in ARCHITECTURES and (
        arch.lower().endswith(SUFFIXES) or os.path.isfile(arch))


def load_architecture(arch, *, size: str = "paper", backend_features: str = "faithful",
                      features: int | None = None) -> Network:
    """Resolve anything accepted as an architecture to a network.

    Parameters
    ----------
    arch : str, os.PathLike or Network
        A built-in name (:data:`randcnn_fast.ARCHITECTURES`), a path to a TOML or JSON
        architecture file, or a :class:`~randcnn_fast.network.layers.Network`.
    size : {"paper", "small"}
        The built-in's size; a file or a Network has its own widths.
    backend_features : {"faithful", "per_filter"}
        The frame-level built-ins' back-end features (see :class:`randcnn_fast.Embedder`).
    features : int, optional
        Scale the channels to this embedding size (:mod:`randcnn_fast.network.width`); it overrides a
        file's own ``features``.

    Returns
    -------
    Network
        Checked at its default length.

    Raises
    ------
    ValueError
        For an unknown built-in name or a bad description (:class:`ArchitectureError`, naming
        the file, the layer and the problem).
    TypeError
        When ``arch`` is neither a string, a path nor a Network.

    Examples
    --------
    >>> load_architecture("vgg", size="small").n_features
    160
    >>> load_architecture("vgg", size="small", features=320).n_features
    320
    """
    if features is not None:
        features = check_features(features)
    if isinstance(arch, Network):
        network = arch
    elif is_architecture_file(arch):
        network, own_features = read_architecture(arch)
        features = own_features if features is None else features
    elif isinstance(arch, str):
        if arch not in ARCHITECTURES:
            raise ValueError(f"unknown arch {arch!r}: choose one of {sorted(ARCHITECTURES)}, or "
                             f"give the path of a .toml or .json architecture file")
        network = build(arch, size, backend_features)
    else:
        raise TypeError(f"arch must be a built-in name, a path to an architecture file or a "
                        f"Network, got {type(arch).__name__}")
    return network if features is None else scale_to_features(network, features)


def builtin_of(network: Network, prefer: tuple[str, str] = ("small", "faithful")
               ) -> tuple[str, str, str] | None:
    """(arch, size, backend_features) of the built-in equal to ``network``, else None.

    A built-in saved to a file and read back is that built-in. Where several settings give the
    same network (``backend_features`` of a model without a back-end), ``prefer`` wins.
    """
    if network.arch not in ARCHITECTURES:
        return None
    settings = [prefer] + [(size, mode) for size in ("small", "paper")
                           for mode in ("faithful", "per_filter")]
    for size, mode in settings:
        if size in ("small", "paper") and network == build(network.arch, size, mode):
            return network.arch, size, mode
    return None


# --------------------------------------------------------------------------- reading


def read_architecture(path) -> tuple[Network, int | None]:
    """Read and check an architecture file.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.toml`` or ``.json`` file (docs/architectures.md lists its fields).

    Returns
    -------
    network : Network
        The network it describes.
    features : int or None
        Its ``features`` field (the embedding size to scale to), None when it has none.

    Raises
    ------
    ArchitectureError
        When the file is missing, unreadable, not TOML/JSON or describes no valid network.

    Examples
    --------
    >>> from randcnn_fast.network.architectures import build
    >>> build("timbral", "small").save("timbral.json")
    >>> network, features = read_architecture("timbral.json")
    >>> network.arch, network.n_features, features
    ('timbral', 112, None)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ArchitectureError(f"{path}: an architecture file ends in .toml or .json")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ArchitectureError(f"{path}: no such architecture file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ArchitectureError(f"{path}: cannot be read: {error}") from None
    try:
        data = json.loads(text) if suffix == ".json" else _toml_module().loads(text)
    except ValueError as error:  # json.JSONDecodeError and TOMLDecodeError both are
        raise ArchitectureError(f"{path}: not valid {suffix[1:].upper()}: {error}") from None
    return network_from_dict(data, where=str(path))


def network_from_dict(data: dict, *, where: str = "architecture") -> tuple[Network, int | None]:
    """Build and check the network of a parsed architecture description.

    Parameters
    ----------
    data : dict
        The description, as :meth:`Network.to_dict` gives it or a TOML/JSON file holds it.
    where : str
        What starts every error message (the file's name).

    Returns
    -------
    network : Network
        The network it describes.
    features : int or None
        Its ``features`` field, None when it has none.

    Raises
    ------
    ArchitectureError
        Naming ``where``, the layer and the problem.

    Examples
    --------
    >>> from randcnn_fast.network.architectures import build
    >>> network = build("vgg", "small")
    >>> network_from_dict(network.to_dict()) == (network, None)
    True
    """
    try:
        return _network_from_dict(data)
    except ValueError as error:
        raise ArchitectureError(f"{where}: {error}") from None


def _network_from_dict(data) -> tuple[Network, int | None]:
    if not isinstance(data, dict):
        raise ValueError("the description must be a table of fields")
    _check_fields(data, TOP_FIELDS, "the file")
    missing = [f for f in REQUIRED_TOP if f not in data]
    if missing:
        raise ValueError(f"missing field(s) {missing}; docs/architectures.md lists them")
    layer_tables = data["layer"]
    if not isinstance(layer_tables, list) or not layer_tables:
        raise ValueError("'layer' must be one or more [[layer]] tables")
    layers, previous = [], "input"
    for i, table in enumerate(layer_tables):
        layers.append(_layer(table, i, previous))
        previous = layers[-1].name
    embedding = data["embedding"]
    if not isinstance(embedding, list):
        raise ValueError(f"'embedding' must be a list of layer names, got {embedding!r}")
    features = tuple(_feature(entry) for entry in embedding)
    network = Network(
        arch=data["name"], size=data.get("size", DEFAULT_SIZE), input_kind=data["input"],
        default_length=data["length"], layers=_execution_order(layers), features=features,
        notes=_string(data.get("description", ""), "'description'"))
    wanted = data.get("features")
    return network, None if wanted is None else check_features(wanted)


def _check_fields(table: dict, allowed, where: str) -> None:
    unknown = [key for key in table if key not in allowed]
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {unknown}; allowed: {list(allowed)}")


def _string(value, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {value!r}")
    return value


def _integer(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return value


def _pair(value, what: str) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"{what} must be a [time, frequency] pair of integers, got {value!r}")
    return _integer(value[0], what), _integer(value[1], what)


def _padding(value, what: str):
    """'valid', 'same' or [before, after] (the Conv checks the values)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) == 2:
        return _integer(value[0], what), _integer(value[1], what)
    raise ValueError(f"{what} must be 'valid', 'same' or [before, after], got {value!r}")


def _freq_pool(value, what: str):
    return None if value == "all" else _integer(value, f"{what} (or \"all\")")


def _layer(table, index: int, previous: str):
    """One [[layer]] table as a layer; ``source`` defaults to the layer before it."""
    if not isinstance(table, dict):
        raise ValueError(f"layer {index + 1} must be a table, got {table!r}")
    name = table.get("name")
    where = f"layer {name!r}" if isinstance(name, str) and name else f"layer {index + 1}"
    if "name" not in table:
        raise ValueError(f"{where}: missing field 'name'")
    kind = table.get("type")
    if kind not in LAYER_FIELDS:
        raise ValueError(f"{where}: unknown type {kind!r}; choose one of {list(LAYER_FIELDS)}")
    _check_fields(table, LAYER_FIELDS[kind], where)
    try:
        return _build_layer(kind, table, previous, where)
    except ValueError as error:
        message = str(error)
        raise ValueError(message if message.startswith(f"{name}:") or message.startswith(where)
                         else f"{where}: {message}") from None


def _build_layer(kind: str, table: dict, previous: str, where: str):
    name = table["name"]
    source = table.get("source", previous)
    if kind == "mean_frequency":
        return MeanFrequency(name, source)
    if kind == "maxpool_time":
        if "pool" not in table:
            raise ValueError(f"{where}: missing field 'pool'")
        return MaxPoolTime(name, source, _integer(table["pool"], "pool"))
    if kind == "concat":
        sources = table.get("sources")
        if not isinstance(sources, list) or not sources:
            raise ValueError(f"{where}: 'sources' must be a list of layer names, got {sources!r}")
        return Concat(name, tuple(sources))
    for field in ("channels", "kernel"):
        if field not in table:
            raise ValueError(f"{where}: missing field {field!r}")
    channels = _integer(table["channels"], "channels")
    activation = table.get("activation", "relu")
    residual = table.get("residual")
    if kind == "conv1d":
        return Conv(name, source, channels, (_integer(table["kernel"], "kernel"), 1),
                    (_integer(table.get("stride", 1), "stride"), 1),
                    (_padding(table.get("padding", "valid"), "padding"), "valid"), activation,
                    (_integer(table.get("pool", 1), "pool"), 1), residual, dims=1)
    padding = table.get("padding", "valid")
    if isinstance(padding, str):  # one mode for both axes
        padding = [padding, padding]
    if not isinstance(padding, list) or len(padding) != 2:
        raise ValueError(f"padding must be a mode for both axes or a [time, frequency] pair, "
                         f"got {padding!r}")
    pool = table.get("pool", [1, 1])
    if not isinstance(pool, list) or len(pool) != 2:
        raise ValueError(f"pool must be a [time, frequency] pair, got {pool!r}")
    return Conv(name, source, channels, _pair(table["kernel"], "kernel"),
                _pair(table.get("stride", [1, 1]), "stride"),
                (_padding(padding[0], "time padding"), _padding(padding[1], "frequency padding")),
                activation, (_integer(pool[0], "time pool"), _freq_pool(pool[1], "frequency pool")),
                residual, dims=2)


def _feature(entry) -> Feature:
    if isinstance(entry, str):
        return Feature(entry)
    if isinstance(entry, dict):
        _check_fields(entry, ("layer", "collapse"), f"embedding entry {entry!r}")
        if "layer" not in entry:
            raise ValueError(f"embedding entry {entry!r}: missing field 'layer'")
        return Feature(entry["layer"], entry.get("collapse"))
    raise ValueError(f"an embedding entry is a layer name or {{ layer = ..., collapse = ... }}, "
                     f"got {entry!r}")


def _execution_order(layers: list) -> tuple:
    """The layers in an order where each reads only the input and layers before it: the
    file's order wherever it allows. Raises on unknown sources, duplicates and cycles."""
    names = [layer.name for layer in layers]
    duplicates = sorted({n for n in names if names.count(n) > 1 or n == "input"})
    if duplicates:
        raise ValueError(f"layer name(s) {duplicates} used more than once ('input' is the "
                         f"network's input); give each layer its own name")
    for layer in layers:
        unknown = [s for s in layer.sources if s != "input" and s not in names]
        if unknown:
            raise ValueError(f"layer {layer.name!r}: unknown source(s) {unknown}; sources are "
                             f"'input' or layer names")
    done, ordered, pending = {"input"}, [], list(layers)
    while pending:
        ready = next((layer for layer in pending if all(s in done for s in layer.sources)), None)
        if ready is None:
            raise ValueError(f"the layers {_cycle(pending)} form a cycle: each reads the next; "
                             f"a network reads forward only")
        pending.remove(ready)
        ordered.append(ready)
        done.add(ready.name)
    return tuple(ordered)


def _cycle(pending: list) -> str:
    """One cycle among layers none of which can run, as 'a -> b -> a'."""
    by_name = {layer.name: layer for layer in pending}
    path, current = [], pending[0].name
    while current not in path:
        path.append(current)
        current = next(s for s in by_name[current].sources if s in by_name)
    cycle = path[path.index(current):] + [current]
    return " -> ".join(repr(name) for name in reversed(cycle))


def describe_architecture(arch, *, size: str = "small", backend_features: str = "faithful",
                          features: int | None = None, length: int | None = None,
                          save=None) -> str:
    """Describe an architecture as a table, and optionally write it as a file.

    Parameters
    ----------
    arch : str, os.PathLike or Network
        As :func:`load_architecture`.
    size, backend_features, features
        As :func:`load_architecture` (``size`` defaults to "small" here).
    length : int, optional
        The input length to describe; the network's default when None.
    save : str or os.PathLike, optional
        Also write the network there (a built-in with its docstring as its
        ``description``), to start a new design from.

    Returns
    -------
    str
        The table of :meth:`Network.describe`, with a line naming ``save`` when given.

    Examples
    --------
    >>> print(describe_architecture("7x96"))  # doctest: +ELLIPSIS
    7x96 (small) on 1376 frames (minimum 7)
    layer  operation ...
    total  160 features ...
    """
    network = load_architecture(arch, size=size, backend_features=backend_features,
                                features=features)
    text = str(network.describe(length))
    if save is not None:
        if not network.notes and isinstance(arch, str) and arch in ARCHITECTURES:
            doc = inspect.cleandoc(ARCHITECTURES[arch].__doc__ or "")
            network = dataclasses.replace(network, notes=" ".join(doc.split()))
        network.save(save)
        text += f"\nwritten to {save}"
    return text
