"""Data folders as users have them: gzipped IDX, torchvision's raw layout, class folders of PNGs; bad ones in one line."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from PIL import Image

from tinyconv.cli import main
from tinyconv.data.folders import data_folder
from tinyconv.data.idx import IdxFormatError, encode_idx
from tinyconv.data.sources import IDX_FILES, DataError

NET = """
from torch import nn
from tinyconv import ConvBNReLUDrop, GAPHead, Transition1x1


class Net(nn.Sequential):
    def __init__(self, channels=1, classes=10):
        super().__init__(ConvBNReLUDrop(channels, 8, padding=1), Transition1x1(8, 8), ConvBNReLUDrop(8, 8),
                         GAPHead(8, classes))


def rgb():
    return Net(channels=3, classes=4)
"""


def _digits(n, seed, classes=10, size=28):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n).astype(np.uint8)
    images = rng.integers(0, 40, (n, size, size)).astype(np.uint8)
    for i, k in enumerate(labels):
        r, c = divmod(int(k), 5)
        images[i, 4 + 12 * r: 12 + 12 * r, 1 + 5 * c: 6 + 5 * c] = 255
    return images, labels


def _idx(folder, gz=False, n_train=64, n_test=32):
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = _digits(n, 1 if split == "train" else 2)
        for key, array in ((f"{split}_images", images), (f"{split}_labels", labels)):
            data = encode_idx(array)
            name = IDX_FILES[key] + (".gz" if gz else "")
            (folder / name).write_bytes(gzip.compress(data) if gz else data)
    return folder


def _class_folder(folder, mode="L", sizes=((28, 28),), n=12, classes=("cat", "dog", "owl", "yak")):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for index, label in enumerate(classes):
            (folder / split / label).mkdir(parents=True, exist_ok=True)
            for i in range(n if split == "train" else n // 2):
                w, h = sizes[(i + index) % len(sizes)]
                pixels = rng.integers(0, 60, (h, w, 3) if mode == "RGB" else (h, w)).astype(np.uint8)
                pixels[..., 2 * index: 2 * index + 6, :] = 255  # a class-coded band
                Image.fromarray(pixels, mode).save(folder / split / label / f"{i}.png")
    return folder


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "mynet.py").write_text(NET)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _train(reference, folder, out="runs/r"):
    return main(["train", reference, "--data", str(folder), "--epochs", "1", "--batch-size", "16", "--out", out,
                 "--no-progress"])


def test_a_gzipped_idx_folder_reads_like_the_plain_one(tmp_path):
    plain, gz = data_folder(_idx(tmp_path / "plain")), data_folder(_idx(tmp_path / "gz", gz=True))
    assert (plain.train_images == gz.train_images).all() and (plain.test_labels == gz.test_labels).all()


def test_torchvisions_raw_layout_is_found_from_its_root(tmp_path):
    _idx(tmp_path / "root" / "FashionMNIST" / "raw", gz=True)
    data = data_folder(tmp_path / "root")
    assert data.name == "FashionMNIST" and data.input_size == (1, 28, 28) and len(data.train_labels) == 64


@pytest.mark.parametrize("layout", ["gz", "raw", "png", "rgb-png"])
def test_train_reads_every_layout(project, layout, capsys):
    if layout == "gz":
        folder, reference = _idx(project / "d", gz=True), "mynet.py:Net"
    elif layout == "raw":
        _idx(project / "d" / "KMNIST" / "raw")
        folder, reference = project / "d", "mynet.py:Net"
    elif layout == "png":
        folder = _class_folder(project / "d")
        (project / "gray.py").write_text(NET + "\n\ndef gray():\n    return Net(channels=1, classes=4)\n")
        reference = "gray.py:gray"
    else:
        folder, reference = _class_folder(project / "d", mode="RGB"), "mynet.py:rgb"
    assert _train(reference, folder) == 0, capsys.readouterr().err
    meta = json.loads((project / "runs" / "r" / "history.json").read_text())["meta"]["data"]
    channels = 3 if layout == "rgb-png" else 1
    assert meta["input_size"] == [channels, 28, 28] and len(meta["mean"]) == channels
    assert meta["num_classes"] == (4 if "png" in layout else 10)


def _truncated_gzip(folder):
    _idx(folder, gz=True)
    path = folder / (IDX_FILES["train_images"] + ".gz")
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    return folder


def _missing_file(folder):
    _idx(folder, gz=True)
    (folder / (IDX_FILES["test_labels"] + ".gz")).unlink()
    return folder


def _labels_out_of_range(folder):
    _idx(folder)
    images, labels = _digits(32, 2)
    labels[3] = 12
    (folder / IDX_FILES["test_labels"]).write_bytes(encode_idx(labels))
    return folder


def _two_sizes(folder):
    return _class_folder(folder, sizes=((28, 28), (32, 28)))


@pytest.mark.parametrize(("make", "words"), [
    (_missing_file, "has no t10k-labels-idx1-ubyte (nor .gz)"),
    (_truncated_gzip, "a truncated or damaged gzip file"),
    (_labels_out_of_range, "test labels 12 never occur in the training labels"),
    (_two_sizes, "images of two sizes"),
])
def test_each_bad_folder_is_one_line_exit_2_and_nothing_written(project, capsys, make, words):
    folder = make(project / "bad")
    assert _train("mynet.py:Net", folder) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert not (project / "runs" / "r").exists()


def test_a_folder_of_no_known_layout_says_which_it_takes(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="neither the four IDX files .* nor train/<class>/"):
        data_folder(tmp_path / "empty")
    with pytest.raises(IdxFormatError):
        folder = _idx(tmp_path / "short")
        path = folder / IDX_FILES["train_labels"]
        path.write_bytes(path.read_bytes()[:-3])
        data_folder(folder)


def test_a_colour_run_predicts_colour_files_at_its_own_size(project, capsys):
    folder = _class_folder(project / "d", mode="RGB")
    assert _train("mynet.py:rgb", folder) == 0
    capsys.readouterr()
    assert main(["predict", "runs/r", str(folder / "test" / "owl")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6 and all(": " in line and "%" in line for line in lines)


def test_a_grayscale_model_on_colour_data_is_told_to_take_three_channels(project, capsys):
    folder = _class_folder(project / "d", mode="RGB")
    assert _train("mynet.py:Net", folder) == 2
    err = capsys.readouterr().err
    assert "the data's images have 3, so build the model with in_channels=3" in err and "--input-size" not in err
