"""What a new user meets from the command line: one-line errors before any work, files others can read.

Each case runs the real ``tinyconv`` command in a subprocess and checks its exit code and
message, as a user would see them.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def tinyconv(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(cwd or "")}
    return subprocess.run([sys.executable, "-m", "tinyconv.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def one_line_error(result: subprocess.CompletedProcess, words: str) -> None:
    assert result.returncode == 2, result.stderr
    err = result.stderr.strip()
    assert words in err and len(err.splitlines()) == 1 and "Traceback" not in err, err


def test_a_data_root_that_is_a_file(tmp_path):
    root = tmp_path / "file"
    root.write_text("")
    one_line_error(tinyconv("data", "--root", str(root)), "tinyconv data: error:")


def test_an_output_folder_under_a_file_is_refused_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = tinyconv("train", "model4", "--out", str(blocker / "run"), "--root", str(tmp_path / "none"))
    one_line_error(result, "cannot write to the run folder")


def test_resume_with_nothing_to_resume(tmp_path):
    one_line_error(tinyconv("train", "model4", "--out", str(tmp_path / "empty"), "--resume"), "nothing to resume")


def test_an_earlier_run_is_not_overwritten_in_silence(tmp_path):
    (tmp_path / "history.json").write_text("{}")
    one_line_error(tinyconv("train", "model4", "--out", str(tmp_path)), "already holds a run")


def test_a_holdout_that_leaves_almost_nothing_to_train_on(tmp_path):
    result = tinyconv("train", "model4", "--holdout", "59990", "--out", str(tmp_path / "run"),
                      "--root", str(tmp_path / "data"))
    one_line_error(result, "leaves 10 training images")


def test_an_unknown_device_kind():
    one_line_error(tinyconv("train", "model4", "--device", "warp"), "unknown device 'warp'")


def test_files_honour_the_umask(tmp_path):
    """Results, checkpoints and data files are readable by others under the usual 022 umask."""
    code = ("import os, sys\nos.umask(0o022)\nfrom tinyconv._io import atomic_write_bytes\n"
            "atomic_write_bytes(sys.argv[1], b'x')\nprint(oct(os.stat(sys.argv[1]).st_mode & 0o777))")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "f")], capture_output=True, text=True)
    assert result.stdout.strip() == "0o644", result.stderr


@pytest.mark.parametrize("mask, mode", [(0o077, "0o600"), (0o002, "0o664")])
def test_other_umasks_are_honoured_too(tmp_path, mask, mode):
    code = (f"import os, sys\nos.umask({mask})\nfrom tinyconv._io import atomic_write_bytes\n"
            "atomic_write_bytes(sys.argv[1], b'x')\nprint(oct(os.stat(sys.argv[1]).st_mode & 0o777))")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "f")], capture_output=True, text=True)
    assert result.stdout.strip() == mode, result.stderr


def test_an_import_path_that_needs_arguments(tmp_path):
    (tmp_path / "mynets.py").write_text("def build(width):\n    raise AssertionError\n")
    result = tinyconv("summary", "mynets:build", cwd=tmp_path)
    one_line_error(result, "build cannot be called with no arguments")


def test_a_one_epoch_summary_does_not_say_last_3():
    from tinyconv.train.history import EpochRecord, History
    from tinyconv.app.run import format_summary

    history = History(meta={"model": "m"})
    history.append(EpochRecord(epoch=1, train_loss=0.1, train_accuracy=98.0, test_loss=0.05, test_accuracy=98.5,
                               test_correct=9850, test_total=10_000, lr=0.01, seconds=1.0, train_seconds=1.0))
    text = format_summary(history, 100)
    assert "last 3 test acc" not in text and "  test acc" in text
