"""Classify image files: PNG or JPEG of any size and mode, converted to MNIST's 28×28 grayscale.

The conversion, in order: the image is flattened onto a white background if it has
transparency; turned to 8-bit grayscale (16-bit images are scaled down, not clipped);
made white-on-black like MNIST (``colors="black-on-white"`` inverts it, ``"auto"`` inverts
when the border is brighter than the middle, as with ink on paper); padded to a square with
the background colour; and resized to 28×28 with a Lanczos filter. The model's own
normalisation (the weights' :meth:`~tinyconv.zoo.weights.Weights.transforms`) comes after.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

__all__ = ["Prediction", "load_digit", "predict_files", "COLORS"]

COLORS = ("auto", "white-on-black", "black-on-white")
"""How the digit is drawn in the files: as in MNIST, inverted, or decided per image."""


@dataclass(frozen=True)
class Prediction:
    """One image's predicted class and its probability."""

    path: str
    label: int
    probability: float


def load_digit(path: str | os.PathLike[str], colors: Literal["auto", "white-on-black", "black-on-white"] = "auto"
               ) -> torch.Tensor:
    """Read an image file as MNIST's ``uint8 (28, 28)``, white digit on black.

    Args:
        path: A PNG or JPEG file (any size; grayscale, RGB, RGBA, palette or 16-bit).
        colors: How the digit is drawn (see :data:`COLORS`).

    Returns:
        The ``uint8`` image.

    Raises:
        ValueError: For an unknown ``colors`` or a file that is not an image.
        FileNotFoundError: If there is no such file.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if colors not in COLORS:
        raise ValueError(f"colors must be one of {', '.join(COLORS)}; got {colors!r}")
    try:
        image = Image.open(path)
        image.load()
    except UnidentifiedImageError:
        raise ValueError(f"{path} is not an image PIL can read") from None
    gray = _grayscale(image)
    if colors == "black-on-white" or (colors == "auto" and _border_brighter(gray)):
        gray = 255 - gray
    square = ImageOps.pad(Image.fromarray(gray), (max(gray.shape),) * 2, color=0)
    return torch.from_numpy(np.asarray(square.resize((28, 28), Image.Resampling.LANCZOS), dtype=np.uint8).copy())


def _grayscale(image: object) -> np.ndarray:
    """8-bit grayscale, transparency flattened onto white, 16-bit scaled rather than clipped."""
    from PIL import Image

    assert isinstance(image, Image.Image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        return np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def _border_brighter(gray: np.ndarray) -> bool:
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return float(border.mean()) > float(gray.mean())


def predict_files(model: nn.Module, paths: Sequence[str | os.PathLike[str]],
                  transform: Callable[[torch.Tensor], torch.Tensor], colors: str = "auto") -> list[Prediction]:
    """Classify image files with a trained model.

    Args:
        model: The model (log-probabilities out, as tinyconv's heads give).
        paths: The files.
        transform: From ``uint8 (N, 28, 28)`` to the model's input (e.g. ``Weights.transforms()``).
        colors: How the digits are drawn (see :data:`COLORS`).

    Returns:
        One :class:`Prediction` per file, in order.
    """
    images = torch.stack([load_digit(p, colors) for p in paths])  # type: ignore[arg-type]
    model.eval()
    with torch.no_grad():
        probabilities = model(transform(images)).exp()
    best = probabilities.max(dim=1)
    return [Prediction(os.fspath(p), int(label), float(prob))
            for p, label, prob in zip(paths, best.indices, best.values, strict=True)]
