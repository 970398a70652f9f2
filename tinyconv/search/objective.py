"""One trial: a shape and recipe from the space, scaled to the budget, trained, scored.

The score is the exercise's criterion measured on the validation split: the *lowest*
validation accuracy of the last three epochs (of all epochs, for runs shorter than
three); a study whose trials train several seeds scores each trial by its worst seed.
Each epoch's validation accuracy is reported to Optuna so that a pruner can stop a
hopeless trial early. A shape that cannot be built, or cannot fit the budget at
any width, is pruned before any training and marked ``pruned_before_training``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from torch import nn

from tinyconv.app.run import train_net
from tinyconv.budget import BudgetExceededError, fit_to_budget
from tinyconv.data.batches import TensorBatches
from tinyconv.data.pipeline import Loaders, Mnist
from tinyconv.data.synthetic import synthetic_digits
from tinyconv.inspect.summary import summary
from tinyconv.train.history import EpochRecord, History
from tinyconv.recipe import Recipe
from tinyconv.train.loop import OnEpochEnd
from tinyconv.search.space import FIXED_RECIPE, SearchSpace
from tinyconv.zoo.stagenet import StageNetShape, StageNetShapeError, stagenet

__all__ = ["HOLDOUT", "TrialSettings", "Candidate", "build_candidate", "criterion", "Objective", "trial_data",
           "train_trial"]

HOLDOUT = 10_000
"""Validation images: the last 10,000 of the training set. The test set is never loaded."""


@dataclass(frozen=True)
class TrialSettings:
    """What every trial of a study shares.

    Attributes:
        budget: Exclusive parameter budget (in Pareto mode, the largest one).
        epochs: Epochs per trial.
        seed: Seed of every trial's weights, order and augmentation.
        data: ``"mnist"`` (validation split of the training set), ``"synthetic"``, or a
            folder of the four IDX files (Fashion-MNIST, KMNIST; its validation split is the
            last sixth of its training images, at most :data:`HOLDOUT`).
        root: MNIST root, or ``None`` for the default.
        min_budget: In Pareto mode, the smallest budget sampled; else ``None``.
        seeds_per_trial: Seeds every trial trains (``seed``, ``seed + 1``, ...); its score
            is the worst of them, so the search favours networks that pass for every seed
            over ones that passed once. Only the first seed's epochs are reported to the pruner.
        device: Where trials train (``"cpu"``, ``"cuda"``...).

    Raises:
        ValueError: If ``seeds_per_trial`` is not a positive int.
    """

    budget: int
    epochs: int = 15
    seed: int = 1
    data: str = "mnist"
    root: str | None = None
    min_budget: int | None = None
    seeds_per_trial: int = 1
    device: str = "cpu"

    def __post_init__(self) -> None:
        k = self.seeds_per_trial
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"seeds_per_trial must be a positive int, got {k!r}")

    def trial_seeds(self) -> tuple[int, ...]:
        """The seeds every trial trains, its own seed first.

        Returns:
            ``(seed, seed + 1, ..., seed + seeds_per_trial - 1)``.
        """
        return tuple(range(self.seed, self.seed + self.seeds_per_trial))


@dataclass(frozen=True)
class Candidate:
    """A trial's network: its shape, the width that fits the budget, and the model."""

    shape: dict[str, Any]
    width: int
    model: nn.Module
    params: int


def build_candidate(shape: dict[str, Any], budget: int) -> Candidate:
    """Scale a stagenet shape to the widest network under ``budget``.

    Args:
        shape: Stagenet shape arguments.
        budget: Exclusive parameter budget.

    Returns:
        The :class:`Candidate`.

    Raises:
        StageNetShapeError: If the shape shrinks the image below a pixel.
        BudgetExceededError: If even the narrowest width (2) is over the budget.
    """
    StageNetShape.from_dict(shape).sizes(28)
    fit = fit_to_budget(lambda w: stagenet(width=w, **shape), budget, low=2, limit=256)
    return Candidate(dict(shape), int(fit.width), fit.model, fit.params)


def criterion(accuracies: Sequence[float]) -> float:
    """The lowest accuracy of the last three epochs.

    Args:
        accuracies: Per-epoch accuracies, in order.

    Returns:
        ``min(accuracies[-3:])``.

    Raises:
        ValueError: If there are none.
    """
    if not accuracies:
        raise ValueError("no epochs to score")
    return min(accuracies[-3:])


def recipe_of(settings: TrialSettings, recipe_settings: dict[str, Any]) -> Recipe:
    """The full recipe of a trial: fixed parts, sampled parts, the study's epochs."""
    return Recipe(**{**FIXED_RECIPE, **recipe_settings, "epochs": settings.epochs})


SYNTHETIC_TRAIN = 2048
"""Training images of the search's ``data="synthetic"``: with 4 epochs, enough steps for its networks to learn
the task (with 512 images and 2 epochs every trial stayed at chance)."""


def _synthetic(recipe: Recipe, seed: int) -> Loaders:
    """Batches of :func:`~tinyconv.data.synthetic.synthetic_digits`: 2,048 to train, 256 to validate."""
    from tinyconv.data.augment import make_augmentation

    x, y = synthetic_digits(SYNTHETIC_TRAIN, seed=0)
    ex, ey = synthetic_digits(256, seed=10_000)
    augment = make_augmentation(recipe.augment, **recipe.augment_options())
    train = TensorBatches(x, y, recipe.batch_size, augment=augment, seed=seed)
    return Loaders(train, TensorBatches(ex, ey, 256, shuffle=False), "Validation", SYNTHETIC_TRAIN, 256)


def trial_data(settings: TrialSettings, recipe: Recipe, seed: int) -> tuple[Any, int]:
    """What a trial trains on: a data source and its validation split (the test set is never touched).

    Args:
        settings: The study's settings (``data``, ``root``).
        recipe: The trial's recipe (the synthetic batches are built from it).
        seed: The trial's seed.

    Returns:
        ``(data, holdout)`` as :func:`~tinyconv.app.run.train_net` takes them.
    """
    if settings.data == "synthetic":
        return _synthetic(recipe, seed), 0
    if settings.data != "mnist":
        from tinyconv.data.folders import data_folder

        images = data_folder(settings.data)
        return images, min(HOLDOUT, len(images.train_labels) // 6)
    return Mnist(settings.root), HOLDOUT


def train_trial(
    shape: dict[str, Any],
    width: int,
    recipe: Recipe,
    settings: TrialSettings,
    *,
    seed: int,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> History:
    """Train one network of the family on the validation split, through the one trainer.

    Args:
        shape: Stagenet shape arguments.
        width: The width to build it at.
        recipe: The recipe.
        settings: The study's settings (data, root, device).
        seed: The seed (of the weights too: the network is built after seeding).
        on_epoch: Called after every epoch (for reporting and pruning).

    Returns:
        The history (validation accuracies).
    """
    data, holdout = trial_data(settings, recipe, seed)
    callbacks = [] if on_epoch is None else [OnEpochEnd(on_epoch)]
    result = train_net(lambda: stagenet(width=width, **shape), recipe, name="stagenet", data=data, holdout=holdout, seed=seed, out=False,
                       device=settings.device, callbacks=callbacks)
    return result.history


class Objective:
    """The function Optuna calls for every trial.

    Args:
        space: The search space.
        settings: The study's settings.
        pareto: Return ``(score, params)`` for a multi-objective study (no pruning).
    """

    def __init__(self, space: SearchSpace, settings: TrialSettings, *, pareto: bool = False) -> None:
        self.space, self.settings, self.pareto = space, settings, pareto

    def _budget(self, trial: optuna.Trial) -> int:
        s = self.settings
        if not self.pareto:
            return s.budget
        return trial.suggest_int("budget", s.min_budget or s.budget, s.budget, step=250)

    def _candidate(self, trial: optuna.Trial) -> tuple[Candidate, Recipe]:
        shape, recipe_settings = self.space.sample(trial)
        budget = self._budget(trial)
        try:
            recipe = recipe_of(self.settings, recipe_settings)
            candidate = build_candidate(shape, budget)
        except (StageNetShapeError, BudgetExceededError, ValueError) as error:
            trial.set_user_attr("pruned_before_training", str(error).splitlines()[0])
            raise optuna.TrialPruned(f"cannot be built under {budget:,}: {error}") from None
        return candidate, recipe

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, int]:
        candidate, recipe = self._candidate(trial)
        info = summary(candidate.model, exports=False)
        for key, value in (("params", candidate.params), ("width", candidate.width), ("shape", candidate.shape),
                           ("recipe", recipe.to_dict()), ("macs", info.total_macs),
                           ("receptive_field", info.receptive_field[0] if info.receptive_field else None)):
            trial.set_user_attr(key, value)
        began, accuracies = time.perf_counter(), []

        def report(record: EpochRecord) -> None:
            accuracies.append(record.test_accuracy)
            trial.set_user_attr("accuracies", list(accuracies))
            trial.set_user_attr("seconds", round(time.perf_counter() - began, 1))
            if not self.pareto:
                trial.report(record.test_accuracy, record.epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after epoch {record.epoch} at {record.test_accuracy:.2f}%")

        first, *others = self.settings.trial_seeds()
        train_trial(candidate.shape, candidate.width, recipe, self.settings, seed=first, on_epoch=report)
        scores = {str(first): criterion(accuracies)}
        for seed in others:  # the trial's further seeds: scored, not reported to the pruner
            history = train_trial(candidate.shape, candidate.width, recipe, self.settings, seed=seed)
            scores[str(seed)] = criterion(history.column("test_accuracy"))
            trial.set_user_attr("seed_scores", dict(scores))
            trial.set_user_attr("seconds", round(time.perf_counter() - began, 1))
        score = min(scores.values())
        return (score, candidate.params) if self.pareto else score
