"""The command line: one line per expected failure, exit codes, defaults in --help."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import soundfile as sf

from randcnn_fast.cli import build_parser, main


def run(capsys, args):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("args, message", [
    (["evaluate", "--size", "huge"], "argument --size: invalid choice: 'huge'"),
    (["evaluate", "--dataset", "urbansound8k"], "--dataset urbansound8k needs --root"),
    (["evaluate", "--dataset", "gtzan", "--root", "x"], "--dataset gtzan needs --lists"),
    (["evaluate", "--fold-column", "f"], "--fold-column names a column of a CSV manifest"),
    (["embed", "x"], "the following arguments are required: --out"),
])
def test_usage_errors_exit_2_on_one_line(capsys, args, message):
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    assert code == 2
    line = one_line_error(capsys.readouterr().err)
    assert message in line and "--help" in line


def test_failed_runs_exit_1_on_one_line_in_the_command_lines_words(capsys, tmp_path):
    code, _, err = run(capsys, ["embed", str(tmp_path / "absent"), "--out", str(tmp_path / "o")])
    assert code == 1
    assert one_line_error(err) == (f"randcnn-fast embed: error: source {tmp_path / 'absent'} "
                                   "does not exist")
    (tmp_path / "audio").mkdir()
    code, _, err = run(capsys, ["evaluate", "--dataset", "urbansound8k", "--root",
                                str(tmp_path / "audio")])
    assert code == 1
    assert f"looked for {tmp_path / 'audio' / 'metadata' / 'UrbanSound8K.csv'}" in one_line_error(err)
    (tmp_path / "labels.csv").write_bytes("path,label\nd\xe9j\xe0.wav,a\n".encode("latin-1"))
    code, _, err = run(capsys, ["evaluate", "--dataset", str(tmp_path / "labels.csv")])
    assert code == 1
    assert f"{tmp_path / 'labels.csv'}: not UTF-8 text" in one_line_error(err)
    assert "save the CSV as UTF-8" in err


def test_a_configuration_mismatch_names_the_option_that_fixes_it(capsys, tmp_path):
    source = tmp_path / "clips"
    source.mkdir()
    sf.write(source / "a.wav", np.random.default_rng(0).standard_normal(3000) * 0.1, 12000)
    args = ["embed", str(source), "--out", str(tmp_path / "out"), "--size", "small",
            "--length", "6000"]
    code, out, err = run(capsys, args)
    assert code == 0
    assert (out + err).count("extract: 1 clips into") == 1  # the summary, once
    code, _, err = run(capsys, args[:-1] + ["9000"])
    assert code == 1
    line = one_line_error(err)
    assert "length: 6000 there, 9000 now" in line
    assert "--overwrite" in line and "overwrite=True" not in line and "another --out" in line
    with pytest.raises(ValueError, match="overwrite=True"):
        main(["--debug"] + args[:-1] + ["9000"])
    with pytest.raises(ValueError, match="overwrite=True"):
        main(args[:-1] + ["9000", "--debug"])


def test_help_shows_every_default():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        text = " ".join(sub.format_help().split())
        for action in sub._actions:
            if not action.option_strings or action.default is argparse.SUPPRESS:
                continue
            if isinstance(action, (argparse._HelpAction, argparse._StoreTrueAction)):
                continue  # flags: off unless given
            if action.required:
                continue
            shown = " ".join(sub._get_formatter()._format_action(action).split())
            assert "default" in shown, f"{name} {action.option_strings[0]}: {shown}"
        if name not in ("info", "arch"):  # the commands that compute
            assert "cores (default: 0)" in text  # --threads: a default of 0 is shown too


def test_evaluate_writes_a_folder_per_run_and_never_over_an_earlier_one(capsys, tmp_path,
                                                                         monkeypatch):
    root = tmp_path / "set"
    for label, freq in (("low", 200.0), ("high", 2000.0)):
        (root / label).mkdir(parents=True)
        for i in range(4):
            t = np.arange(6000) / 12000
            sf.write(root / label / f"{i}.wav", 0.3 * np.sin(2 * np.pi * freq * (1 + 0.05 * i) * t),
                     12000)
    monkeypatch.chdir(tmp_path)
    args = ["evaluate", "--dataset", str(root), "--arch", "7x96", "--classifier", "svm",
            "--no-mfcc", "--cache", str(tmp_path / "cache"), "--length", "30"]
    with pytest.warns(UserWarning, match="fewer than n_folds=5"):
        assert main(args) == 0
        assert main(args) == 0
    runs = sorted((tmp_path / "randcnn_fast_results").iterdir())
    assert len(runs) == 2 and all(r.name.startswith("set-") for r in runs)
    out = capsys.readouterr().out
    assert all(f"written to {r.relative_to(tmp_path)}/" in out for r in runs)
    before = (runs[0] / "results.json").read_text()
    with pytest.warns(UserWarning):
        code, _, err = run(capsys, args + ["--out", str(runs[0])])
    assert code == 1
    assert one_line_error(err) == (f"randcnn-fast evaluate: error: {runs[0]} holds the results "
                                   "of an earlier run (results.json); pass --overwrite to replace "
                                   "them, or choose another --out")
    assert (runs[0] / "results.json").read_text() == before
    with pytest.warns(UserWarning):
        assert main(args + ["--out", str(runs[0]), "--overwrite"]) == 0
    assert json.loads((runs[0] / "results.json").read_text())["out_dir"] == str(runs[0])


def test_operating_system_refusals_come_with_their_fix():
    import errno

    from randcnn_fast.cli import one_line

    full = OSError(errno.ENOSPC, "No space left on device", "/data/out/shards/part-00003.parquet")
    assert one_line(full) == ("[Errno 28] No space left on device: "
                              "'/data/out/shards/part-00003.parquet'; free space on that disk, "
                              "then run the same command again (finished work is kept)")
    denied = PermissionError(errno.EACCES, "Permission denied", "/data/out")
    assert one_line(denied).endswith("check that path's permissions, or choose another --out")
    assert one_line(ValueError("a\n  b")) == "a b"
