"""The exercise's verdict: fewer parameters than the budget and ≥99.4% in each of the last 3 epochs.

The classic exercise asks for at least 99.4% MNIST test accuracy in 15 epochs or fewer
with fewer than 8,000 parameters; "at least 99.4%" is read strictly, as holding in
*each* of the last three epochs, so that a single lucky epoch does not count.

Example:
    >>> exercise_verdict([99.41, 99.45, 99.43], params=7911, budget=8000, epochs=15)
    Verdict(passed=True, reason='7,911 < 8,000 parameters; last 3 epochs 99.41, 99.45, 99.43, all >= 99.4')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["EXERCISE_ACCURACY", "EXERCISE_EPOCHS", "EXERCISE_BUDGET", "Verdict", "exercise_verdict", "PassRate",
           "pass_rate", "wilson_interval"]

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


def wilson_interval(successes: int, trials: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a success rate (95% by default).

    Unlike the normal approximation, it stays inside [0, 1] and is not empty at 0 or
    ``trials`` successes, which is where a pass rate sits: 20 of 20 passes gives
    0.839–1.0, not "100%".

    Args:
        successes: How many runs passed.
        trials: How many runs were made.
        z: The normal quantile of the confidence level (1.96 for 95%).

    Returns:
        ``(low, high)`` as fractions.

    Raises:
        ValueError: If ``trials`` < 1 or ``successes`` is outside ``0..trials``.

    Example:
        >>> [round(x, 3) for x in wilson_interval(38, 40)]
        [0.835, 0.986]
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a positive int, got {trials!r}")
    if isinstance(successes, bool) or not isinstance(successes, int) or not 0 <= successes <= trials:
        raise ValueError(f"successes must be an int in 0..trials={trials}, got {successes!r}")
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class PassRate:
    """How many runs met the exercise, with the 95% Wilson interval and the worst epoch seen.

    Attributes:
        passed: Runs whose last three epochs all reached :data:`EXERCISE_ACCURACY`.
        runs: Runs judged.
        low: Lower end of the 95% Wilson interval of the rate (a fraction).
        high: Upper end.
        worst: The lowest test accuracy of any run's last three epochs.
    """

    passed: int
    runs: int
    low: float
    high: float
    worst: float

    def __str__(self) -> str:
        return (f"{self.passed} of {self.runs} runs (95% Wilson interval {100 * self.low:.0f}–{100 * self.high:.0f}%), "
                f"worst epoch {self.worst:.2f}")


def pass_rate(last_three: Sequence[Sequence[float]]) -> PassRate:
    """Judge many runs: how many pass, the interval of the rate, the worst epoch.

    Args:
        last_three: Each run's test accuracies in its last three epochs.

    Returns:
        The :class:`PassRate`.

    Raises:
        ValueError: If there is no run, or a run has fewer than three epochs.

    Example:
        >>> str(pass_rate([[99.5, 99.4, 99.45], [99.38, 99.5, 99.5]]))
        '1 of 2 runs (95% Wilson interval 9–91%), worst epoch 99.38'
    """
    runs = [list(run) for run in last_three]
    if not runs:
        raise ValueError("pass_rate needs at least one run")
    short = [i for i, run in enumerate(runs) if len(run) < 3]
    if short:
        raise ValueError(f"every run needs its last three epochs; run(s) {short} have fewer")
    passed = sum(min(run[-3:]) >= EXERCISE_ACCURACY for run in runs)
    low, high = wilson_interval(passed, len(runs))
    return PassRate(passed, len(runs), low, high, min(min(run[-3:]) for run in runs))
