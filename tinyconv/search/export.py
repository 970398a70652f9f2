"""Exporting a trial as a spec file that ``tinyconv train`` and the zoo accept."""

from __future__ import annotations

import os
from typing import Any

import optuna

from tinyconv.recipe import Recipe
from tinyconv.search.ranking import ChanceLevelWarning, _score, _settings, chance_note, other_seeds, ranked_trials
from tinyconv.zoo.spec import StageNetSpec
from tinyconv.zoo.stagenet import StageNetShape

__all__ = ["export_trial"]


def export_trial(study: optuna.Study, name: str, path: str | os.PathLike[str],
                 trial: int | None = None) -> dict[str, Any]:
    """Write a trial's network and recipe as a spec that ``tinyconv train`` accepts.

    Args:
        study: The study.
        name: Name of the exported model and recipe.
        path: The JSON file to write.
        trial: Trial number; ``None`` means the best (see :func:`ranked_trials`).

    Returns:
        The spec.

    Warns:
        ChanceLevelWarning: When the best trial (``trial=None``) scored near chance.

    Raises:
        ValueError: If the study has no completed trial or no such trial.
    """
    ranked = ranked_trials(study)
    note = chance_note(study) if trial is None else None
    if note:
        import warnings

        warnings.warn(f"exporting anyway: {note}", ChanceLevelWarning, stacklevel=2)
    if not ranked:
        raise ValueError(f"study {study.study_name!r} has no completed trial to export")
    chosen = ranked[0] if trial is None else next((t for t in ranked if t.number == trial), None)
    if chosen is None:
        raise ValueError(f"study {study.study_name!r} has no completed trial number {trial}")
    a = chosen.user_attrs
    spec = StageNetSpec(
        name, a["width"], StageNetShape.from_dict(a["shape"]), Recipe.from_dict(a["recipe"]), _settings(study).budget,
        a["params"], {"study": study.study_name, "trial": chosen.number, "score": _score(chosen),
                      "rescored": other_seeds(study, chosen)},
    )
    spec.save(path)
    return spec.to_dict()
