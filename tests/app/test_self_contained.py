"""Self-contained runs: the folder alone rebuilds, evaluates, predicts and exports its model."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from tinyconv.app.run import train_net
from tinyconv.app.trained import UnbuildableCheckpointError, load_trained
from tinyconv.cli import main
from tinyconv.data.idx import write_idx
from tinyconv.deploy.program import ExportedModel, UnsafeProgramError, load_program
from tinyconv.train import load_checkpoint

NET_SOURCE = """
from torch import nn

class Net(nn.Sequential):
    def __init__(self):
        super().__init__(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10),
                         nn.LogSoftmax(-1))
"""


def _idx_folder(folder: Path, n: int = 64) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "t10k"):
        write_idx(folder / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))
    return folder


def _probe() -> torch.Tensor:
    return torch.randn(5, 1, 28, 28, generator=torch.Generator().manual_seed(3))


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A user's project folder holding mynet.py, as the current folder."""
    (tmp_path / "mynet.py").write_text(NET_SOURCE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_run_keeps_its_source_relative_with_its_hash_and_the_trained_program(project, fake_mnist):
    result = train_net("mynet.py:Net", {"epochs": 1}, out="runs/a", callbacks=[])
    meta = json.loads((project / "runs/a/history.json").read_text())["meta"]
    assert meta["model_ref"]["target"] == "mynet.py:Net"  # relative: the project can move
    assert meta["source"]["copy"] == "source/mynet.py" and meta["source"]["path"] == "mynet.py"
    assert (project / "runs/a/source/mynet.py").read_text() == NET_SOURCE
    assert meta["program"] == "model.pt2"
    program = load_program(project / "runs/a/model.pt2")
    assert torch.equal(program(_probe()), result.model.eval()(_probe()))


def test_a_moved_or_edited_source_is_replaced_by_the_runs_copy(project, fake_mnist):
    result = train_net("mynet.py:Net", {"epochs": 1}, out="runs/a", callbacks=[])
    expected = result.model.eval()(_probe())
    model, meta = load_trained("runs/a")
    assert meta["loaded_from"] == "reference" and torch.allclose(model(_probe()), expected, atol=1e-6)
    (project / "mynet.py").write_text(NET_SOURCE.replace("nn.Conv2d(1, 4, 3)", "nn.Conv2d(1, 4, 5)"))  # edited
    model, meta = load_trained("runs/a")
    assert meta["loaded_from"] == "the run's copy source/mynet.py" and torch.allclose(model(_probe()), expected, atol=1e-6)
    (project / "mynet.py").unlink()  # gone
    os.rename(project / "runs", project / "elsewhere")  # and the folder moved
    model, meta = load_trained(project / "elsewhere/a")
    assert meta["loaded_from"].startswith("the run's copy") and type(model).__name__ == "Net"
    assert torch.allclose(model(_probe()), expected, atol=1e-6)


def test_a_network_built_in_a_notebook_is_read_from_its_program(project, fake_mnist):
    class InANotebook(nn.Module):  # defined where no reference can find it, as in __main__
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.head = nn.Linear(4, 10)

        def forward(self, x):
            x = torch.relu(self.conv(x)).mean((2, 3))
            return torch.log_softmax(self.head(x), -1)

    result = train_net(InANotebook(), {"epochs": 1}, out="runs/nb", callbacks=[])
    model, meta = load_trained("runs/nb")
    assert meta["loaded_from"] == "model.pt2" and isinstance(model, ExportedModel)
    assert torch.allclose(model(_probe()), result.model.eval()(_probe()), atol=1e-6)
    with pytest.raises(RuntimeError, match="evaluation mode only"):
        model.train()


def test_eval_predict_and_export_work_from_the_folder_alone(project, capsys):
    data = _idx_folder(project / "digits")

    class InANotebook(nn.Sequential):
        pass

    net = InANotebook(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10),
                      nn.LogSoftmax(-1))
    train_net(net, {"epochs": 1, "batch_size": 16}, data=str(data), out="runs/nb", callbacks=[])
    capsys.readouterr()
    assert main(["eval", "runs/nb", "--data", str(data)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    from PIL import Image

    Image.fromarray(np.zeros((28, 28), np.uint8)).save(project / "digit.png")
    assert main(["predict", "runs/nb", str(project / "digit.png")]) == 0
    assert "digit.png: " in capsys.readouterr().out
    assert main(["export", "runs/nb", "--data", str(data), "--onnx", "nb.onnx", "--check", "64"]) == 0
    out = capsys.readouterr().out
    assert "same prediction for 64" in out and (project / "nb.onnx").is_file()


def test_model_ref_points_a_run_at_moved_source(project, fake_mnist, capsys):
    train_net("mynet.py:Net", {"epochs": 1}, out="runs/a", callbacks=[])
    (project / "moved").mkdir()
    os.rename(project / "mynet.py", project / "moved/mynet.py")
    model, meta = load_trained("runs/a", model="moved/mynet.py:Net")
    assert meta["loaded_from"] == "the model given"
    with pytest.raises(UnbuildableCheckpointError, match="does not take the checkpoint's weights"):
        load_trained("runs/a", model=nn.Sequential(nn.Conv2d(1, 8, 3)))


def test_when_nothing_rebuilds_the_model_each_way_tried_is_named(project, fake_mnist):
    train_net("mynet.py:Net", {"epochs": 1}, out="runs/a", callbacks=[])
    (project / "mynet.py").unlink()
    (project / "runs/a/source/mynet.py").write_text("# altered\n")
    (project / "runs/a/model.pt2").unlink()
    with pytest.raises(UnbuildableCheckpointError) as error:
        load_trained("runs/a")
    message = str(error.value)
    assert "changed or moved" in message and "no model.pt2" in message and "--model REF" in message


def test_a_program_that_would_need_unpickling_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("unpickled",))

    buffer = io.BytesIO()
    torch.save({"x": Evil()}, buffer)
    with zipfile.ZipFile(tmp_path / "model.pt2", "w") as archive:
        archive.writestr("model/data/sample_inputs/model.pt", buffer.getvalue())
    with pytest.raises(UnsafeProgramError, match="does not load with weights_only=True"):
        load_program(tmp_path / "model.pt2")


KILLABLE = """
import sys, torch
from tinyconv.data import pipeline
from tinyconv.data.batches import TensorBatches
def loaders(root=None, **k):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(1024, 1, 28, 28, generator=g), torch.randint(0, 10, (1024,), generator=g)
    return pipeline.Loaders(TensorBatches(x, y, 16, seed=k["seed"]), TensorBatches(x, y, 512, shuffle=False),
                            "Test", 1024, 1024)
pipeline._mnist_loaders = loaders
from tinyconv.cli import main
sys.exit(main(["train", "model4", "--epochs", "2", "--out", sys.argv[1]] + sys.argv[2:]))
"""


def _history(folder: Path) -> list[dict]:
    return json.loads((folder / "history.json").read_text())["epochs"]


def test_sigkill_after_an_epoch_leaves_a_true_record_and_resume_continues_bit_identically(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(KILLABLE)
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(script), str(killed)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not ((killed / "history.json").exists() and len(_history(killed)) >= 1):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    recorded = _history(killed)
    assert len(recorded) == 1, "the kill came after more than one epoch: the test machine is too slow to tell"
    assert recorded == load_checkpoint(killed / "checkpoint.pt")["history"]["epochs"]
    # the lock died with the process: resuming is not refused, and it continues as if never stopped
    assert subprocess.run([sys.executable, str(script), str(killed), "--resume"], capture_output=True).returncode == 0
    whole = tmp_path / "whole"
    assert subprocess.run([sys.executable, str(script), str(whole)], capture_output=True).returncode == 0
    keys = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
    assert [[e[k] for k in keys] for e in _history(killed)] == [[e[k] for k in keys] for e in _history(whole)]


MAIN_SCRIPT = """
import sys, torch
from torch import nn
from tinyconv import train_net

class Net(nn.Module):  # defined in __main__, as in a notebook or a script
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.head = nn.Linear(4, 10)

    def forward(self, x):
        return torch.log_softmax(self.head(torch.relu(self.conv(x)).mean((2, 3))), -1)

train_net(Net(), {"epochs": 1, "batch_size": 16}, data=sys.argv[1], out=sys.argv[2], callbacks=[])
"""


def test_a_run_of_a_class_defined_in_main_is_evaluated_by_another_process(tmp_path):
    data = _idx_folder(tmp_path / "digits")
    (tmp_path / "script.py").write_text(MAIN_SCRIPT)
    subprocess.run([sys.executable, str(tmp_path / "script.py"), str(data), str(tmp_path / "run")], check=True,
                   capture_output=True)
    done = subprocess.run([sys.executable, "-c", "import sys; from tinyconv.cli import main; sys.exit(main(sys.argv[1:]))",
                           "eval", str(tmp_path / "run"), "--data", str(data)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "test accuracy" in done.stdout


def test_a_network_torch_export_cannot_trace_trains_and_says_why_it_has_no_program(project, fake_mnist):
    class Branchy(nn.Sequential):
        def forward(self, x):
            x = torch.relu(self[0](x)).mean((2, 3))
            if x.sum() > 0:  # a branch on the data: no single graph
                x = x * 2
            return torch.log_softmax(self[1](x), -1)

    from tinyconv.inspect.exportable import ExportWarning

    with pytest.warns(ExportWarning, match="cannot trace it"):  # said before training, too
        result = train_net(Branchy(nn.Conv2d(1, 4, 3), nn.Linear(4, 10)), {"epochs": 1}, out="runs/br",
                           callbacks=[])
    meta = json.loads((project / "runs/br/history.json").read_text())["meta"]
    assert set(meta["program"]) == {"not_exported"} and meta["program"]["not_exported"]
    assert not (project / "runs/br/model.pt2").exists() and "model.pt2" not in result.summary
