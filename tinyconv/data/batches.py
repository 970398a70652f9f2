"""The in-memory batch pipeline: the whole dataset as one tensor, sliced into batches.

:class:`TensorBatches` normalises the images once, keeps them on the training device,
shuffles with ``randperm`` from its own generator and applies a batched augmentation
to each slice. There are no workers and no per-sample Python work, which on a small
CPU is most of the cost of the classic ``DataLoader`` pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from tinyconv import _validate
from tinyconv.data.augment import MNIST_MEAN, MNIST_STD, BatchTransform

__all__ = ["check_batch_size", "normalise", "raw_image_transform", "channel_scale", "TensorBatches"]


def channel_scale(values: float | Sequence[float]) -> float | torch.Tensor:
    """A mean or standard deviation ready to broadcast over ``(N, C, H, W)``: a number as it is, one per channel as ``(1, C, 1, 1)``.

    Args:
        values: One value for every channel, or one per channel.

    Returns:
        The number, or a float32 tensor of shape ``(1, C, 1, 1)``.
    """
    if isinstance(values, (int, float)):
        return float(values)
    return torch.tensor(list(values), dtype=torch.float32).view(1, -1, 1, 1)


def normalise(images: torch.Tensor, mean: float | Sequence[float] = MNIST_MEAN,
              std: float | Sequence[float] = MNIST_STD) -> torch.Tensor:
    """Turn ``uint8 (N, H, W)`` or ``(N, C, H, W)`` images into normalised float32 ``(N, C, H, W)``.

    The same arithmetic as torchvision's ``ToTensor()`` followed by ``Normalize``.

    Args:
        images: uint8 images.
        mean: Mean to subtract (in [0, 1] units): one number, or one per channel.
        std: Standard deviation to divide by: one number, or one per channel.

    Returns:
        The float32 tensor.

    Raises:
        TypeError: If the images are not uint8.
        ValueError: If they do not have 3 or 4 dimensions.
    """
    if images.dtype != torch.uint8:
        raise TypeError(f"images must be uint8, got {images.dtype}")
    if images.ndim == 3:
        images = images.unsqueeze(1)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W) or (N, C, H, W), got shape {tuple(images.shape)}")
    return (images.float().div_(255) - channel_scale(mean)).div_(channel_scale(std))


def raw_image_transform(mean: float | Sequence[float], std: float | Sequence[float]
                        ) -> Callable[[torch.Tensor], torch.Tensor]:
    """The preprocessing for raw images a user feeds a model: :func:`normalise`, one image taken as a batch of one.

    Args:
        mean: The model's input mean (one number, or one per channel).
        std: Its standard deviation.

    Returns:
        A function from ``uint8`` ``(N, H, W)``, ``(N, C, H, W)`` or one ``(H, W)`` image to
        normalised float32 ``(N, C, H, W)``; floats are refused with how to convert them.
    """
    def transform(images: torch.Tensor) -> torch.Tensor:
        if images.dtype != torch.uint8:
            hint = " (for floats in [0, 1]: (images * 255).round().to(torch.uint8))" if images.is_floating_point() else ""
            raise TypeError(f"images must be uint8 (0-255), got {images.dtype}{hint}")
        return normalise(images.unsqueeze(0) if images.ndim == 2 else images, mean, std)

    return transform


def check_batch_size(batch_size: int, images: int) -> int:
    """Return ``batch_size`` if a training set of ``images`` can fill one batch of it.

    Args:
        batch_size: The training batch size.
        images: How many training images there are.

    Returns:
        ``batch_size``.

    Raises:
        ValueError: If the batch is larger than the training set (one batch per epoch, of a size that
            would need memory for the whole set at once).
    """
    if batch_size > images:
        raise ValueError(f"batch_size {batch_size:,} is larger than the training set ({images:,} images): give at "
                         f"most {images:,} (tinyconv's recipes use 64-512)")
    return batch_size


class TensorBatches:
    """Batches sliced from in-memory tensors, reshuffled on every pass.

    Iterating yields ``(images, labels)`` pairs; ``len()`` is the number of batches.
    Every sample appears exactly once per pass (the last batch may be smaller unless
    ``drop_last``). The same ``seed`` gives the same sequence of batches, and
    :meth:`state_dict` / :meth:`load_state_dict` save and restore the position in that
    sequence, so a resumed run sees the batches it would have seen.

    Args:
        images: ``(N, C, H, W)`` float tensor (already normalised; see :func:`normalise`).
        labels: ``(N,)`` int64 tensor.
        batch_size: Samples per batch.
        shuffle: Whether to reshuffle on every pass.
        augment: Batched transform ``augment(batch, generator)``, or ``None``.
        drop_last: Whether to drop a final incomplete batch.
        seed: Seed of the pipeline's own generator.
        device: Device to keep the data on (``None`` keeps it where it is).

    Raises:
        ValueError: If the shapes disagree or ``batch_size`` is not positive.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        *,
        shuffle: bool = True,
        augment: BatchTransform | None = None,
        drop_last: bool = False,
        seed: int = 0,
        device: torch.device | str | None = None,
    ) -> None:
        _validate.positive_int("batch_size", batch_size)
        if images.ndim != 4 or not images.is_floating_point():
            raise ValueError(f"images must be a float (N, C, H, W) tensor, got {images.dtype} {tuple(images.shape)}")
        if labels.shape != (images.shape[0],):
            raise ValueError(f"labels must have shape ({images.shape[0]},), got {tuple(labels.shape)}")
        self.images = images.to(device) if device is not None else images
        self.labels = labels.to(self.images.device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.augment = augment
        self.drop_last = drop_last
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        n = self.images.shape[0]
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    @property
    def num_samples(self) -> int:
        """Number of samples in one pass (before ``drop_last``)."""
        return int(self.images.shape[0])

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = self.images.shape[0]
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        order = order.to(self.images.device)
        for i in range(len(self)):
            index = order[i * self.batch_size : (i + 1) * self.batch_size]
            batch = self.images.index_select(0, index)
            if self.augment is not None:
                batch = self.augment(batch, self.generator)
            yield batch, self.labels.index_select(0, index)

    def state_dict(self) -> dict[str, Any]:
        """Return the generator state (the position in the batch sequence).

        Returns:
            A dict with the generator state tensor.
        """
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`.

        Args:
            state: The saved state.
        """
        self.generator.set_state(state["generator"])
