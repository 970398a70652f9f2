"""One complete training run of a model on MNIST, with its run folder and printed summary.

:func:`train_net` is what ``tinyconv train`` calls and what a user calls from Python: turn
a model reference (or take a model) into a network, build the data, train with the recipe
through :func:`tinyconv.train.run.train_model` (every CPU speed-up on), and write
``history.json``, ``curves.png`` and ``checkpoint.pt`` into the output folder.
:func:`format_summary` is the results summary it prints, ending in the verdict against the
exercise.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tinyconv.app.refs import ModelRef, parse_model_ref
from tinyconv.budget import count_params
from tinyconv.cpu.options import CpuOptions, tune_process
from tinyconv.data.augment import MNIST_MEAN, MNIST_STD
from tinyconv.data.sources import ImageData, idx_folder
from tinyconv.exercise import EXERCISE_BUDGET, exercise_verdict
from tinyconv.machine import machine_info
from tinyconv.recipe import Recipe
from tinyconv.train.checkpoint import load_checkpoint
from tinyconv.train.device import pick_device
from tinyconv.train.history import History
from tinyconv.train.loop import ConsoleOutput
from tinyconv.train.plot import plot_history
from tinyconv.train.rng import seed_everything
from tinyconv.train.run import recipe_loaders, train_model
from tinyconv.zoo import get_model_info, get_recipe, recipe_for
from tinyconv.zoo.spec import StageNetSpec

__all__ = ["RunResult", "USER_RECIPE", "MNIST_DATA", "check_fits", "train_net", "format_summary", "prepare_output"]


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
        """The printed results summary, ending in the files written and the exercise's verdict."""
        files = ("files", f"{self.out_dir}/history.json, curves.png, checkpoint.pt")
        return format_summary(self.history, self.params, extra=[files])


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


MNIST_DATA: dict[str, Any] = {"name": "MNIST", "input_size": [1, 28, 28], "num_classes": 10,
                              "mean": [MNIST_MEAN], "std": [MNIST_STD]}
"""What a run on MNIST stores about its data (the normalisation is MNIST's published one)."""


def check_fits(model: nn.Module, input_size: tuple[int, ...], num_classes: int, device: Any = "cpu") -> None:
    """Refuse, in one line, a model whose input or output does not fit the data.

    tinyconv trains with the negative log-likelihood (``F.nll_loss``), like the seed
    notebook, so a model's outputs must be log-probabilities: raw logits would drive the
    loss to minus infinity within an epoch, so they are refused here, before training.

    Args:
        model: The model.
        input_size: ``(C, H, W)`` of one image.
        num_classes: How many classes the labels name.
        device: Where the model is.

    Raises:
        ValueError: If two images of ``input_size`` do not give ``(2, num_classes)``, or
            give rows that are not log-probabilities.
    """
    was_training = model.training
    model.eval()
    images = torch.randn(2, *input_size, generator=torch.Generator().manual_seed(0))  # not the run's random stream
    try:
        with torch.no_grad():
            out = model(images.to(device))
    except (RuntimeError, ValueError) as error:
        raise ValueError(f"the model does not take {tuple(input_size)} images: "
                         f"{str(error).splitlines()[0]}") from None
    finally:
        model.train(was_training)
    if tuple(out.shape) != (2, num_classes):
        raise ValueError(f"the model gives {tuple(out.shape[1:])} per image, the data has {num_classes} classes: "
                         f"its output must be (N, {num_classes})")
    total = torch.logsumexp(out.float(), dim=1).exp().max().item()
    if not abs(total - 1) < 1e-3:
        raise ValueError(f"the model's outputs are not log-probabilities (their exponentials sum to {total:.3g} per "
                         "image, not 1): tinyconv trains with the negative log-likelihood, so end forward() with "
                         "F.log_softmax(x, dim=1) or nn.LogSoftmax(dim=1) (GAPHead does, unless output='logits')")


USER_RECIPE = "st8k"
"""The recipe a network of your own trains with when none is given: ``st8k``'s, which passes the
exercise for ``st8k`` (OneCycle to 0.1, batch 64, mild affine augmentation, a weight average)."""


@dataclass(frozen=True)
class _Target:
    """What a run trains: the model (or how to build it), its reference, name, recipe and budget."""

    model: nn.Module | None
    ref: ModelRef | None
    name: str
    recipe: Recipe
    budget: int

    def build(self) -> nn.Module:
        return self.model if self.model is not None else self.ref.build()  # type: ignore[union-attr]


def _target(model: nn.Module | str | os.PathLike[str], recipe: str | Recipe | None, name: str | None,
            budget: int | None, model_kwargs: dict[str, Any]) -> _Target:
    """Resolve what to train before any work: a bad reference or recipe fails here."""
    ref = None if isinstance(model, nn.Module) else parse_model_ref(model, **model_kwargs)
    if isinstance(recipe, str):
        recipe = get_recipe(recipe)
    if ref is not None and ref.kind == "spec":
        spec = StageNetSpec.load(ref.target)
        return _Target(None, ref, name or spec.name, recipe or spec.recipe, budget or spec.budget)
    if ref is not None and ref.kind == "zoo":
        info = get_model_info(ref.target)
        return _Target(None, ref, name or ref.target, recipe or recipe_for(ref.target),
                       budget or info.max_params or EXERCISE_BUDGET)
    label = name or (ref.label if ref is not None else type(model).__name__)
    return _Target(model if ref is None else None, ref, label, recipe or get_recipe(USER_RECIPE),  # type: ignore[arg-type]
                   budget or EXERCISE_BUDGET)


def _check_resumable(out_dir: Path, target: _Target) -> None:
    """Refuse to resume a run of another model, naming both."""
    state = load_checkpoint(out_dir / "checkpoint.pt")
    meta = state.get("history", {}).get("meta", {})
    stored = meta.get("model_ref")
    same = stored == (target.ref.to_dict() if target.ref is not None else None) and meta.get("model") == target.name
    if not same:
        raise ValueError(f"{out_dir} holds a run of {meta.get('model', 'another model')!r}, not of {target.name!r}: "
                         "resume it with the same model, or train into another folder")


def train_net(
    model: nn.Module | str | os.PathLike[str],
    recipe: str | Recipe | None = None,
    *,
    seed: int = 1,
    out: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    device: str | None = None,
    holdout: int = 0,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] | None = print,
    cpu: CpuOptions | None = None,
    budget: int | None = None,
    name: str | None = None,
    model_kwargs: dict[str, Any] | None = None,
    data: ImageData | str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> RunResult:
    """Train a network on MNIST with a recipe, write its run folder and print its summary.

    The one training function: your own ``nn.Module``, a zoo name, an import path or a
    spec file, trained with the in-memory pipeline and every CPU speed-up (the same path
    ``tinyconv train`` takes). The run folder holds ``history.json``, ``curves.png`` and
    ``checkpoint.pt``; the checkpoint records how to rebuild the model (its reference),
    so ``tinyconv eval`` and ``tinyconv export`` can use it later. A model given as an
    object trains as well; its checkpoint then says it cannot be rebuilt.

    Args:
        model: An ``nn.Module``, or a reference: ``"st8k"``, ``"pkg.module:Net"``,
            ``"path/to/mynet.py:Net"`` or ``"spec.json"`` (see :mod:`tinyconv.app.refs`).
        recipe: A recipe name, a :class:`~tinyconv.recipe.Recipe`, or ``None``: the zoo
            model's (or spec's) own, else :data:`USER_RECIPE`'s.
        seed: Seed of the weights (for a reference), the shuffling, augmentation and dropout.
        out: Output folder; ``None`` means ``runs/<name>-seed<seed>``.
        root: MNIST root (see :func:`~tinyconv.data.mnist.default_root`).
        device: ``"cpu"``, ``"cuda"``... or ``None`` to choose automatically.
        holdout: Training images held out for validation instead of using the test set.
        resume: Continue from the output folder's checkpoint (of the same model).
        overwrite: Replace an earlier run in the output folder (otherwise refused).
        progress: Whether to show progress bars.
        echo: Where to print lines (per epoch and the summary); ``None`` for silence.
        cpu: The CPU speed-ups; ``None`` means all of them (results change only by rounding).
        budget: The exclusive parameter budget the verdict judges; ``None``: the zoo
            model's or spec's own, else the exercise's 8,000.
        name: The run's label; ``None``: the zoo or spec name, the attribute, or the class name.
        model_kwargs: Keyword arguments for a reference's builder.
        data: Images other than MNIST: an :class:`~tinyconv.data.sources.ImageData`
            (tensors or a ``Dataset``, see :func:`~tinyconv.data.sources.tensor_data`) or a
            folder of the four IDX files (Fashion-MNIST, KMNIST); ``None`` means MNIST.
            The input size and the classes come from the data, and the model must fit them.
        **overrides: Recipe settings to replace, e.g. ``epochs=1``.

    Returns:
        The :class:`RunResult`: history, trained model (the weight average when the
        recipe keeps one), run folder and parameters.

    Raises:
        ModelRefError: If a reference does not resolve.
        TypeError: For an override that is not a recipe setting.
        ValueError: For a bad recipe, output folder or resume, or a model whose input or
            output does not fit the data, before any training.
        tinyconv.data.sources.DataError: For images and labels that do not fit together.
    """
    images = idx_folder(data) if isinstance(data, (str, os.PathLike)) else data
    target = _target(model, recipe, name, budget, dict(model_kwargs or {}))
    run_recipe = target.recipe.with_overrides(**overrides)
    device_ = pick_device(device)
    cpu = cpu or CpuOptions()
    cpu_settings = {**tune_process(cpu), "options": cpu.to_dict()}
    out_dir = Path(out) if out is not None else Path("runs") / f"{target.name}-seed{seed}"
    prepare_output(out_dir, resume=resume, overwrite=overwrite)
    if resume:
        _check_resumable(out_dir, target)
    seed_everything(seed)
    net = target.build().to(device_)
    described = images.describe() if images is not None else MNIST_DATA
    check_fits(net, tuple(described["input_size"]), described["num_classes"], device_)
    loaders = recipe_loaders(run_recipe, root, holdout=holdout, seed=seed, device=device_, data=images)
    params = count_params(net)
    meta = {
        "data": described, "model": target.name, "model_ref": target.ref.to_dict() if target.ref is not None else None,
        "params": params, "budget": target.budget, "seed": seed, "recipe": run_recipe.to_dict(), "holdout": holdout,
        "train_size": loaders.train_size, "eval_size": loaders.eval_size, "device": str(device_),
        "cpu_settings": cpu_settings, "machine": machine_info(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    callbacks = [] if echo is None else [ConsoleOutput(loaders.eval_name, progress=progress, echo=echo)]
    history, evaluated = train_model(net, run_recipe, loaders, device=device_, checkpoint=out_dir / "checkpoint.pt",
                                     resume=resume, meta=meta, cpu=cpu, callbacks=callbacks)
    history.save(out_dir / "history.json")
    plot_history(history, out_dir / "curves.png", title=f"{target.name} (seed {seed})")
    result = RunResult(history, evaluated, out_dir, params)
    if echo is not None:
        echo(result.summary)
    return result
