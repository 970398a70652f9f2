"""Rescoring a study's leading trials with more seeds, safely from several processes at once.

A process claims a (trial, seed) pair in the study's storage before training it, so two
workers rescoring the same study train each pair once; a claim older than the trial's own
training time (with margin) is taken to be a dead worker's and is taken over.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import optuna

from tinyconv.recipe import Recipe
from tinyconv.search.objective import criterion, train_trial
from tinyconv.search.ranking import _settings, other_seeds, ranked_trials

__all__ = ["rescore", "rescore_until_settled", "CLAIM_POLL_SECONDS"]


def rescore(
    study: optuna.Study,
    top: int,
    seeds: Sequence[int],
    *,
    echo: Callable[[str], None] | None = print,
) -> dict[str, dict[str, float]]:
    """Retrain the ``top`` best trials with more seeds and store their scores in the study.

    Args:
        study: The study.
        top: How many of the best completed trials.
        seeds: Seeds to add (each trial's own seed is already scored).
        echo: Where to print progress lines.

    Returns:
        ``{trial number: {seed: score}}`` for everything rescored so far.
    """
    stored: dict[str, dict[str, float]] = dict(study.user_attrs.get("rescore", {}))
    for trial in ranked_trials(study)[:top]:
        stored = _rescore_trial(study, trial, seeds, echo)
    return stored


def rescore_until_settled(
    study: optuna.Study,
    seeds: Sequence[int],
    *,
    echo: Callable[[str], None] | None = print,
    max_trials: int = 20,
) -> optuna.trial.FrozenTrial:
    """Rescore the top-ranked trial until the top-ranked trial has every seed.

    A minimum over more seeds is lower, so a trial scored with one seed cannot be fairly
    ranked against one scored with three. This applies the rule the zoo's searched
    entries were chosen by: give the leader the missing seeds; if it falls, the new
    leader gets them too; stop when the leader has them all.

    Args:
        study: The study.
        seeds: The seeds every leader must have besides its own (e.g. ``[2, 3]``).
        echo: Where to print progress lines.
        max_trials: Stop with an error after rescoring this many trials.

    Returns:
        The settled leader (a trial scored with every seed).

    Raises:
        ValueError: If the study has no completed trial, or the leader did not settle
            within ``max_trials`` rescored trials.
    """
    own = _settings(study).seed
    wanted = {str(s) for s in seeds if s != own}
    for _ in range(max_trials + 1):
        ranked = ranked_trials(study)
        if not ranked:
            raise ValueError(f"study {study.study_name!r} has no completed trial to rescore")
        leader = ranked[0]
        have = set(other_seeds(study, leader))
        if wanted <= have:
            if echo:
                echo(f"trial {leader.number} leads with seeds {own}, {', '.join(sorted(wanted, key=int))}")
            return leader
        _rescore_trial(study, leader, seeds, echo)  # the study reads trials and scores from storage afresh
    raise ValueError(f"the leader of study {study.study_name!r} did not settle within {max_trials} rescored trials")


CLAIM_POLL_SECONDS = 20.0
"""How often a rescoring process looks whether a seed another process claimed is scored."""


def _claim_timeout(trial: optuna.trial.FrozenTrial) -> float:
    """Seconds after which another process's claim on a seed of ``trial`` counts as abandoned:
    three times the trial's own training time (its worker may have died), at least ten minutes."""
    return max(600.0, 3.0 * float(trial.user_attrs.get("seconds") or 0.0))


def _live_claim(study: optuna.Study, trial: optuna.trial.FrozenTrial, seed: str) -> bool:
    claimed = study.user_attrs.get("rescore_claims", {}).get(str(trial.number), {}).get(seed)
    return claimed is not None and time.time() - float(claimed) < _claim_timeout(trial)


def _set_claim(study: optuna.Study, trial: optuna.trial.FrozenTrial, seed: str, claim: bool) -> None:
    claims = dict(study.user_attrs.get("rescore_claims", {}))
    mine = dict(claims.get(str(trial.number), {}))
    if claim:
        mine[seed] = time.time()
    else:
        mine.pop(seed, None)
    claims[str(trial.number)] = mine
    study.set_user_attr("rescore_claims", claims)


def _rescore_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial, seeds: Sequence[int],
                   echo: Callable[[str], None] | None) -> dict[str, dict[str, float]]:
    """Train one trial with the seeds it lacks; store each score as soon as it is known.

    Processes rescoring one study share the work: a seed is claimed in the study before it
    trains, another process skips a claimed seed and, once its own seeds are done, waits
    for the claimed ones to be scored (or takes one over when its claim is abandoned, see
    :func:`_claim_timeout`). Two processes that read the study at the same instant may
    still both train a seed; the scores agree, so nothing is lost but time.
    """
    settings = _settings(study)
    a = trial.user_attrs
    key = str(trial.number)
    todo = [str(seed) for seed in seeds if seed != settings.seed]
    while True:
        scores = other_seeds(study, trial)  # the study is read afresh: other processes store theirs
        missing = [seed for seed in todo if seed not in scores]
        free = [seed for seed in missing if not _live_claim(study, trial, seed)]
        if not missing:
            return dict(study.user_attrs.get("rescore", {}))
        if not free:  # every missing seed is being trained by another process
            if echo:
                echo(f"trial {trial.number}: waiting for seed(s) {', '.join(missing)} from another process")
            time.sleep(CLAIM_POLL_SECONDS)
            continue
        seed = free[0]
        _set_claim(study, trial, seed, True)
        try:
            history = train_trial(a["shape"], a["width"], Recipe.from_dict(a["recipe"]), settings, seed=int(seed))
            score = criterion(history.column("test_accuracy"))
            if echo:
                echo(f"trial {trial.number} seed {seed}: {score:.2f}")
            # re-read just before writing: other processes may be rescoring other seeds of the same study
            stored = dict(study.user_attrs.get("rescore", {}))
            stored[key] = {**stored.get(key, {}), seed: score}
            study.set_user_attr("rescore", stored)  # after every run: an interruption loses one
        finally:  # scored (or failed): the claim goes, so no other process waits for it
            _set_claim(study, trial, seed, False)
