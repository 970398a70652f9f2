"""Training: recipes, the loop, histories, checkpoints, schedulers, seeding and plots."""

from tinyconv.train.average import WeightAverage
from tinyconv.train.checkpoint import CheckpointMismatchError, load_checkpoint, save_checkpoint
from tinyconv.train.device import pick_device
from tinyconv.train.history import EpochRecord, History
from tinyconv.train.loop import NonFiniteLossError, evaluate, fit, train_epoch
from tinyconv.train.losses import smoothed_nll, training_loss
from tinyconv.train.plot import plot_history
from tinyconv.train.recipe import Recipe
from tinyconv.train.rng import seed_everything
from tinyconv.train.schedulers import SCHEDULERS, make_scheduler

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
    "smoothed_nll",
    "training_loss",
    "plot_history",
    "Recipe",
    "SCHEDULERS",
    "make_scheduler",
    "pick_device",
    "seed_everything",
    "WeightAverage",
]
