"""The training loop: one epoch, one evaluation, and :func:`fit` that strings them together.

The printed output follows the seed notebook: a tqdm bar per epoch described as
``Loss=… Batch_id=… Accuracy=…`` and after each epoch a line such as
``Test set: Average loss: 0.0236, Accuracy: 9928/10000 (99.28%)``. Everything the
loop measures is returned in a :class:`~tinyconv.train.history.History`.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn, optim
from tqdm.auto import tqdm

from tinyconv import _validate
from tinyconv.train.average import WeightAverage
from tinyconv.train.checkpoint import check_state_matches, load_checkpoint, save_checkpoint
from tinyconv.train.history import EpochRecord, History
from tinyconv.train.schedulers import steps_per_batch

__all__ = ["NonFiniteLossError", "EpochResult", "EvalResult", "train_epoch", "evaluate", "fit"]

LossFn = Callable[..., torch.Tensor]
Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the message names the epoch and batch."""


@dataclass(frozen=True)
class EpochResult:
    """Training metrics of one epoch: mean loss and accuracy in percent."""

    loss: float
    accuracy: float
    samples: int


@dataclass(frozen=True)
class EvalResult:
    """Evaluation metrics: mean loss, correct predictions, samples and accuracy in percent."""

    loss: float
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        """Accuracy in percent."""
        return 100.0 * self.correct / self.total if self.total else 0.0


def train_epoch(
    model: nn.Module,
    batches: Batches,
    optimizer: optim.Optimizer,
    *,
    device: torch.device | str = "cpu",
    loss_fn: LossFn = F.nll_loss,
    scheduler: Any = None,
    epoch: int = 1,
    progress: bool = True,
    after_step: Callable[[], None] | None = None,
) -> EpochResult:
    """Train for one pass over ``batches``.

    Args:
        model: The model (put in training mode).
        batches: Iterable of ``(inputs, targets)``.
        optimizer: The optimizer.
        device: Device to move the batches to.
        loss_fn: ``loss_fn(output, target)``; ``F.nll_loss`` for log-probabilities.
        scheduler: A batch-wise scheduler (OneCycleLR) to step after every batch, or ``None``.
        epoch: Epoch number, for messages.
        progress: Whether to show a tqdm bar.
        after_step: Called after every optimizer (and scheduler) step, e.g. to update
            a :class:`~tinyconv.train.average.WeightAverage`.

    Returns:
        The epoch's mean loss and accuracy.

    Raises:
        NonFiniteLossError: If a batch's loss is NaN or infinite.
    """
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    bar = tqdm(batches, disable=not progress, leave=True, dynamic_ncols=True)
    for batch_id, (data, target) in enumerate(bar):
        data, target = data.to(device, non_blocking=True), target.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        output = model(data)
        loss = loss_fn(output, target)
        value = loss.item()
        if not math.isfinite(value):
            raise NonFiniteLossError(f"loss became {value} in epoch {epoch}, batch {batch_id}")
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if after_step is not None:
            after_step()
        n = target.shape[0]
        total_loss += value * n
        correct += int((output.argmax(dim=1) == target).sum())
        seen += n
        if progress:
            bar.set_description(
                f"Loss={value:.4f} Batch_id={batch_id} Accuracy={100 * correct / seen:0.2f}", refresh=False
            )
    bar.close()
    if seen == 0:
        raise ValueError("the training batches were empty")
    return EpochResult(total_loss / seen, 100.0 * correct / seen, seen)


def evaluate(
    model: nn.Module,
    batches: Batches,
    *,
    device: torch.device | str = "cpu",
    loss_fn: LossFn = F.nll_loss,
    channels_last: bool = False,
) -> EvalResult:
    """Evaluate a model without changing it.

    Runs in eval mode under ``torch.no_grad()`` and restores the model's previous
    training flags afterwards.

    Args:
        model: The model.
        batches: Iterable of ``(inputs, targets)``.
        device: Device to move the batches to.
        loss_fn: Loss summed over samples (called with ``reduction="sum"``).
        channels_last: Evaluate a ``channels_last`` copy of the model on
            ``channels_last`` inputs, which makes CPU convolutions several times faster
            at inference (``benchmarks/speed/throughput.py``). The model itself is not
            changed; the copy costs one duplicate of its weights.

    Returns:
        The summed-then-averaged loss, correct count and total.
    """
    flags = {module: module.training for module in model.modules()}
    model.eval()
    evaluated = copy.deepcopy(model).to(memory_format=torch.channels_last) if channels_last else model
    total_loss, correct, total = 0.0, 0, 0
    try:
        with torch.no_grad():
            for data, target in batches:
                data, target = data.to(device, non_blocking=True), target.to(device, non_blocking=True)
                if channels_last and data.dim() == 4:
                    data = data.contiguous(memory_format=torch.channels_last)
                output = evaluated(data)
                total_loss += loss_fn(output, target, reduction="sum").item()
                correct += int((output.argmax(dim=1) == target).sum())
                total += target.shape[0]
    finally:
        for module, flag in flags.items():
            module.training = flag
    return EvalResult(total_loss / total if total else 0.0, correct, total)


def _rng_state(train: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if hasattr(train, "state_dict"):
        state["batches"] = train.state_dict()
    return state


def _restore_rng(train: Any, state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "batches" in state and hasattr(train, "load_state_dict"):
        train.load_state_dict(state["batches"])


@dataclass
class _Run:
    """What one call of :func:`fit` trains with, so that its steps take one argument."""

    model: nn.Module
    train: Batches
    test: Batches
    optimizer: optim.Optimizer
    scheduler: Any
    average: WeightAverage | None
    device: torch.device | str
    loss_fn: LossFn
    train_loss_fn: LossFn
    plateau_metric: str
    channels_last_eval: bool
    eval_name: str
    progress: bool

    @property
    def batch_scheduler(self) -> Any:
        return self.scheduler if steps_per_batch(self.scheduler) else None


def _resume(run: _Run, checkpoint: str | os.PathLike[str], say: Callable[[str], None]) -> tuple[History, int]:
    """Load a checkpoint into the run's objects; return its history and the next epoch."""
    state = load_checkpoint(checkpoint, map_location=run.device)
    check_state_matches(run.model, state["model"])
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    if run.scheduler is not None and state.get("scheduler") is not None:
        run.scheduler.load_state_dict(state["scheduler"])
    if run.average is not None:
        if state.get("average") is None:
            raise ValueError(f"{checkpoint} was saved without a weight average; resume without one")
        run.average.load_state_dict(state["average"])
    _restore_rng(run.train, state["rng"])
    say(f"Resuming from {checkpoint} after epoch {state['epoch']}")
    return History.from_dict(state["history"]), int(state["epoch"]) + 1


def _run_epoch(run: _Run, epoch: int) -> EpochRecord:
    """Train one epoch, evaluate (the average and the training weights), step the scheduler."""
    began = time.perf_counter()
    average = run.average
    result = train_epoch(
        run.model, run.train, run.optimizer, device=run.device, loss_fn=run.train_loss_fn,
        scheduler=run.batch_scheduler, epoch=epoch, progress=run.progress,
        after_step=None if average is None else lambda: average.update(run.model),
    )
    train_seconds = time.perf_counter() - began
    options = {"device": run.device, "loss_fn": run.loss_fn, "channels_last": run.channels_last_eval}
    raw_accuracy = None if average is None else evaluate(run.model, run.test, **options).accuracy
    evaluation = evaluate(run.model if average is None else average.module, run.test, **options)
    if isinstance(run.scheduler, optim.lr_scheduler.ReduceLROnPlateau):
        run.scheduler.step(evaluation.loss if run.plateau_metric == "test_loss" else result.loss)
    elif run.scheduler is not None and run.batch_scheduler is None:
        run.scheduler.step()
    return EpochRecord(
        epoch=epoch, train_loss=result.loss, train_accuracy=result.accuracy,
        test_loss=evaluation.loss, test_accuracy=evaluation.accuracy,
        test_correct=evaluation.correct, test_total=evaluation.total,
        lr=run.optimizer.param_groups[0]["lr"], seconds=time.perf_counter() - began,
        train_seconds=train_seconds, raw_test_accuracy=raw_accuracy,
    )


def _epoch_line(record: EpochRecord, eval_name: str) -> str:
    """The seed notebook's per-epoch evaluation line."""
    raw = record.raw_test_accuracy
    raw_note = "" if raw is None else f" [weight average; training weights {raw:.2f}%]"
    return (
        f"{eval_name} set: Average loss: {record.test_loss:.4f}, Accuracy: "
        f"{record.test_correct}/{record.test_total} ({record.test_accuracy:.2f}%){raw_note}\n"
    )


def _save(run: _Run, checkpoint: str | os.PathLike[str], epoch: int, history: History) -> None:
    """Write everything a resume needs, atomically."""
    save_checkpoint(
        checkpoint,
        {
            "epoch": epoch,
            "model": run.model.state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict() if run.scheduler is not None else None,
            # Through JSON, so only plain types reach the weights-only loader.
            "history": json.loads(json.dumps(history.to_dict())),
            "rng": _rng_state(run.train),
            "average": run.average.state_dict() if run.average is not None else None,
        },
    )


def fit(
    model: nn.Module,
    train: Batches,
    test: Batches,
    *,
    epochs: int,
    optimizer: optim.Optimizer,
    scheduler: Any = None,
    plateau_metric: str = "test_loss",
    device: torch.device | str = "cpu",
    loss_fn: LossFn = F.nll_loss,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
    progress: bool = True,
    eval_name: str = "Test",
    meta: dict[str, Any] | None = None,
    echo: Callable[[str], None] | None = print,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    channels_last_eval: bool | None = None,
    average: WeightAverage | None = None,
    train_loss_fn: LossFn | None = None,
) -> History:
    """Train for ``epochs`` epochs, evaluating after each one.

    Schedulers step where they belong: OneCycleLR after every batch, ReduceLROnPlateau
    after every epoch on ``plateau_metric``, others after every epoch. With
    ``checkpoint`` set, a checkpoint is written atomically after every epoch; with
    ``resume=True`` and an existing checkpoint, training continues after its last
    epoch with the saved weights, optimizer, scheduler, history and random states.

    Args:
        model: The model, already on ``device``.
        train: Training batches (reshuffled on each pass).
        test: Evaluation batches (the test set, or a validation split).
        epochs: Total number of epochs (including resumed ones).
        optimizer: The optimizer.
        scheduler: A scheduler or ``None``.
        plateau_metric: ``"test_loss"`` or ``"train_loss"``: what ReduceLROnPlateau monitors.
        device: Device of the model and data.
        loss_fn: ``loss_fn(output, target, reduction=...)``, for evaluation and (unless
            ``train_loss_fn`` is given) training.
        checkpoint: Path of the checkpoint file, or ``None`` for no checkpoints.
        resume: Whether to continue from ``checkpoint`` if it exists.
        progress: Whether to show progress bars.
        eval_name: ``"Test"`` or ``"Validation"``, for printed lines.
        meta: Metadata stored in the history.
        echo: Where to print per-epoch lines; ``None`` for silence.
        on_epoch: Called with each new epoch record (after its checkpoint is written);
            an exception raised there stops training, e.g. a search's pruning signal.
        channels_last_eval: Evaluate a ``channels_last`` copy of the model (see :func:`evaluate`);
            ``None`` means yes on a CPU, where it is faster, and no elsewhere.
        average: A :class:`~tinyconv.train.average.WeightAverage` of ``model``, updated
            after every step; when given, the *average* is what gets evaluated (and
            what the reported accuracy means), while the training model's own accuracy
            is kept in each record's ``raw_test_accuracy``. Training is unchanged.
        train_loss_fn: The training loss, if it differs from the evaluation loss
            (label smoothing, say).

    Returns:
        The history of all epochs.

    Raises:
        NonFiniteLossError: If the loss becomes NaN or infinite; the last checkpoint
            (of the last good epoch) is kept.
        tinyconv.train.checkpoint.CheckpointMismatchError: If resuming from a
            checkpoint of a different architecture.
        ValueError: If resuming with ``average`` from a checkpoint saved without one.
    """
    _validate.positive_int("epochs", epochs)
    _validate.choice("plateau_metric", plateau_metric, ("test_loss", "train_loss"))
    say = echo or (lambda _line: None)
    run = _Run(
        model, train, test, optimizer, scheduler, average, device, loss_fn, train_loss_fn or loss_fn,
        plateau_metric, torch.device(device).type == "cpu" if channels_last_eval is None else channels_last_eval,
        eval_name, progress,
    )
    history, start = History(meta=dict(meta or {}, eval_name=eval_name)), 1
    if resume and checkpoint is not None and Path(checkpoint).is_file():
        history, start = _resume(run, checkpoint, say)
    for epoch in range(start, epochs + 1):
        say(f"EPOCH: {epoch}")
        record = _run_epoch(run, epoch)
        history.append(record)
        say(_epoch_line(record, eval_name))
        if checkpoint is not None:
            _save(run, checkpoint, epoch, history)
        if on_epoch is not None:
            on_epoch(record)
    return history
