"""A run folder you can trust: one writer, a record written every epoch, nothing left by a refused run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from conftest import tiny_net
from tinyconv.app.folder import RunFolderBusyError, locked
from tinyconv.app.run import train_net
from tinyconv.cli import main
from tinyconv.train import load_checkpoint
from tinyconv.train.loop import Callback


def _net():
    return torch.nn.Sequential(*tiny_net(classes=10))


def test_a_second_writer_is_refused_at_once_and_touches_nothing(tmp_path, fake_mnist):
    folder = tmp_path / "race"
    with locked(folder):
        with pytest.raises(RunFolderBusyError, match=rf"{folder.name} is being written by process \d+"):
            train_net(_net, {"epochs": 1}, out=folder, callbacks=[])
    assert sorted(p.name for p in folder.iterdir()) == [".lock"]
    train_net(_net, {"epochs": 1}, out=folder, callbacks=[])  # the lock went with its holder
    assert (folder / "checkpoint.pt").is_file()


def test_the_cli_refuses_a_folder_another_process_is_writing(tmp_path, fake_mnist, capsys):
    folder = tmp_path / "busy"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from tinyconv.app.folder import locked\n"
                               f"with locked(Path({str(folder)!r})):\n    print('held', flush=True); time.sleep(30)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["train", "model4", "--epochs", "1", "--out", str(folder), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert f"process {holder.pid}" in err and len(err.strip().splitlines()) == 1
    finally:
        holder.kill()
        holder.wait()
    assert not (folder / "checkpoint.pt").exists()


def test_the_record_is_written_with_every_checkpoint(tmp_path, fake_mnist):
    """A run that dies after epoch 1 (here: a callback raising, as a kill would stop it) keeps a true record."""

    class Die(Callback):
        def on_epoch_end(self, record):
            if record.epoch == 1:
                raise KeyboardInterrupt

    folder = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        train_net(_net, {"epochs": 3}, out=folder, callbacks=[Die()])
    history = json.loads((folder / "history.json").read_text())
    assert [e["epoch"] for e in history["epochs"]] == [1]
    assert history == load_checkpoint(folder / "checkpoint.pt")["history"]
    assert (folder / "curves.png").is_file()


def test_an_overwrite_never_mixes_the_old_runs_files_with_the_new(tmp_path, fake_mnist):
    folder = tmp_path / "over"
    train_net(_net, {"epochs": 2}, out=folder, callbacks=[])

    class Stop(Callback):
        def on_step(self, step):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_net(_net, {"epochs": 1}, out=folder, overwrite=True, callbacks=[Stop()])
    assert not (folder / "history.json").exists() and not (folder / "checkpoint.pt").exists()


@pytest.mark.parametrize("how", ["logits", "resume"])
def test_a_refused_run_leaves_no_folder_it_made(tmp_path, fake_mnist, how):
    folder = tmp_path / "refused"

    def logits():
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))

    with pytest.raises(ValueError):
        if how == "logits":
            train_net(logits, {"epochs": 1}, out=folder, callbacks=[])
        else:
            train_net(_net, {"epochs": 1}, out=folder, resume=True, callbacks=[])
    assert not folder.exists()


def test_python_messages_speak_python(tmp_path, fake_mnist):
    train_net(_net, {"epochs": 1}, out=tmp_path / "twice", callbacks=[])
    with pytest.raises(ValueError, match=r"resume=True.*overwrite=True"):
        train_net(_net, {"epochs": 1}, out=tmp_path / "twice", callbacks=[])


def test_two_designs_of_one_class_get_two_default_folders(tmp_path, fake_mnist, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = train_net(torch.nn.Sequential(*tiny_net(classes=10)), {"epochs": 1}, callbacks=[])
    b = train_net(torch.nn.Sequential(*tiny_net(classes=10), torch.nn.Identity()), {"epochs": 1}, callbacks=[])
    assert a.out_dir != b.out_dir and a.out_dir.name.startswith("Sequential-") and a.out_dir.name.endswith("-seed1")


def test_resume_with_other_settings_is_refused_before_training_naming_each(tmp_path, fake_mnist, capsys):
    folder = str(tmp_path / "r")
    assert main(["train", "model4", "--epochs", "2", "--batch-size", "32", "--out", folder, "--no-progress"]) == 0
    before = (tmp_path / "r" / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    assert main(["train", "model4", "--epochs", "2", "--batch-size", "16", "--lr", "0.5", "--out", folder,
                 "--resume", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "batch_size 16 differs from the run's 32" in err and "lr 0.5 differs" in err
    assert main(["train", "model4", "--epochs", "3", "--batch-size", "32", "--out", folder, "--resume"]) == 2
    assert "epochs 3 differs from the run's 2" in (err := capsys.readouterr().err) and "new run" in err
    assert main(["train", "model4", "--epochs", "2", "--batch-size", "32", "--seed", "7", "--out", folder,
                 "--resume"]) == 2
    assert "seed 7 differs from the run's 1" in capsys.readouterr().err
    assert (tmp_path / "r" / "checkpoint.pt").read_bytes() == before  # nothing trained, nothing written


def test_resume_compares_the_architecture_not_only_the_name(tmp_path, fake_mnist):
    from tinyconv.train.checkpoint import CheckpointMismatchError

    folder = tmp_path / "arch"
    train_net(_net, {"epochs": 1}, out=folder, callbacks=[], name="mine")

    def wider():
        return torch.nn.Sequential(*tiny_net(classes=10)[:-1], torch.nn.Conv2d(4, 10, 1), torch.nn.Flatten(),
                                   torch.nn.LogSoftmax(dim=1))

    with pytest.raises(CheckpointMismatchError):
        train_net(wider, {"epochs": 1}, out=folder, resume=True, callbacks=[ConsoleOutputThatFails()], name="mine")


class ConsoleOutputThatFails(Callback):
    def on_train_begin(self, steps, eval_name):
        raise AssertionError("training began: the architecture was not checked first")


def test_an_interrupted_run_says_what_was_saved_and_how_to_go_on(tmp_path, fake_mnist):
    from tinyconv.app.folder import RunInterrupted

    class CtrlC(Callback):
        def __init__(self, after):
            self.after = after

        def on_epoch_end(self, record):
            if record.epoch == self.after:
                raise KeyboardInterrupt

        def on_step(self, step):
            if self.after == 0:
                raise KeyboardInterrupt

    with pytest.raises(RunInterrupted, match=r"epoch 1 of 3 saved in .*kept.*resume=True \(--resume\)"):
        train_net(_net, {"epochs": 3}, out=tmp_path / "kept", callbacks=[CtrlC(1)])
    with pytest.raises(RunInterrupted, match="nothing was saved"):
        train_net(_net, {"epochs": 3}, out=tmp_path / "none", callbacks=[CtrlC(0)])
    assert not (tmp_path / "none").exists()


def test_sigterm_ends_a_cli_training_with_the_same_line(tmp_path):
    import signal
    import time

    code = ("import sys, torch\n"
            "from tinyconv.data import pipeline\n"
            "from tinyconv.data.batches import TensorBatches\n"
            "def loaders(root=None, **k):\n"
            "    x, y = torch.randn(1024, 1, 28, 28), torch.randint(0, 10, (1024,))\n"
            "    return pipeline.Loaders(TensorBatches(x, y, 16, seed=1), TensorBatches(x, y, 512, shuffle=False),"
            " 'Test', 1024, 1024)\n"
            "pipeline._mnist_loaders = loaders\n"
            "from tinyconv.cli import main\n"
            f"sys.exit(main(['train', 'model4', '--epochs', '50', '--out', {str(tmp_path / 'term')!r}]))\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600  # a busy machine can take a minute for the first epoch
    while not (tmp_path / "term" / "history.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "term" / "history.json").exists(), "no epoch finished in 10 minutes"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-3000:]
    assert "interrupted: epoch" in err and "continue it with resume=True (--resume)" in err
