"""MNIST train/evaluation batches through either pipeline, with an optional hold-out split.

``pipeline="tensor"`` (the default) uses :class:`~tinyconv.data.batches.TensorBatches`;
``pipeline="classic"`` is the seed's ``torchvision.datasets.MNIST`` + ``DataLoader`` with
per-sample transforms. With ``holdout=N`` the last ``N`` training images become the
evaluation set and the test set is not touched — use it to choose hyperparameters.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch

from tinyconv import _validate
from tinyconv.data.augment import make_augmentation, torchvision_transforms
from tinyconv.data.batches import TensorBatches, normalise
from tinyconv.data.mnist import default_root, ensure_mnist, load_mnist

__all__ = ["PIPELINES", "MnistLoaders", "mnist_loaders"]

from tinyconv.names import PIPELINES  # noqa: E402  (one list, importable without torch)

MIN_TRAIN_IMAGES = 1_000
"""A hold-out must leave at least this many training images (fewer trains on nearly nothing)."""


@dataclass
class MnistLoaders:
    """Train and evaluation batches.

    Attributes:
        train: Iterable of training batches (with ``len()``).
        eval: Iterable of evaluation batches.
        eval_name: ``"Test"`` or ``"Validation"``, for printed lines.
        train_size: Number of training images.
        eval_size: Number of evaluation images.
    """

    train: Iterable[tuple[torch.Tensor, torch.Tensor]]
    eval: Iterable[tuple[torch.Tensor, torch.Tensor]]
    eval_name: str
    train_size: int
    eval_size: int


def mnist_loaders(
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
) -> MnistLoaders:
    """Build MNIST train and evaluation batches (fetching and verifying the data first).

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
        The :class:`MnistLoaders`.

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
    return MnistLoaders(train, evaluation, "Validation" if holdout else "Test", len(y), len(eval_y))


def _classic(root, batch_size, eval_batch_size, augment, holdout, seed, workers) -> MnistLoaders:
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
    return MnistLoaders(train, evaluation, "Validation" if holdout else "Test", len(train_set), len(eval_set))
