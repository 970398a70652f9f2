"""Classifying image files: any size and mode becomes MNIST's white-on-black 28x28."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tinyconv.app.predict import load_digit, predict_files
from tinyconv.cli import main
from tinyconv.zoo import get_weights, list_weights, st8k


def _digit() -> np.ndarray:
    """A white '7' on black, 28x28 uint8."""
    a = np.zeros((28, 28), dtype=np.uint8)
    a[6:9, 7:21] = 255
    for i in range(9, 23):
        a[i, 19 - (i - 9) // 2: 22 - (i - 9) // 2] = 255
    return a


def _save(tmp_path, name, image):
    path = tmp_path / name
    image.save(path)
    return path


def test_an_mnist_like_gray_png_comes_back_unchanged(tmp_path):
    path = _save(tmp_path, "l.png", Image.fromarray(_digit()))
    assert torch.equal(load_digit(path), torch.from_numpy(_digit()))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "I;16", "P"])
def test_every_mode_gives_the_same_digit(tmp_path, mode):
    digit = _digit()
    if mode == "I;16":
        image = Image.fromarray(digit.astype(np.uint16) * 257)  # 16-bit: scaled down, not clipped to white
    elif mode == "RGBA":  # a black digit on a transparent background: flattened onto white, then inverted
        rgba = np.zeros((28, 28, 4), dtype=np.uint8)
        rgba[..., 3] = digit
        image = Image.fromarray(rgba)
    else:
        image = Image.fromarray(digit).convert(mode)
    got = load_digit(_save(tmp_path, "d.png", image)).numpy().astype(int)
    assert np.abs(got - digit.astype(int)).max() <= 1, mode


def test_size_and_polarity_are_handled(tmp_path):
    big = Image.fromarray(255 - _digit()).resize((112, 84), Image.Resampling.NEAREST)  # black on white, not square
    auto = load_digit(_save(tmp_path, "big.png", big))
    forced = load_digit(tmp_path / "big.png", "black-on-white")
    assert auto.shape == (28, 28) and torch.equal(auto, forced)
    assert auto[0].max() == 0 and auto.float().mean() > 20  # black border, white strokes
    assert load_digit(tmp_path / "big.png", "white-on-black")[14].float().mean() > 200  # taken as it is: white paper
    with pytest.raises(ValueError, match="colors must be one of"):
        load_digit(tmp_path / "big.png", "inverted")
    (tmp_path / "not.png").write_bytes(b"hello")
    with pytest.raises(ValueError, match="not an image"):
        load_digit(tmp_path / "not.png")


def test_predict_prints_a_class_and_probability_per_file(tmp_path, capsys):
    a = _save(tmp_path, "a.png", Image.fromarray(_digit()))
    b = _save(tmp_path, "b.jpg", Image.fromarray(255 - _digit()).convert("RGB").resize((64, 64)))
    predictions = predict_files(st8k(weights="mnist"), [a, b], get_weights("st8k").transforms())
    assert [p.path for p in predictions] == [str(a), str(b)]
    assert predictions[0].label == predictions[1].label and all(0 < p.probability <= 1 for p in predictions)
    assert main(["predict", "st8k", "--weights", "mnist", str(a), str(b)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{a}: {predictions[0].label} (") and len(lines) == 2


@pytest.mark.parametrize("weights", list_weights(), ids=lambda w: w.model)
def test_a_digit_drawn_in_a_paint_program_is_read_right(weights, capsys):
    """``images/drawn_four.png``: a black round brush on a white 320x360 RGBA canvas, as a paint program saves it."""
    drawn = Path(__file__).parent / "images" / "drawn_four.png"
    assert main(["predict", weights.model, "--weights", weights.tag, str(drawn)]) == 0
    assert capsys.readouterr().out.split(": ", 1)[1].startswith("4 (")
