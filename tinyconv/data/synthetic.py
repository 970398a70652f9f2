"""Synthetic digit-like images: a small offline stand-in for MNIST in tests and demos.

Each image is faint noise plus one bright square whose position on a grid is the
class, so that a tiny network learns it in an epoch or two. Nothing is downloaded.
"""

from __future__ import annotations

import math

import torch

from tinyconv import _validate

__all__ = ["synthetic_digits"]


def synthetic_digits(
    n: int, *, seed: int = 0, size: int = 28, classes: int = 10
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose class is the grid cell holding a bright square.

    Args:
        n: Number of images.
        seed: Seed of the labels and the noise.
        size: Height and width.
        classes: Number of classes (grid cells, laid out row by row).

    Returns:
        ``(images, labels)``: a ``(n, 1, size, size)`` float tensor (roughly zero mean,
        like normalised MNIST) and ``(n,)`` int64 labels.

    Raises:
        ValueError: If an argument is not a positive int, or the grid does not fit.

    Example:
        >>> images, labels = synthetic_digits(8, size=12, classes=4)
        >>> tuple(images.shape), int(labels.max()) < 4
        ((8, 1, 12, 12), True)
    """
    for name, value in (("n", n), ("size", size), ("classes", classes)):
        _validate.positive_int(name, value)
    side = math.ceil(math.sqrt(classes))
    cell = size // side
    if cell < 1:
        raise ValueError(f"size={size} is too small for {classes} classes")
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, classes, (n,), generator=g)
    images = torch.randn(n, 1, size, size, generator=g) * 0.3
    for i, label in enumerate(labels.tolist()):
        r, c = divmod(label, side)
        images[i, 0, r * cell : (r + 1) * cell, c * cell : (c + 1) * cell] += 2.0
    return images, labels
