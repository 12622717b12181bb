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
@pytest.mark.parametrize("arrangement", [None, *embedder_module.ARRANGEMENTS])
def test_files_in_order_equal_one_at_a_time(files, arch, n_threads, arrangement, monkeypatch):
    # None: not chosen yet, so turns of one file each way (A B B A), then the faster way.
    monkeypatch.setattr(embedder_module, "TRIAL_FILES", 1)
    files = files + files[::-1]  # 14 files: 8 turns' worth
    embedder = rf.Embedder(arch, size="small", n_threads=n_threads)
    embedder._arrangement = arrangement
    single = rf.Embedder(arch, size="small", n_threads=1)
    results = list(embedder.embed_files(files))
    assert [path for path, _ in results] == files
    for path, result in results:
        if path.endswith("clip3.wav"):
            assert isinstance(result, rf.AudioError) and "not audio" in str(result)
        else:
            np.testing.assert_array_equal(result.vector, single.embed_file(path).vector)
    if n_threads > 1:
        assert embedder._arrangement in embedder_module.ARRANGEMENTS  # kept for the next list
    else:
        assert embedder._arrangement == arrangement  # one thread: nothing to arrange


def test_a_short_list_runs_side_by_side_until_a_choice_is_made(files, monkeypatch):
    embedder = rf.Embedder("sample_level", size="small", n_threads=2)
    chosen = []
    monkeypatch.setattr(embedder, "_arranged", lambda name, paths, workers: chosen.append(name)
                        or iter(()))
    list(embedder.embed_files(files))  # 7 files: fewer than 8 turns' worth
    assert chosen == ["side_by_side"] and embedder._arrangement is None


def test_a_list_of_paths_raises_the_first_bad_files_error(files):
    with pytest.raises(rf.AudioError, match="clip3.wav: not audio"):
        rf.Embedder("sample_level", size="small", n_threads=2).embed(files)
    good = [p for p in files if not p.endswith("clip3.wav")]
    batch = rf.Embedder("sample_level", size="small", n_threads=2).embed(good)
    single = rf.Embedder("sample_level", size="small", n_threads=1)
    np.testing.assert_array_equal(batch, np.stack([single.embed(p) for p in good]))


def test_big_networks_run_one_clip_at_a_time(monkeypatch):
    assert rf.Embedder("sample_level", size="paper", n_threads=2)._clips_at_once(10) == 1
    monkeypatch.setattr(embedder_module, "CLIP_PARALLEL_MACS", 0)
    assert rf.Embedder("sample_level", size="small", n_threads=2)._clips_at_once(10) == 1
    assert rf.Embedder("sample_level", size="small", n_threads=0)._clips_at_once(1) == 1


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_a_batch_of_small_clips_equals_one_clip_at_a_time(n_threads):
    batch = (0.1 * np.random.default_rng(5).standard_normal((5, 9000))).astype(np.float32)
    embedder = rf.Embedder("sample_level", size="small", n_threads=n_threads)
    single = rf.Embedder("sample_level", size="small", n_threads=1)
    np.testing.assert_array_equal(embedder.embed(batch, sr=12000),
                                  np.stack([single.embed(row, sr=12000) for row in batch]))


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("large", [(), ("temporal", "sample_level")])
def test_many_configurations_in_one_pass_equal_one_at_a_time(files, tmp_path, monkeypatch,
                                                             n_threads, large):
    """evaluate's feature step: each file decoded once, its log-mel shared between the
    spectrogram models (two presets), small networks on the workers, "large" ones (here made
    so by their multiply-adds) on every thread, every failure recorded per configuration."""
    from randcnn_fast.features.cache import MFCC, FeatureConfig, configs_features, dataset_features
    from randcnn_fast.features.stage_clock import StageClock

    if large:
        threshold = min(rf.Embedder(a, size="small").describe().macs for a in large)
        monkeypatch.setattr(embedder_module, "CLIP_PARALLEL_MACS", threshold)
    configs = [FeatureConfig("sample_level", seed=1), FeatureConfig("temporal"),
               FeatureConfig("vgg", seed=2), FeatureConfig("vgg", logmel_preset="librosa"),
               FeatureConfig(MFCC)]
    clock = StageClock()
    together = configs_features(files, configs, cache_dir=tmp_path / "a", n_threads=n_threads,
                                progress=False, clock=clock)
    for config in configs:
        alone = dataset_features(files, config, cache_dir=tmp_path / "b", n_threads=1,
                                 progress=False)
        np.testing.assert_array_equal(together[config][0], alone[0])
        assert together[config][1] == alone[1] and together[config][2] == alone[2]
        assert [f["path"] for f in alone[1]] == [files[3]]
    assert sorted(clock.seconds) == ["decode", "forward sample_level small seed 1",
                                     "forward temporal small seed 0", "forward vgg small seed 0",
                                     "forward vgg small seed 2", "front-end"]
    # A second pass reads the cache: nothing decoded but the unreadable file, no network run.
    again = StageClock()
    cached = configs_features(files, configs, cache_dir=tmp_path / "a", n_threads=n_threads,
                              progress=False, clock=again)
    assert sorted(again.seconds) == ["decode"]
    for config in configs:
        np.testing.assert_array_equal(cached[config][0], together[config][0])


def test_one_pass_decodes_each_file_once_and_computes_each_log_mel_once(files, tmp_path,
                                                                        monkeypatch):
    from randcnn_fast.features import cache
    from randcnn_fast.frontend import spectrogram

    decoded, logmels = [], []
    decode, logmel = cache.decode_file, spectrogram.logmel
    monkeypatch.setattr(cache, "decode_file", lambda p, **k: decoded.append(p) or decode(p, **k))
    monkeypatch.setattr(spectrogram, "logmel", lambda *a, **k: logmels.append(1) or logmel(*a, **k))
    configs = [cache.FeatureConfig(a, seed=s) for a in ("vgg", "temporal", "sample_level")
               for s in (0, 1)]
    cache.configs_features(files, configs, cache_dir=tmp_path, n_threads=2, progress=False)
    assert sorted(decoded) == sorted(files)
    assert len(logmels) == len(files) - 1  # one per readable file, shared by four networks
