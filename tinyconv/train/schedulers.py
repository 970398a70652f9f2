"""Learning-rate schedules by name, and how often each one steps."""

from __future__ import annotations

from torch import optim

from tinyconv import _validate
from tinyconv.recipe import Recipe

__all__ = ["SCHEDULERS", "make_scheduler", "steps_per_batch"]

from tinyconv.names import SCHEDULERS  # noqa: E402  (one list, importable without torch)


def make_scheduler(
    name: str,
    optimizer: optim.Optimizer,
    *,
    epochs: int,
    steps_per_epoch: int,
    max_lr: float | None = None,
    step_size: int = Recipe.step_size,
    gamma: float = Recipe.gamma,
    patience: int = Recipe.patience,
    factor: float = Recipe.factor,
    pct_start: float = Recipe.pct_start,
    onecycle_start: float = Recipe.onecycle_start,
    onecycle_anneal: str = Recipe.onecycle_anneal,
) -> optim.lr_scheduler.LRScheduler | optim.lr_scheduler.ReduceLROnPlateau | None:
    """Build a scheduler by name (its settings default to :class:`~tinyconv.recipe.Recipe`'s).

    Args:
        name: One of :data:`SCHEDULERS`.
        optimizer: The optimizer to schedule.
        epochs: Number of epochs (for OneCycleLR).
        steps_per_epoch: Batches per epoch (for OneCycleLR).
        max_lr: OneCycleLR's peak; defaults to each parameter group's own learning rate.
        step_size: StepLR's period in epochs.
        gamma: StepLR's factor.
        patience: ReduceLROnPlateau's patience in epochs.
        factor: ReduceLROnPlateau's factor.
        pct_start: OneCycleLR's warm-up fraction.
        onecycle_start: OneCycleLR's first learning rate as a fraction of the peak
            (``div_factor = 1 / onecycle_start``; PyTorch's default 25 is 0.04).
        onecycle_anneal: OneCycleLR's ``anneal_strategy``: ``"cos"`` or ``"linear"``.

    Returns:
        The scheduler, or ``None`` for ``"none"``.

    Raises:
        ValueError: If ``name`` is unknown.
    """
    _validate.choice("scheduler", name, SCHEDULERS)
    if name == "step":
        return optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)
    if name == "onecycle":
        # Each parameter group peaks at its own learning rate (the norms' may be scaled).
        peak: float | list[float] = max_lr if max_lr is not None else [g["lr"] for g in optimizer.param_groups]
        total = epochs * steps_per_epoch
        if abs(pct_start * total - 1) < 1e-9:
            # A warm-up of exactly one step makes OneCycleLR divide by zero; 1.5 steps does not
            # (only tiny runs, such as tests on a few batches, can land on it).
            pct_start = 1.5 / total
        extra = {} if (onecycle_start, onecycle_anneal) == (0.04, "cos") else \
            {"div_factor": 1.0 / onecycle_start, "anneal_strategy": onecycle_anneal}
        return optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=peak, epochs=epochs, steps_per_epoch=steps_per_epoch, pct_start=pct_start, **extra
        )
    if name == "plateau":
        return optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=patience, factor=factor)
    return None


def steps_per_batch(scheduler: object) -> bool:
    """Whether a scheduler steps after every batch (OneCycleLR) rather than every epoch.

    Args:
        scheduler: A scheduler or ``None``.

    Returns:
        True for batch-wise schedulers.
    """
    return isinstance(scheduler, (optim.lr_scheduler.OneCycleLR, optim.lr_scheduler.CyclicLR))
