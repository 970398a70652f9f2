"""Dataset statistics, as the seed notebook's ``data_statistics`` printed them."""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["DataStatistics", "data_statistics"]


@dataclass(frozen=True)
class DataStatistics:
    """Shape and moments of a (transformed) dataset.

    Attributes:
        shape: Tensor shape.
        min: Smallest value.
        max: Largest value.
        mean: Mean.
        std: Standard deviation (unbiased).
        var: Variance (unbiased).
    """

    shape: tuple[int, ...]
    min: float
    max: float
    mean: float
    std: float
    var: float

    def __str__(self) -> str:
        return (
            f" - shape: {self.shape}\n"
            f" - min: {self.min:.4f}\n - max: {self.max:.4f}\n - mean: {self.mean:.4f}\n"
            f" - std: {self.std:.4f}\n - var: {self.var:.4f}"
        )

    def __repr__(self) -> str:
        return (f"DataStatistics(shape={self.shape}, min={self.min:.4f}, max={self.max:.4f}, mean={self.mean:.4f}, "
                f"std={self.std:.4f}, var={self.var:.4f})")


def data_statistics(images: torch.Tensor) -> DataStatistics:
    """Compute the statistics of a transformed image tensor.

    For MNIST normalised with ``(0.1307, 0.3081)`` the seed printed min -0.4242,
    max 2.8215, mean ≈0.0000, std 1.0000, var 1.0001.

    Args:
        images: A float tensor, e.g. ``normalise(load_mnist()[0])``.

    Returns:
        The statistics (computed in float64).

    Raises:
        TypeError: If ``images`` is not a floating-point tensor.
    """
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError("images must be a floating-point tensor (normalise uint8 images first)")
    values = images.double()
    return DataStatistics(
        shape=tuple(images.shape),
        min=values.min().item(),
        max=values.max().item(),
        mean=values.mean().item(),
        std=values.std().item(),
        var=values.var().item(),
    )
