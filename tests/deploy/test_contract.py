"""The exported file says how to feed it: raw pixels through its metadata alone give PyTorch's predictions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinyconv.cli import main
from tinyconv.data.batches import normalise
from tinyconv.deploy.contract import describe_contract, input_contract
from tinyconv.deploy.onnx import quantize_int8, read_metadata, to_onnx
from tinyconv.zoo import model4

ort = pytest.importorskip("onnxruntime")
MNIST = {"name": "MNIST", "input_size": [1, 28, 28], "num_classes": 10, "mean": [0.1307], "std": [0.3081]}


def _feed_from_metadata_alone(path, pixels: np.ndarray) -> np.ndarray:
    """What a user with only onnxruntime and numpy writes: the preprocessing read from the file."""
    session = ort.InferenceSession(str(path))
    meta = session.get_modelmeta().custom_metadata_map
    channels, height, width = (int(d) for d in meta["input.shape"].split("x"))
    mean = np.array([float(m) for m in meta["input.mean"].split(",")], np.float32).reshape(1, -1, 1, 1)
    std = np.array([float(s) for s in meta["input.std"].split(",")], np.float32).reshape(1, -1, 1, 1)
    x = pixels.reshape(-1, channels, height, width).astype(np.float32) * np.float32(meta["input.scale"])
    log_probs = session.run(None, {session.get_inputs()[0].name: (x - mean) / std})[0]
    labels = meta["labels"].split(",")
    return np.array([labels[i] for i in log_probs.argmax(1)])


def test_raw_pixels_through_the_files_metadata_give_pytorchs_predictions(tmp_path):
    torch.manual_seed(0)
    model = model4().eval()
    contract = input_contract(MNIST, model="model4", params=7216, test_accuracy=99.28)
    path = to_onnx(model, tmp_path / "m.onnx", metadata=contract)
    pixels = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
    expected = model(normalise(torch.from_numpy(pixels))).argmax(1).numpy().astype(str)
    np.testing.assert_array_equal(_feed_from_metadata_alone(path, pixels), expected)
    assert read_metadata(path)["test_accuracy"] == "99.28" and read_metadata(path)["input.polarity"] == "white-on-black"


def test_the_int8_file_keeps_the_contract(tmp_path):
    contract = input_contract(MNIST, model="model4", params=7216)
    fp32 = to_onnx(model4().eval(), tmp_path / "m.onnx", metadata=contract)
    int8 = quantize_int8(fp32, tmp_path / "m8.onnx", torch.randn(100, 1, 28, 28))
    assert {k: v for k, v in read_metadata(int8).items() if k in contract} == contract


def test_the_contract_needs_the_normalisation_and_reads_as_two_lines():
    with pytest.raises(ValueError, match="mean, std"):
        input_contract({"input_size": [1, 28, 28]}, model="m", params=1)
    text = describe_contract(input_contract(MNIST, model="m", params=1))
    assert text.splitlines() == ["input: 1x28x28 pixels 0..255, x = (pixel/255 - 0.1307) / 0.3081, white-on-black",
                                 "output: log-probabilities of 0,1,2,3,4,5,6,7,8,9"]


@pytest.mark.parametrize("extra, message", [
    (["--int8", "{dir}/a.onnx"], "both name"),
    (["--int8", "{dir}/b.onnx", "--calibration", "10"], "needs at least 100"),
])
def test_clobbering_or_too_little_calibration_is_refused_before_any_work(tmp_path, capsys, extra, message):
    args = ["export", "st8k", "--weights", "mnist", "--onnx", f"{tmp_path}/a.onnx",
            *[e.format(dir=tmp_path) for e in extra]]
    assert main(args) == 2
    assert message in capsys.readouterr().err and not list(tmp_path.iterdir())


def test_a_failed_int8_step_leaves_no_fp32_file(tmp_path, monkeypatch, capsys):
    import tinyconv.app.trained as trained

    images = torch.randn(64, 1, 28, 28)
    monkeypatch.setattr(trained, "run_images", lambda *a, train=False, **k: (images, torch.zeros(64, dtype=torch.long)))

    def broken(*args, **kwargs):
        raise RuntimeError("quantizer failed")

    monkeypatch.setattr("tinyconv.deploy.onnx.quantize_int8", broken)
    assert main(["export", "st8k", "--weights", "mnist", "--onnx", f"{tmp_path}/a.onnx", "--int8",
                 f"{tmp_path}/b.onnx"]) != 0
    assert "quantizer failed" in capsys.readouterr().err and not list(tmp_path.iterdir())


def _idx_folder(path, n=64):
    from tinyconv.data.idx import write_idx
    from tinyconv.data.sources import IDX_FILES

    rng = np.random.default_rng(3)
    path.mkdir()
    for split in ("train", "test"):
        write_idx(path / IDX_FILES[f"{split}_images"], rng.integers(0, 256, (n, 28, 28)).astype(np.uint8))
        write_idx(path / IDX_FILES[f"{split}_labels"], rng.integers(0, 10, n).astype(np.uint8))
    return path


@pytest.mark.parametrize("int8", [False, True])
def test_eval_scores_an_exported_file_fed_by_its_own_metadata(tmp_path, capsys, int8):
    from tinyconv.data.folders import data_folder

    torch.manual_seed(0)
    model = model4().eval()
    folder = _idx_folder(tmp_path / "data")
    path = to_onnx(model, tmp_path / "m.onnx", metadata=input_contract(MNIST, model="model4", params=7216))
    if int8:
        path = quantize_int8(path, tmp_path / "m8.onnx", torch.randn(100, 1, 28, 28))
    data = data_folder(folder)
    session_says = _feed_from_metadata_alone(path, data.test_images.numpy()).astype(int)
    expected = int((torch.from_numpy(session_says) == data.test_labels).sum())
    assert main(["eval", str(path), "--data", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"model4 ({'int8' if int8 else 'fp32'} ONNX, {path.name}): test accuracy {100 * expected / 64:.2f}% " \
           f"({expected} of 64 images" in out


def test_eval_of_a_file_without_a_contract_says_how_to_get_one(tmp_path, capsys):
    path = to_onnx(model4().eval(), tmp_path / "bare.onnx")
    assert main(["eval", str(path), "--data", str(_idx_folder(tmp_path / "data"))]) == 2
    assert "does not say how to feed it" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing.onnx")]) == 2
    assert "no file" in capsys.readouterr().err
