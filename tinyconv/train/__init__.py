"""Training's building blocks: one epoch, one evaluation, callbacks, histories, checkpoints, schedules.

To train, call the one trainer, :func:`tinyconv.train_net`; these pieces are for a loop of
your own (:func:`train_epoch`, :func:`evaluate`) and for hooking into the trainer's
(:class:`Callback`).
"""

from tinyconv.train.average import WeightAverage
from tinyconv.train.checkpoint import CheckpointMismatchError, load_checkpoint, save_checkpoint
from tinyconv.train.device import pick_device
from tinyconv.train.history import EpochRecord, History
from tinyconv.train.loop import (
    Callback,
    ConsoleOutput,
    FitOptions,
    NonFiniteLossError,
    OnEpochEnd,
    Step,
    evaluate,
    train_epoch,
)
from tinyconv.train.losses import smoothed_nll, training_loss
from tinyconv.train.plot import plot_history
from tinyconv.train.rng import seed_everything
from tinyconv.train.schedulers import SCHEDULERS, make_scheduler

__all__ = [
    "CheckpointMismatchError",
    "load_checkpoint",
    "save_checkpoint",
    "EpochRecord",
    "History",
    "NonFiniteLossError",
    "Callback",
    "ConsoleOutput",
    "FitOptions",
    "OnEpochEnd",
    "Step",
    "evaluate",
    "train_epoch",
    "smoothed_nll",
    "training_loss",
    "plot_history",
    "SCHEDULERS",
    "make_scheduler",
    "pick_device",
    "seed_everything",
    "WeightAverage",
]
