"""Rendering a study: the text table of its trials, ``trials.json`` and PNG plots."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from tinyconv._io import atomic_path, atomic_write_json
from tinyconv.exercise import EXERCISE_ACCURACY
from tinyconv.search.ranking import _score, chance_note, other_seeds, ranked_trials

__all__ = ["trial_table", "report_study"]


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
    note = chance_note(study)
    return "\n".join(lines) + "\n" + _counts(study) + (f"\nNote: {note}" if note else "")


def _counts(study: optuna.Study) -> str:
    trials = study.trials
    no_fit = sum(1 for t in trials if t.user_attrs.get("pruned_before_training"))
    counts = {s: sum(1 for t in trials if t.state == s) for s in TrialState}
    return (f"{len(trials)} trial{'s' if len(trials) != 1 else ''}: {counts[TrialState.COMPLETE]} complete, "
            f"{counts[TrialState.PRUNED] - no_fit} pruned while training, {no_fit} pruned before training "
            f"(no network of the shape fits), {counts[TrialState.FAIL]} failed, {counts[TrialState.RUNNING]} running")


def _save_figure(figure: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=110, bbox_inches="tight", format="png")


def _scores_figure(study: optuna.Study, title: str, xlabel: str, draw: Any, path: Path) -> None:
    """One figure of trial scores: ``draw(ax, completed trials)`` plots, the rest is shared."""
    from matplotlib.figure import Figure  # no pyplot: the user's backend and figures untouched

    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    draw(ax, [t for t in study.trials if t.state == TrialState.COMPLETE])
    ax.axhline(EXERCISE_ACCURACY, color="grey", linestyle=":", label=f"{EXERCISE_ACCURACY}%")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("lowest validation acc. of last 3 epochs (%)")
    ax.set_title(f"{study.study_name}: {title}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)  # beside the axes: it covers no point
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
    import warnings

    from matplotlib.figure import Figure

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # PED-ANOVA ranks parameters by how they lead to *low* targets: negate the score.
            importances = optuna.importance.get_param_importances(study, target=lambda t: -t.values[0])
    except (RuntimeError, ValueError, ZeroDivisionError, ImportError):
        return False  # too few completed trials
    names = list(importances)[::-1]
    fig = Figure(figsize=(7, 0.3 * len(names) + 1))
    ax = fig.subplots()
    ax.barh(names, [importances[n] for n in names])
    ax.set_xlabel("importance for a high score (PED-ANOVA)")
    ax.set_title(f"{study.study_name}: parameter importances")
    _save_figure(fig, path)
    return True


MIN_TRIALS_FOR_IMPORTANCES = 5
"""Fewer complete trials than this draw no importance plot: a few points rank nothing."""


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
    complete = sum(t.state == TrialState.COMPLETE for t in study.trials)
    if complete:
        pareto = len(study.directions) > 1
        files.append(folder / ("pareto.png" if pareto else "history.png"))
        (_pareto_plot if pareto else _history_plot)(study, files[-1])
        if complete >= MIN_TRIALS_FOR_IMPORTANCES and _importance_plot(study, folder / "importances.png"):
            files.append(folder / "importances.png")
        elif complete < MIN_TRIALS_FOR_IMPORTANCES:
            table += (f"\n(no parameter importances: {complete} complete trial{'s' if complete != 1 else ''}, "
                      f"they need {MIN_TRIALS_FOR_IMPORTANCES})")
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
