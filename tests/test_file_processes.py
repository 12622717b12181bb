"""Worker processes for many files and a tiny network: the vectors of one file at a time, bit
for bit, on every instruction set; errors per file; a dead worker costs only its file; a worker
that cannot start hands the list back to threads."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import randcnn_fast as rf
from randcnn_fast import _core
from randcnn_fast.features import embedder as embedder_module
from randcnn_fast.features.file_processes import FileProcesses, WorkerError
from randcnn_fast.features.ordered import attempt

TINY = ["temporal", "7x96"]  # under PROCESS_MACS at size small


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Nine clips of different lengths, rates and channel counts; the fourth is not audio and
    the seventh does not exist."""
    root = tmp_path_factory.mktemp("files")
    rng = np.random.default_rng(1)
    paths = []
    for i, sr in enumerate([8000, 12000, 22050, 16000, 44100, 12000, 48000, 8000, 24000]):
        path = root / f"clip{i}.wav"
        if i == 3:
            path.write_text("not audio")
        elif i != 6:
            shape = (int(sr * (0.2 + 0.1 * i)),) + ((2,) if i % 2 else ())
            sf.write(path, (0.2 * rng.standard_normal(shape)).astype(np.float32), sr)
        paths.append(str(path))
    return paths


@pytest.fixture
def in_processes(monkeypatch):
    """Any list of files runs in worker processes."""
    monkeypatch.setattr(embedder_module, "PROCESS_MIN_FILES", 1)


def assert_like_one_at_a_time(results, paths, arch):
    single = rf.Embedder(arch, size="small", n_threads=1)
    assert [path for path, _ in results] == paths
    for path, result in results:
        expected = attempt(single.embed_file, path)
        if isinstance(expected, Exception):
            assert type(result) is type(expected) and str(result) == str(expected)
        else:
            np.testing.assert_array_equal(result.vector, expected.vector)
            assert result.seconds == expected.seconds and result.warnings == expected.warnings


@pytest.mark.parametrize("arch", TINY)
def test_processes_give_the_vectors_and_errors_of_one_file_at_a_time(files, arch, in_processes):
    embedder = rf.Embedder(arch, size="small", n_threads=2)
    try:
        paths = files * 3
        results = list(embedder.embed_files(paths))
        assert embedder._arrangement == "processes" and embedder._processes.n_workers == 2
        assert_like_one_at_a_time(results, paths, arch)
        # The workers stay for the next list.
        workers = embedder._processes
        assert_like_one_at_a_time(list(embedder.embed_files(files[:2])), files[:2], arch)
        assert embedder._processes is workers
    finally:
        embedder.close()
    assert embedder._processes is None


@pytest.mark.parametrize("isa", _core.isa_info()["supported"])
def test_workers_run_the_parents_instruction_set(files, isa, in_processes):
    active = _core.isa_info()["active"]
    _core.set_isa(isa)
    try:
        embedder = rf.Embedder("temporal", size="small", n_threads=2)
        got = list(embedder.embed_files(files))
        embedder.close()
        assert_like_one_at_a_time(got, files, "temporal")
    finally:
        _core.set_isa(active)


def test_long_lists_of_tiny_networks_choose_processes_and_others_do_not(monkeypatch):
    chosen = []
    monkeypatch.setattr(embedder_module.Embedder, "_in_processes",
                        lambda self, paths, workers: chosen.append(self.arch) or iter(()))
    paths = [f"missing{i}.wav" for i in range(embedder_module.PROCESS_MIN_FILES)]
    for arch in rf.ARCHITECTURES:
        embedder = rf.Embedder(arch, size="small", n_threads=2)
        # The others forced side by side: no timing turns.
        embedder._arrangement = None if arch in TINY else "side_by_side"
        list(embedder.embed_files(paths))
        list(embedder.embed_files(paths[:-1]))  # one short of the length: threads
    assert sorted(chosen) == sorted(TINY)
    one_thread = rf.Embedder("temporal", size="small", n_threads=1)
    list(one_thread.embed_files(paths))
    assert sorted(chosen) == sorted(TINY)  # nothing side by side on one thread


def test_a_worker_that_dies_costs_only_the_file_it_held(files):
    embedder = rf.Embedder("temporal", size="small")
    pool = FileProcesses(embedder._file_job(), 2)
    try:
        pool.wait_ready()  # dying after its start: a file's failure, not the pool's
        victim = pool._workers[0].process
        victim.kill()
        victim.wait()
        paths = [files[0], files[1], files[2], files[4]]
        results = list(pool.run(paths))
        # Worker 0 was sent the first two files: the first is the one it "held".
        assert isinstance(results[0][1], WorkerError)
        assert files[0] in str(results[0][1]) and "exited with code" in str(results[0][1])
        assert_like_one_at_a_time(results[1:], paths[1:], "temporal")
        assert pool.n_workers == 2 and victim.poll() is not None
        assert_like_one_at_a_time(list(pool.run(paths)), paths, "temporal")
    finally:
        pool.close()


def test_stopping_early_closes_the_workers_and_the_next_list_starts_new_ones(files,
                                                                              in_processes):
    embedder = rf.Embedder("temporal", size="small", n_threads=2)
    try:
        results = embedder.embed_files(files * 4)
        next(results)
        processes = [w.process for w in embedder._processes._workers]
        results.close()
        assert embedder._processes is None
        assert all(p.poll() is not None for p in processes)
        assert_like_one_at_a_time(list(embedder.embed_files(files)), files, "temporal")
    finally:
        embedder.close()


def test_a_worker_that_cannot_start_hands_the_list_to_threads(files, in_processes, monkeypatch):
    job = embedder_module.Embedder._file_job
    monkeypatch.setattr(embedder_module.Embedder, "_file_job",
                        lambda self: embedder_module._FileJob({**job(self).kwargs, "pad": "sideways"}))
    embedder = rf.Embedder("temporal", size="small", n_threads=2)
    with pytest.warns(RuntimeWarning, match="continuing on threads.*ValueError: unknown pad"):
        results = list(embedder.embed_files(files))
    assert_like_one_at_a_time(results, files, "temporal")
    assert embedder._processes is None and embedder._processes_failed
    assert embedder._arrangement == "processes"
    list(embedder.embed_files(files))  # no second attempt, no second warning


def test_a_second_caller_runs_on_threads_while_the_workers_are_busy(files, in_processes):
    embedder = rf.Embedder("temporal", size="small", n_threads=2)
    try:
        first = embedder.embed_files(files)
        next(first)  # the workers are this list's until it ends
        assert_like_one_at_a_time(list(embedder.embed_files(files)), files, "temporal")
        rest = list(first)
        assert_like_one_at_a_time(rest, files[1:], "temporal")
    finally:
        embedder.close()


def test_pool_refuses_a_job_that_cannot_start():
    job = embedder_module._FileJob({"arch": "temporal", "size": "small", "pad": "sideways"})
    pool = FileProcesses(job, 1)
    with pytest.raises(WorkerError, match="could not start.*unknown pad"):
        pool.wait_ready()
    pool.close()


def test_relative_paths_name_the_files_of_the_callers_working_folder(files, tmp_path,
                                                                      monkeypatch):
    pool = FileProcesses(rf.Embedder("temporal", size="small")._file_job(), 1)
    try:
        for folder in (tmp_path, files[0].rsplit("/", 1)[0]):  # changed after the start
            monkeypatch.chdir(folder)
            (_, result), = pool.run(["clip0.wav"])
            expected = attempt(rf.Embedder("temporal", size="small").embed_file, "clip0.wav")
            assert type(result) is type(expected)
            assert str(getattr(result, "vector", result)) == str(getattr(expected, "vector", expected))
    finally:
        pool.close()


def test_a_chunk_whose_worker_died_is_sent_again_file_by_file(files):
    pool = FileProcesses(rf.Embedder("temporal", size="small")._file_job(), 2)
    try:
        pool.wait_ready()
        victim = pool._workers[0].process
        victim.kill()
        victim.wait()
        paths = [files[i % 3] for i in range(40)]  # chunks of 8: the dead worker held two
        results = list(pool.run(paths))
        # It died before embedding any of them, so one file at a time, each succeeds.
        assert_like_one_at_a_time(results, paths, "temporal")
    finally:
        pool.close()


def test_a_caller_that_stops_after_the_last_file_keeps_the_workers(files, in_processes):
    embedder = rf.Embedder("temporal", size="small", n_threads=2)
    try:
        results = embedder.embed_files(files)
        for _ in files:  # every result taken, the generator not run to its end
            next(results)
        workers = embedder._processes
        results.close()
        assert embedder._processes is workers and workers.n_workers == 2
    finally:
        embedder.close()


def test_a_worker_that_imports_another_randcnn_fast_refuses_to_start(monkeypatch):
    from randcnn_fast.features import file_processes
    monkeypatch.setattr(file_processes, "__file__", "/elsewhere/randcnn_fast/file_processes.py")
    pool = FileProcesses(rf.Embedder("temporal", size="small")._file_job(), 1)
    with pytest.raises(WorkerError, match="could not start: ImportError: .*/elsewhere/"):
        list(pool.run(["a.wav"]))
    pool.close()


def test_no_interpreter_to_start_is_a_worker_error(monkeypatch):
    monkeypatch.setattr("sys.executable", "/no/such/python")
    with pytest.raises(WorkerError, match="could not start"):
        FileProcesses(rf.Embedder("temporal", size="small")._file_job(), 2)


def test_a_closed_pool_refuses_work_rather_than_waiting_for_ever(files):
    pool = FileProcesses(rf.Embedder("temporal", size="small")._file_job(), 1)
    pool.close()
    assert list(pool.run([])) == []
    with pytest.raises(WorkerError, match="closed"):
        list(pool.run(files[:1]))
