"""Pass rates of many runs: how many meet the exercise, with the Wilson interval of the rate.

Research tooling: the README's and the docs' rate lines are computed with it from the
committed results files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tinyconv.exercise import EXERCISE_ACCURACY

__all__ = ["wilson_interval", "PassRate", "pass_rate"]


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
