"""Training a model with a recipe: its optimizer, schedule, weight average, loss and data.

:func:`train_model` takes objects (a model, a :class:`~tinyconv.recipe.Recipe`, batches)
and never names: turning a zoo name or a file into a model, and writing a run folder,
is the application layer's job (:mod:`tinyconv.app`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn, optim

from tinyconv.cpu.options import CpuOptions, apply
from tinyconv.data.pipeline import MnistLoaders, mnist_loaders
from tinyconv.data.sources import ImageData, data_loaders
from tinyconv.train.average import WeightAverage
from tinyconv.train.history import History
from tinyconv.train.loop import Callback, ConsoleOutput, FitOptions, fit
from tinyconv.train.losses import training_loss
from tinyconv.recipe import Recipe
from tinyconv.train.schedulers import make_scheduler

__all__ = ["make_optimizer", "recipe_loaders", "train_model"]


def make_optimizer(model: nn.Module, recipe: Recipe) -> optim.Optimizer:
    """Build the recipe's optimizer for a model.

    Args:
        model: The model.
        recipe: The recipe.

    Returns:
        SGD (with momentum) or Adam.
    """
    if recipe.optimizer == "adam":
        return optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    return optim.SGD(
        model.parameters(),
        lr=recipe.lr,
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
        nesterov=recipe.nesterov and recipe.momentum > 0,
    )


def recipe_loaders(
    recipe: Recipe,
    root: str | os.PathLike[str] | None = None,
    *,
    holdout: int = 0,
    seed: int = 1,
    device: torch.device | str = "cpu",
    data: ImageData | None = None,
) -> MnistLoaders:
    """Batches as a recipe asks for them: MNIST, or other images (``data``).

    Args:
        recipe: Batch size, augmentation and pipeline come from here.
        root: MNIST root.
        holdout: Training images held out for validation (0: evaluate on the test set).
        seed: Seed of the shuffling and augmentation.
        device: Device of the tensor pipeline's data.
        data: Images other than MNIST (:mod:`tinyconv.data.sources`; the in-memory pipeline
            only), normalised with their training images' statistics; ``None`` means MNIST.

    Returns:
        The loaders.

    Raises:
        ValueError: For ``data`` with the ``"classic"`` pipeline.
    """
    if data is not None:
        if recipe.pipeline != "tensor":
            raise ValueError(f"data other than MNIST trains with pipeline='tensor', not {recipe.pipeline!r}")
        return data_loaders(data, batch_size=recipe.batch_size, augment=recipe.augment, holdout=holdout, seed=seed,
                            device=device, augment_options=recipe.augment_options())
    return mnist_loaders(
        root, batch_size=recipe.batch_size, augment=recipe.augment, pipeline=recipe.pipeline,
        holdout=holdout, seed=seed, device=device, augment_options=recipe.augment_options(),
    )


def train_model(
    model: nn.Module,
    recipe: Recipe,
    loaders: MnistLoaders,
    *,
    device: torch.device,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
    meta: dict[str, Any] | None = None,
    cpu: CpuOptions | None = None,
    callbacks: Sequence[Callback] | None = None,
) -> tuple[History, nn.Module]:
    """Train a model (already seeded and on ``device``) with a recipe.

    The speed-ups of ``cpu`` are swapped in, the recipe's optimizer, schedule, weight
    average and loss built, and :func:`~tinyconv.train.loop.fit` run.

    Args:
        model: The model.
        recipe: The settings.
        loaders: Training and evaluation batches (see :func:`recipe_loaders`).
        device: Where the model is.
        checkpoint: Checkpoint file, or ``None``.
        resume: Continue from ``checkpoint`` if it exists.
        meta: Metadata stored in the history.
        cpu: The speed-ups; ``None`` means all (see :class:`~tinyconv.cpu.options.CpuOptions`).
        callbacks: As :func:`~tinyconv.train.loop.fit` takes them; ``None`` means the
            printed lines and progress bars of :class:`~tinyconv.train.loop.ConsoleOutput`.

    Returns:
        The history and the evaluated model (the weight average when the recipe keeps one).
    """
    cpu = cpu or CpuOptions()
    apply(model, cpu, device)
    optimizer = make_optimizer(model, recipe)
    scheduler = make_scheduler(
        recipe.scheduler, optimizer, epochs=recipe.epochs, steps_per_epoch=len(loaders.train),
        step_size=recipe.step_size, gamma=recipe.gamma, patience=recipe.patience,
        factor=recipe.factor, pct_start=recipe.pct_start, onecycle_start=recipe.onecycle_start,
        onecycle_anneal=recipe.onecycle_anneal,
    )
    average = WeightAverage(model, recipe.ema_decay) if recipe.ema_decay > 0 else None
    options = FitOptions(
        device=device, train_loss_fn=training_loss(recipe.label_smoothing), plateau_metric=recipe.plateau_metric,
        average=average, checkpoint=checkpoint, resume=resume, eval_name=loaders.eval_name, meta=meta,
        channels_last_eval=cpu.evaluates_channels_last(device),
    )
    if callbacks is None:
        callbacks = [ConsoleOutput(loaders.eval_name)]
    history = fit(model, loaders.train, loaders.eval, epochs=recipe.epochs, optimizer=optimizer,
                  scheduler=scheduler, options=options, callbacks=callbacks)
    return history, model if average is None else average.module
