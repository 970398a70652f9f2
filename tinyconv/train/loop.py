"""The training loop's pieces: one epoch, one evaluation, callbacks, and the loop that strings them.

:func:`train_epoch`, :func:`evaluate` and the :class:`Callback` hooks are public building
blocks for people who write a loop of their own; :func:`run_epochs` is the loop behind
the one trainer, :func:`tinyconv.app.run.train_net` (call that to train).

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn, optim
from tinyconv import _validate
from tinyconv._progress import progress_bar
from tinyconv.train.average import WeightAverage
from tinyconv.train.checkpoint import check_state_matches, load_checkpoint, save_checkpoint
from tinyconv.train.history import EpochRecord, History
from tinyconv.train.schedulers import steps_per_batch

__all__ = ["NonFiniteLossError", "EpochResult", "EvalResult", "Step", "Callback", "ConsoleOutput", "OnEpochEnd",
           "FitOptions", "train_epoch", "evaluate", "syncs_every_step"]  # run_epochs: train_net's, not public

LossFn = Callable[..., torch.Tensor]
Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


def _percent(correct: int, total: int) -> float:
    return 100.0 * correct / total if total else 0.0


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
        return _percent(self.correct, self.total)

    def __repr__(self) -> str:
        return f"EvalResult(accuracy={self.accuracy:.2f}%, correct={self.correct:,}, total={self.total:,}, loss={self.loss:.4f})"


@dataclass(frozen=True)
class Step:
    """One optimizer step, as :meth:`Callback.on_step` sees it.

    On a CPU ``loss`` and ``correct`` are numbers; on a GPU, where the loop does not wait
    for the device after every step, they are 0-d tensors on it, and reading one as a
    number (``float()``, ``int()``, formatting) waits: read them only when you show them.

    Attributes:
        epoch: The epoch (from 1).
        batch: The batch's index in the epoch (from 0).
        loss: The batch's training loss.
        correct: Correct predictions so far in the epoch.
        seen: Samples so far in the epoch.
    """

    epoch: int
    batch: int
    loss: float | torch.Tensor
    correct: int | torch.Tensor
    seen: int


def train_epoch(
    model: nn.Module,
    batches: Batches,
    optimizer: optim.Optimizer,
    *,
    device: torch.device | str = "cpu",
    loss_fn: LossFn = F.nll_loss,
    scheduler: Any = None,
    epoch: int = 1,
    on_step: Callable[[Step], None] | None = None,
    sync_every_step: bool = True,
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
        on_step: Called with a :class:`Step` after every optimizer (and scheduler) step,
            e.g. to update a weight average or a progress bar.
        sync_every_step: Read the loss and the correct count on the host after every step
            (and stop at the first non-finite loss), as on a CPU, where reading costs
            nothing; ``False`` keeps them on the device until the epoch ends (for a GPU;
            see :func:`syncs_every_step`).

    Returns:
        The epoch's mean loss and accuracy.

    Raises:
        NonFiniteLossError: If a batch's loss is NaN or infinite.
    """
    model.train()
    if not sync_every_step:
        return _train_epoch_on_device(model, batches, optimizer, device, loss_fn, scheduler, epoch, on_step)
    total_loss, correct, seen = 0.0, 0, 0
    for batch_id, (data, target) in enumerate(batches):
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
        n = target.shape[0]
        total_loss += value * n
        correct += int((output.argmax(dim=1) == target).sum())
        seen += n
        if on_step is not None:
            on_step(Step(epoch, batch_id, value, correct, seen))
    if seen == 0:
        raise ValueError("the training batches were empty")
    return EpochResult(total_loss / seen, _percent(correct, seen), seen)


def _train_epoch_on_device(model: nn.Module, batches: Batches, optimizer: optim.Optimizer, device: Any,
                           loss_fn: LossFn, scheduler: Any, epoch: int,
                           on_step: Callable[[Step], None] | None) -> EpochResult:
    """:func:`train_epoch` with the sums kept on the device: one host read at the epoch's end."""
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    seen = 0
    for batch_id, (data, target) in enumerate(batches):
        data, target = data.to(device, non_blocking=True), target.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        output = model(data)
        loss = loss_fn(output, target)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        n = target.shape[0]
        total_loss += loss.detach().double() * n
        correct += (output.argmax(dim=1) == target).sum()
        seen += n
        if on_step is not None:
            on_step(Step(epoch, batch_id, loss.detach(), correct.clone(), seen))
    if seen == 0:
        raise ValueError("the training batches were empty")
    mean = total_loss.item() / seen
    if not math.isfinite(mean):
        raise NonFiniteLossError(f"loss became {mean} in epoch {epoch} (the batch is not known: the loop read the "
                                 "loss once per epoch)")
    return EpochResult(mean, _percent(int(correct.item()), seen), seen)


def syncs_every_step(device: torch.device | str) -> bool:
    """Whether the loop reads the loss on the host after every step on ``device``.

    On a CPU reading costs nothing and finds a non-finite loss at its batch; on a GPU each
    read waits for the device, so the sums stay there until the epoch ends.

    Args:
        device: Where the model trains.

    Returns:
        True on the CPU, False elsewhere.
    """
    return torch.device(device).type == "cpu"


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
            at inference (``benchmarks/throughput.py``). The model itself is not
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


def _rng_state(train: Any, device: torch.device | str = "cpu") -> dict[str, Any]:
    """The random states a resume needs: the CPU's, the batches', and the CUDA device's when training there."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.device(device).type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(torch.device(device))
    if hasattr(train, "state_dict"):
        state["batches"] = train.state_dict()
    return state


def _restore_rng(train: Any, state: dict[str, Any], device: torch.device | str = "cpu") -> None:
    torch.set_rng_state(state["torch"])
    if torch.device(device).type == "cuda":
        if "cuda" not in state:
            raise ValueError("the checkpoint was saved without a CUDA random state (it trained on the CPU); "
                             "resume it on the CPU (device='cpu')")
        torch.cuda.set_rng_state(state["cuda"], torch.device(device))
    if "batches" in state and hasattr(train, "load_state_dict"):
        train.load_state_dict(state["batches"])


class Callback:
    """Hooks into :func:`fit`; subclass and override the ones you need (all do nothing here).

    An exception raised in a hook stops training (a search's pruning signal, say); the
    checkpoint of the last finished epoch is kept.
    """

    def on_train_begin(self, steps_per_epoch: int | None, eval_name: str) -> None:
        """Called once before the first epoch: steps per epoch (``None`` if unknown) and
        what the evaluation batches are (``"Test"`` or ``"Validation"``)."""

    def on_resume(self, checkpoint: str | os.PathLike[str], epoch: int) -> None:
        """Called once when training continues from ``checkpoint`` after ``epoch``."""

    def on_epoch_begin(self, epoch: int) -> None:
        """Called before an epoch's first step."""

    def on_step(self, step: Step) -> None:
        """Called after every optimizer step (see :class:`Step`)."""

    def on_epoch_end(self, record: EpochRecord) -> None:
        """Called with each epoch's record, after its evaluation and checkpoint."""

    def on_run_end(self, summary: str) -> None:
        """Called once when a run of :func:`~tinyconv.app.run.train_net` ends, with its printed summary."""


class ConsoleOutput(Callback):
    """The seed notebook's output: ``EPOCH: n``, a tqdm bar per epoch, then the evaluation line.

    The bar's description is refreshed at most every ``refresh`` seconds, which is also
    when a GPU run's loss is read back from the device.

    Args:
        eval_name: ``"Test"`` or ``"Validation"``, for the evaluation line; ``None``: as
            the run says (:meth:`Callback.on_train_begin`).
        progress: Whether to show the per-epoch progress bar.
        echo: Where lines go (``print`` by default); the run's summary goes there too.
        total: Steps per epoch, so that the bar shows ``n/total`` and a time left;
            ``None``: as the run says.
        refresh: Seconds between two refreshes of the bar's description.
    """

    def __init__(self, eval_name: str | None = None, *, progress: bool = True,
                 echo: Callable[[str], None] = print, total: int | None = None, refresh: float = 0.2) -> None:
        self.eval_name, self.progress, self.echo, self.total, self.refresh = eval_name, progress, echo, total, refresh
        self._bar: Any = None
        self._shown = 0.0

    def __repr__(self) -> str:
        return f"ConsoleOutput({self.eval_name!r}, progress={self.progress!r}, total={self.total!r})"

    def on_train_begin(self, steps_per_epoch: int | None, eval_name: str) -> None:
        """Take the bar's total and the evaluation's name from the run, where not given."""
        self.total = self.total if self.total is not None else steps_per_epoch
        self.eval_name = self.eval_name or eval_name

    def on_resume(self, checkpoint: str | os.PathLike[str], epoch: int) -> None:
        """Say which checkpoint training continues from."""
        self.echo(f"Resuming from {checkpoint} after epoch {epoch}")

    def on_epoch_begin(self, epoch: int) -> None:
        """Print ``EPOCH: n`` and open the epoch's progress bar."""
        self.echo(f"EPOCH: {epoch}")
        if self.progress:
            self._bar = progress_bar(self.total, leave=True)
            self._shown = 0.0

    def on_step(self, step: Step) -> None:
        """Advance the bar, described as ``Loss=… Batch_id=… Accuracy=…`` (at most every ``refresh`` s)."""
        if self._bar is None:
            return
        now = time.monotonic()
        if now - self._shown >= self.refresh or step.batch + 1 == self.total:
            self._shown = now
            accuracy = _percent(int(step.correct), step.seen)
            self._bar.set_description(f"Loss={float(step.loss):.4f} Batch_id={step.batch} Accuracy={accuracy:0.2f}",
                                      refresh=False)
        self._bar.update(1)

    def on_epoch_end(self, record: EpochRecord) -> None:
        """Close the bar and print the evaluation line."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self.echo(_epoch_line(record, self.eval_name or "Test"))

    def on_run_end(self, summary: str) -> None:
        """Print the run's summary."""
        self.echo(summary)


class OnEpochEnd(Callback):
    """A callback made of one function, called with each epoch's record.

    Args:
        function: Called with the :class:`~tinyconv.train.history.EpochRecord`; an
            exception it raises stops training (a search's pruning signal, say).
    """

    def __init__(self, function: Callable[[EpochRecord], None]) -> None:
        self.function = function

    def __repr__(self) -> str:
        return f"OnEpochEnd({getattr(self.function, '__qualname__', self.function)!s})"

    def on_epoch_end(self, record: EpochRecord) -> None:
        """Call the function with the record."""
        self.function(record)


@dataclass(frozen=True)
class FitOptions:
    """How :func:`fit` trains and evaluates, beyond the model, data, optimizer and schedule.

    Attributes:
        device: Device of the model and data.
        loss_fn: ``loss_fn(output, target, reduction=...)``, for evaluation and (unless
            ``train_loss_fn`` is given) training; ``None`` means ``F.nll_loss``.
        train_loss_fn: The training loss, if it differs from the evaluation loss
            (label smoothing, say).
        plateau_metric: ``"test_loss"`` or ``"train_loss"``: what ReduceLROnPlateau monitors.
        average: A :class:`~tinyconv.train.average.WeightAverage` of the model, updated
            after every step; when given, the *average* is what gets evaluated (and
            what the reported accuracy means), while the training model's own accuracy
            is kept in each record's ``raw_test_accuracy``. Training is unchanged.
        average_bn_images: Training images on which the average's batch-norm statistics
            are measured again before every evaluation
            (:meth:`~tinyconv.train.average.WeightAverage.refresh_batch_norm`); ``None``
            keeps the averaged statistics.
        checkpoint: Path of the checkpoint file, or ``None`` for no checkpoints.
        resume: Whether to continue from ``checkpoint`` if it exists.
        eval_name: ``"Test"`` or ``"Validation"``: what the evaluation batches are.
        meta: Metadata stored in the history.
        channels_last_eval: Evaluate a ``channels_last`` copy of the model (see :func:`evaluate`);
            ``None`` means yes on a CPU, where it is faster, and no elsewhere.
        sync_every_step: Read the loss on the host after every step; ``None`` means
            :func:`syncs_every_step` for the device (yes on a CPU only).
        after_checkpoint: Called with the history so far after every epoch's checkpoint
            (a run folder's record, written from the same state).

    Raises:
        ValueError: For an unknown ``plateau_metric``.
    """

    device: torch.device | str = "cpu"
    loss_fn: LossFn | None = None
    train_loss_fn: LossFn | None = None
    plateau_metric: str = "test_loss"
    average: WeightAverage | None = None
    average_bn_images: torch.Tensor | None = None
    checkpoint: str | os.PathLike[str] | None = None
    resume: bool = False
    eval_name: str = "Test"
    meta: dict[str, Any] | None = None
    channels_last_eval: bool | None = None
    sync_every_step: bool | None = None
    after_checkpoint: Callable[[History], None] | None = None

    def __post_init__(self) -> None:
        _validate.choice("plateau_metric", self.plateau_metric, ("test_loss", "train_loss"))
        if self.average_bn_images is not None and self.average is None:
            raise ValueError("average_bn_images measures a weight average's batch norms: give average= too")

    @property
    def evaluates_channels_last(self) -> bool:
        """Whether evaluation runs on a ``channels_last`` copy."""
        if self.channels_last_eval is None:
            return torch.device(self.device).type == "cpu"
        return self.channels_last_eval

    @property
    def syncs(self) -> bool:
        """Whether the loop reads the loss on the host after every step."""
        return syncs_every_step(self.device) if self.sync_every_step is None else self.sync_every_step


@dataclass
class _Run:
    """What one call of :func:`fit` trains with, so that its steps take one argument."""

    model: nn.Module
    train: Batches
    evaluation: Batches
    optimizer: optim.Optimizer
    scheduler: Any
    options: FitOptions
    callbacks: Sequence[Callback]

    @property
    def batch_scheduler(self) -> Any:
        return self.scheduler if steps_per_batch(self.scheduler) else None

    def on_step(self, step: Step) -> None:
        if self.options.average is not None:
            self.options.average.update(self.model)
        for callback in self.callbacks:
            callback.on_step(step)


def _resume(run: _Run, checkpoint: str | os.PathLike[str]) -> tuple[History, int]:
    """Load a checkpoint into the run's objects; return its history and the next epoch."""
    state = load_checkpoint(checkpoint, map_location=run.options.device)
    check_state_matches(run.model, state["model"])
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    if run.scheduler is not None and state.get("scheduler") is not None:
        run.scheduler.load_state_dict(state["scheduler"])
    if run.options.average is not None:
        if state.get("average") is None:
            raise ValueError(f"{checkpoint} was saved without a weight average; resume without one")
        run.options.average.load_state_dict(state["average"])
    _restore_rng(run.train, state["rng"], run.options.device)
    for callback in run.callbacks:
        callback.on_resume(checkpoint, int(state["epoch"]))
    return History.from_dict(state["history"]), int(state["epoch"]) + 1


def _run_epoch(run: _Run, epoch: int) -> EpochRecord:
    """Train one epoch, evaluate (the average and the training weights), step the scheduler."""
    began = time.perf_counter()
    options, average = run.options, run.options.average
    loss_fn = options.loss_fn or F.nll_loss
    result = train_epoch(
        run.model, run.train, run.optimizer, device=options.device,
        loss_fn=options.train_loss_fn or loss_fn, scheduler=run.batch_scheduler, epoch=epoch,
        on_step=run.on_step, sync_every_step=options.syncs,
    )
    train_seconds = time.perf_counter() - began
    kwargs = {"device": options.device, "loss_fn": loss_fn, "channels_last": options.evaluates_channels_last}
    raw_accuracy = None if average is None else evaluate(run.model, run.evaluation, **kwargs).accuracy
    if average is not None and options.average_bn_images is not None:
        average.refresh_batch_norm(options.average_bn_images)
    evaluation = evaluate(run.model if average is None else average.module, run.evaluation, **kwargs)
    if isinstance(run.scheduler, optim.lr_scheduler.ReduceLROnPlateau):
        run.scheduler.step(evaluation.loss if options.plateau_metric == "test_loss" else result.loss)
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
    average = run.options.average
    save_checkpoint(
        checkpoint,
        {
            "epoch": epoch,
            "model": run.model.state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict() if run.scheduler is not None else None,
            # Through JSON, so only plain types reach the weights-only loader.
            "history": json.loads(json.dumps(history.to_dict())),
            "rng": _rng_state(run.train, run.options.device),
            "average": average.state_dict() if average is not None else None,
        },
    )


def run_epochs(
    model: nn.Module,
    train: Batches,
    evaluation: Batches,
    *,
    epochs: int,
    optimizer: optim.Optimizer,
    scheduler: Any = None,
    options: FitOptions | None = None,
    callbacks: Sequence[Callback] | None = None,
) -> History:
    """Train for ``epochs`` epochs, evaluating after each one.

    The loop behind :func:`tinyconv.app.run.train_net`, which builds its arguments from a
    recipe: call that to train (it is the one trainer; this one is not public API).
    Schedulers step where they belong: OneCycleLR after every batch, ReduceLROnPlateau
    after every epoch on ``options.plateau_metric``, others after every epoch. With
    ``options.checkpoint`` set, a checkpoint is written atomically after every epoch;
    with ``options.resume`` and an existing checkpoint, training continues after its
    last epoch with the saved weights, optimizer, scheduler, history and random states.

    Args:
        model: The model, already on ``options.device``.
        train: Training batches (reshuffled on each pass).
        evaluation: Evaluation batches (the test set, or a validation split).
        epochs: Total number of epochs (including resumed ones).
        optimizer: The optimizer.
        scheduler: A scheduler or ``None``.
        options: Device, losses, weight average, checkpoint... (see :class:`FitOptions`);
            ``None`` means the defaults.
        callbacks: :class:`Callback` objects called at every step and epoch; ``None``
            means ``[ConsoleOutput(options.eval_name)]`` (the notebook's printed lines and
            a progress bar), ``[]`` means silence.

    Returns:
        The history of all epochs.

    Raises:
        NonFiniteLossError: If the loss becomes NaN or infinite; the last checkpoint
            (of the last good epoch) is kept.
        tinyconv.train.checkpoint.CheckpointMismatchError: If resuming from a
            checkpoint of a different architecture.
        ValueError: If resuming with a weight average from a checkpoint saved without one.
    """
    _validate.positive_int("epochs", epochs)
    options = options or FitOptions()
    callbacks = [ConsoleOutput(options.eval_name)] if callbacks is None else list(callbacks)
    run = _Run(model, train, evaluation, optimizer, scheduler, options, callbacks)
    history, start = History(meta=dict(options.meta or {}, eval_name=options.eval_name)), 1
    steps = len(train) if hasattr(train, "__len__") else None  # type: ignore[arg-type]
    for callback in callbacks:
        callback.on_train_begin(steps, options.eval_name)
    if options.resume and options.checkpoint is not None and Path(options.checkpoint).is_file():
        history, start = _resume(run, options.checkpoint)
    for epoch in range(start, epochs + 1):
        for callback in callbacks:
            callback.on_epoch_begin(epoch)
        record = _run_epoch(run, epoch)
        history.append(record)
        if options.checkpoint is not None:
            _save(run, options.checkpoint, epoch, history)
        if options.after_checkpoint is not None:
            options.after_checkpoint(history)
        for callback in callbacks:
            callback.on_epoch_end(record)
    return history
