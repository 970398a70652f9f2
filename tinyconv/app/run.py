"""One complete training run of a model on MNIST, with its run folder and printed summary.

:func:`train_zoo_model` is what ``tinyconv train`` calls: turn a zoo name (or a builder)
into a model, build the data, train with the recipe through
:func:`tinyconv.train.run.train_model`, and write ``history.json``, ``curves.png`` and
``checkpoint.pt`` into the output folder. :func:`format_summary` is the results summary
it prints, ending in the verdict against the exercise.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from tinyconv.budget import count_params
from tinyconv.cpu.options import CpuOptions, tune_process
from tinyconv.exercise import EXERCISE_BUDGET, exercise_verdict
from tinyconv.machine import machine_info
from tinyconv.recipe import Recipe
from tinyconv.train.device import pick_device
from tinyconv.train.history import History
from tinyconv.train.loop import ConsoleOutput
from tinyconv.train.plot import plot_history
from tinyconv.train.rng import seed_everything
from tinyconv.train.run import recipe_loaders, train_model
from tinyconv.zoo import get_model, get_model_info, recipe_for

__all__ = ["RunResult", "train_zoo_model", "format_summary", "prepare_output"]


@dataclass
class RunResult:
    """What a run produced.

    Attributes:
        history: Per-epoch metrics and metadata.
        model: The trained model: the weight average when the recipe keeps one
            (``ema_decay > 0``), which is what was evaluated.
        out_dir: Folder with ``history.json``, ``curves.png`` and ``checkpoint.pt``.
        params: Trainable parameters.
    """

    history: History
    model: nn.Module
    out_dir: Path
    params: int

    @property
    def summary(self) -> str:
        """The printed results summary."""
        return format_summary(self.history, self.params)


def format_summary(history: History, params: int, extra: Sequence[tuple[str, str]] = ()) -> str:
    """Format the results summary printed at the end of a run.

    Args:
        history: The run's history.
        params: The model's trainable parameters.
        extra: More ``(label, value)`` lines to append, aligned with the rest.

    Returns:
        A few lines: parameters, best accuracy and its epoch, the last three epochs'
        accuracies (with a weight average, also the training weights' own), wall time,
        the ``extra`` lines, and last the verdict against the exercise (parameters under
        the run's budget and ≥99.4% in each of the last three epochs; judged on the
        test set only).
    """
    best = history.best()
    name = history.meta.get("eval_name", "Test").lower()
    last = ", ".join(f"{r.test_accuracy:.2f}" for r in history.last(3))
    n = len(history.last(3))
    last_label = f"last {n} {name} acc" if n > 1 else f"{name} acc"
    rows = [
        ("model", f"{history.meta.get('model', '?')} ({params:,} parameters)"),
        (f"best {name} acc", f"{best.test_accuracy:.2f}% (epoch {best.epoch} of {len(history)})"),
        (last_label, last),
        ("final train acc", f"{history.epochs[-1].train_accuracy:.2f}%"),
        ("wall time", f"{history.total_seconds / 60:.1f} min ({history.total_seconds / len(history):.1f} s/epoch)"),
    ]
    raw = [r.raw_test_accuracy for r in history.last(3)]
    if None not in raw:
        rows.insert(3, ("training weights", ", ".join(f"{a:.2f}" for a in raw) + f" (last {n}; above: weight average)"))
    rows += list(extra)
    rows.append(("exercise", _verdict_text(history, params)))
    width = max(len(label) for label, _ in rows) + 1
    return "\n".join(["Results"] + [f"  {label:<{width}} {value}" for label, value in rows])


def _verdict_text(history: History, params: int) -> str:
    if history.meta.get("eval_name", "Test") != "Test":
        return "judged on the test set only (this run evaluated a validation split)"
    budget = int(history.meta.get("budget") or EXERCISE_BUDGET)
    verdict = exercise_verdict(history.column("test_accuracy"), params=params, budget=budget)
    return ("PASSED: " if verdict.passed else "NOT MET: ") + verdict.reason


def _budget_of(name: str, builder: Callable[[], nn.Module] | None) -> int:
    """The budget a run is judged against: the zoo model's own, else the exercise's."""
    if builder is not None:
        return EXERCISE_BUDGET
    return get_model_info(name).max_params or EXERCISE_BUDGET


def prepare_output(out_dir: Path, *, resume: bool, overwrite: bool) -> None:
    """Check the output folder before any work, so a bad one costs no training.

    Args:
        out_dir: The run's folder.
        resume: Whether the run continues a checkpoint there.
        overwrite: Whether an earlier run there may be replaced.

    Raises:
        ValueError: If the folder cannot be written, holds an earlier run (without
            ``resume`` or ``overwrite``), or holds nothing to resume.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"output folder {out_dir} is a file")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".tinyconv-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise ValueError(f"cannot write to the output folder {out_dir}: {error.strerror or error}") from None
    has_run = (out_dir / "checkpoint.pt").is_file() or (out_dir / "history.json").is_file()
    if resume and not (out_dir / "checkpoint.pt").is_file():
        raise ValueError(f"nothing to resume in {out_dir}: it has no checkpoint.pt")
    if has_run and not resume and not overwrite:
        raise ValueError(f"{out_dir} already holds a run; continue it with --resume or replace it with --overwrite")


def train_zoo_model(
    name: str,
    recipe: Recipe | None = None,
    *,
    seed: int = 1,
    out: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    device: str | None = None,
    holdout: int = 0,
    resume: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] | None = print,
    model_kwargs: dict[str, Any] | None = None,
    cpu: CpuOptions | None = None,
    builder: Callable[[], nn.Module] | None = None,
    budget: int | None = None,
    overwrite: bool = False,
) -> RunResult:
    """Train a zoo model on MNIST and write its history, curves and checkpoint.

    Args:
        name: Zoo name.
        recipe: Training settings; ``None`` means the model's default recipe.
        seed: Seed of the weights, the shuffling, augmentation and dropout.
        out: Output folder; ``None`` means ``runs/<name>-seed<seed>``.
        root: MNIST root (see :func:`~tinyconv.data.mnist.default_root`).
        device: ``"cpu"``, ``"cuda"``... or ``None`` to choose automatically.
        holdout: Training images held out for validation instead of using the test set.
        resume: Continue from the output folder's checkpoint if there is one.
        progress: Whether to show progress bars.
        echo: Where to print lines; ``None`` for silence.
        model_kwargs: Keyword arguments for the builder.
        builder: Builds the model instead of the zoo (``name`` is then only its label,
            and ``recipe`` is required), e.g. a spec exported by ``tinyconv search``.
        budget: The exclusive parameter budget the summary judges the run against;
            ``None`` means the zoo model's own (else the exercise's 8,000).
        overwrite: Replace an earlier run in the output folder (otherwise refused).

    Raises:
        ValueError: For a bad output folder (see :func:`prepare_output`), before any work.
        cpu: The CPU speed-ups; ``None`` means all of them (results change only by rounding).

    Returns:
        The :class:`RunResult`.
    """
    if builder is not None and recipe is None:
        raise ValueError("a model given by its builder needs a recipe")
    recipe = recipe or recipe_for(name)
    target = pick_device(device)
    cpu = cpu or CpuOptions()
    cpu_settings = {**tune_process(cpu), "options": cpu.to_dict()}
    out_dir = Path(out) if out is not None else Path("runs") / f"{name}-seed{seed}"
    prepare_output(out_dir, resume=resume, overwrite=overwrite)
    seed_everything(seed)
    model = (builder() if builder is not None else get_model(name, **(model_kwargs or {}))).to(target)
    loaders = recipe_loaders(recipe, root, holdout=holdout, seed=seed, device=target)
    params = count_params(model)
    meta = {
        "model": name, "params": params, "budget": budget or _budget_of(name, builder), "seed": seed,
        "recipe": recipe.to_dict(), "holdout": holdout,
        "train_size": loaders.train_size, "eval_size": loaders.eval_size, "device": str(target),
        "cpu_settings": cpu_settings, "machine": machine_info(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    callbacks = [] if echo is None else [ConsoleOutput(loaders.eval_name, progress=progress, echo=echo)]
    history, evaluated = train_model(
        model, recipe, loaders, device=target, checkpoint=out_dir / "checkpoint.pt", resume=resume,
        meta=meta, cpu=cpu, callbacks=callbacks,
    )
    history.save(out_dir / "history.json")
    plot_history(history, out_dir / "curves.png", title=f"{name} (seed {seed})")
    return RunResult(history, evaluated, out_dir, params)
