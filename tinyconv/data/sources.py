"""Data beyond MNIST: a folder of IDX files, or images and labels you already hold in memory.

:class:`ImageData` is the one interface: training and test images (``uint8``, or floats
in [0, 1]; ``(N, H, W)`` or ``(N, C, H, W)``) with integer labels, checked when it is
made. :func:`tinyconv.data.folders.data_folder` reads a folder from disk (the four IDX files
of MNIST, Fashion-MNIST or KMNIST, plain or gzipped, torchvision's layout, or class folders of
images); :func:`tensor_data` takes tensors or a ``Dataset`` that fits in
memory. :func:`~tinyconv.data.pipeline.make_loaders` turns it into the same in-memory batches MNIST trains with,
normalised with the statistics of the *training* images (per channel), which a run stores
so its model can be evaluated and exported the same way.

Example:
    >>> import torch
    >>> x, y = torch.zeros(8, 3, 32, 32, dtype=torch.uint8), torch.arange(8) % 4
    >>> data = tensor_data((x, y), (x[:4], y[:4]))
    >>> data.input_size, data.num_classes
    ((3, 32, 32), 4)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from tinyconv import _validate
from tinyconv._repr import short_repr
from tinyconv.data.augment import make_augmentation
from tinyconv.data.batches import TensorBatches

__all__ = ["ImageData", "DataError", "IDX_FILES", "tensor_data", "image_loaders"]

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
"""The four files of an IDX folder (MNIST's names, which Fashion-MNIST and KMNIST share)."""


class DataError(ValueError):
    """Images and labels that cannot train a classifier; the message says which and why."""


def _as_images(images: Any, what: str) -> torch.Tensor:
    x = torch.as_tensor(images)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4:
        raise DataError(f"{what} must be (N, H, W) or (N, C, H, W), got shape {tuple(x.shape)}")
    if x.dtype != torch.uint8 and not x.is_floating_point():
        raise DataError(f"{what} must be uint8 (0-255) or floats in [0, 1], got {x.dtype}")
    return x


@dataclass(frozen=True)
class ImageData:
    """Training and test images with their labels, checked to fit together.

    Attributes:
        train_images: ``(N, C, H, W)``, ``uint8`` or floats in [0, 1].
        train_labels: ``(N,)`` integers in ``0..num_classes - 1``.
        test_images: Like ``train_images``, the same channels and size.
        test_labels: Like ``train_labels``.
        name: What the data is, for summaries.

    Raises:
        DataError: For mismatched lengths, shapes or sizes, labels that are not integers
            or are negative, or an empty split.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    name: str = "images"

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images = _as_images(getattr(self, f"{split}_images"), f"{split} images")
            labels = torch.as_tensor(getattr(self, f"{split}_labels"))
            if labels.dim() != 1 or labels.is_floating_point() or labels.dtype == torch.bool:
                raise DataError(f"{split} labels must be a 1-D tensor of integers, got {labels.dtype} "
                                f"of shape {tuple(labels.shape)}")
            if len(images) != len(labels) or len(labels) == 0:
                raise DataError(f"{split} images and labels must be as many and not none: "
                                f"{len(images)} images, {len(labels)} labels")
            if int(labels.min()) < 0:
                raise DataError(f"{split} labels must be 0 or more, got {int(labels.min())}")
            object.__setattr__(self, f"{split}_images", images)
            object.__setattr__(self, f"{split}_labels", labels.long())
        if self.train_images.shape[1:] != self.test_images.shape[1:]:
            raise DataError(f"train and test images differ in shape: {tuple(self.train_images.shape[1:])} vs "
                            f"{tuple(self.test_images.shape[1:])}")

    def __repr__(self) -> str:
        return short_repr(self, [("name", self.name), ("train", self.train_images), ("test", self.test_images),
                                 ("classes", self.num_classes)])

    @property
    def input_size(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of one image."""
        c, h, w = self.train_images.shape[1:]
        return int(c), int(h), int(w)

    @property
    def num_classes(self) -> int:
        """One more than the largest label of either split."""
        return int(max(self.train_labels.max(), self.test_labels.max())) + 1

    def statistics(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and standard deviation of the training images, in [0, 1] units.

        Returns:
            ``(means, stds)``, one value per channel.
        """
        x = self._unit(self.train_images)
        return (tuple(float(v) for v in x.mean(dim=(0, 2, 3))),
                tuple(max(float(v), 1e-6) for v in x.std(dim=(0, 2, 3))))

    def normalised(self, images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
        """Images in [0, 1] units, minus the mean and divided by the std, channel by channel.

        Args:
            images: ``(N, C, H, W)`` images as this data holds them.
            mean: One mean per channel.
            std: One standard deviation per channel.

        Returns:
            float32 images.
        """
        from tinyconv.data.batches import channel_scale

        return (self._unit(images) - channel_scale(mean)) / channel_scale(std)

    @staticmethod
    def _unit(images: torch.Tensor) -> torch.Tensor:
        return images.float().div(255.0) if images.dtype == torch.uint8 else images.float()

    def describe(self) -> dict[str, Any]:
        """What a run stores about its data: name, sizes, classes and normalisation.

        Returns:
            A JSON-serialisable dict.
        """
        mean, std = self.statistics()
        return {"name": self.name, "input_size": list(self.input_size), "num_classes": self.num_classes,
                "train_size": len(self.train_labels), "test_size": len(self.test_labels),
                "mean": list(mean), "std": list(std)}


def tensor_data(train: Any, test: Any, name: str = "tensors") -> ImageData:
    """Data from tensors ``(images, labels)`` or from ``Dataset`` objects that fit in memory (read once).

    Args:
        train: ``(images, labels)``, or a ``Dataset`` of ``(image, label)`` pairs.
        test: The same for testing.
        name: What the data is.

    Returns:
        The data.

    Raises:
        DataError: If the images and labels do not fit together.
    """
    return ImageData(*_pair(train, "train"), *_pair(test, "test"), name=name)


def _pair(split: Any, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(split, (tuple, list)) and len(split) == 2:
        return torch.as_tensor(split[0]), torch.as_tensor(split[1])
    if hasattr(split, "__getitem__") and hasattr(split, "__len__"):
        items = [split[i] for i in range(len(split))]
        return torch.stack([torch.as_tensor(x) for x, _ in items]), torch.as_tensor([int(y) for _, y in items])
    raise DataError(f"{what} must be (images, labels) or a Dataset of (image, label) pairs, got {type(split).__name__}")


def image_loaders(
    data: ImageData,
    *,
    batch_size: int = 128,
    eval_batch_size: int = 1000,
    augment: str = "none",
    holdout: int = 0,
    seed: int = 1,
    device: torch.device | str = "cpu",
    augment_options: Mapping[str, float] | None = None,
) -> Any:
    """In-memory batches of an :class:`ImageData`, normalised with the training images' statistics.

    :func:`~tinyconv.data.pipeline.make_loaders` calls it for every source other than MNIST.

    Args:
        data: The images.
        batch_size: Training batch size.
        eval_batch_size: Evaluation batch size (does not change results).
        augment: Augmentation recipe name.
        holdout: The last ``holdout`` training images become the evaluation set (0: the test set).
        seed: Seed of the shuffling and augmentation.
        device: Device of the batches.
        augment_options: Strengths of the ``"custom"`` augmentation.

    Returns:
        :class:`~tinyconv.data.pipeline.Loaders` (the same batches MNIST trains with).

    Raises:
        ValueError: For a hold-out that leaves no training image, or a bad augmentation.
    """
    from tinyconv.data.pipeline import Loaders

    _validate.non_negative_int("holdout", holdout)
    augmentation = make_augmentation(augment, **dict(augment_options or {}))
    n_train = len(data.train_labels) - holdout
    if n_train < 1:
        raise ValueError(f"holdout={holdout} leaves no training image of {len(data.train_labels):,}")
    mean, std = data.statistics()
    x, y = data.normalised(data.train_images, mean, std), data.train_labels
    if holdout:
        eval_x, eval_y, x, y = x[n_train:], y[n_train:], x[:n_train], y[:n_train]
    else:
        eval_x, eval_y = data.normalised(data.test_images, mean, std), data.test_labels
    train = TensorBatches(x, y, batch_size, augment=augmentation, seed=seed, device=device)
    evaluation = TensorBatches(eval_x, eval_y, eval_batch_size, shuffle=False, device=device)
    return Loaders(train, evaluation, "Validation" if holdout else "Test", len(y), len(eval_y))
