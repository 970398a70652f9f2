"""Data beyond MNIST: an IDX folder in Fashion-MNIST's layout and 3-channel tensors, trained end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from tinyconv import ConvBNReLUDrop, GAPHead, Transition1x1, summary
from tinyconv.app.run import train_net
from tinyconv.app.trained import evaluate_trained
from tinyconv.cli import main
from tinyconv.data.idx import IdxFormatError, write_idx
from tinyconv.data.folders import data_folder
from tinyconv.data.sources import IDX_FILES, DataError, tensor_data


def _fashion_folder(path, n_train=192, n_test=64):
    """Fashion-MNIST's four files with synthetic content: class k is a bright square in one of 10 places."""
    rng = np.random.default_rng(0)
    path.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, k in enumerate(labels):
            r, c = divmod(int(k), 5)
            images[i, 4 + 12 * r: 12 + 12 * r, 1 + 5 * c: 6 + 5 * c] = 255
        write_idx(path / IDX_FILES[f"{split}_images"], images)
        write_idx(path / IDX_FILES[f"{split}_labels"], labels)
    return path


def _rgb_net(classes=4):
    return nn.Sequential(ConvBNReLUDrop(3, 8, padding=1), Transition1x1(8, 8), ConvBNReLUDrop(8, 8),
                         GAPHead(8, classes))


def test_an_idx_folder_reads_as_data_with_its_own_statistics(tmp_path):
    data = data_folder(_fashion_folder(tmp_path / "fashion"))
    assert data.input_size == (1, 28, 28) and data.num_classes == 10 and data.name == "fashion"
    mean, std = data.statistics()
    assert 0.05 < mean[0] < 0.3 and std[0] > 0.1


def test_training_evaluating_and_exporting_on_an_idx_folder(tmp_path, monkeypatch, capsys):
    folder = _fashion_folder(tmp_path / "fashion")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fnet.py").write_text(
        "from tinyconv.zoo import model4\n\ndef net():\n    return model4()\n")
    assert main(["train", "fnet.py:net", "--data", str(folder), "--epochs", "2", "--batch-size", "32",
                 "--out", "runs/f", "--no-progress"]) == 0
    meta = json.loads((tmp_path / "runs/f/history.json").read_text())["meta"]
    assert meta["data"]["name"] == "fashion" and meta["train_size"] == 192 and meta["eval_size"] == 64
    capsys.readouterr()
    assert main(["eval", "runs/f"]) == 2
    assert "trained on 'fashion', not MNIST: give its data (--data DIR)" in capsys.readouterr().err
    assert main(["eval", "runs/f", "--data", str(folder)]) == 0
    assert "of 64 images" in capsys.readouterr().out
    pytest.importorskip("onnxruntime")
    assert main(["export", "runs/f", "--data", str(folder), "--onnx", "f.onnx", "--check", "64"]) == 0
    assert "same prediction for 64" in capsys.readouterr().out


def test_a_three_channel_tensor_dataset_trains_evaluates_and_exports(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (96, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.arange(96) % 4
    x[y == 1, 0] = 255  # something to learn: class 1 is red
    data = tensor_data((x[:64], y[:64]), (x[64:], y[64:]), name="rgb")
    net = _rgb_net()
    assert summary(net, (3, 32, 32)).total_params == sum(p.numel() for p in net.parameters())
    result = train_net(net, {"epochs": 1, "batch_size": 16, "augment": "none"}, data=data, out=tmp_path / "rgb", callbacks=[])
    assert result.history.meta["data"]["input_size"] == [3, 32, 32] and result.history.meta["data"]["num_classes"] == 4
    assert len(result.history.meta["data"]["mean"]) == 3
    pytest.importorskip("onnxruntime")
    from tinyconv.deploy import compare_onnx, to_onnx
    from tinyconv.data.batches import TensorBatches

    path = to_onnx(result.model, tmp_path / "rgb.onnx", input_size=(3, 32, 32))
    mean, std = data.statistics()
    check = compare_onnx(result.model, path, TensorBatches(data.normalised(x[64:], mean, std), y[64:], 16,
                                                            shuffle=False))
    assert check.images == 32 and check.same_predictions == 32


def test_a_model_that_does_not_fit_the_data_is_refused_before_training(tmp_path):
    data = tensor_data((torch.zeros(8, 3, 32, 32), torch.arange(8) % 4), (torch.zeros(4, 3, 32, 32), torch.arange(4)))
    with pytest.raises(ValueError, match=r"the model gives \(10,\) per image, the data has 4 classes"):
        train_net(_rgb_net(classes=10), {"epochs": 1}, data=data, out=tmp_path / "a", callbacks=[])
    with pytest.raises(ValueError, match=r"the model does not take \(3, 32, 32\) images"):
        train_net("model4", {"epochs": 1}, data=data, out=tmp_path / "b", callbacks=[])
    assert not (tmp_path / "a" / "checkpoint.pt").exists()


def test_a_model_that_outputs_logits_is_refused_before_training(tmp_path):
    """Raw logits would drive the negative log-likelihood to minus infinity; the refusal names the fix."""
    from torch import nn

    from tinyconv.nn.blocks import GAPHead

    data = tensor_data((torch.rand(10, 1, 28, 28), torch.arange(10)), (torch.rand(4, 1, 28, 28), torch.arange(4)))
    logits = nn.Sequential(nn.Conv2d(1, 4, 3), GAPHead(4, 10, output="logits"))
    with pytest.raises(ValueError, match=r"not log-probabilities .*F\.log_softmax\(x, dim=1\)"):
        train_net(logits, {"epochs": 1}, data=data, out=tmp_path / "a", callbacks=[])
    assert not (tmp_path / "a" / "checkpoint.pt").exists()
    probabilities = nn.Sequential(nn.Conv2d(1, 4, 3), GAPHead(4, 10))  # the same network with log_softmax trains
    assert train_net(probabilities, {"epochs": 1}, data=data, out=tmp_path / "b", callbacks=[]).history.best() is not None


@pytest.mark.parametrize(("train", "test", "words"), [
    ((torch.zeros(8, 28, 28), torch.zeros(7, dtype=torch.long)), None, "8 images, 7 labels"),
    ((torch.zeros(8, 28, 28), torch.full((8,), -1)), None, "labels must be 0 or more, got -1"),
    ((torch.zeros(8, 28, 28), torch.zeros(8)), None, "labels must be a 1-D tensor of integers"),
    ((torch.zeros(8, 28), torch.zeros(8, dtype=torch.long)), None, "must be (N, H, W) or (N, C, H, W)"),
    ((torch.zeros(8, 28, 28), torch.zeros(8, dtype=torch.long)), (torch.zeros(4, 32, 32), torch.zeros(4, dtype=torch.long)),
     "train and test images differ in shape"),
])
def test_tensors_that_do_not_fit_together_are_refused_in_one_line(train, test, words):
    test = test or (torch.zeros(4, 28, 28), torch.zeros(4, dtype=torch.long))
    with pytest.raises(DataError) as info:
        tensor_data(train, test)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_an_idx_folder_with_a_missing_or_truncated_file_is_refused(tmp_path):
    folder = _fashion_folder(tmp_path / "f")
    (folder / IDX_FILES["test_labels"]).unlink()
    with pytest.raises(DataError, match="has no t10k-labels-idx1-ubyte"):
        data_folder(folder)
    folder = _fashion_folder(tmp_path / "g")
    path = folder / IDX_FILES["train_images"]
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(IdxFormatError):
        data_folder(folder)
    with pytest.raises(DataError, match="no folder"):
        data_folder(tmp_path / "nothing")


def test_a_tiny_search_runs_on_an_idx_folder(tmp_path, capsys):
    folder = _fashion_folder(tmp_path / "fashion", n_train=240, n_test=16)
    assert main(["search", "--budget", "3000", "--study", "f", "--dir", str(tmp_path / "studies"),
                 "--data", str(folder), "--trials", "1", "--epochs", "1", "--no-progress", "--threads", "1"]) == 0
    assert "trial 0: complete" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["search", "--budget", "3000", "--study", "g", "--data", str(tmp_path / "nothing")])
    assert info.value.code == 2 and "neither mnist, synthetic nor a folder" in capsys.readouterr().err
