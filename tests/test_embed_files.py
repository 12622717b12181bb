"""Many files: Embedder.embed_files keeps the order, isolates failures, and gives the vectors of
one file at a time whether clips run side by side or one after another."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import randcnn_fast as rf
from randcnn_fast.features import embedder as embedder_module
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Seven clips of different lengths and rates, the fourth one not audio."""
    root = tmp_path_factory.mktemp("files")
    rng = np.random.default_rng(0)
    paths = []
    for i, sr in enumerate([8000, 12000, 22050, 16000, 44100, 12000, 48000]):
        path = root / f"clip{i}.wav"
        if i == 3:
            path.write_text("not audio")
        else:
            sf.write(path, (0.2 * rng.standard_normal(int(sr * (0.3 + 0.1 * i)))).astype(np.float32), sr)
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("arch", ["sample_level", "vgg"])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("side_by_side", [True, False])
def test_files_in_order_equal_one_at_a_time(files, arch, n_threads, side_by_side, monkeypatch):
    if not side_by_side:
        monkeypatch.setattr(embedder_module, "CLIP_PARALLEL_MACS", 0)
    embedder = rf.Embedder(arch, size="small", n_threads=n_threads)
    assert embedder._clips_at_once(len(files)) == (n_threads if side_by_side else 1)
    single = rf.Embedder(arch, size="small", n_threads=1)
    results = list(embedder.embed_files(files))
    assert [path for path, _ in results] == files
    for path, result in results:
        if path.endswith("clip3.wav"):
            assert isinstance(result, rf.AudioError) and "not audio" in str(result)
        else:
            np.testing.assert_array_equal(result.vector, single.embed_file(path).vector)


def test_a_list_of_paths_raises_the_first_bad_files_error(files):
    with pytest.raises(rf.AudioError, match="clip3.wav: not audio"):
        rf.Embedder("sample_level", size="small", n_threads=2).embed(files)
    good = [p for p in files if not p.endswith("clip3.wav")]
    batch = rf.Embedder("sample_level", size="small", n_threads=2).embed(good)
    single = rf.Embedder("sample_level", size="small", n_threads=1)
    np.testing.assert_array_equal(batch, np.stack([single.embed(p) for p in good]))


def test_big_networks_run_one_clip_at_a_time():
    assert rf.Embedder("sample_level", size="paper", n_threads=2)._clips_at_once(10) == 1
    assert rf.Embedder("sample_level", size="small", n_threads=0)._clips_at_once(1) == 1


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_a_batch_of_small_clips_equals_one_clip_at_a_time(n_threads):
    batch = (0.1 * np.random.default_rng(5).standard_normal((5, 9000))).astype(np.float32)
    embedder = rf.Embedder("sample_level", size="small", n_threads=n_threads)
    single = rf.Embedder("sample_level", size="small", n_threads=1)
    np.testing.assert_array_equal(embedder.embed(batch, sr=12000),
                                  np.stack([single.embed(row, sr=12000) for row in batch]))
