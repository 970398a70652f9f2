"""Probe training ideas that are not in the library, on the validation split, beside a baseline.

Each probe trains a zoo model with its registered recipe on the first 50,000 training
images and scores it on the last 10,000 (the validation split; the test set is never
read), changing exactly one thing, so that a probe and the baseline of the same seed and
thread count differ by that thing alone:

- ``baseline``: nothing; the reference.
- ``sam``: sharpness-aware minimisation (Foret et al., 2021): every step first moves the
  weights ``--rho`` along the normalised gradient, takes the gradient there, moves back
  and lets SGD step with that gradient. The second pass leaves the batch-norm running
  statistics alone. Twice the forward and backward work per step.
- ``elastic``: a smooth random displacement added to the affine augmentation's sampling
  grid: normal displacements of ``--elastic-px`` pixels (standard deviation) on a
  ``--elastic-grid`` x ``--elastic-grid`` lattice of control points, interpolated
  bicubically over the image (Simard et al., 2003, in spirit).
- ``se``: squeeze-and-excitation gates (Hu et al., 2018) after the blocks named by
  ``--se-blocks``, each ``C -> --se-hidden -> C`` 1x1 convolutions on the image's channel
  means; a few hundred parameters more, kept under the model's budget.
- ``clean-finish``: the last ``--clean-epochs`` epochs train on the clean (unaugmented)
  images, the earlier ones with the recipe's augmentation — the test images are clean, and
  a model that fits its augmented training images no better than the validation images
  may gain from ending on the distribution it is scored on.
- ``activation``: every ReLU of the network replaced by ``--activation`` (SiLU by
  default; ``stagenet(activation=...)``): a smooth activation passes gradient for negative
  inputs, which a network of a few channels per layer, each of which a dead ReLU silences,
  may use. No parameters change.
- ``shared``: a wider second stage whose last ``--shared-units`` (default two) 3x3 units
  share one convolution (``stagenet(shared_units=...)``; Liang & Hu, 2015, recurrent
  convolution in spirit): the network's own shape with the second stage ``--shared-width``
  channels wide, each of those units applying the first one's convolution (each keeps its
  own batch norm). The weights the other units would cost pay for the width: the same
  depth, wider units, the same budget.
- ``shared-activation``: both.
- ``deeper-shared``: the ``shared`` network with ``--extra-units`` (default one) more
  second-stage units, all sharing the same convolution: more depth and receptive field
  for a batch norm's parameters each.
- ``reshaped``: any shape arguments of the network changed, given as ``--set KEY=VALUE``
  (values read as JSON, e.g. ``--set shared_units=3 transition_ratio=1.0``), and any
  recipe settings as ``--recipe-set KEY=VALUE`` (e.g. ``batch_size=32``), recorded under
  ``reshaped:LABEL`` (``--label``), so that several reshaped networks pair with one
  baseline in one file.
- ``distill``: self-distillation from the run's own weight average (the recipe's
  ``ema_decay``; "mean teacher" in spirit, Tarvainen & Valpola, 2017): every step's loss
  is ``(1 - w) * nll + w * T^2 * KL(teacher || student)`` on the same augmented batch,
  with both distributions softened by the temperature ``T`` (``--distill-temperature``)
  and ``w`` = ``--distill-weight``. The teacher is the averaged model in evaluation mode,
  no gradient; it costs one more forward pass per step and no parameters. A different
  training signal, not a different network.
- ``bn-clean``: no training; the baseline run's averaged model with its batch-norm
  statistics recomputed on the clean (unaugmented) training images, and, as a control,
  on augmented ones (``bn-augmented``) — a paired comparison on the same weights.

A probe replaces one function of the library for the length of its run (the training
epoch, or the augmentation's call); nothing else changes. Writes
``benchmarks/results/probes_<model>.json`` (and ``.md``): per probe and seed, the
validation accuracy of every epoch, the worst of the last three beside the baseline's,
and per probe the mean difference over the seeds it shares with the baseline. Several
processes may add runs to one file at once; a file whose baseline is another network of the
same zoo name (an entry since replaced) is refused — the probes of sessions 13-15 on the
previous ``st8k`` (7,684 parameters) are kept in ``probes_st8k_trial45.json``, those of sessions 16-18 on
the fifth ``st5k`` (4,766 parameters) in ``probes_st5k_shared19.json``. Probes made on another machine
go to a file of their own (``--out``; sessions 19 and 20's, on AMD EPYC machines, in ``probes_st5k_amd.json``): a
baseline and its probes are compared only within one machine's rounding.

Usage::

    python benchmarks/probes.py --model st8k --probes baseline sam --seeds 1 --threads 1
    python benchmarks/probes.py --model st8k --probes elastic se bn-clean --seeds 1 --threads 1
    python benchmarks/probes.py --model st8k --probes baseline se --seeds 6 7   # fresh seeds
    python benchmarks/probes.py --model st8k --probes clean-finish --clean-epochs 3 --seeds 6 7

Judge a probe on seeds the model was not chosen by: a model picked by its scores on seeds
1-3 is flattered there, and every change to it looks worse on those seeds than it is. The
Markdown therefore has a second table for the fresh seeds alone (those not among a searched
model's ranking seeds), with the standard error of the paired differences: a probe whose mean
difference is within about two standard errors of zero has not shown anything.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tinyconv.data import TensorBatches, augment
from tinyconv.deploy.onnx import load_trained
from tinyconv.nn import ACTIVATIONS
from tinyconv.results import RESULTS_DIR, command_line, read_results
from tinyconv.results.files import add_runs
from tinyconv.results.tables import machine_text
from tinyconv.train import loop
from tinyconv.train import run as run_module
from tinyconv.train.average import WeightAverage
from tinyconv.train.run import recipe_loaders, train_zoo_model
from tinyconv.zoo import get_model, get_model_info, recipe_for
from tinyconv.zoo.searched import SEARCHED
from tinyconv.zoo.stagenet import stagenet

PROBES = ("baseline", "sam", "elastic", "se", "clean-finish", "activation", "shared", "shared-activation",
          "deeper-shared", "reshaped", "distill", "bn-clean")
HOLDOUT = 10_000


class SamStep:
    """An optimizer in front of another that takes sharpness-aware steps of radius ``rho``.

    Given to :func:`tinyconv.train.loop.train_epoch` in place of the optimizer (with
    :meth:`loss` in place of the loss), it remembers each batch; :meth:`step` moves the
    weights ``rho`` along the normalised gradient, takes the gradient of the same batch
    there (without moving the batch-norm running statistics), moves back and lets the
    optimizer step with that gradient.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn, rho: float) -> None:
        self.model, self.optimizer, self.loss_fn, self.rho = model, optimizer, loss_fn, rho
        self.param_groups = optimizer.param_groups
        self.batch: tuple[torch.Tensor, torch.Tensor] | None = None
        self.norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        self.params = [p for group in optimizer.param_groups for p in group["params"]]

    def remember_input(self, _module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        """Forward pre-hook: keep the batch the model is about to see."""
        self.batch = (inputs[0], self.batch[1] if self.batch else None)

    def loss(self, output: torch.Tensor, target: torch.Tensor, **kwargs) -> torch.Tensor:
        """The loss, keeping the batch's targets."""
        self.batch = (self.batch[0], target)
        return self.loss_fn(output, target, **kwargs)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """As the optimizer's."""
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        """Take the gradient at the perturbed weights, come back, and step with it."""
        data, target = self.batch
        with torch.no_grad():
            norm = torch.linalg.vector_norm(
                torch.stack([torch.linalg.vector_norm(p.grad) for p in self.params if p.grad is not None]))
            scale = self.rho / (norm + 1e-12)
            moves = [None if p.grad is None else p.grad * scale for p in self.params]
            for p, move in zip(self.params, moves):
                if move is not None:
                    p.add_(move)
        momenta = [m.momentum for m in self.norms]
        for m in self.norms:
            m.momentum = 0.0  # the second pass must not move the running statistics
        self.optimizer.zero_grad(set_to_none=True)
        self.loss_fn(self.model(data), target).backward()
        for m, momentum in zip(self.norms, momenta):
            m.momentum = momentum
        with torch.no_grad():
            for p, move in zip(self.params, moves):
                if move is not None:
                    p.sub_(move)
        self.optimizer.step()


def sam_train_epoch(rho: float):
    """A drop-in for :func:`tinyconv.train.loop.train_epoch` taking SAM steps of radius ``rho``."""
    plain_epoch = loop.train_epoch

    def train_epoch(model, batches, optimizer, *, loss_fn=F.nll_loss, **kwargs):
        sam = SamStep(model, optimizer, loss_fn, rho)
        hook = model.register_forward_pre_hook(sam.remember_input)
        try:
            return plain_epoch(model, batches, sam, loss_fn=sam.loss, **kwargs)
        finally:
            hook.remove()

    return train_epoch


def clean_finish_train_epoch(epochs: int, clean_epochs: int):
    """A drop-in for :func:`tinyconv.train.loop.train_epoch` leaving out the augmentation late.

    Epochs after ``epochs - clean_epochs`` run with the batches' ``augment`` set to ``None``
    (restored when the epoch ends); the earlier ones are the plain epoch.
    """
    plain_epoch = loop.train_epoch

    def train_epoch(model, batches, optimizer, *, epoch=1, **kwargs):
        if epoch <= epochs - clean_epochs:
            return plain_epoch(model, batches, optimizer, epoch=epoch, **kwargs)
        if not hasattr(batches, "augment"):
            raise TypeError(f"clean-finish needs batches with an augment attribute, got {type(batches).__name__}")
        augmentation, batches.augment = batches.augment, None
        try:
            return plain_epoch(model, batches, optimizer, epoch=epoch, **kwargs)
        finally:
            batches.augment = augmentation

    return train_epoch


class RecordedAverage(WeightAverage):
    """A :class:`~tinyconv.train.average.WeightAverage` that remembers the last one built."""

    latest: WeightAverage | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        RecordedAverage.latest = self


def distill_train_epoch(weight: float, temperature: float):
    """A drop-in for :func:`tinyconv.train.loop.train_epoch` adding a distillation term.

    The teacher is the weight average of the run (:class:`RecordedAverage` must be the
    one the run built); its softened output on each batch is the second target.
    """
    plain_epoch = loop.train_epoch

    def train_epoch(model, batches, optimizer, *, loss_fn=F.nll_loss, **kwargs):
        average = RecordedAverage.latest
        if average is None:
            raise RuntimeError("the distill probe needs a recipe with a weight average (ema_decay > 0)")
        teacher = average.module
        inputs: list[torch.Tensor] = []

        def remember(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            inputs[:] = [args[0]]

        def loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            teacher.eval()
            with torch.no_grad():
                soft = F.log_softmax(teacher(inputs[0]) / temperature, dim=1)
            student = F.log_softmax(output / temperature, dim=1)
            kl = F.kl_div(student, soft, reduction="batchmean", log_target=True)
            return (1 - weight) * loss_fn(output, target) + weight * temperature**2 * kl

        hook = model.register_forward_pre_hook(remember)
        try:
            return plain_epoch(model, batches, optimizer, loss_fn=loss, **kwargs)
        finally:
            hook.remove()

    return train_epoch


def elastic_call(pixels: float, lattice: int):
    """A drop-in for ``RandomAffine.__call__`` adding a smooth random displacement."""

    def call(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        b, _, h, w = images.shape
        theta = self.matrices(b, generator).to(images.device)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        coarse = torch.randn(b, 2, lattice, lattice, generator=generator) * (pixels * 2 / w)
        field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)
        grid = grid + field.permute(0, 2, 3, 1).to(images.device)
        shifted = images - self.fill
        out = F.grid_sample(shifted, grid, mode=self.mode, padding_mode="zeros", align_corners=False)
        return out + self.fill

    return call


class SqueezeExcite(nn.Module):
    """Multiply each channel by a gate computed from all channels' image means.

    Args:
        channels: Channels of the input.
        hidden: Width of the bottleneck between the two 1x1 convolutions.
    """

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(channels, hidden, 1)
        self.excite = nn.Conv2d(hidden, channels, 1)

    def __repr__(self) -> str:
        return f"SqueezeExcite({self.squeeze.in_channels}, {self.squeeze.out_channels})"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Gate the channels of ``x``."""
        means = x.mean(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.excite(F.relu(self.squeeze(means))))


def with_gates(model: nn.Module, blocks: list[str], hidden: int) -> nn.Module:
    """``model`` with a :class:`SqueezeExcite` after each named block (in place)."""
    for name in blocks:
        block = getattr(model, name)
        channels = [m for m in block.modules() if isinstance(m, nn.Conv2d)][-1].out_channels
        setattr(model, name, nn.Sequential(block, SqueezeExcite(channels, hidden)))
    return model


def searched_stagenet(model: str) -> dict[str, Any]:
    """The spec of a searched stage network, or a ``ValueError`` naming ``model``."""
    spec = SEARCHED.get(model)
    if spec is None or spec.get("family") != "stagenet":
        raise ValueError(f"this probe needs a searched stage network, got {model!r}")
    return spec


def changed_network(model: str, **changes: Any) -> nn.Module:
    """A searched stage network built with some of its :func:`~tinyconv.zoo.stagenet.stagenet` shape arguments changed.

    Args:
        model: Zoo name of a searched stage network.
        **changes: Shape arguments to override (``width`` among them).

    Returns:
        The network.

    Raises:
        ValueError: If ``model`` is not a searched stage network (or a change is out of range).
    """
    spec = searched_stagenet(model)
    return stagenet(**{"width": spec["width"], **spec["shape"], **changes})


def network_changes(model: str, probe: str, args: argparse.Namespace) -> dict[str, Any]:
    """The shape arguments the ``activation``, ``shared``, ``shared-activation`` and ``deeper-shared`` probes change."""
    changes: dict[str, Any] = {}
    if probe in ("activation", "shared-activation"):
        changes["activation"] = args.activation
    if probe in ("shared", "shared-activation", "deeper-shared"):
        changes["shared_units"] = args.shared_units
        changes["after_ratio"] = args.shared_width / searched_stagenet(model)["width"]
    if probe == "deeper-shared":
        changes["shared_units"] += args.extra_units
        changes["convs_after"] = searched_stagenet(model)["shape"]["convs_after"] + args.extra_units
    if probe == "reshaped":
        searched_stagenet(model)
        changes.update(args.set or {})
    return changes


def run_label(probe: str, args: argparse.Namespace) -> str:
    """A probe's name in the results: the probe, or ``reshaped:LABEL`` for the reshaped probe."""
    return f"reshaped:{args.label}" if probe == "reshaped" else probe


def probe_kind(key: str) -> str:
    """The probe of a run key (``"reshaped:wide/4"`` -> ``"reshaped"``)."""
    return key.split("/")[0].split(":")[0]


def probe_labels(runs: dict) -> list[str]:
    """The probes (with their labels) that have runs, in :data:`PROBES` order, baseline first."""
    labels = {key.split("/")[0] for key in runs}
    return sorted(labels, key=lambda label: (PROBES.index(probe_kind(label)), label))


def shape_setting(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` of ``--set`` or ``--recipe-set``, the value read as JSON (a bare word as a string)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


@contextmanager
def patched(owner: object, name: str, replacement: object) -> Iterator[None]:
    """Replace ``owner.name`` for the length of the block."""
    original = getattr(owner, name)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        setattr(owner, name, original)


@contextmanager
def distill_patch(weight: float, temperature: float) -> Iterator[None]:
    """Record the run's weight average and train with :func:`distill_train_epoch`."""
    with patched(run_module, "WeightAverage", RecordedAverage), \
            patched(loop, "train_epoch", distill_train_epoch(weight, temperature)):
        try:
            yield
        finally:
            RecordedAverage.latest = None


def run_folder(model: str, probe: str, seed: int) -> Path:
    """Where a probe's training run is written."""
    return Path("runs") / "probes" / model / f"{probe}-seed{seed}"


def train_probe(model: str, probe: str, seed: int, args: argparse.Namespace) -> dict:
    """Train one probe for one seed on the validation split; return its history."""
    if probe == "sam":
        patch = patched(loop, "train_epoch", sam_train_epoch(args.rho))
    elif probe == "clean-finish":
        patch = patched(loop, "train_epoch", clean_finish_train_epoch(recipe_for(model).epochs, args.clean_epochs))
    elif probe == "elastic":
        patch = patched(augment.RandomAffine, "__call__", elastic_call(args.elastic_px, args.elastic_grid))
    elif probe == "distill":
        patch = distill_patch(args.distill_weight, args.distill_temperature)
    else:
        patch = nullcontext()
    changes = network_changes(model, probe, args)
    if probe == "se":
        builder = lambda: with_gates(get_model(model), args.se_blocks, args.se_hidden)
    elif changes:
        builder = lambda: changed_network(model, **changes)
    else:
        builder = None
    with patch:
        recipe = recipe_for(model).with_overrides(**args.recipe_set) if probe == "reshaped" else recipe_for(model)
        result = train_zoo_model(model, recipe, seed=seed, holdout=HOLDOUT, root=args.root,
                                 out=run_folder(model, run_label(probe, args).replace(":", "-"), seed),
                                 overwrite=True, progress=False,
                                 builder=builder, budget=get_model_info(model).max_params)
    print(result.summary, flush=True)
    entry = {"history": result.history.to_dict(), "params": result.params}
    if probe == "clean-finish":
        entry["clean_epochs"] = args.clean_epochs
    if probe == "se":
        entry["se"] = {"blocks": args.se_blocks, "hidden": args.se_hidden}
    if probe == "distill":
        entry["distill"] = {"weight": args.distill_weight, "temperature": args.distill_temperature}
    if changes:
        entry["changes"] = changes
    if probe == "reshaped" and args.recipe_set:
        entry["recipe_changes"] = args.recipe_set
    return entry


def recomputed_statistics(model: nn.Module, batches: TensorBatches) -> nn.Module:
    """A copy of ``model`` whose batch-norm statistics are the plain mean over ``batches``."""
    copied = copy.deepcopy(model)
    for module in copied.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative average
    copied.train()
    with torch.no_grad():
        for data, _ in batches:
            copied(data)
    return copied.eval()


def bn_probe(model: str, seed: int, args: argparse.Namespace) -> dict:
    """Score the baseline run's model with stored and recomputed batch-norm statistics."""
    folder = run_folder(model, "baseline", seed)
    if not (folder / "checkpoint.pt").is_file():
        raise SystemExit(f"bn-clean needs the baseline run of seed {seed} first ({folder})")
    trained, _ = load_trained(folder)
    recipe = recipe_for(model)
    augmented = recipe_loaders(recipe, args.root, holdout=HOLDOUT, seed=seed)  # the baseline's own split
    clean = recipe_loaders(recipe.with_overrides(augment="none"), args.root, holdout=HOLDOUT, seed=seed)
    scores = {"stored": loop.evaluate(trained, augmented.eval).accuracy}
    for name, loaders in (("clean", clean), ("augmented", augmented)):
        scores[name] = loop.evaluate(recomputed_statistics(trained, loaders.train), augmented.eval).accuracy
    print(f"seed {seed}: validation accuracy with stored / clean / augmented statistics: "
          f"{scores['stored']:.2f} / {scores['clean']:.2f} / {scores['augmented']:.2f}", flush=True)
    return {"validation_accuracy": scores}


def worst_last3(run: dict) -> float | None:
    """The worst validation accuracy of a training run's last three epochs."""
    epochs = run.get("history", {}).get("epochs", [])
    return min(e["test_accuracy"] for e in epochs[-3:]) if len(epochs) >= 3 else None


def markdown(data: dict) -> str:
    """The table beside the JSON: per probe and seed, the last three epochs against the baseline."""
    runs = data["runs"]
    networks = sorted({entry["params"] for key, entry in runs.items() if key.startswith("baseline/") and "params" in entry})
    lines = [f"# Probes on {data['model']} (validation split, {HOLDOUT:,} images)", "",
             f"Baseline network: {' / '.join(f'{n:,}' for n in networks)} parameters.", "",
             "Commands: " + ", ".join(f"`{c}`" for c in data.get("commands", [data["command"]])) + "  ",
             f"Machine: {machine_text(data)}. Settings: `{data['settings']}`.", "",
             "| probe | seed | last 3 epochs | worst | baseline's worst | difference |",
             "|---|---|---|---|---|---|"]
    order = probe_labels(runs)
    for key in sorted(runs, key=lambda k: (order.index(k.split("/")[0]), int(k.split("/")[1]))):
        probe, seed = key.split("/")
        base = worst_last3(runs.get(f"baseline/{seed}", {}))
        if probe == "bn-clean":
            s = runs[key]["validation_accuracy"]
            lines.append(f"| bn-clean (stored → clean / augmented statistics) | {seed} | "
                         f"{s['stored']:.2f} → {s['clean']:.2f} / {s['augmented']:.2f} | {s['clean']:.2f} | "
                         f"{s['stored']:.2f} (same weights) | {s['clean'] - s['stored']:+.2f} |")
            continue
        epochs = runs[key]["history"]["epochs"][-3:]
        worst = worst_last3(runs[key])
        diff = "" if base is None or probe == "baseline" else f"{worst - base:+.2f}"
        last3 = ", ".join(f"{e['test_accuracy']:.2f}" for e in epochs)
        shown_base = "" if base is None else f"{base:.2f}"
        lines.append(f"| {probe} | {seed} | {last3} | {worst:.2f} | {shown_base} | {diff} |")
    lines += ["", ("Per probe, over the seeds that have a baseline run (worst of the last three epochs; "
                   "bn-clean: clean statistics):"), ""]
    lines += means_table(runs)
    chosen = {str(s) for s in selection_seeds(data["model"])}
    fresh = {key.split("/")[1] for key in runs} - chosen
    if chosen and fresh:
        lines += ["", (f"The same on the fresh seeds only (not {', '.join(sorted(chosen, key=int))}, which ranked "
                       f"{data['model']} in its search and flatter it), with the standard error of the paired "
                       "differences:"), ""]
        lines += means_table(runs, fresh)
    return "\n".join(lines) + "\n"


def means_table(runs: dict, seeds_only: set[str] | None = None) -> list[str]:
    """Rows of :func:`probe_means` as a Markdown table; for chosen seeds, with the paired standard error."""
    error_column = seeds_only is not None
    lines = ["| probe | seeds | mean | baseline's mean | mean difference |" + (" standard error |" if error_column else ""),
             "|---|---|---|---|---|" + ("---|" if error_column else "")]
    for probe, seeds, mine, base in probe_means(runs, seeds_only):
        row = f"| {probe} | {', '.join(seeds)} | {mine:.3f} | {base:.3f} | {round(mine - base, 3) + 0.0:+.3f} |"  # + 0.0: no "-0.000"
        if error_column:
            error = standard_error([a - b for a, b in zip(*paired_scores(runs, probe, seeds))])
            row += f" {'' if error is None else f'{error:.3f}'} |"
        lines.append(row)
    return lines


def probe_means(runs: dict, seeds_only: set[str] | None = None) -> list[tuple[str, list[str], float, float]]:
    """Per probe: the seeds it shares with the baseline, its mean score and the baseline's there.

    Args:
        runs: The results file's ``runs``.
        seeds_only: Keep only these seeds (as strings), or all seeds if ``None``.
    """
    out = []
    for probe in probe_labels(runs):
        if probe == "baseline":
            continue
        seeds = sorted((k.split("/")[1] for k in runs if k.startswith(f"{probe}/") and f"baseline/{k.split('/')[1]}" in runs),
                       key=int)
        seeds = [s for s in seeds if seeds_only is None or s in seeds_only]
        if not seeds:
            continue
        mine, base = paired_scores(runs, probe, seeds)
        out.append((probe, seeds, sum(mine) / len(mine), sum(base) / len(base)))
    return out


def paired_scores(runs: dict, probe: str, seeds: list[str]) -> tuple[list[float], list[float]]:
    """A probe's scores and the baseline's on the same seeds (bn-clean: clean statistics)."""
    if probe == "bn-clean":
        mine = [runs[f"{probe}/{s}"]["validation_accuracy"]["clean"] for s in seeds]
    else:
        mine = [worst_last3(runs[f"{probe}/{s}"]) for s in seeds]
    return mine, [worst_last3(runs[f"baseline/{s}"]) for s in seeds]


def standard_error(differences: list[float]) -> float | None:
    """The standard error of the mean of paired differences (``None`` for fewer than two)."""
    if len(differences) < 2:
        return None
    return statistics.stdev(differences) / math.sqrt(len(differences))


def selection_seeds(model: str) -> list[int]:
    """The seeds a searched zoo model was ranked on: its study's seed 1 and the rescoring seeds."""
    source = SEARCHED.get(model, {}).get("source")
    if source is None:
        return []
    return sorted({1, *(int(s) for s in source.get("rescored", {}))})


def check_same_network(out: Path, model: str) -> None:
    """Refuse to add runs to a results file whose baseline was another network of the same name.

    A zoo name can be given to a new network (a searched entry replaced by a better one);
    a probe and its baseline are only comparable on one network.

    Raises:
        SystemExit: If ``out``'s baseline runs have another parameter count than ``model`` today.
    """
    previous = read_results(out.name, out.parent)
    if previous is None:
        return
    params = get_model_info(model).num_params
    recorded = {entry["params"] for key, entry in previous["runs"].items()
                if key.startswith("baseline/") and "params" in entry}  # the earliest runs did not record it
    if recorded - {params}:
        raise SystemExit(f"{out} holds baseline runs of a network with {sorted(recorded)} parameters; {model} has "
                         f"{params:,} today: write to another file with --out")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="zoo name")
    parser.add_argument("--probes", nargs="+", choices=PROBES, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--threads", type=int, help="intra-op threads (default: PyTorch's choice)")
    parser.add_argument("--rho", type=float, default=0.05, help="SAM's radius")
    parser.add_argument("--elastic-px", type=float, default=1.0, help="displacement std in pixels")
    parser.add_argument("--elastic-grid", type=int, default=5, help="control points per side")
    parser.add_argument("--clean-epochs", type=int, default=3, help="final epochs without augmentation")
    parser.add_argument("--se-blocks", nargs="+", default=["block5", "block6"], help="blocks gated by the se probe")
    parser.add_argument("--se-hidden", type=int, default=4, help="bottleneck width of the se gates")
    parser.add_argument("--distill-weight", type=float, default=0.5,
                        help="weight of the distillation term of the distill probe, in (0, 1]")
    parser.add_argument("--distill-temperature", type=float, default=2.0,
                        help="softening temperature of the distill probe (> 0)")
    parser.add_argument("--activation", default="silu", choices=sorted(ACTIVATIONS),
                        help="the activation probe's replacement for ReLU")
    parser.add_argument("--shared-width", type=int, default=20, help="second-stage width of the shared probe")
    parser.add_argument("--shared-units", type=int, default=2, help="last second-stage units sharing one convolution")
    parser.add_argument("--extra-units", type=int, default=1,
                        help="second-stage units the deeper-shared probe adds (sharing the convolution)")
    parser.add_argument("--set", type=shape_setting, nargs="+", metavar="KEY=VALUE",
                        help="the reshaped probe's shape arguments")
    parser.add_argument("--recipe-set", type=shape_setting, nargs="+", metavar="KEY=VALUE",
                        help="the reshaped probe's recipe settings")
    parser.add_argument("--label", help="the reshaped probe's name in the results (required with it)")
    parser.add_argument("--root", help="MNIST root")
    parser.add_argument("--out", type=Path, help="results JSON (default: benchmarks/results/probes_MODEL.json)")
    args = parser.parse_args(argv)
    if "reshaped" in args.probes and not ((args.set or args.recipe_set) and args.label):
        parser.error("the reshaped probe needs --set or --recipe-set KEY=VALUE ... and --label")
    if not 0 < args.distill_weight <= 1:
        parser.error(f"--distill-weight must be in (0, 1], got {args.distill_weight}")
    if not args.distill_temperature > 0:
        parser.error(f"--distill-temperature must be > 0, got {args.distill_temperature}")
    args.set, args.recipe_set = dict(args.set or []), dict(args.recipe_set or [])
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    out = args.out or RESULTS_DIR / f"probes_{args.model}.json"
    check_same_network(out, args.model)
    settings = {"rho": args.rho, "elastic_px": args.elastic_px, "elastic_grid": args.elastic_grid,
                "holdout": HOLDOUT, "recipe": recipe_for(args.model).to_dict()}
    command = command_line(__file__, argv)
    for seed in args.seeds:
        for probe in args.probes:
            entry = bn_probe(args.model, seed, args) if probe == "bn-clean" else train_probe(args.model, probe, seed, args)
            entry["threads"] = torch.get_num_threads()
            data = {"model": args.model, "settings": settings, "runs": {f"{run_label(probe, args)}/{seed}": entry}}
            add_runs(out, data, command=command, markdown=markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
