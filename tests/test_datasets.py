"""Tests of randcnn_fast.datasets.loaders: fixture trees for every layout, plus the shared FSDD.

The loaders never decode audio, so most fixtures are empty files; the folder test
uses real (tiny) wav files to show nothing changes with actual audio.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from randcnn_fast.datasets import loaders as ds
from randcnn_fast.datasets.loaders import Dataset

FSDD_DIR = Path(__file__).resolve().parents[1].parent / "shared/data/fsdd"


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def write_csv(path: Path, header, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def fold_class_table(d: Dataset) -> dict[int, Counter]:
    table: dict[int, Counter] = {}
    for f, lab in zip(d.folds, d.labels):
        table.setdefault(f, Counter())[lab] += 1
    return table


# --------------------------------------------------------------------------- Dataset


def small(**kw) -> Dataset:
    args = dict(name="toy", paths=["/a/1.wav", "/a/2.wav", "/b/3.wav", "/b/4.wav"],
                labels=["b", "a", "b", "b"], classes=["b", "a"], folds=[0, 1, 0, 1])
    args.update(kw)
    return Dataset(**args)


def test_dataset_basics():
    d = small()
    assert d.paths == ("/a/1.wav", "/a/2.wav", "/b/3.wav", "/b/4.wav")
    assert isinstance(d.labels, tuple) and isinstance(d.classes, tuple)
    assert d.folds == (0, 1, 0, 1) and d.split is None
    assert d.y.dtype == np.int64
    assert d.y.tolist() == [0, 1, 0, 0]
    assert d.n_clips == 4 and d.n_classes == 2
    assert d.protocol_kind == "folds"
    assert d.class_counts() == {"b": 3, "a": 1}
    r = repr(d)
    assert "toy" in r and "n_clips=4" in r and "b: 3" in r and "a: 1" in r
    assert "0: 2" in r and "1: 2" in r
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.name = "other"  # type: ignore[misc]

    s = small(folds=None, split=["train", "valid", "test", "train"])
    assert s.protocol_kind == "split"
    assert "train: 2" in repr(s) and "valid: 1" in repr(s) and "test: 1" in repr(s)
    assert hash(s) == hash(small(folds=None, split=("train", "valid", "test", "train")))


@pytest.mark.parametrize(
    "kw, exc, msg",
    [
        (dict(split=["train"] * 4), ValueError, "exactly one of folds and split"),
        (dict(folds=None), ValueError, "exactly one of folds and split"),
        (dict(labels=["a", "b", "a"]), ValueError, "4 paths but 3 labels"),
        (dict(folds=[0, 1, 0]), ValueError, "4 paths but 3 fold ids"),
        (dict(labels=["a", "c", "a", "a"]), ValueError, "['c'] are not in classes"),
        (dict(classes=["a", "b", "a"]), ValueError, "repeated classes"),
        (dict(folds=[0, 1, 0.5, 1]), TypeError, "fold ids must be integers"),
        (dict(folds=None, split=["train", "dev", "test", "test"]), ValueError, "'dev'"),
        (dict(folds=None, split=["train", "test"]), ValueError, "4 paths but 2 split tags"),
    ],
)
def test_dataset_validation(kw, exc, msg):
    with pytest.raises(exc) as info:
        small(**kw)
    assert msg in str(info.value)


def test_dataset_subset():
    d = small()
    by_mask = d.subset(np.array([True, False, True, False]))
    assert by_mask.paths == ("/a/1.wav", "/b/3.wav")
    assert by_mask.folds == (0, 0)
    assert by_mask.classes == d.classes and by_mask.name == d.name
    by_idx = d.subset([3, 1, -4])
    assert by_idx.paths == ("/b/4.wav", "/a/2.wav", "/a/1.wav")
    assert by_idx.y.tolist() == [0, 1, 0]
    assert d.subset(np.array(d.folds) == 1).n_clips == 2
    empty = d.subset([])
    assert empty.n_clips == 0 and empty.classes == d.classes and empty.y.shape == (0,)
    s = small(folds=None, split=["train", "valid", "test", "train"])
    assert s.subset(np.array(s.split) == "train").split == ("train", "train")
    with pytest.raises(ValueError, match="mask has 3 entries"):
        d.subset([True, False, True])
    with pytest.raises(IndexError, match="out of range"):
        d.subset([0, 4])
    with pytest.raises(TypeError, match="boolean mask or integer indices"):
        d.subset([0.5])


# --------------------------------------------------------------------------- GTZAN


def make_gtzan(tmp_path: Path, per_split: dict[str, list[str]], *, ext=".wav",
               lines_suffix="\n") -> tuple[Path, Path]:
    root, lists = tmp_path / "genres", tmp_path / "lists"
    lists.mkdir(parents=True, exist_ok=True)
    for part, rels in per_split.items():
        for rel in rels:
            touch(root / Path(rel).with_suffix(ext))
        (lists / f"{part}_filtered.txt").write_text(lines_suffix.join(rels) + lines_suffix)
    return root, lists


def gtzan_lists(counts=(443, 197, 290)) -> dict[str, list[str]]:
    """Synthetic lists of distinct clips with the published sizes."""
    clips = [f"{g}/{g}.{i:05d}.wav" for i in range(100) for g in ds.GTZAN_CLASSES]
    out, start = {}, 0
    for part, n in zip(("train", "valid", "test"), counts):
        out[part] = clips[start:start + n]
        start += n
    return out


def test_gtzan_split_counts_paths_labels(tmp_path):
    lists = gtzan_lists()
    root, lists_dir = make_gtzan(tmp_path, lists)
    d = ds.gtzan(root, lists_dir)
    assert d.name == "gtzan" and d.protocol_kind == "split" and d.folds is None
    assert d.n_clips == 930
    assert Counter(d.split) == {"train": 443, "valid": 197, "test": 290}
    assert d.classes == ("blues", "classical", "country", "disco", "hiphop",
                         "jazz", "metal", "pop", "reggae", "rock")
    assert d.paths[0] == str(root / lists["train"][0])
    assert all(os.path.isabs(p) and os.path.isfile(p) for p in d.paths)
    for p, lab in zip(d.paths, d.labels):
        assert Path(p).name.startswith(lab + ".")
        assert Path(p).parent.name == lab
    assert d.split[:443] == ("train",) * 443 and d.split[-1] == "test"


def test_gtzan_line_handling(tmp_path):
    """Whitespace, CRLF and blank lines are ignored; no character is dropped from a last
    line without a newline."""
    root, lists_dir = tmp_path / "g", tmp_path / "l"
    for rel in ("blues/blues.00000.wav", "rock/rock.00001.wav", "pop/pop.00002.wav"):
        touch(root / rel)
    lists_dir.mkdir()
    (lists_dir / "train_filtered.txt").write_text("  blues/blues.00000.wav \r\n\n\n")
    (lists_dir / "valid_filtered.txt").write_text("\nrock/rock.00001.wav")  # no final newline
    (lists_dir / "test_filtered.txt").write_text("pop/pop.00002.wav\n   \n")
    d = ds.gtzan(str(root), str(lists_dir))
    assert d.labels == ("blues", "rock", "pop")
    assert d.split == ("train", "valid", "test")
    assert d.paths[1] == str(root / "rock/rock.00001.wav")
    assert d.y.tolist() == [0, 9, 7]


def test_gtzan_au_fallback(tmp_path):
    lists = gtzan_lists((20, 10, 10))
    root, lists_dir = make_gtzan(tmp_path, lists, ext=".au")
    touch(root / lists["test"][0])  # one .wav present: used in preference
    d = ds.gtzan(root, lists_dir)
    assert d.paths[-10] == str(root / lists["test"][0])
    assert all(p.endswith(".au") for i, p in enumerate(d.paths) if i != 30)
    assert d.paths[0] == str(root / "blues/blues.00000.au")


def test_gtzan_missing_list_names_the_source(tmp_path):
    root, lists_dir = make_gtzan(tmp_path, gtzan_lists((5, 5, 5)))
    (lists_dir / "valid_filtered.txt").unlink()
    with pytest.raises(FileNotFoundError) as info:
        ds.gtzan(root, lists_dir)
    msg = str(info.value)
    assert str(lists_dir / "valid_filtered.txt") in msg
    assert "train_filtered" not in msg.split(";")[0]
    assert "jongpillee/music_dataset_split" in msg
    assert "GTZAN_split" in msg and "lists_dir" in msg
    with pytest.raises(FileNotFoundError, match="jongpillee/music_dataset_split"):
        ds.gtzan(root, tmp_path / "nowhere")


def test_gtzan_missing_audio(tmp_path):
    lists = gtzan_lists((12, 4, 4))
    root, lists_dir = make_gtzan(tmp_path, lists)
    for rel in lists["train"][:7]:
        (root / rel).unlink()
    with pytest.raises(FileNotFoundError) as info:
        ds.gtzan(root, lists_dir)
    msg = str(info.value)
    assert "7 of 20" in msg and "missing" in msg
    assert str(root / lists["train"][0]) in msg and "2 more" in msg
    # Pointing at the folder above 'genres' gets a hint.
    with pytest.raises(FileNotFoundError, match="did you mean root=.../genres"):
        ds.gtzan(tmp_path, lists_dir)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ds.gtzan(tmp_path / "absent", lists_dir)


def test_gtzan_bad_lines(tmp_path):
    root, lists_dir = make_gtzan(tmp_path, {"train": ["polka/polka.00000.wav"],
                                            "valid": ["rock/rock.00000.wav"],
                                            "test": ["rock/rock.00001.wav"]})
    with pytest.raises(ValueError, match="label 'polka', which is not a GTZAN genre"):
        ds.gtzan(root, lists_dir)
    root, lists_dir = make_gtzan(tmp_path, {"train": ["rock/rock.00000.wav"],
                                            "valid": ["rock/rock.00000.wav"],
                                            "test": ["rock/rock.00001.wav"]})
    with pytest.raises(ValueError, match="already listed in the train list"):
        ds.gtzan(root, lists_dir)


# --------------------------------------------------------------------------- Extended Ballroom

BALLROOM_SIZES = {"Waltz": 11, "Chacha": 13, "Samba": 10, "Jive": 12}
EXTS = (".mp3", ".wav", ".flac", ".ogg", ".au", ".aiff")


def make_ballroom(tmp_path: Path, sizes=BALLROOM_SIZES) -> Path:
    root = tmp_path / "ballroom"
    k = 0
    for cls, n in sizes.items():
        for i in range(n):
            touch(root / cls / f"{100 + 7 * i}{EXTS[k % len(EXTS)]}")
            k += 1
        touch(root / cls / "notes.txt")
        touch(root / cls / ".hidden.mp3")
    touch(root / "README.md")
    return root


def test_extended_ballroom(tmp_path):
    from sklearn.model_selection import StratifiedKFold

    root = make_ballroom(tmp_path)
    d = ds.extended_ballroom(root)
    assert d.name == "extended_ballroom" and d.protocol_kind == "folds"
    assert d.classes == ("Chacha", "Jive", "Samba", "Waltz")  # list order, absent dropped
    assert d.n_clips == sum(BALLROOM_SIZES.values())
    rel = [Path(p).relative_to(root).as_posix() for p in d.paths]
    assert rel == sorted(rel)
    assert all(Path(p).parent.name == lab for p, lab in zip(d.paths, d.labels))
    assert not any(p.endswith((".txt", ".hidden.mp3")) for p in d.paths)
    assert {Path(p).suffix for p in d.paths} == set(EXTS)
    # Unshuffled 10-fold StratifiedKFold over the sorted list; fold id = test split index.
    assert sorted(set(d.folds)) == list(range(10))
    expected = np.empty(d.n_clips, dtype=int)
    for k, (_, test) in enumerate(StratifiedKFold(10).split(np.zeros(d.n_clips), d.labels)):
        expected[test] = k
    assert list(d.folds) == expected.tolist()
    for counts in fold_class_table(d).values():
        assert set(counts) == set(d.classes)  # every class in every fold
    assert ds.extended_ballroom(root) == d


def test_extended_ballroom_shuffle(tmp_path):
    root = make_ballroom(tmp_path)
    plain = ds.extended_ballroom(root)
    a = ds.extended_ballroom(root, shuffle=True, seed=1)
    b = ds.extended_ballroom(root, shuffle=True, seed=1)
    c = ds.extended_ballroom(root, shuffle=True, seed=2)
    assert a.folds == b.folds
    assert a.folds != plain.folds and a.folds != c.folds
    assert a.paths == plain.paths and a.labels == plain.labels
    assert ds.extended_ballroom(root, seed=5).folds == plain.folds  # seed unused unshuffled
    for counts in fold_class_table(a).values():
        assert set(counts) == set(a.classes)


def test_extended_ballroom_all_classes_and_errors(tmp_path):
    root = make_ballroom(tmp_path, {c: 10 for c in reversed(ds.BALLROOM_CLASSES)})
    assert ds.extended_ballroom(root).classes == ds.BALLROOM_CLASSES
    touch(root / "Polka" / "1.mp3")
    with pytest.raises(ValueError) as info:
        ds.extended_ballroom(root)
    assert "unknown Extended Ballroom class" in str(info.value) and "Polka" in str(info.value)
    (tmp_path / "docs").mkdir()  # a folder without audio is not a class: ignored
    touch(tmp_path / "docs" / "x.pdf")
    with pytest.raises(ValueError, match="no audio files"):
        ds.extended_ballroom(tmp_path / "docs")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ds.extended_ballroom(tmp_path / "nope")


# --------------------------------------------------------------------------- UrbanSound8K

US8K_HEADER = ["slice_file_name", "fsID", "start", "end", "salience", "fold", "classID",
               "class"]


def make_us8k(tmp_path: Path) -> tuple[Path, list[list]]:
    root = tmp_path / "UrbanSound8K"
    rows = []
    ids = [(3, "dog_bark"), (0, "air_conditioner"), (9, "street_music"), (6, "gun_shot")]
    for fold in (1, 2, 3, 10):
        for j, (cid, cname) in enumerate(ids):
            fname = f"{1000 + j}-{cid}-0-{fold}.wav"
            rows.append([fname, 1000 + j, 0.0, 4.0, 1, fold, cid, cname])
            touch(root / "audio" / f"fold{fold}" / fname)
    write_csv(root / "metadata" / "UrbanSound8K.csv", US8K_HEADER, rows)
    return root, rows


def test_urbansound8k(tmp_path):
    root, rows = make_us8k(tmp_path)
    d = ds.urbansound8k(root)
    assert d.name == "urbansound8k" and d.protocol_kind == "folds"
    assert d.classes == ("air_conditioner", "dog_bark", "gun_shot", "street_music")
    assert d.labels == tuple(r[7] for r in rows)
    assert d.folds == tuple(r[5] for r in rows)
    assert d.paths[0] == str(root / "audio" / "fold1" / rows[0][0])
    assert d.paths[-1] == str(root / "audio" / "fold10" / rows[-1][0])
    assert Counter(d.folds) == {1: 4, 2: 4, 3: 4, 10: 4}
    assert ds.URBANSOUND8K_CLASSES[3] == "dog_bark" and len(ds.URBANSOUND8K_CLASSES) == 10


def test_urbansound8k_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="UrbanSound8K.csv"):
        touch(tmp_path / "empty" / "audio" / "x.wav")
        ds.urbansound8k(tmp_path / "empty")
    root, rows = make_us8k(tmp_path)
    (root / "audio" / "fold2" / rows[5][0]).unlink()
    with pytest.raises(FileNotFoundError) as info:
        ds.urbansound8k(root)
    assert "1 of 16" in str(info.value) and rows[5][0] in str(info.value)
    rows[5][7] = "siren"  # classID 0 now has two names
    write_csv(root / "metadata" / "UrbanSound8K.csv", US8K_HEADER, rows)
    with pytest.raises(ValueError, match="classID 0 is 'siren'"):
        ds.urbansound8k(root)
    write_csv(root / "metadata" / "UrbanSound8K.csv", US8K_HEADER[:-1], [r[:-1] for r in rows])
    with pytest.raises(ValueError, match=r"missing column\(s\) \['class'\]"):
        ds.urbansound8k(root)


# --------------------------------------------------------------------------- folder


def test_folder_with_real_wavs(tmp_path):
    sf = pytest.importorskip("soundfile")
    root = tmp_path / "sounds"
    sizes = {"cat": 6, "bird": 5, "dog": 7}
    for cls, n in sizes.items():
        for i in range(n):
            sub = root / cls / ("deep" if i % 2 else "") / f"c{i}.wav"
            sub.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(sub), np.zeros(64, dtype=np.float32), 8000)
    touch(root / "cat" / "c9.txt")
    d = ds.folder(root)
    assert d.name == "sounds" and d.classes == ("bird", "cat", "dog")
    assert d.n_clips == 18 and Counter(d.labels) == sizes
    assert str(root / "dog" / "deep" / "c1.wav") in d.paths
    rel = [Path(p).relative_to(root).as_posix() for p in d.paths]
    assert rel == sorted(rel)
    assert sorted(set(d.folds)) == [0, 1, 2, 3, 4]
    for counts in fold_class_table(d).values():
        assert set(counts) == set(d.classes)
    assert ds.folder(root).folds == d.folds  # deterministic
    assert ds.folder(root, seed=3).folds != d.folds
    with pytest.raises(ValueError, match="no class folders with audio"):
        ds.folder(root, extensions=("flac",))


def test_folder_fold_adaptation(tmp_path):
    root = tmp_path / "tree"
    for cls, n in {"a": 3, "b": 8}.items():
        for i in range(n):
            touch(root / cls / f"{i}.ogg")
    with pytest.warns(UserWarning, match="class 'a' has only 3 clips.*using 3"):
        d = ds.folder(root, n_folds=5, name="tiny")
    assert d.name == "tiny" and sorted(set(d.folds)) == [0, 1, 2]
    for counts in fold_class_table(d).values():
        assert set(counts) == {"a", "b"}
    unshuffled = ds.folder(root, n_folds=2, shuffle=False)
    assert ds.folder(root, n_folds=2, shuffle=False, seed=9).folds == unshuffled.folds
    touch(root / "c" / "only.au")
    with pytest.raises(ValueError, match="class 'c' has 1 clip"):
        ds.folder(root)
    with pytest.raises(ValueError, match="n_folds must be at least 2"):
        ds.folder(root, n_folds=1)


# --------------------------------------------------------------------------- manifest


def test_manifest_split_and_paths(tmp_path):
    data = tmp_path / "data"
    for name in ("x1.wav", "x2.wav", "x3.wav", "x4.wav", "x5.wav"):
        touch(data / "clips" / name)
    outside = touch(tmp_path / "elsewhere" / "abs.wav")
    rows = [["clips/x1.wav", "10", "Train"], ["clips/x2.wav", "9", " validation "],
            ["clips/x3.wav", "2", "val"], ["clips/x4.wav", "10", "test"],
            [str(outside), "2", "valid"], ["./clips/x5.wav", "9", "TRAIN"]]
    csv_path = write_csv(data / "meta.csv", ["file", "cls", "part"], rows)
    d = ds.manifest(csv_path, path_column="file", label_column="cls", split_column="part")
    assert d.name == "meta" and d.protocol_kind == "split"
    assert d.classes == ("2", "9", "10")  # numeric order
    assert d.split == ("train", "valid", "valid", "test", "valid", "train")
    assert d.paths[0] == str(data / "clips" / "x1.wav")
    assert d.paths[4] == str(outside) and d.paths[5] == str(data / "clips" / "x5.wav")
    assert d.y.tolist() == [2, 1, 0, 2, 0, 1]


def test_manifest_folds_and_generated_folds(tmp_path):
    rows = []
    for i in range(12):
        touch(tmp_path / f"{i}.wav")
        rows.append([f"{i}.wav", ["dog", "Cat", "ant"][i % 3], str(i % 4), "train"])
    csv_path = write_csv(tmp_path / "m.csv", ["path", "label", "fold", "split"], rows)
    d = ds.manifest(csv_path, fold_column="fold", split_column="split")  # fold wins
    assert d.protocol_kind == "folds" and d.folds == tuple(i % 4 for i in range(12))
    assert d.classes == ("Cat", "ant", "dog")  # text order
    csv_path = write_csv(tmp_path / "no_folds.csv", ["path", "label"], [r[:2] for r in rows])
    g = ds.manifest(csv_path, n_folds=4, seed=1)
    assert g.protocol_source == "stratified folds made by randcnn_fast (shuffled, seed 1)"
    assert sorted(set(g.folds)) == [0, 1, 2, 3]
    for counts in fold_class_table(g).values():
        assert set(counts) == set(g.classes)
    assert ds.manifest(csv_path, n_folds=4, seed=1).folds == g.folds
    assert ds.manifest(csv_path, n_folds=4, seed=2).folds != g.folds
    with pytest.warns(UserWarning, match="using 4"):
        ds.manifest(csv_path, n_folds=6)


def test_manifest_fold_column_is_used_when_present_and_can_be_named(tmp_path):
    rows = []
    for i in range(12):
        touch(tmp_path / f"{i}.wav")
        rows.append([f"{i}.wav", ["dog", "cat"][i % 2], str(1 + i % 3), str(7 + i % 2)])
    csv_path = write_csv(tmp_path / "labels.csv", ["path", "label", "fold", "session"], rows)
    d = ds.manifest(csv_path)  # no fold_column: the 'fold' column, not stratified folds
    assert d.folds == tuple(1 + i % 3 for i in range(12))
    assert d.protocol_source == f"column 'fold' of {csv_path}"
    assert d.describe_protocol() == f"3 folds 1-3 (4 clips each), from column 'fold' of {csv_path}"
    named = ds.load(csv_path, fold_column="session")
    assert named.folds == tuple(7 + i % 2 for i in range(12))
    assert named.describe_protocol() == (f"2 folds 7, 8 (6 clips each), from column 'session' "
                                         f"of {csv_path}")
    assert named.subset([0, 1]).protocol_source == named.protocol_source
    with pytest.raises(ValueError, match=r"missing column\(s\) \['speaker'\]"):
        ds.manifest(csv_path, fold_column="speaker")


def test_urbansound8k_metadata_missing_says_where_it_looked(tmp_path):
    root, _ = make_us8k(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        ds.urbansound8k(root / "audio")
    assert str(info.value).startswith(
        f"UrbanSound8K metadata not found: looked for {root / 'audio' / 'metadata' / 'UrbanSound8K.csv'}")
    assert str(info.value).endswith(f"did you mean root={root}?")
    assert ds.urbansound8k(root).describe_protocol().endswith(
        f"from the official folds in {root / 'metadata' / 'UrbanSound8K.csv'}")


def test_manifest_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest CSV not found: .*nope.csv"):
        ds.manifest(tmp_path / "nope.csv")
    touch(tmp_path / "a.wav")
    touch(tmp_path / "b.wav")
    rows = [["a.wav", "1", "train"], ["b.wav", "2", "dev"], ["a.wav", "2", "holdout"]]
    csv_path = write_csv(tmp_path / "m.csv", ["path", "label", "split"], rows)
    with pytest.raises(ValueError) as info:
        ds.manifest(csv_path, split_column="split")
    msg = str(info.value)
    assert "2 bad value(s)" in msg and "'dev'" in msg and "'holdout'" in msg
    assert "line 3" in msg
    with pytest.raises(ValueError, match=r"missing column\(s\) \['digit'\]"):
        ds.manifest(csv_path, label_column="digit")
    bad_fold = write_csv(tmp_path / "f.csv", ["path", "label", "fold"],
                         [["a.wav", "1", "one"]])
    with pytest.raises(ValueError, match="'one' is not an integer"):
        ds.manifest(bad_fold, fold_column="fold")
    missing = write_csv(tmp_path / "g.csv", ["path", "label"],
                        [["a.wav", "1"], ["gone.wav", "1"], ["b.wav", "2"]])
    with pytest.raises(FileNotFoundError, match="1 of 3 .*gone.wav"):
        ds.manifest(missing)


# --------------------------------------------------------------------------- FSDD and load


def make_fsdd(tmp_path: Path) -> Path:
    root = tmp_path / "fsdd"
    rows = []
    for digit in range(10):
        for spk in ("george", "jackson"):
            for i in range(3):
                rel = f"recordings/{digit}_{spk}_{i}.wav"
                touch(root / rel)
                rows.append([rel, digit, spk, "test" if i == 0 else "train"])
    write_csv(root / "labels.csv", ["path", "digit", "speaker", "official_split"], rows)
    return root


def test_fsdd_fixture(tmp_path):
    root = make_fsdd(tmp_path)
    d = ds.fsdd(root)
    assert d.name == "fsdd" and d.n_clips == 60
    assert d.classes == tuple(str(i) for i in range(10))
    assert Counter(d.split) == {"train": 40, "test": 20}
    assert d.paths[0] == str(root / "recordings" / "0_george_0.wav")


def test_fsdd_shared_data():
    if not (FSDD_DIR / "labels.csv").is_file():
        pytest.skip(f"shared FSDD not found at {FSDD_DIR}")
    pd = pytest.importorskip("pandas")
    d = ds.fsdd(FSDD_DIR)
    assert d.n_clips == 3000
    assert d.classes == tuple(str(i) for i in range(10))
    assert Counter(d.split) == {"train": 2700, "test": 300}
    table = pd.read_csv(FSDD_DIR / "labels.csv")
    assert list(d.labels) == table["digit"].astype(str).tolist()
    assert list(d.y) == table["digit"].tolist()
    assert all(os.path.isabs(p) for p in d.paths)
    assert ds.load("fsdd", root=FSDD_DIR) == d


def test_load_dispatch(tmp_path):
    fs = make_fsdd(tmp_path)
    assert ds.load("FSDD", root=fs).name == "fsdd"
    m = ds.load(fs / "labels.csv", label_column="digit", split_column="official_split")
    assert m.name == "labels" and m.protocol_kind == "split"
    assert ds.load(str(fs / "labels.csv"), label_column="digit").protocol_kind == "folds"
    ball = make_ballroom(tmp_path)
    assert ds.load("extended-ballroom", root=ball) == ds.extended_ballroom(ball)
    f = ds.load(ball, n_folds=3)
    assert f.classes == ("Chacha", "Jive", "Samba", "Waltz") and set(f.folds) == {0, 1, 2}
    us, _ = make_us8k(tmp_path)
    assert ds.load("urbansound8k", root=us).n_clips == 16
    root, lists_dir = make_gtzan(tmp_path, gtzan_lists((3, 3, 3)))
    assert ds.load("gtzan", root=root, lists_dir=lists_dir).n_clips == 9
    with pytest.raises(FileNotFoundError, match="neither a dataset name"):
        ds.load("mnist")
    with pytest.raises(ValueError, match="expected a .csv"):
        ds.load(fs / "recordings" / "0_george_0.wav")
