"""What a recipe builds for training: its optimizer, schedule, weight average and loss.

These take objects (a model, a :class:`~tinyconv.recipe.Recipe`) and never names:
turning a zoo name or a file into a model, building the data and writing a run folder
is the one trainer's job, :func:`tinyconv.app.run.train_net`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn, optim

from tinyconv.recipe import Recipe
from tinyconv.train.average import WeightAverage
from tinyconv.train.losses import training_loss
from tinyconv.train.schedulers import make_scheduler

__all__ = ["parameter_groups", "make_optimizer", "recipe_scheduler", "recipe_average", "recipe_bn_images", "recipe_loss"]


_NORMS = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


def parameter_groups(model: nn.Module, recipe: Recipe) -> list[dict[str, Any]]:
    """The optimizer's parameter groups: one group, or two when the norms train at their own rate.

    Args:
        model: The model.
        recipe: The recipe; with ``norm_lr_scale`` other than 1 the weights and
            biases of normalisation layers (batch, group and layer norms) form a second
            group at ``lr × norm_lr_scale``.

    Returns:
        ``[{"params": [...], "lr": lr}]``, followed by the norms' group when there is one
        (a model without norms keeps one group).

    Example:
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
        >>> [len(g["params"]) for g in parameter_groups(net, Recipe(norm_lr_scale=8.0))]
        [2, 2]
    """
    parameters = list(model.parameters())  # frozen ones too, as before: the optimizer skips what has no gradient
    if recipe.norm_lr_scale == 1:
        return [{"params": parameters, "lr": recipe.lr}]
    norm_ids = {id(p) for m in model.modules() if isinstance(m, _NORMS) for p in m.parameters(recurse=False)}
    norms = [p for p in parameters if id(p) in norm_ids]
    rest = [p for p in parameters if id(p) not in norm_ids]
    groups = [{"params": rest, "lr": recipe.lr}]
    return groups + ([{"params": norms, "lr": recipe.lr * recipe.norm_lr_scale}] if norms else [])


def make_optimizer(model: nn.Module, recipe: Recipe) -> optim.Optimizer:
    """Build the recipe's optimizer for a model.

    Args:
        model: The model.
        recipe: The recipe (its ``norm_lr_scale`` gives the norms their own group, see
            :func:`parameter_groups`).

    Returns:
        SGD (with momentum) or Adam.
    """
    groups = parameter_groups(model, recipe)
    if recipe.optimizer == "adam":
        return optim.Adam(groups, lr=recipe.lr, weight_decay=recipe.weight_decay)
    return optim.SGD(
        groups,
        lr=recipe.lr,
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
        nesterov=recipe.nesterov and recipe.momentum > 0,
    )


def recipe_scheduler(recipe: Recipe, optimizer: optim.Optimizer, steps_per_epoch: int) -> Any:
    """Build the recipe's learning-rate schedule.

    Args:
        recipe: The recipe.
        optimizer: The optimizer to schedule.
        steps_per_epoch: Batches per epoch.

    Returns:
        The scheduler, or ``None`` for ``scheduler="none"``.
    """
    return make_scheduler(
        recipe.scheduler, optimizer, epochs=recipe.epochs, steps_per_epoch=steps_per_epoch,
        step_size=recipe.step_size, gamma=recipe.gamma, patience=recipe.patience, factor=recipe.factor,
        pct_start=recipe.pct_start, onecycle_start=recipe.onecycle_start, onecycle_anneal=recipe.onecycle_anneal,
    )


def recipe_average(model: nn.Module, recipe: Recipe) -> WeightAverage | None:
    """The recipe's weight average of ``model``, or ``None`` when it keeps none (``ema_decay=0``).

    Args:
        model: The model, as it will train.
        recipe: The recipe.

    Returns:
        The average, or ``None``.
    """
    return WeightAverage(model, recipe.ema_decay) if recipe.ema_decay > 0 else None


def recipe_bn_images(recipe: Recipe, train: Any) -> torch.Tensor | None:
    """The training images that measure the average's batch norms (``recipe.ema_bn_images``), or ``None``.

    Args:
        recipe: The recipe.
        train: The training batches; with ``ema_bn_images`` above 0 they must hold their
            images in memory (:class:`~tinyconv.data.batches.TensorBatches`).

    Returns:
        The first ``ema_bn_images`` training images (all of them if there are fewer),
        or ``None`` when the recipe asks for none.

    Raises:
        TypeError: If the batches do not hold their images.
    """
    if not recipe.ema_bn_images:
        return None
    images = getattr(train, "images", None)
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"ema_bn_images needs training batches that hold their images (tinyconv's TensorBatches, "
                        f"pipeline='tensor'), got {type(train).__name__}")
    return images[: recipe.ema_bn_images]


def recipe_loss(recipe: Recipe) -> Any:
    """The recipe's training loss (negative log-likelihood, label-smoothed if it asks).

    Args:
        recipe: The recipe.

    Returns:
        ``loss(output, target, reduction="mean")``.
    """
    return training_loss(recipe.label_smoothing)
