"""Switching a run's augmentation off for its last epochs.

A recipe's ``unaugmented_epochs`` makes the last epochs train on the images as they are:
the augmentation that helps against over-fitting early costs a short run some accuracy at
its end, when the weights settle on the images they will be judged on. The switch is a
:class:`~tinyconv.train.loop.Callback` that sets the training batches' ``augment`` before
each epoch from the epoch's number, so a resumed run switches exactly where an unbroken
one does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tinyconv.train.loop import Callback

__all__ = ["AugmentationSwitch"]


class AugmentationSwitch(Callback):
    """Turn the training batches' augmentation on or off before every epoch.

    Args:
        batches: Training batches with an ``augment`` attribute
            (:class:`~tinyconv.data.batches.TensorBatches`).
        augments_epoch: Whether an epoch (counted from 1) is augmented, e.g.
            :meth:`tinyconv.recipe.Recipe.augments_epoch`.

    Raises:
        TypeError: If ``batches`` has no ``augment`` attribute to switch.
    """

    def __init__(self, batches: Any, augments_epoch: Callable[[int], bool]) -> None:
        if not hasattr(batches, "augment"):
            raise TypeError(f"unaugmented epochs need training batches with an 'augment' attribute "
                            f"(tinyconv's TensorBatches), got {type(batches).__name__}")
        self.batches = batches
        self.augments_epoch = augments_epoch
        self.augment = batches.augment

    def on_epoch_begin(self, epoch: int) -> None:
        """Set the batches' augmentation for ``epoch``."""
        self.batches.augment = self.augment if self.augments_epoch(epoch) else None

    def __repr__(self) -> str:
        return f"AugmentationSwitch(batches={type(self.batches).__name__}, augments_epoch={self.augments_epoch!r})"
