"""The exercise's verdict: fewer parameters than the budget and ≥99.4% in each of the last 3 epochs.

The classic exercise asks for at least 99.4% MNIST test accuracy in 15 epochs or fewer
with fewer than 8,000 parameters; "at least 99.4%" is read strictly, as holding in
*each* of the last three epochs, so that a single lucky epoch does not count.

Example:
    >>> exercise_verdict([99.41, 99.45, 99.43], params=7911, budget=8000, epochs=15)
    Verdict(passed=True, reason='7,911 < 8,000 parameters; last 3 epochs 99.41, 99.45, 99.43, all >= 99.4')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["EXERCISE_ACCURACY", "EXERCISE_EPOCHS", "EXERCISE_BUDGET", "Verdict", "exercise_verdict"]

EXERCISE_ACCURACY = 99.4
"""Test accuracy (%) each of the last three epochs must reach."""
EXERCISE_EPOCHS = 15
"""The most epochs the exercise allows."""
EXERCISE_BUDGET = 8000
"""The exercise's exclusive parameter budget."""


@dataclass(frozen=True)
class Verdict:
    """Whether a run met the exercise, and why (one line)."""

    passed: bool
    reason: str


def exercise_verdict(
    accuracies: Sequence[float],
    *,
    params: int,
    budget: int = EXERCISE_BUDGET,
    epochs: int | None = None,
) -> Verdict:
    """Judge a run against the exercise.

    Args:
        accuracies: Test accuracy of every epoch (or at least the last three), in order.
        params: The model's trainable parameters.
        budget: The exclusive parameter budget.
        epochs: Epochs trained; ``None`` means ``len(accuracies)``.

    Returns:
        The :class:`Verdict`: parameters under the budget, at least three epochs, all of
        the last three at or above :data:`EXERCISE_ACCURACY`, and at most
        :data:`EXERCISE_EPOCHS` epochs.
    """
    epochs = len(accuracies) if epochs is None else epochs
    last = list(accuracies[-3:])
    parts, passed = [], True
    fits = params < budget
    passed &= fits
    parts.append(f"{params:,} {'<' if fits else '>='} {budget:,} parameters")
    if len(last) < 3:
        passed = False
        parts.append(f"only {len(last)} epoch{'s' if len(last) != 1 else ''}, the exercise judges the last 3")
    else:
        high = min(last) >= EXERCISE_ACCURACY
        passed &= high
        shown = ", ".join(f"{a:.2f}" for a in last)
        parts.append(f"last 3 epochs {shown}, {'all' if high else 'not all'} >= {EXERCISE_ACCURACY}")
    within = epochs <= EXERCISE_EPOCHS
    passed &= within
    if not within:
        parts.append(f"{epochs} epochs, more than {EXERCISE_EPOCHS}")
    return Verdict(passed, "; ".join(parts))
