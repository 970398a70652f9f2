"""Ranking a study's trials: by the worst score over every seed a trial was trained with.

A trial's own seed is the study's; more seeds come from ``seeds_per_trial`` and from
rescoring (:mod:`tinyconv.search.rescore`). :func:`ranked_trials` orders completed trials
by :func:`rank_key`, which the docs' tables reuse on plain numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import optuna
from optuna.trial import TrialState

from tinyconv.search.objective import TrialSettings

__all__ = ["other_seeds", "merge_seed_scores", "ranked_trials", "rank_key", "CHANCE", "chance_note", "ChanceLevelWarning"]


class ChanceLevelWarning(UserWarning):
    """The best trial of a study scored near chance: exporting it exports a network that learned nothing."""

CHANCE = 10.0
"""Accuracy of guessing, in percent: the searched networks classify 10 classes."""


def _score(trial: optuna.trial.FrozenTrial) -> float | None:
    return None if trial.values is None else trial.values[0]


def _settings(study: optuna.Study) -> TrialSettings:
    return TrialSettings(**study.user_attrs["settings"])


def other_seeds(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> dict[str, float]:
    """A trial's scores with seeds other than the study's own: those it trained itself
    (``seeds_per_trial`` > 1) and those rescored later.

    Args:
        study: The study.
        trial: One of its trials.

    Returns:
        ``{seed: score}`` (seeds as strings), without the study's own seed.
    """
    return merge_seed_scores(trial.user_attrs, study.user_attrs.get("rescore", {}).get(str(trial.number), {}),
                             _settings(study).seed)


def merge_seed_scores(user_attrs: dict[str, Any], rescored: dict[str, float], own_seed: int) -> dict[str, float]:
    """:func:`other_seeds` from plain data (a trial's user attributes, as in ``trials.json``).

    Args:
        user_attrs: The trial's user attributes (``seed_scores`` if it trained several seeds).
        rescored: The study's rescored scores of this trial, ``{seed: score}``.
        own_seed: The study's own seed.

    Returns:
        ``{seed: score}`` without ``own_seed``.
    """
    trained = {k: v for k, v in user_attrs.get("seed_scores", {}).items() if k != str(own_seed)}
    return {**trained, **rescored}


def ranked_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Completed trials, best first: by the worst score over the trial's seeds (its own and
    any rescored), then its own score, then the mean of its last three epochs (ties).

    Args:
        study: The study.

    Returns:
        The trials.
    """
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    return sorted(done, key=lambda t: rank_key(_score(t) or 0.0, other_seeds(study, t).values(),
                                               t.user_attrs.get("accuracies", [])))


def rank_key(score: float, rescored: Iterable[float], accuracies: Sequence[float]) -> tuple[float, float, float]:
    """The sort key of :func:`ranked_trials` (smaller is better), from plain numbers.

    Args:
        score: The trial's own (seed-1) score.
        rescored: Its scores with other seeds, if any.
        accuracies: Its per-epoch validation accuracies.

    Returns:
        ``(-worst seed, -own score, -mean of the last three epochs)``.
    """
    worst = min([*rescored, score])  # the trial's own seed counts too
    last3 = list(accuracies)[-3:]
    return (-worst, -score, -(sum(last3) / len(last3) if last3 else 0.0))


def chance_note(study: optuna.Study) -> str | None:
    """A line saying so when even the best completed trial scored near chance (under twice :data:`CHANCE`).

    Args:
        study: The study.

    Returns:
        The warning, or ``None`` when the best trial learned something (or none completed).
    """
    ranked = ranked_trials(study)
    best = _score(ranked[0]) if ranked else None
    if best is None or best >= 2 * CHANCE:
        return None
    return (f"the best trial ({ranked[0].number}, {best:.2f}%) is at chance level ({CHANCE:.0f}% for 10 classes): "
            "its networks learned nothing; give the trials more epochs (--epochs) or more data, or check the data")
