"""atomic_write: the final name holds a complete file or nothing, and no temporary is left."""
from __future__ import annotations

import pytest

from randcnn_fast.atomic import TMP_MARK, atomic_write


def test_the_file_appears_whole_at_the_end(tmp_path):
    final = tmp_path / "out.txt"
    with atomic_write(final) as tmp:
        tmp.write_text("complete")
        assert not final.exists() and TMP_MARK in tmp.name and tmp.parent == tmp_path
    assert final.read_text() == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    final = tmp_path / "out.txt"
    final.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(final) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert final.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_writer_that_wrote_nothing_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_write(tmp_path / "never.txt"):
            pass
    assert list(tmp_path.iterdir()) == []
