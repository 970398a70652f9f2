"""What a study found: a table, plots, multi-seed re-scoring and export as a trainable spec."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from tinyconv._io import atomic_path, atomic_write_json
from tinyconv.results import EXERCISE_ACCURACY
from tinyconv.search.objective import TrialSettings, criterion, train_candidate
from tinyconv.train.recipe import Recipe

__all__ = ["other_seeds", "merge_seed_scores", "trial_table", "report_study", "rescore", "export_trial", "load_spec", "ranked_trials", "rank_key", "rescore_until_settled"]


def _score(trial: optuna.trial.FrozenTrial) -> float | None:
    return None if trial.values is None else trial.values[0]


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


def trial_table(study: optuna.Study, limit: int | None = None) -> str:
    """A text table of the trials: number, parameters, MACs, receptive field, score, state, seconds.

    Completed trials come first, best first; then pruned and failed ones.

    Args:
        study: The study.
        limit: Show at most this many rows.

    Returns:
        The table, with a line counting the trials by state.
    """
    others = [t for t in study.trials if t.state != TrialState.COMPLETE]
    rows = [("trial", "params", "MACs", "RF", "score", "seeds (min)", "state", "seconds")]
    for t in (ranked_trials(study) + others)[:limit]:
        a, extra = t.user_attrs, other_seeds(study, t)
        state = t.state.name.lower()
        if a.get("pruned_before_training"):
            state = "pruned (no fit)"
        rows.append((
            str(t.number), f"{a['params']:,}" if "params" in a else "—", f"{a['macs']:,}" if a.get("macs") else "—",
            str(a.get("receptive_field", "—")), f"{_score(t):.2f}" if _score(t) is not None else "—",
            f"{len(extra) + 1} ({min([*extra.values(), _score(t)]):.2f})" if extra else "1",
            state, f"{a['seconds']:.0f}" if "seconds" in a else "—",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines) + "\n" + _counts(study)


def _counts(study: optuna.Study) -> str:
    trials = study.trials
    no_fit = sum(1 for t in trials if t.user_attrs.get("pruned_before_training"))
    counts = {s: sum(1 for t in trials if t.state == s) for s in TrialState}
    return (f"{len(trials)} trials: {counts[TrialState.COMPLETE]} complete, "
            f"{counts[TrialState.PRUNED] - no_fit} pruned while training, {no_fit} pruned before training "
            f"(no network of the shape fits), {counts[TrialState.FAIL]} failed, {counts[TrialState.RUNNING]} running")


def _save_figure(figure: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(figure)


def _scores_figure(study: optuna.Study, title: str, xlabel: str, draw: Any, path: Path) -> None:
    """One figure of trial scores: ``draw(ax, completed trials)`` plots, the rest is shared."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    draw(ax, [t for t in study.trials if t.state == TrialState.COMPLETE])
    ax.axhline(EXERCISE_ACCURACY, color="grey", linestyle=":", label=f"{EXERCISE_ACCURACY}%")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("lowest validation acc. of last 3 epochs (%)")
    ax.set_title(f"{study.study_name}: {title}")
    ax.legend(loc="lower right")
    _save_figure(fig, path)


def _history_limits(scores: Sequence[float]) -> tuple[float, float]:
    """The history plot's y range: from below the lower quartile of the scores (the failures
    of the first trials would squash the rest) to above both the best and the 99.4% line."""
    low = sorted(scores)[len(scores) // 4] if len(scores) > 4 else min(scores, default=0)
    return max(low - 0.2, 0), max(*scores, EXERCISE_ACCURACY) + 0.05


def _history_plot(study: optuna.Study, path: Path) -> None:
    def draw(ax: Any, done: list[optuna.trial.FrozenTrial]) -> None:
        xs, ys = [t.number for t in done], [_score(t) for t in done]
        ax.scatter(xs, ys, s=18, label="trial score")
        best, line = float("-inf"), []
        for y in ys:
            best = max(best, y)
            line.append(best)
        ax.step(xs, line, where="post", color="C1", label="best so far")
        ax.set_ylim(*_history_limits(ys))
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # trial numbers: no 0.25 ticks

    _scores_figure(study, "optimisation history", "trial", draw, path)


def _pareto_plot(study: optuna.Study, path: Path) -> None:
    front = {t.number for t in study.best_trials}

    def draw(ax: Any, done: list[optuna.trial.FrozenTrial]) -> None:
        for on_front, color, label in ((False, "C0", "trial"), (True, "C3", "Pareto front")):
            pts = [(t.values[1], t.values[0]) for t in done if (t.number in front) == on_front]
            if pts:
                ax.scatter(*zip(*pts, strict=True), s=22, color=color, label=label)

    _scores_figure(study, "accuracy vs parameters", "parameters", draw, path)


def _importance_plot(study: optuna.Study, path: Path) -> bool:
    import matplotlib.pyplot as plt

    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # PED-ANOVA ranks parameters by how they lead to *low* targets: negate the score.
            importances = optuna.importance.get_param_importances(study, target=lambda t: -t.values[0])
    except (RuntimeError, ValueError, ZeroDivisionError, ImportError):
        return False  # too few completed trials
    names = list(importances)[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(names) + 1))
    ax.barh(names, [importances[n] for n in names])
    ax.set_xlabel("importance for a high score (PED-ANOVA)")
    ax.set_title(f"{study.study_name}: parameter importances")
    _save_figure(fig, path)
    return True


def report_study(study: optuna.Study, out: str | os.PathLike[str], limit: int | None = 30) -> dict[str, Any]:
    """Write the table (``trials.md``, ``trials.json``) and PNG plots of a study.

    Args:
        study: The study.
        out: Folder for the files.
        limit: Rows in the printed table.

    Returns:
        ``{"table": text, "files": [paths written]}``.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    table = trial_table(study, limit)
    files = [folder / "trials.md", folder / "trials.json"]
    with atomic_path(files[0]) as tmp:
        tmp.write_text(f"# Study {study.study_name}\n\n```\n{trial_table(study)}\n```\n", encoding="utf-8")
    atomic_write_json(files[1], _trials_json(study))
    if any(t.state == TrialState.COMPLETE for t in study.trials):
        pareto = len(study.directions) > 1
        files.append(folder / ("pareto.png" if pareto else "history.png"))
        (_pareto_plot if pareto else _history_plot)(study, files[-1])
        if _importance_plot(study, folder / "importances.png"):
            files.append(folder / "importances.png")
    return {"table": table, "files": [str(f) for f in files]}


def _trials_json(study: optuna.Study) -> dict[str, Any]:
    return {
        "study": study.study_name,
        "settings": study.user_attrs.get("settings"),
        "space": study.user_attrs.get("space"),
        "rescore": study.user_attrs.get("rescore", {}),
        "trials": [
            {"number": t.number, "state": t.state.name, "values": t.values, "params": t.params,
             "user_attrs": t.user_attrs,
             "duration_seconds": t.duration.total_seconds() if t.duration else None}
            for t in study.trials
        ],
    }


def _settings(study: optuna.Study) -> TrialSettings:
    return TrialSettings(**study.user_attrs["settings"])


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
            history = train_candidate(a["shape"], a["width"], Recipe.from_dict(a["recipe"]), settings, seed=int(seed))
            score = criterion(history.column("test_accuracy"))
            if echo:
                echo(f"trial {trial.number} seed {seed}: {score:.2f}")
            # re-read just before writing: other processes may be rescoring other seeds of the same study
            stored = dict(study.user_attrs.get("rescore", {}))
            stored[key] = {**stored.get(key, {}), seed: score}
            study.set_user_attr("rescore", stored)  # after every run: an interruption loses one
        finally:  # scored (or failed): the claim goes, so no other process waits for it
            _set_claim(study, trial, seed, False)


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

    Raises:
        ValueError: If the study has no completed trial or no such trial.
    """
    ranked = ranked_trials(study)
    if not ranked:
        raise ValueError(f"study {study.study_name!r} has no completed trial to export")
    chosen = ranked[0] if trial is None else next((t for t in ranked if t.number == trial), None)
    if chosen is None:
        raise ValueError(f"study {study.study_name!r} has no completed trial number {trial}")
    a = chosen.user_attrs
    rescored = other_seeds(study, chosen)
    spec = {
        "name": name, "family": "stagenet", "width": a["width"], "shape": a["shape"],
        "recipe": Recipe.from_dict(a["recipe"]).to_dict(),
        "params": a["params"], "budget": _settings(study).budget,
        "source": {"study": study.study_name, "trial": chosen.number, "score": _score(chosen),
                   "rescored": rescored},
    }
    atomic_write_json(path, spec)
    return spec


def load_spec(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a spec written by :func:`export_trial`, checking it builds.

    Args:
        path: The JSON file.

    Returns:
        The spec, with ``recipe`` as a :class:`~tinyconv.train.recipe.Recipe` and
        ``build`` a function that builds the network.

    Raises:
        ValueError: If the file is not a stagenet spec.
        FileNotFoundError: If there is no such file.
    """
    from tinyconv.zoo.stagenet import stagenet

    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not JSON: {error}") from None
    if not isinstance(spec, dict) or spec.get("family") != "stagenet" or "shape" not in spec:
        raise ValueError(f"{path} is not a tinyconv model spec (written by tinyconv search --export)")
    width, shape = spec["width"], spec["shape"]
    spec["recipe"] = Recipe.from_dict(spec["recipe"])
    spec["build"] = lambda: stagenet(width=width, **shape)
    return spec
