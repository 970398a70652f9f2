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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from tinyconv.data.folders import IMAGE_SUFFIXES, images_in

__all__ = ["Prediction", "Unreadable", "load_digit", "load_colour", "predict_files", "input_transform", "input_size_of",
           "image_paths", "COLORS"]

COLORS = ("auto", "white-on-black", "black-on-white")
"""How the digit is drawn in the files: as in MNIST, inverted, or decided per image."""


@dataclass(frozen=True)
class Prediction:
    """One image's predicted class and its probability."""

    path: str
    label: int
    probability: float


def _open_image(path: str | os.PathLike[str]) -> Any:
    from PIL import Image, UnidentifiedImageError

    if not os.path.isfile(path):
        raise FileNotFoundError(f"no image file {os.fspath(path)}" + (" (it is a folder)" if os.path.isdir(path) else ""))
    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError) as error:
        why = "" if isinstance(error, UnidentifiedImageError) else f" ({error})"
        raise ValueError(f"{os.fspath(path)} is not an image PIL can read{why}") from None
    return image


def load_digit(path: str | os.PathLike[str], colors: Literal["auto", "white-on-black", "black-on-white"] = "auto",
               size: tuple[int, int] = (28, 28)) -> torch.Tensor:
    """Read an image file as MNIST's ``uint8 (28, 28)``, white digit on black.

    Args:
        path: A PNG or JPEG file (any size; grayscale, RGB, RGBA, palette or 16-bit).
        colors: How the digit is drawn (see :data:`COLORS`).
        size: ``(height, width)`` to resize to (MNIST's by default).

    Returns:
        The ``uint8`` image.

    Raises:
        ValueError: For an unknown ``colors`` or a file that is not an image.
        FileNotFoundError: If there is no such file.
    """
    from PIL import Image, ImageOps

    if colors not in COLORS:
        raise ValueError(f"colors must be one of {', '.join(COLORS)}; got {colors!r}")
    gray = _grayscale(_open_image(path))
    if colors == "black-on-white" or (colors == "auto" and _border_brighter(gray)):
        gray = 255 - gray
    square = ImageOps.pad(Image.fromarray(gray), (max(gray.shape),) * 2, color=0)
    resized = square.resize((size[1], size[0]), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(resized, dtype=np.uint8).copy())


def load_colour(path: str | os.PathLike[str], size: tuple[int, int]) -> torch.Tensor:
    """Read an image file as ``uint8 (3, H, W)`` RGB, resized to ``size`` (for a model trained on colour images).

    Args:
        path: A PNG or JPEG file.
        size: ``(height, width)``.

    Returns:
        The ``uint8`` image, channels first.

    Raises:
        ValueError: For a file that is not an image.
        FileNotFoundError: If there is no such file.
    """
    from PIL import Image

    image = _open_image(path).convert("RGB").resize((size[1], size[0]), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).copy())


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


def input_size_of(source: Any = None) -> tuple[int, int, int]:
    """``(C, H, W)`` a model expects, from where it came from (as :func:`input_transform` takes it); MNIST's by default."""
    described = source.get("data") if isinstance(source, Mapping) and isinstance(source.get("data"), Mapping) else {}
    size = described.get("input_size") or [1, 28, 28]
    return int(size[0]), int(size[1]), int(size[2])


def input_transform(source: Any = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """The normalisation a model expects, from where it came from.

    Args:
        source: ``None`` (MNIST's mean and standard deviation, what every MNIST run uses), shipped
            :class:`~tinyconv.zoo.weights.Weights`, a run's metadata (the ``meta`` of
            :func:`~tinyconv.app.trained.load_trained`) or a weights entry's ``to_dict()``, or a
            ready function (returned as it is).

    Returns:
        A function from ``uint8 (N, H, W)`` or ``(N, C, H, W)`` (or one ``(H, W)`` image) to the
        model's float input, normalised per channel.

    Raises:
        ValueError: For a run whose normalisation was not recorded.
        TypeError: For anything else.
    """
    from tinyconv.data.batches import MNIST_MEAN, MNIST_STD, raw_image_transform
    from tinyconv.zoo.weights import Weights

    if callable(source) and not isinstance(source, Mapping):
        return source  # type: ignore[no-any-return]
    if isinstance(source, Weights):
        return source.transforms()
    if source is None:
        mean, std = MNIST_MEAN, MNIST_STD
    elif isinstance(source, Mapping):
        described = source.get("data") if isinstance(source.get("data"), Mapping) else source
        if "mean" not in described:
            raise ValueError("the run did not record its normalisation (mean, std); give transform=...")
        mean, std = described["mean"], described["std"]
    else:
        raise TypeError(f"transform must be a function, Weights, a run's metadata or None, got {type(source).__name__}")
    return raw_image_transform(mean, std)


@dataclass(frozen=True)
class Unreadable:
    """An image file :func:`predict_files` could not read, and why."""

    path: str
    reason: str


def image_paths(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Files as given, each folder replaced by the images in it (sorted; see :data:`~tinyconv.data.folders.IMAGE_SUFFIXES`).

    Args:
        paths: Files and folders.

    Returns:
        The file paths.

    Raises:
        ValueError: For a folder without images.
    """
    files: list[str] = []
    for path in map(os.fspath, paths):
        if os.path.isdir(path):
            found = [str(p) for p in images_in(Path(path))]
            if not found:
                raise ValueError(f"{path} is a folder without images ({', '.join(IMAGE_SUFFIXES)})")
            files += found
        else:
            files.append(path)
    return files


def predict_files(model: nn.Module, paths: Sequence[str | os.PathLike[str]], transform: Any = None,
                  colors: str = "auto", *, skipped: list[Unreadable] | None = None) -> list[Prediction]:
    """Classify image files with a trained model.

    Args:
        model: The model (log-probabilities out, as tinyconv's heads give).
        paths: Image files, and folders of them.
        transform: The model's input normalisation, as :func:`input_transform` takes it: ``None``
            (MNIST's), the :class:`~tinyconv.zoo.weights.Weights` or run metadata the model came
            with (a run on colour images reads the files as RGB at its image size), or a
            function from ``uint8 (N, 28, 28)`` to the model's input.
        colors: How the digits are drawn (see :data:`COLORS`).
        skipped: A list that receives an :class:`Unreadable` for each file that could not be
            read; without it the first such file raises.

    Returns:
        One :class:`Prediction` per readable file, in order.

    Raises:
        FileNotFoundError: For a missing file (when ``skipped`` is not given).
        ValueError: For a file that is not an image (when ``skipped`` is not given), or a folder
            without images.
    """
    prepare = input_transform(transform)
    channels, height, width = input_size_of(transform)
    readable: list[str] = []
    images: list[torch.Tensor] = []
    for path in image_paths(paths):
        try:
            images.append(load_digit(path, colors, (height, width)) if channels == 1  # type: ignore[arg-type]
                          else load_colour(path, (height, width)))
            readable.append(path)
        except (OSError, ValueError) as error:
            if skipped is None:
                raise
            skipped.append(Unreadable(path, str(error)))
    if not images:
        return []
    model.eval()
    with torch.no_grad():
        probabilities = model(prepare(torch.stack(images))).exp()
    best = probabilities.max(dim=1)
    return [Prediction(p, int(label), float(prob))
            for p, label, prob in zip(readable, best.indices, best.values, strict=True)]
