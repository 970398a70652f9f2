"""Short recipes: the exercise in fewer epochs.

``st8k-fast`` is ``st8k``'s own recipe with 8 epochs instead of 15 — the same OneCycle to
0.1 (compressed to the shorter run), batch 64, mild affine augmentation and weight average
(decay 0.999). It was checked on the validation split (the last 10,000 training images)
before any test-set run (2 of 3 seeds kept their last three epochs at 99.4% or above). On the
test set it passed 16 of 20 seeds in about half the time of the 15-epoch recipe, which passed
every seed of its final runs (``benchmarks/results/time_to_accuracy.json``): a quick look, not
a safe verdict. ``tinyconv train st8k --recipe st8k-fast`` uses it; ``st8k``'s own 15-epoch
recipe stays ``st8k``'s default and the one ``make train`` runs.

Example:
    >>> from tinyconv.zoo import get_recipe
    >>> get_recipe("st8k-fast").epochs, get_recipe("st8k-fast").lr == get_recipe("st8k").lr
    (8, True)
"""

from __future__ import annotations

from tinyconv.recipe import Recipe
from tinyconv.zoo.registry import get_recipe, register_recipe

__all__ = ["ST8K_FAST_RECIPE", "FAST_EPOCHS"]

FAST_EPOCHS = 8
"""Epochs of the short recipe."""

ST8K_FAST_RECIPE: Recipe = register_recipe("st8k-fast", get_recipe("st8k").with_overrides(epochs=FAST_EPOCHS))
"""``st8k``'s recipe in :data:`FAST_EPOCHS` epochs."""
