"""Training: the loop and its callbacks, histories, checkpoints, schedulers, seeding and plots."""

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
    fit,
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
    "fit",
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
