"""Batched augmentation: one random affine transform per image, applied to a whole batch.

The transforms work on normalised ``(B, C, H, W)`` float tensors on any device, with
random numbers drawn from a caller-owned :class:`torch.Generator`, so the same seed
gives the same augmented batches. :func:`make_augmentation` turns a recipe name into
both the batched transform and its torchvision equivalent for the classic pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torchvision import transforms as T

from tinyconv import _validate

__all__ = [
    "MNIST_MEAN",
    "MNIST_STD",
    "SEED_FILL",
    "RandomAffine",
    "AUGMENTATIONS",
    "make_augmentation",
    "torchvision_transforms",
]

MNIST_MEAN = 0.1307
"""Mean of the MNIST training pixels scaled to [0, 1] (the seed's Normalize)."""
MNIST_STD = 0.3081
"""Standard deviation of the MNIST training pixels scaled to [0, 1]."""
SEED_FILL = 1
"""The seed's ``RandomRotation(fill=(1,))``: pixel value 1 of 255, nearly black."""

BatchTransform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


class RandomAffine:
    """Rotate, translate and scale every image of a batch by its own random amounts.

    Args:
        degrees: Rotation drawn uniformly from ``[-degrees, degrees]``.
        translate: Shift drawn uniformly from ``[-translate, translate]`` as a fraction of
            the image size, per axis.
        scale: Zoom factor drawn uniformly from ``[scale[0], scale[1]]``.
        fill: Value, in the *normalised* space of the input, of pixels that come from
            outside the image.
        mode: ``"nearest"`` (like torchvision's default) or ``"bilinear"``.
        probability: The chance that an image is transformed at all; the others pass
            through unchanged. At 1 (the default) no extra random numbers are drawn.

    Raises:
        ValueError: If an argument is out of range.
    """

    def __init__(
        self,
        degrees: float = 0.0,
        translate: float = 0.0,
        scale: tuple[float, float] = (1.0, 1.0),
        fill: float = 0.0,
        mode: str = "nearest",
        probability: float = 1.0,
    ) -> None:
        if not 0 <= degrees <= 180:
            raise ValueError(f"degrees must be in [0, 180], got {degrees!r}")
        if not 0 <= translate < 1:
            raise ValueError(f"translate must be in [0, 1), got {translate!r}")
        if not (0 < scale[0] <= scale[1]):
            raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {scale!r}")
        _validate.choice("mode", mode, ("nearest", "bilinear"))
        self.degrees, self.translate, self.scale = float(degrees), float(translate), tuple(scale)
        self.fill, self.mode = float(fill), mode
        self.probability = _validate.positive_fraction("probability", probability)

    def __repr__(self) -> str:
        return (
            f"RandomAffine(degrees={self.degrees}, translate={self.translate}, scale={self.scale}, "
            f"fill={self.fill:.4f}, mode={self.mode!r}"
            + (f", probability={self.probability}" if self.probability != 1 else "") + ")"
        )

    def matrices(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """Draw ``batch`` affine matrices (output → input sampling coordinates).

        Args:
            batch: Number of matrices.
            generator: Source of randomness (on the CPU).

        Returns:
            A ``(batch, 2, 3)`` float tensor on the CPU.
        """
        u = torch.rand(batch, 5, generator=generator, dtype=torch.float64) * 2 - 1
        angle = u[:, 0] * math.radians(self.degrees)
        shift = u[:, 1:3] * self.translate * 2  # affine_grid coordinates span [-1, 1]
        low, high = self.scale
        zoom = low + (u[:, 3] + 1) / 2 * (high - low)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack(
            [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
        )
        return theta.float()

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Transform a batch.

        Args:
            images: ``(B, C, H, W)`` float tensor.
            generator: Source of randomness (on the CPU).

        Returns:
            The transformed batch, same shape, dtype and device.
        """
        if self.probability == 1:
            return self._transform(images, generator)
        chosen = (torch.rand(images.shape[0], generator=generator) < self.probability).to(images.device)
        out = images.clone()
        if chosen.any():
            out[chosen] = self._transform(images[chosen], generator)
        return out

    def _transform(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        theta = self.matrices(images.shape[0], generator).to(images.device)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        shifted = images - self.fill  # zero padding in shifted space is `fill` in the original
        out = F.grid_sample(shifted, grid, mode=self.mode, padding_mode="zeros", align_corners=False)
        return out + self.fill


def _normalised(pixel: float) -> float:
    return (pixel / 255 - MNIST_MEAN) / MNIST_STD


from tinyconv.names import AUGMENTATIONS  # noqa: E402  (one list, importable without torch)


def make_augmentation(
    name: str, *, degrees: float = 0.0, translate: float = 0.0, scale: float = 0.0, probability: float = 1.0
) -> RandomAffine | None:
    """Return the batched transform of an augmentation recipe.

    Args:
        name: One of :data:`AUGMENTATIONS`.
        degrees: Rotation range of ``"custom"`` (ignored by the other names).
        translate: Shift range of ``"custom"``, as a fraction of the image size.
        scale: Zoom range of ``"custom"``: factors in ``[1 - scale, 1 + scale]``.
        probability: The chance that ``"custom"`` transforms an image (the others pass
            through unchanged).

    Returns:
        The transform, or ``None`` for ``"none"`` (and for a ``"custom"`` one whose
        strengths are all 0).

    Raises:
        ValueError: If ``name`` is unknown or a strength is out of range.
    """
    _validate.choice("augment", name, AUGMENTATIONS)
    fill = _normalised(SEED_FILL)
    if name == "custom":
        if not 0 <= scale < 1:
            raise ValueError(f"scale must be in [0, 1), got {scale!r}")
        if degrees == translate == scale == 0:
            return None
        return RandomAffine(degrees=degrees, translate=translate, scale=(1 - scale, 1 + scale),
                            fill=fill, mode="bilinear", probability=probability)
    if name == "rotate":
        return RandomAffine(degrees=7.0, fill=fill, mode="nearest")
    if name == "affine":
        return RandomAffine(degrees=7.0, translate=0.1, scale=(0.9, 1.1), fill=fill, mode="bilinear")
    return None


def torchvision_transforms(
    name: str, *, degrees: float = 0.0, translate: float = 0.0, scale: float = 0.0, probability: float = 1.0
) -> T.Compose:
    """Return the per-sample torchvision transforms of a recipe (the classic pipeline).

    Args:
        name: One of :data:`AUGMENTATIONS`.
        degrees: Rotation range of ``"custom"``.
        translate: Shift range of ``"custom"``.
        scale: Zoom range of ``"custom"``.
        probability: The chance that ``"custom"`` transforms an image.

    Returns:
        ``Compose([augmentation..., ToTensor(), Normalize((0.1307,), (0.3081,))])``.

    Raises:
        ValueError: If ``name`` is unknown.
    """
    _validate.choice("augment", name, AUGMENTATIONS)
    steps: list[Callable] = []
    if name == "rotate":
        steps.append(T.RandomRotation((-7.0, 7.0), fill=(SEED_FILL,)))
    elif name == "custom" and make_augmentation(name, degrees=degrees, translate=translate, scale=scale,
                                                probability=probability):
        affine = T.RandomAffine(degrees, translate=(translate, translate), scale=(1 - scale, 1 + scale),
                                fill=(SEED_FILL,), interpolation=T.InterpolationMode.BILINEAR)
        steps.append(affine if probability == 1 else T.RandomApply([affine], p=probability))
    elif name == "affine":
        steps.append(
            T.RandomAffine(7.0, translate=(0.1, 0.1), scale=(0.9, 1.1), fill=(SEED_FILL,),
                           interpolation=T.InterpolationMode.BILINEAR)
        )
    return T.Compose([*steps, T.ToTensor(), T.Normalize((MNIST_MEAN,), (MNIST_STD,))])
