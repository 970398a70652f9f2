"""The one data entry: MNIST, an IDX folder, tensors or a ``Dataset`` turned into batches.

:func:`make_loaders` takes a *source* — ``None`` or :class:`Mnist` (MNIST from verified
files), a folder of the four IDX files (Fashion-MNIST, KMNIST), or an
:class:`~tinyconv.data.sources.ImageData` made from tensors or a ``Dataset`` — and returns
:class:`Loaders`: training and evaluation batches. With ``holdout=N`` the last ``N``
training images become the evaluation set (a validation split) and the test set is not
touched — use it to choose hyperparameters.

MNIST goes through ``pipeline="tensor"`` (the default: :class:`~tinyconv.data.batches.TensorBatches`,
normalised with MNIST's published statistics) or ``pipeline="classic"`` (the seed's
``torchvision.datasets.MNIST`` + ``DataLoader`` with per-sample transforms); other images
through the tensor pipeline, normalised with their training images' statistics.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Union

import torch

from tinyconv import _validate
from tinyconv.data.augment import MNIST_MEAN, MNIST_STD, make_augmentation, torchvision_transforms
from tinyconv.data.batches import TensorBatches, check_batch_size, normalise
from tinyconv._repr import short_repr
from tinyconv.data.mnist import default_root, ensure_mnist, load_mnist
from tinyconv.data.folders import data_folder
from tinyconv.data.sources import ImageData, image_loaders

__all__ = ["PIPELINES", "Loaders", "Mnist", "DataSource", "as_source", "make_loaders"]

from tinyconv.names import PIPELINES  # noqa: E402  (one list, importable without torch)

MIN_TRAIN_IMAGES = 1_000
"""A hold-out must leave at least this many training images (fewer trains on nearly nothing)."""


@dataclass
class Loaders:
    """Training and evaluation batches, of any source.

    Attributes:
        train: Iterable of training batches (with ``len()``).
        eval: Iterable of evaluation batches: the test set, or a validation split.
        eval_name: ``"Test"`` or ``"Validation"``: which of the two ``eval`` is.
        train_size: Number of training images.
        eval_size: Number of evaluation images.
    """

    train: Iterable[tuple[torch.Tensor, torch.Tensor]]
    eval: Iterable[tuple[torch.Tensor, torch.Tensor]]
    eval_name: str
    train_size: int
    eval_size: int

    def __repr__(self) -> str:
        batches = len(self.train) if hasattr(self.train, "__len__") else None  # type: ignore[arg-type]
        return short_repr(self, [("train_size", self.train_size), ("train_batches", batches),
                                 ("eval_name", self.eval_name), ("eval_size", self.eval_size)])


@dataclass(frozen=True)
class Mnist:
    """MNIST as a data source: the four files under ``root``, fetched and verified on first use.

    Attributes:
        root: Data root; ``None`` means :func:`~tinyconv.data.mnist.default_root`.
        input_size: ``(C, H, W)`` of one image (MNIST's, fixed).
        num_classes: Classes (MNIST's ten digits, fixed).
    """

    root: str | os.PathLike[str] | None = None
    input_size: tuple[int, int, int] = (1, 28, 28)
    num_classes: int = 10

    def describe(self) -> dict[str, Any]:
        """What a run stores about MNIST: name, sizes, classes and its published normalisation.

        Returns:
            A JSON-serialisable dict.
        """
        return {"name": "MNIST", "input_size": list(self.input_size), "num_classes": self.num_classes,
                "mean": [MNIST_MEAN], "std": [MNIST_STD]}


DataSource = Union[Mnist, ImageData]
"""What :func:`make_loaders` reads: :class:`Mnist` or :class:`~tinyconv.data.sources.ImageData`."""


def as_source(data: DataSource | str | os.PathLike[str] | None) -> DataSource:
    """The source ``data`` names: ``None`` is MNIST, a path a data folder (:func:`~tinyconv.data.folders.data_folder`).

    Args:
        data: ``None``, :class:`Mnist`, an :class:`~tinyconv.data.sources.ImageData`, or
            the path of a folder holding the four IDX files.

    Returns:
        The source.

    Raises:
        TypeError: For anything else (the message names what is accepted).
        tinyconv.data.sources.DataError: For an IDX folder that cannot be read.
    """
    if data is None:
        return Mnist()
    if isinstance(data, (Mnist, ImageData)):
        return data
    if isinstance(data, (str, os.PathLike)):
        return data_folder(data)
    raise TypeError(f"data must be None (MNIST), Mnist(root), an ImageData (tinyconv.data.sources.tensor_data) "
                    f"or an IDX folder's path, got {type(data).__name__}")


def make_loaders(
    data: DataSource | str | os.PathLike[str] | None = None,
    *,
    batch_size: int = 128,
    eval_batch_size: int = 1000,
    augment: str = "none",
    augment_options: Mapping[str, float] | None = None,
    pipeline: str = "tensor",
    holdout: int = 0,
    seed: int = 1,
    device: torch.device | str = "cpu",
    workers: int = 2,
) -> Loaders:
    """Training and evaluation batches of any source: the one way tinyconv builds them.

    Args:
        data: The source (see :func:`as_source`); ``None`` means MNIST.
        batch_size: Training batch size.
        eval_batch_size: Evaluation batch size (does not change results).
        augment: Augmentation recipe name (see :data:`~tinyconv.data.augment.AUGMENTATIONS`).
        augment_options: Strengths of the ``"custom"`` augmentation: ``degrees``,
            ``translate`` and ``scale`` (see :func:`~tinyconv.data.augment.make_augmentation`).
        pipeline: ``"tensor"``, or ``"classic"`` (MNIST only).
        holdout: Training images held out for evaluation (0: evaluate on the test set).
        seed: Seed of the shuffling and augmentation randomness.
        device: Device of the tensor pipeline's batches.
        workers: DataLoader workers of the classic pipeline.

    Returns:
        The :class:`Loaders`.

    Raises:
        ValueError: For an unknown pipeline or augmentation, the classic pipeline on data
            other than MNIST, or a hold-out that leaves too few training images.
        TypeError: For a ``data`` that is no source.
    """
    source = as_source(data)
    if isinstance(source, Mnist):
        return _mnist_loaders(source.root, batch_size=batch_size, eval_batch_size=eval_batch_size, augment=augment,
                              pipeline=pipeline, holdout=holdout, seed=seed, device=device, workers=workers,
                              augment_options=augment_options)
    _validate.choice("pipeline", pipeline, PIPELINES)
    if pipeline != "tensor":
        raise ValueError(f"data other than MNIST trains with pipeline='tensor', not {pipeline!r}")
    return image_loaders(source, batch_size=batch_size, eval_batch_size=eval_batch_size, augment=augment,
                         holdout=holdout, seed=seed, device=device, augment_options=augment_options)


def _mnist_loaders(
    root: str | os.PathLike[str] | None = None,
    *,
    batch_size: int = 128,
    eval_batch_size: int = 1000,
    augment: str = "none",
    pipeline: str = "tensor",
    holdout: int = 0,
    seed: int = 1,
    device: torch.device | str = "cpu",
    workers: int = 2,
    augment_options: Mapping[str, float] | None = None,
) -> Loaders:
    """MNIST train and evaluation batches (fetching and verifying the data first).

    Args:
        root: Data root; ``None`` means :func:`~tinyconv.data.mnist.default_root`.
        batch_size: Training batch size.
        eval_batch_size: Evaluation batch size (does not change results).
        augment: Augmentation recipe name (see :data:`~tinyconv.data.augment.AUGMENTATIONS`).
        pipeline: ``"tensor"`` or ``"classic"``.
        holdout: Number of training images held out for evaluation (0: evaluate on test).
        seed: Seed of the shuffling and augmentation randomness.
        device: Device for the tensor pipeline's data.
        workers: DataLoader workers of the classic pipeline.
        augment_options: Strengths of the ``"custom"`` augmentation: ``degrees``,
            ``translate`` and ``scale`` (see :func:`~tinyconv.data.augment.make_augmentation`).

    Returns:
        The :class:`Loaders`.

    Raises:
        ValueError: For an unknown pipeline or augmentation, or a hold-out that leaves
            fewer than :data:`MIN_TRAIN_IMAGES` training images.
    """
    _validate.choice("pipeline", pipeline, PIPELINES)
    _validate.positive_int("batch_size", batch_size)
    _validate.positive_int("eval_batch_size", eval_batch_size)
    _validate.non_negative_int("holdout", holdout)
    options = dict(augment_options or {})
    augmentation = make_augmentation(augment, **options)  # validates the name and strengths
    n_train = 60_000 - holdout
    if n_train < MIN_TRAIN_IMAGES:
        raise ValueError(f"holdout={holdout} leaves {max(n_train, 0):,} training images; keep at least "
                         f"{MIN_TRAIN_IMAGES:,} (holdout at most {60_000 - MIN_TRAIN_IMAGES:,})")
    check_batch_size(batch_size, n_train)  # before the data loads
    root_path = default_root() if root is None else root
    ensure_mnist(root_path)
    if pipeline == "classic":
        return _classic(root_path, batch_size, eval_batch_size, (augment, options), holdout, seed, workers)

    images, labels = load_mnist(root_path, train=True, fetch=False)
    x, y = normalise(images), labels
    if holdout:
        eval_x, eval_y = x[n_train:], y[n_train:]
        x, y = x[:n_train], y[:n_train]
    else:
        test_images, eval_y = load_mnist(root_path, train=False, fetch=False)
        eval_x = normalise(test_images)
    train = TensorBatches(x, y, batch_size, augment=augmentation, seed=seed, device=device)
    evaluation = TensorBatches(eval_x, eval_y, eval_batch_size, shuffle=False, device=device)
    return Loaders(train, evaluation, "Validation" if holdout else "Test", len(y), len(eval_y))


def _classic(root, batch_size, eval_batch_size, augment, holdout, seed, workers) -> Loaders:
    from torch.utils.data import DataLoader, Subset
    from torchvision.datasets import MNIST

    train_set = MNIST(str(root), train=True, download=False, transform=torchvision_transforms(augment[0], **augment[1]))
    if holdout:
        n_train = len(train_set) - holdout
        plain = MNIST(str(root), train=True, download=False, transform=torchvision_transforms("none"))
        eval_set = Subset(plain, range(n_train, len(plain)))
        train_set = Subset(train_set, range(n_train))
    else:
        eval_set = MNIST(str(root), train=False, download=False, transform=torchvision_transforms("none"))
    generator = torch.Generator().manual_seed(seed)
    options = {"num_workers": workers, "persistent_workers": workers > 0}
    train = DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=generator, **options)
    evaluation = DataLoader(eval_set, batch_size=eval_batch_size, shuffle=False, **options)
    return Loaders(train, evaluation, "Validation" if holdout else "Test", len(train_set), len(eval_set))
