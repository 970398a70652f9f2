"""Training: the loop, histories, checkpoints, schedulers, seeding and plots."""

from tinyconv.train.average import WeightAverage
from tinyconv.train.checkpoint import CheckpointMismatchError, load_checkpoint, save_checkpoint
from tinyconv.train.history import EpochRecord, History
from tinyconv.train.loop import NonFiniteLossError, evaluate, fit, train_epoch
from tinyconv.train.plot import plot_history
from tinyconv.train.schedulers import SCHEDULERS, make_scheduler
from tinyconv.train.seeding import pick_device, seed_everything

__all__ = [
    "CheckpointMismatchError",
    "load_checkpoint",
    "save_checkpoint",
    "EpochRecord",
    "History",
    "NonFiniteLossError",
    "evaluate",
    "fit",
    "train_epoch",
    "plot_history",
    "SCHEDULERS",
    "make_scheduler",
    "pick_device",
    "seed_everything",
    "WeightAverage",
]
