"""Dataset loaders: lists of audio files, their labels and an evaluation protocol.

The study these embeddings come from (Pons & Serra, "Randomly weighted CNNs for
(music) audio classification", ICASSP 2019) evaluates on fault-filtered GTZAN
(a fixed train/valid/test split), Extended Ballroom (10-fold cross-validation)
and UrbanSound8K (its 10 official folds). This module describes such datasets
as a :class:`Dataset`: absolute file paths, a string label per clip, the class
order, and either a fold id per clip or a train/valid/test tag per clip.

Everything here works offline and only looks at file names: no audio is decoded
and nothing is ever downloaded. Problems are reported with the path concerned
and what is wrong with it.

Loaders:

* :func:`gtzan` - fault-filtered GTZAN from the published split lists.
* :func:`extended_ballroom` - ``<Class>/<id>.mp3`` tree, 10 stratified folds.
* :func:`urbansound8k` - the official metadata CSV and folds.
* :func:`folder` - any folder-per-class tree, stratified folds.
* :func:`manifest` - a CSV listing paths and labels (and optionally folds or a split).
* :func:`fsdd` - the Free Spoken Digit Dataset manifest (``labels.csv``).
* :func:`load` - dispatch by dataset name or by path.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..input.manifests import (AUDIO_EXTENSIONS, absolute_path, audio_files, listed_path,
                               normalise_extensions, read_csv, require_columns, require_folder)

__all__ = [
    "Dataset",
    "SPLITS",
    "GTZAN_CLASSES",
    "BALLROOM_CLASSES",
    "URBANSOUND8K_CLASSES",
    "GTZAN_LISTS",
    "DATASETS",
    "gtzan",
    "extended_ballroom",
    "urbansound8k",
    "folder",
    "manifest",
    "fsdd",
    "load",
]


#: Allowed values of :attr:`Dataset.split`, in protocol order.
SPLITS = ("train", "valid", "test")

#: GTZAN genres, in the order used for class indices.
GTZAN_CLASSES = (
    "blues", "classical", "country", "disco", "hiphop",
    "jazz", "metal", "pop", "reggae", "rock",
)

#: Extended Ballroom rhythm classes, in the order used for class indices.
BALLROOM_CLASSES = (
    "Chacha", "Foxtrot", "Jive", "Pasodoble", "Quickstep", "Rumba", "Salsa",
    "Samba", "Slowwaltz", "Tango", "Viennesewaltz", "Waltz", "Wcswing",
)

#: UrbanSound8K classes indexed by their official ``classID``.
URBANSOUND8K_CLASSES = (
    "air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling",
    "engine_idling", "gun_shot", "jackhammer", "siren", "street_music",
)

#: File names of the fault-filtered GTZAN split lists, by split.
GTZAN_LISTS = {
    "train": "train_filtered.txt",
    "valid": "valid_filtered.txt",
    "test": "test_filtered.txt",
}

_GTZAN_LISTS_SOURCE = (
    "the fault-filtered GTZAN lists are published in the public repository "
    "jongpillee/music_dataset_split (GTZAN_split/{train,valid,test}_filtered.txt); "
    "pass the folder holding them as lists_dir"
)

_SPLIT_ALIASES = {
    "train": "train",
    "valid": "valid",
    "validation": "valid",
    "val": "valid",
    "test": "test",
}

_N_SHOWN = 5  # how many offending items an error message lists

#: A manifest column of this name holds the folds unless another protocol column is named.
DEFAULT_FOLD_COLUMN = "fold"


# --------------------------------------------------------------------------- Dataset


@dataclass(frozen=True, repr=False)
class Dataset:
    """Audio clips with labels and an evaluation protocol.

    Exactly one of ``folds`` and ``split`` is set. Sequences given to the constructor are
    stored as tuples.

    Parameters
    ----------
    name : str
        Dataset name (``"gtzan"``, ``"fsdd"``, a folder name...).
    paths : sequence of str or os.PathLike
        The file path of every clip.
    labels : sequence of str
        The label of every clip, one of ``classes``.
    classes : sequence of str
        The class order used by :attr:`y` (and for plots and confusion matrices).
    folds : sequence of int, optional
        Fold id of every clip, for cross-validation datasets.
    split : sequence of str, optional
        ``"train"``, ``"valid"`` or ``"test"`` per clip, for split datasets.
    protocol_source : str
        Where the folds or the split come from, in words (for example "column 'fold' of
        /data/labels.csv"), shown with the results.

    Attributes
    ----------
    name, paths, labels, classes, folds, split, protocol_source
        As given, sequences as tuples.
    y : numpy.ndarray
        Class index of every clip (int64), positions in :attr:`classes`.
    n_clips, n_classes : int
        Numbers of clips and classes.
    protocol_kind : str
        ``"split"`` or ``"folds"``.

    Raises
    ------
    ValueError
        When lengths differ, a label is not a class, or not exactly one of ``folds`` and
        ``split`` is given.

    Examples
    --------
    >>> data = Dataset("toy", ["a.wav", "b.wav", "c.wav"], ["cat", "dog", "cat"],
    ...                ["cat", "dog"], split=["train", "train", "test"])
    >>> data.y, data.n_clips, data.protocol_kind
    (array([0, 1, 0]), 3, 'split')
    """

    name: str
    paths: tuple[str, ...]
    labels: tuple[str, ...]
    classes: tuple[str, ...]
    folds: tuple[int, ...] | None = None
    split: tuple[str, ...] | None = None
    protocol_source: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # the dataclass is frozen
        set_(self, "name", str(self.name))
        set_(self, "paths", tuple(os.fspath(p) for p in _as_sequence(self.paths, "paths")))
        set_(self, "labels", tuple(str(v) for v in _as_sequence(self.labels, "labels")))
        set_(self, "classes", tuple(str(c) for c in _as_sequence(self.classes, "classes")))
        n = len(self.paths)

        if (self.folds is None) == (self.split is None):
            raise ValueError(
                f"Dataset {self.name!r}: exactly one of folds and split must be set "
                f"(got {'both' if self.folds is not None else 'neither'})"
            )
        if len(self.labels) != n:
            raise ValueError(
                f"Dataset {self.name!r}: {n} paths but {len(self.labels)} labels"
            )
        dup = [c for c, k in Counter(self.classes).items() if k > 1]
        if dup:
            raise ValueError(f"Dataset {self.name!r}: repeated classes {dup}")
        known = set(self.classes)
        unknown = sorted({v for v in self.labels if v not in known})
        if unknown:
            raise ValueError(
                f"Dataset {self.name!r}: labels {unknown[:_N_SHOWN]} are not in classes "
                f"{list(self.classes)}"
            )

        if self.folds is not None:
            folds = []
            for i, f in enumerate(_as_sequence(self.folds, "folds")):
                if isinstance(f, (bool, np.bool_)) or not isinstance(f, (int, np.integer)):
                    raise TypeError(
                        f"Dataset {self.name!r}: fold ids must be integers, "
                        f"clip {i} has {f!r}"
                    )
                folds.append(int(f))
            set_(self, "folds", tuple(folds))
            if len(self.folds) != n:
                raise ValueError(
                    f"Dataset {self.name!r}: {n} paths but {len(self.folds)} fold ids"
                )
        else:
            split = tuple(str(s) for s in _as_sequence(self.split, "split"))
            set_(self, "split", split)
            if len(split) != n:
                raise ValueError(
                    f"Dataset {self.name!r}: {n} paths but {len(split)} split tags"
                )
            bad = sorted(set(split) - set(SPLITS))
            if bad:
                raise ValueError(
                    f"Dataset {self.name!r}: split values must be one of {list(SPLITS)}, "
                    f"got {bad[:_N_SHOWN]}"
                )

    # ---------------------------------------------------------------- properties

    @property
    def y(self) -> np.ndarray:
        """Class index of every clip (``int64``), positions in :attr:`classes`."""
        index = {c: i for i, c in enumerate(self.classes)}
        return np.fromiter((index[v] for v in self.labels), dtype=np.int64,
                           count=len(self.labels))

    @property
    def n_clips(self) -> int:
        """Number of clips."""
        return len(self.paths)

    @property
    def n_classes(self) -> int:
        """Number of classes (length of :attr:`classes`)."""
        return len(self.classes)

    @property
    def protocol_kind(self) -> str:
        """``"split"`` (train/valid/test tags) or ``"folds"`` (cross-validation)."""
        return "folds" if self.folds is not None else "split"

    # ---------------------------------------------------------------- methods

    def class_counts(self) -> dict[str, int]:
        """Count the clips of each class.

        Returns
        -------
        dict of str to int
            Per class, in :attr:`classes` order (absent classes give 0).

        Examples
        --------
        >>> data = Dataset("toy", ["a.wav", "b.wav"], ["cat", "cat"], ["cat", "dog"],
        ...                folds=[0, 1])
        >>> data.class_counts()
        {'cat': 2, 'dog': 0}
        """
        counts = Counter(self.labels)
        return {c: counts.get(c, 0) for c in self.classes}

    def subset(self, mask_or_indices) -> Dataset:
        """Select clips by a boolean mask (one entry per clip) or by integer indices.

        Parameters
        ----------
        mask_or_indices : array-like of bool or int
            The clips to keep.

        Returns
        -------
        Dataset
            It keeps :attr:`name` and :attr:`classes` (so :attr:`y` indices stay
            comparable with the full dataset) and the selected clips' folds or split tags,
            in the order selected.

        Raises
        ------
        ValueError, TypeError, IndexError
            For a mask of the wrong length, a non-integer selection or indices out of range.

        Examples
        --------
        >>> data = Dataset("toy", ["a.wav", "b.wav", "c.wav"], ["cat", "dog", "cat"],
        ...                ["cat", "dog"], folds=[0, 1, 2])
        >>> data.subset([2, 0]).paths
        ('c.wav', 'a.wav')
        >>> data.subset([False, True, False]).y
        array([1])
        """
        idx = self._indices(mask_or_indices)
        pick = lambda seq: tuple(seq[i] for i in idx)  # noqa: E731
        return Dataset(
            name=self.name,
            paths=pick(self.paths),
            labels=pick(self.labels),
            classes=self.classes,
            folds=None if self.folds is None else pick(self.folds),
            split=None if self.split is None else pick(self.split),
            protocol_source=self.protocol_source,
        )

    def _indices(self, mask_or_indices) -> list[int]:
        n = self.n_clips
        sel = np.asarray(mask_or_indices)
        if sel.ndim != 1:
            raise ValueError(
                f"subset expects a 1-D boolean mask or index list, got shape {sel.shape}"
            )
        if sel.size == 0:
            return []
        if sel.dtype == np.bool_:
            if sel.shape[0] != n:
                raise ValueError(
                    f"subset: boolean mask has {sel.shape[0]} entries, dataset has {n} clips"
                )
            return np.flatnonzero(sel).tolist()
        if not np.issubdtype(sel.dtype, np.integer):
            raise TypeError(
                f"subset expects a boolean mask or integer indices, got dtype {sel.dtype}"
            )
        bad = sel[(sel < -n) | (sel >= n)]
        if bad.size:
            raise IndexError(
                f"subset: indices {bad[:_N_SHOWN].tolist()} out of range for {n} clips"
            )
        return np.where(sel < 0, sel + n, sel).tolist()

    def __repr__(self) -> str:
        if self.folds is not None:
            counts = Counter(self.folds)
            proto = "folds " + ", ".join(f"{f}: {counts[f]}" for f in sorted(counts))
        else:
            counts = Counter(self.split)
            proto = "split " + ", ".join(f"{s}: {counts[s]}" for s in SPLITS if counts[s])
        per_class = ", ".join(f"{c}: {k}" for c, k in self.class_counts().items())
        source = f" from {self.protocol_source}" if self.protocol_source else ""
        return (
            f"Dataset(name={self.name!r}, n_clips={self.n_clips}, "
            f"n_classes={self.n_classes}, {proto}{source}; classes {per_class})"
        )

    def describe_protocol(self) -> str:
        """Say in words which folds or split parts the clips fall in and where they come from.

        Returns
        -------
        str
            For example "10 folds 1-10 (873-990 clips each), from column 'fold' of
            /data/UrbanSound8K.csv".

        Examples
        --------
        >>> data = Dataset("toy", ["a.wav", "b.wav", "c.wav"], ["cat", "dog", "cat"],
        ...                ["cat", "dog"], split=["train", "train", "test"],
        ...                protocol_source="the official split")
        >>> data.describe_protocol()
        'split train 2, test 1, from the official split'
        """
        if self.folds is not None:
            counts = Counter(self.folds)
            ids = sorted(counts)
            named = (f"folds {ids[0]}-{ids[-1]}" if ids == list(range(ids[0], ids[-1] + 1))
                     and len(ids) > 2 else "folds " + ", ".join(map(str, ids)))
            sizes = sorted(counts.values())
            spread = f"{sizes[0]}" if sizes[0] == sizes[-1] else f"{sizes[0]}-{sizes[-1]}"
            text = f"{len(ids)} {named} ({spread} clips each)"
        else:
            counts = Counter(self.split)
            text = "split " + ", ".join(f"{s} {counts[s]}" for s in SPLITS if counts[s])
        return text + (f", from {self.protocol_source}" if self.protocol_source else "")


def _as_sequence(value, what: str) -> Sequence:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"Dataset {what} must be a sequence, got {type(value).__name__}")
    return tuple(value)


# --------------------------------------------------------------------------- helpers


def _class_folders(root: Path, extensions: tuple[str, ...]) -> dict[str, list[Path]]:
    """Map each non-hidden sub-folder of ``root`` holding audio to its files,
    sorted by path relative to ``root``."""
    out = {}
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        files = audio_files(entry, extensions)
        if files:
            out[entry.name] = sorted(files, key=lambda p: p.relative_to(root).as_posix())
    return out


def _missing_error(missing: list, total: int, where: str) -> FileNotFoundError:
    shown = ", ".join(str(p) for p in missing[:_N_SHOWN])
    more = f" (and {len(missing) - _N_SHOWN} more)" if len(missing) > _N_SHOWN else ""
    return FileNotFoundError(
        f"{len(missing)} of {total} audio files listed {where} are missing: {shown}{more}"
    )


def _stratified_folds(labels: Sequence[str], n_folds: int, *, shuffle: bool, seed,
                      adapt: bool, where: str) -> tuple[int, ...]:
    """Fold id per clip: the index of the StratifiedKFold split where the clip is tested.

    With ``adapt``, ``n_folds`` is lowered (with a warning) to the smallest class
    size when that class cannot fill every fold; fewer than 2 clips in a class is
    a ValueError.
    """
    from sklearn.model_selection import StratifiedKFold

    n_folds = int(n_folds)
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    counts = Counter(labels)
    if adapt:
        smallest_class, smallest = min(counts.items(), key=lambda kv: (kv[1], kv[0]))
        if smallest < 2:
            raise ValueError(
                f"{where}: class {smallest_class!r} has {smallest} clip; every class "
                "needs at least 2 clips for stratified cross-validation"
            )
        if smallest < n_folds:
            warnings.warn(
                f"{where}: class {smallest_class!r} has only {smallest} clips, fewer than "
                f"n_folds={n_folds}; using {smallest} stratified folds instead",
                stacklevel=3,
            )
            n_folds = smallest
    elif max(counts.values()) < n_folds:
        raise ValueError(
            f"{where}: {n_folds} stratified folds need at least {n_folds} clips in some "
            f"class; the largest class has {max(counts.values())}"
        )
    skf = StratifiedKFold(n_splits=n_folds, shuffle=bool(shuffle),
                          random_state=seed if shuffle else None)
    y = np.asarray(labels)
    folds = np.full(len(y), -1, dtype=np.int64)
    for k, (_, test) in enumerate(skf.split(np.zeros(len(y)), y)):
        folds[test] = k
    return tuple(folds.tolist())


def _made_folds(shuffle: bool, seed) -> str:
    """protocol_source of folds made by :func:`_stratified_folds`."""
    how = f"shuffled, seed {seed}" if shuffle else "unshuffled"
    return f"stratified folds made by randcnn_fast ({how})"


def _numeric_or_text_order(labels: Iterable[str]) -> tuple[str, ...]:
    """Distinct labels sorted numerically if all are integers, else as text."""
    distinct = set(labels)
    try:
        keyed = sorted(distinct, key=lambda s: (int(s), s))
    except ValueError:
        keyed = sorted(distinct)
    return tuple(keyed)


def _parse_int(value: str, what: str) -> int:
    text = value.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        as_float = float(text)
    except ValueError:
        as_float = float("nan")
    if as_float.is_integer():
        return int(as_float)
    raise ValueError(f"{what}: {value!r} is not an integer")


# --------------------------------------------------------------------------- loaders


def gtzan(root, lists_dir) -> Dataset:
    """Fault-filtered GTZAN with its fixed train/valid/test split (443/197/290 clips).

    Each list line is a path relative to ``root`` such as ``blues/blues.00029.wav``.
    When that ``.wav`` is absent but the same path with ``.au`` exists (the original
    distribution), the ``.au`` file is used. The label is the file name up to its
    first dot; ``classes`` is always the 10 genres of :data:`GTZAN_CLASSES`.

    Parameters
    ----------
    root : str or os.PathLike
        GTZAN audio folder, the one holding ``blues/``, ``classical/``... (the ``genres``
        folder of the original distribution).
    lists_dir : str or os.PathLike
        Folder holding ``train_filtered.txt``, ``valid_filtered.txt`` and
        ``test_filtered.txt``, as published in the public repository
        jongpillee/music_dataset_split (folder ``GTZAN_split``).

    Returns
    -------
    Dataset
        With ``split`` set.

    Raises
    ------
    FileNotFoundError
        When a list, the audio folder or a listed clip is missing.

    Examples
    --------
    >>> from pathlib import Path
    >>> for part, genre in (("train", "blues"), ("valid", "jazz"), ("test", "rock")):
    ...     clip = Path("genres", genre, f"{genre}.00000.au")
    ...     clip.parent.mkdir(parents=True)
    ...     clip.touch()
    ...     _ = Path(f"{part}_filtered.txt").write_text(f"{genre}/{genre}.00000.wav\\n")
    >>> data = gtzan("genres", lists_dir=".")
    >>> data.labels, data.split, data.n_classes
    (('blues', 'jazz', 'rock'), ('train', 'valid', 'test'), 10)
    """
    lists_dir = absolute_path(lists_dir)
    list_files = {s: lists_dir / fn for s, fn in GTZAN_LISTS.items()}
    absent = [p for p in list_files.values() if not p.is_file()]
    if absent:
        names = ", ".join(str(p) for p in absent)
        raise FileNotFoundError(f"GTZAN split list(s) not found: {names}; {_GTZAN_LISTS_SOURCE}")
    root = require_folder(root, "GTZAN audio")

    paths, labels, split, missing = [], [], [], []
    seen: dict[str, str] = {}
    for part, list_file in list_files.items():
        with open(list_file, encoding="utf-8") as fh:
            for lineno, raw in enumerate(fh, start=1):
                rel = raw.strip()
                if not rel:
                    continue
                if rel in seen:
                    raise ValueError(
                        f"{list_file}:{lineno}: {rel!r} is already listed in the "
                        f"{seen[rel]} list"
                    )
                seen[rel] = part
                label = Path(rel).name.split(".", 1)[0]
                if label not in GTZAN_CLASSES:
                    raise ValueError(
                        f"{list_file}:{lineno}: {rel!r} gives label {label!r}, which is not "
                        f"a GTZAN genre {list(GTZAN_CLASSES)}"
                    )
                path = root / rel
                if not path.is_file():
                    au = path.with_suffix(".au")
                    if au.is_file():
                        path = au
                    else:
                        missing.append(path)
                paths.append(str(path))
                labels.append(label)
                split.append(part)
    if missing:
        err = _missing_error(missing, len(paths), f"in the GTZAN lists under {root}")
        if (root / "genres").is_dir():
            err = FileNotFoundError(f"{err}; {root} has a 'genres' folder: "
                                    "did you mean root=.../genres?")
        raise err
    if not paths:
        raise ValueError(f"the GTZAN split lists in {lists_dir} are empty")
    return Dataset("gtzan", tuple(paths), tuple(labels), GTZAN_CLASSES, split=tuple(split),
                   protocol_source=f"the fault-filtered split lists in {lists_dir}")


def extended_ballroom(root, *, shuffle: bool = False, seed: int = 0) -> Dataset:
    """Extended Ballroom (``<Class>/<id>.mp3``) with 10 stratified cross-validation folds.

    Class folders must be among :data:`BALLROOM_CLASSES`; missing ones are dropped from
    ``classes`` (the order of the rest is kept). Files are sorted by relative path and
    ``StratifiedKFold(10, shuffle=shuffle, random_state=seed if shuffle else None)``
    assigns fold ids 0..9 (the paper used unshuffled folds). Any extension of
    :data:`AUDIO_EXTENSIONS` is accepted.

    Parameters
    ----------
    root : str or os.PathLike
        The folder holding the class folders.
    shuffle : bool
        Shuffle before making the folds.
    seed : int
        The shuffle's seed.

    Returns
    -------
    Dataset
        With ``folds`` set.

    Raises
    ------
    ValueError
        For a class folder not in :data:`BALLROOM_CLASSES`, or no audio.

    Examples
    --------
    >>> from pathlib import Path
    >>> for dance in ("Tango", "Waltz"):
    ...     Path("ballroom", dance).mkdir(parents=True)
    ...     for i in range(10):
    ...         Path("ballroom", dance, f"{i}.mp3").touch()
    >>> data = extended_ballroom("ballroom")
    >>> data.classes, data.n_clips, sorted(set(data.folds)) == list(range(10))
    (('Tango', 'Waltz'), 20, True)
    """
    root = require_folder(root, "Extended Ballroom")
    by_class = _class_folders(root, AUDIO_EXTENSIONS)
    unknown = sorted(set(by_class) - set(BALLROOM_CLASSES))
    if unknown:
        raise ValueError(
            f"{root}: unknown Extended Ballroom class folder(s) {unknown}; expected "
            f"folders named among {list(BALLROOM_CLASSES)}"
        )
    if not by_class:
        raise ValueError(
            f"{root}: no audio files found in class folders {list(BALLROOM_CLASSES)}"
        )
    files = sorted(
        ((p.relative_to(root).as_posix(), c) for c, ps in by_class.items() for p in ps)
    )
    paths = tuple(str(root / rel) for rel, _ in files)
    labels = tuple(c for _, c in files)
    classes = tuple(c for c in BALLROOM_CLASSES if c in by_class)
    folds = _stratified_folds(labels, 10, shuffle=shuffle, seed=seed, adapt=False,
                              where=f"Extended Ballroom at {root}")
    return Dataset("extended_ballroom", paths, labels, classes, folds=folds,
                   protocol_source=_made_folds(shuffle, seed))


def urbansound8k(root) -> Dataset:
    """UrbanSound8K with its 10 official folds (fold ids 1..10).

    Reads ``root/metadata/UrbanSound8K.csv``; clip ``slice_file_name`` of fold ``f`` is
    ``root/audio/fold{f}/{slice_file_name}``. Classes are ordered by ``classID``,
    labels are the ``class`` column, clips keep the CSV order.

    Parameters
    ----------
    root : str or os.PathLike
        The folder holding ``metadata/`` and ``audio/``.

    Returns
    -------
    Dataset
        With ``folds`` set.

    Raises
    ------
    FileNotFoundError
        When the metadata or a listed clip is missing (with a hint for a near-miss root).

    Examples
    --------
    >>> from pathlib import Path
    >>> Path("us8k/metadata").mkdir(parents=True)
    >>> Path("us8k/audio/fold1").mkdir(parents=True)
    >>> Path("us8k/audio/fold1/100-3-0-0.wav").touch()
    >>> _ = Path("us8k/metadata/UrbanSound8K.csv").write_text(
    ...     "slice_file_name,fold,classID,class\\n100-3-0-0.wav,1,3,dog_bark\\n")
    >>> data = urbansound8k("us8k")
    >>> data.labels, data.folds
    (('dog_bark',), (1,))
    """
    root = require_folder(root, "UrbanSound8K")
    csv_path = root / "metadata" / "UrbanSound8K.csv"
    if not csv_path.is_file():
        raise FileNotFoundError(
            f"UrbanSound8K metadata not found: looked for {csv_path} (root/metadata/"
            f"UrbanSound8K.csv next to root/audio/fold1..fold10){_urbansound8k_hint(root)}"
        )
    columns, rows = read_csv(csv_path)
    require_columns(columns, ("slice_file_name", "fold", "classID", "class"), csv_path)
    if not rows:
        raise ValueError(f"{csv_path} lists no clips")

    paths, labels, folds, missing = [], [], [], []
    class_of_id: dict[int, str] = {}
    for lineno, row in enumerate(rows, start=2):
        where = f"{csv_path}:{lineno}"
        fold = _parse_int(row["fold"] or "", f"{where} fold")
        class_id = _parse_int(row["classID"] or "", f"{where} classID")
        name = (row["class"] or "").strip()
        file_name = (row["slice_file_name"] or "").strip()
        if not name or not file_name:
            raise ValueError(f"{where}: empty slice_file_name or class")
        if class_of_id.setdefault(class_id, name) != name:
            raise ValueError(
                f"{where}: classID {class_id} is {name!r} here but "
                f"{class_of_id[class_id]!r} earlier"
            )
        path = root / "audio" / f"fold{fold}" / file_name
        if not path.is_file():
            missing.append(path)
        paths.append(str(path))
        labels.append(name)
        folds.append(fold)
    if missing:
        raise _missing_error(missing, len(paths), f"in {csv_path}")
    names = [class_of_id[i] for i in sorted(class_of_id)]
    if len(set(names)) != len(names):
        raise ValueError(f"{csv_path}: one class name has several classIDs: {class_of_id}")
    return Dataset("urbansound8k", tuple(paths), tuple(labels), tuple(names),
                   folds=tuple(folds), protocol_source=f"the official folds in {csv_path}")


def _urbansound8k_hint(root: Path) -> str:
    """'; did you mean root=...?' where the metadata lies where a near miss of root puts it:
    root one level too high, or the audio folder given as root."""
    for candidate in (root / "UrbanSound8K", root.parent):
        if (candidate / "metadata" / "UrbanSound8K.csv").is_file():
            return f"; did you mean root={candidate}?"
    return ""


def folder(root, *, extensions=AUDIO_EXTENSIONS, n_folds: int = 5, shuffle: bool = True,
           seed: int = 0, name: str | None = None) -> Dataset:
    """Any folder-per-class tree: ``root/<class>/**/<clip>.<ext>``.

    Classes are the sub-folders holding audio, sorted by name; files are searched
    recursively within each class folder and sorted by relative path (hidden files
    and folders are skipped). Fold ids 0..n_folds-1 come from
    ``StratifiedKFold(n_folds, shuffle=shuffle, random_state=seed if shuffle else None)``;
    when a class has fewer clips than ``n_folds`` the largest feasible number of
    folds is used, with a warning.

    Parameters
    ----------
    root : str or os.PathLike
        The folder holding one folder per class.
    extensions : str or sequence of str
        The audio files' extensions (case-insensitive).
    n_folds : int
        Cross-validation folds to make.
    shuffle : bool
        Shuffle before making the folds.
    seed : int
        The shuffle's seed.
    name : str, optional
        The dataset's name; the folder's name when None.

    Returns
    -------
    Dataset
        With ``folds`` set.

    Raises
    ------
    FileNotFoundError, ValueError
        For a missing folder, no audio, empty class folders or audio outside them.

    Examples
    --------
    >>> from pathlib import Path
    >>> for label in ("dog", "cat"):
    ...     Path("animals", label).mkdir(parents=True)
    ...     for i in range(5):
    ...         Path("animals", label, f"{i}.wav").touch()
    >>> data = folder("animals")
    >>> data.name, data.classes, data.n_clips, sorted(set(data.folds))
    ('animals', ('cat', 'dog'), 10, [0, 1, 2, 3, 4])
    """
    root = require_folder(root, "dataset")
    exts = normalise_extensions(extensions)
    by_class = _class_folders(root, exts)
    if not by_class:
        raise ValueError(
            f"{root}: no class folders with audio files ({', '.join(exts)}) found"
        )
    empty = sorted(p.name for p in root.iterdir()
                   if p.is_dir() and not p.name.startswith(".") and p.name not in by_class)
    if empty:
        warnings.warn(
            f"{root}: class folder(s) {empty[:_N_SHOWN]} hold no audio files "
            f"({', '.join(exts)}) and are left out",
            stacklevel=2,
        )
    loose = [p for p in root.iterdir()
             if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in exts]
    if loose:
        warnings.warn(
            f"{root}: ignoring {len(loose)} audio file(s) not inside a class folder",
            stacklevel=2,
        )
    classes = tuple(sorted(by_class))
    paths, labels = [], []
    for c in classes:
        for p in by_class[c]:
            paths.append(str(p))
            labels.append(c)
    folds = _stratified_folds(labels, n_folds, shuffle=shuffle, seed=seed, adapt=True,
                              where=str(root))
    return Dataset(name if name is not None else root.name, tuple(paths), tuple(labels),
                   classes, folds=folds, protocol_source=_made_folds(shuffle, seed))


def manifest(csv_path, *, path_column: str = "path", label_column: str = "label",
             fold_column: str | None = None, split_column: str | None = None,
             n_folds: int = 5, seed: int = 0, shuffle: bool = True,
             name: str | None = None) -> Dataset:
    """A CSV manifest with a path and a label per clip.

    Relative paths are relative to the CSV's folder. The protocol comes from
    ``fold_column`` (integer fold ids) if given, else from ``split_column`` (values
    ``train``/``valid``/``test``; ``validation`` and ``val`` mean ``valid``; case and
    surrounding spaces are ignored; not every split has to occur), else from a column
    named ``fold`` when the CSV has one, else stratified folds are made as in
    :func:`folder`. A path listed twice is an error. Classes are the distinct labels sorted
    numerically when all are integers, else as text.

    Parameters
    ----------
    csv_path : str or os.PathLike
        The manifest.
    path_column, label_column : str
        The columns holding each clip's path and label.
    fold_column, split_column : str, optional
        The column holding the protocol.
    n_folds, seed, shuffle
        For folds made as :func:`folder` makes them.
    name : str, optional
        The dataset's name; the CSV's file name without extension when None.

    Returns
    -------
    Dataset
        With ``folds`` or ``split`` set.

    Raises
    ------
    FileNotFoundError, ValueError
        For a missing CSV, column or clip, a bad split value, or a path listed twice.

    Examples
    --------
    >>> from pathlib import Path
    >>> for clip in ("a.wav", "b.wav", "c.wav"):
    ...     Path(clip).touch()
    >>> _ = Path("clips.csv").write_text(
    ...     "path,label,part\\na.wav,cat,train\\nb.wav,dog,train\\nc.wav,cat,Test\\n")
    >>> data = manifest("clips.csv", split_column="part")
    >>> data.name, data.classes, data.split
    ('clips', ('cat', 'dog'), ('train', 'train', 'test'))
    """
    csv_path = absolute_path(csv_path)
    if not csv_path.is_file():
        raise FileNotFoundError(f"manifest CSV not found: {csv_path}")
    columns, rows = read_csv(csv_path)
    if fold_column is None and split_column is None and DEFAULT_FOLD_COLUMN in columns:
        fold_column = DEFAULT_FOLD_COLUMN
    wanted = [path_column, label_column]
    if fold_column is not None:
        wanted.append(fold_column)
    elif split_column is not None:
        wanted.append(split_column)
    require_columns(columns, wanted, csv_path)
    if not rows:
        raise ValueError(f"{csv_path} lists no clips")

    base = csv_path.parent
    paths, labels, folds, split, missing, bad_split = [], [], [], [], [], []
    for lineno, row in enumerate(rows, start=2):
        where = f"{csv_path}:{lineno}"
        rel = (row[path_column] or "").strip()
        label = (row[label_column] or "").strip()
        if not rel:
            raise ValueError(f"{where}: empty {path_column!r}")
        if not label:
            raise ValueError(f"{where}: empty {label_column!r}")
        path = listed_path(base, rel)
        if not path.is_file():
            missing.append(path)
        paths.append(str(path))
        labels.append(label)
        if fold_column is not None:
            folds.append(_parse_int(row[fold_column] or "", f"{where} {fold_column!r}"))
        elif split_column is not None:
            value = (row[split_column] or "").strip()
            tag = _SPLIT_ALIASES.get(value.lower())
            if tag is None:
                bad_split.append((lineno, value))
            split.append(tag)
    if bad_split:
        shown = ", ".join(f"line {ln}: {v!r}" for ln, v in bad_split[:_N_SHOWN])
        raise ValueError(
            f"{csv_path}: column {split_column!r} must hold train/valid/test "
            f"(validation/val accepted as valid); {len(bad_split)} bad value(s): {shown}"
        )
    if missing:
        raise _missing_error(missing, len(paths), f"in {csv_path}")
    _refuse_repeated_paths(paths, csv_path)

    classes = _numeric_or_text_order(labels)
    if name is None:
        name = csv_path.stem
    if fold_column is not None:
        return Dataset(name, tuple(paths), tuple(labels), classes, folds=tuple(folds),
                       protocol_source=f"column {fold_column!r} of {csv_path}")
    if split_column is not None:
        return Dataset(name, tuple(paths), tuple(labels), classes, split=tuple(split),
                       protocol_source=f"column {split_column!r} of {csv_path}")
    folds_ = _stratified_folds(labels, n_folds, shuffle=shuffle, seed=seed, adapt=True,
                               where=str(csv_path))
    return Dataset(name, tuple(paths), tuple(labels), classes, folds=folds_,
                   protocol_source=_made_folds(shuffle, seed))


def _refuse_repeated_paths(paths: list[str], csv_path: Path) -> None:
    """A clip listed twice would be counted twice, in one fold or in two (trained on and
    tested): refuse it, naming the lines."""
    lines: dict[str, list[int]] = {}
    for lineno, path in enumerate(paths, start=2):
        lines.setdefault(path, []).append(lineno)
    repeated = [(p, ln) for p, ln in lines.items() if len(ln) > 1]
    if repeated:
        shown = "; ".join(f"{p} on lines {', '.join(map(str, ln))}"
                          for p, ln in repeated[:_N_SHOWN])
        raise ValueError(f"{csv_path}: {len(repeated)} path(s) listed more than once: {shown}; "
                         "list each clip once")


def fsdd(root) -> Dataset:
    """The Free Spoken Digit Dataset with its official train/test split.

    Parameters
    ----------
    root : str or os.PathLike
        The folder holding ``labels.csv`` (columns path, digit, speaker, official_split)
        and the recordings.

    Returns
    -------
    Dataset
        Classes ``"0"`` to ``"9"`` (those present), ``split`` set.

    Raises
    ------
    FileNotFoundError
        For a missing folder, CSV or recording.

    Examples
    --------
    >>> from pathlib import Path
    >>> Path("fsdd").mkdir()
    >>> for clip in ("0_jackson_0.wav", "1_jackson_0.wav"):
    ...     (Path("fsdd") / clip).touch()
    >>> _ = Path("fsdd/labels.csv").write_text(
    ...     "path,digit,speaker,official_split\\n"
    ...     "0_jackson_0.wav,0,jackson,test\\n1_jackson_0.wav,1,jackson,train\\n")
    >>> fsdd("fsdd").split
    ('test', 'train')
    """
    root = require_folder(root, "FSDD")
    return manifest(root / "labels.csv", label_column="digit",
                    split_column="official_split", name="fsdd")


#: Loaders reachable by name through :func:`load`.
DATASETS = {
    "gtzan": gtzan,
    "extended_ballroom": extended_ballroom,
    "urbansound8k": urbansound8k,
    "fsdd": fsdd,
}


def load(name_or_path, **kwargs) -> Dataset:
    """Load a dataset by name or by path.

    A name among :data:`DATASETS` (``"gtzan"``, ``"extended_ballroom"``,
    ``"urbansound8k"``, ``"fsdd"``; case-insensitive, ``-`` allowed for ``_``) calls
    that loader with ``kwargs`` (e.g. ``load("gtzan", root=..., lists_dir=...)``).
    Otherwise the argument is a path: a ``.csv`` file goes to :func:`manifest`, a
    folder to :func:`folder`, each with ``kwargs``.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        A dataset name, a CSV manifest or a folder-per-class tree.
    **kwargs
        Passed to the loader.

    Returns
    -------
    Dataset
        What the loader returns.

    Raises
    ------
    FileNotFoundError
        For a path that is neither a folder nor a file, listing the names.

    Examples
    --------
    >>> from pathlib import Path
    >>> for label in ("hi", "lo"):
    ...     Path("tones", label).mkdir(parents=True)
    ...     for i in range(2):
    ...         Path("tones", label, f"{i}.flac").touch()
    >>> load("tones", n_folds=2).n_clips
    4
    """
    if isinstance(name_or_path, str):
        key = name_or_path.strip().lower().replace("-", "_")
        if key in DATASETS:
            return DATASETS[key](**kwargs)
    path = absolute_path(name_or_path)
    if path.is_dir():
        return folder(path, **kwargs)
    if path.is_file():
        if path.suffix.lower() == ".csv":
            return manifest(path, **kwargs)
        raise ValueError(f"{path}: cannot load a dataset from this file (expected a .csv "
                         "manifest or a folder)")
    raise FileNotFoundError(
        f"{name_or_path!r} is neither a dataset name ({', '.join(DATASETS)}) nor an "
        f"existing path ({path})"
    )
