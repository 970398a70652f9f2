"""Figures for the docs, drawn at build time from the committed JSON (like the tables)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from tinyconv.exercise import EXERCISE_ACCURACY  # noqa: E402


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _finish(fig, ax, path: Path, xlabel: str, ylabel: str, title: str) -> None:
    """Label the axes, add the legend and grid, and save: the last steps every scatter figure shares."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    _save(fig, path)


def speed_bars(data: dict, path: Path, title: str) -> None:
    """Training speed of every configuration relative to the classic pipeline: median bar, each round a dot."""
    results = data["results"]
    classic = results.get("classic")
    names = list(results)[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(names) + 1.2))
    ratios = [results[n]["train_ratio_to_classic"] or 0.0 for n in names]
    colors = ["C2" if n.startswith("tinyconv") else "C7" if n == "classic" else "C0" for n in names]
    ax.barh(names, ratios, color=colors, alpha=0.8)
    if classic is not None:
        for i, name in enumerate(names):
            rounds = [m["train_images_per_s"] / c["train_images_per_s"]
                      for m, c in zip(results[name]["samples"], classic["samples"], strict=False)]
            ax.plot(rounds, [i] * len(rounds), "k.", markersize=4)
    for x, style in ((1, "-"), (2, "--"), (3, ":")):
        ax.axvline(x, color="grey", linestyle=style, linewidth=0.8)
    ax.set_xlabel("training images per second, × the classic pipeline (bar: median; dots: each round)")
    ax.set_title(title)
    _save(fig, path)


def final_seeds(name: str, data: dict, path: Path, first_epoch: int = 6) -> None:
    """Every seed's test accuracy by epoch in one panel, zoomed on the last epochs, with the 99.4% line."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for seed, run in sorted(data["runs"].items(), key=lambda kv: int(kv[0])):
        epochs = [e for e in run["history"]["epochs"] if e["epoch"] >= first_epoch]
        ax.plot([e["epoch"] for e in epochs], [e["test_accuracy"] for e in epochs], "o-", markersize=3,
                label=f"seed {seed}")
    last = max(e["epoch"] for run in data["runs"].values() for e in run["history"]["epochs"])
    ax.axvspan(last - 2.5, last + 0.5, color="C2", alpha=0.08, label="the last 3 epochs")
    ax.axhline(EXERCISE_ACCURACY, color="k", linestyle=":", label="99.4%")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{name}: test accuracy by epoch, every seed")
    ax.legend(fontsize=8, ncol=2, loc="lower right")
    ax.grid(alpha=0.3)
    _save(fig, path)


def accuracy_vs_parameters(points: list[tuple[str, int, float, float | None, str]], path: Path) -> None:
    """Each model's accuracy against its parameters, with the 8k and 5k budgets.

    Args:
        points: ``(name, params, accuracy, spread or None, kind)``; kind is ``"notebook"``
            (the seed's recorded best) or ``"measured"`` (mean final test accuracy here).
        path: The PNG.
    """
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for kind, marker, color, label in (("notebook", "s", "C7", "seed notebook's best test accuracy"),
                                       ("measured", "o", "C0", "mean final test accuracy here (± std)")):
        chosen = [p for p in points if p[4] == kind]
        for name, params, acc, spread, _ in chosen:
            ax.errorbar(params, acc, yerr=spread, fmt=marker, color=color, capsize=3)
            ax.annotate(name, (params, acc), textcoords="offset points", xytext=(5, 4), fontsize=8)
        if chosen:
            ax.plot([], [], marker, color=color, label=label)
    for budget in (5000, 8000):
        ax.axvline(budget, color="C3", linestyle="--", linewidth=0.9)
        ax.annotate(f"< {budget:,}", (budget, 98.95), rotation=90, fontsize=8, color="C3",
                    xytext=(-10, 0), textcoords="offset points")
    ax.axhline(EXERCISE_ACCURACY, color="k", linestyle=":", label="99.4%")
    ax.set_xscale("log")
    ax.set_ylim(98.9, 99.7)
    _finish(fig, ax, path, "trainable parameters (log scale)", "test accuracy (%)", "Accuracy against parameters")


def margin_frontier(points: list[tuple[str, int, list[float]]], path: Path) -> None:
    """Each seed's worst test accuracy of the last three epochs against the model's parameters.

    The exercise asks every one of those three epochs to reach 99.4%, so a seed passes when its
    dot sits on or above the line; each model is labelled with how many of its seeds do.

    Args:
        points: ``(name, params, worst of the last three epochs for each seed)``.
        path: The PNG.
    """
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for name, params, worst in sorted(points, key=lambda p: p[1]):
        passing = sum(w >= EXERCISE_ACCURACY for w in worst)
        color = "C2" if passing == len(worst) else "C1"
        spread = [params + 40 * (i - (len(worst) - 1) / 2) for i in range(len(worst))]  # seeds side by side
        ax.plot(spread, worst, "o", color=color, alpha=0.7, markersize=5)
        ax.annotate(f"{name}\n{passing} of {len(worst)}", (max(spread), max(worst)), textcoords="offset points",
                    xytext=(6, -4), fontsize=8)
    ax.plot([], [], "o", color="C2", label="every seed passes")
    ax.plot([], [], "o", color="C1", label="some seed fails")
    ax.axhline(EXERCISE_ACCURACY, color="k", linestyle=":", label="99.4%")
    low, high = min(p[1] for p in points), max(p[1] for p in points)
    ax.set_xlim(low - 300, high + 700)
    ax.set_ylim(top=max(max(p[2]) for p in points) + 0.05)
    _finish(fig, ax, path, "trainable parameters", "worst of the last 3 epochs, test accuracy (%)",
            "Margin against parameters: one dot per seed")


def frontier_points() -> list[tuple[str, int, list[float]]]:
    """The zoo's measured models, each seed's worst of its last three epochs, for :func:`margin_frontier`."""
    from lab.measured import measured
    from tinyconv.zoo import get_model_info, list_models

    points = []
    for name in list_models():
        m = measured(name)
        if m is not None:
            points.append((name, get_model_info(name).num_params, [min(run) for run in m.last3]))
    return points


def zoo_points() -> list[tuple[str, int, float, float | None, str]]:
    """The zoo's notebook accuracies and the measured ones, for :func:`accuracy_vs_parameters`."""
    from lab.measured import measured
    from tinyconv.zoo import get_model_info, list_models

    points = []
    for name in list_models():
        info = get_model_info(name)
        if info.notebook_best_test_accuracy:
            points.append((name, info.num_params, info.notebook_best_test_accuracy, None, "notebook"))
        m = measured(name)
        if m is not None:
            points.append((name, info.num_params, m.final_mean, m.final_std if len(m.finals) > 1 else None,
                           "measured"))
    return points


def architecture(rows: list, title: str, path: Path) -> None:
    """A network drawn from its summary: one box per block, as tall as its output map, labelled
    with its output shape, parameters and receptive field.

    Args:
        rows: :class:`~tinyconv.inspect.summary.LayerRow` objects of the network, in order.
        title: The figure's title.
        path: The PNG.
    """
    blocks: dict[str, list] = {}
    for row in rows:
        blocks.setdefault(row.name.split(".")[0], []).append(row)
    fig, ax = plt.subplots(figsize=(1.25 * len(blocks) + 1, 3.6))
    top = max(max(r.output_shape[-1] if len(r.output_shape) == 3 else 1 for r in group) for group in blocks.values())
    for i, (name, group) in enumerate(blocks.items()):
        last = group[-1]
        shape = next((r.output_shape for r in reversed(group) if len(r.output_shape) == 3), last.output_shape)
        side = shape[-1] if len(shape) == 3 else 1
        height = 0.25 + 2.0 * side / top
        kind = "C3" if name.startswith("transition") else "C7" if name == "head" else "C0"
        ax.add_patch(plt.Rectangle((i + 0.1, -height / 2), 0.8, height, color=kind, alpha=0.35))
        params = sum(r.params for r in group)
        rf = last.receptive_field[0] if last.receptive_field else "?"
        ax.text(i + 0.5, height / 2 + 0.08, name, ha="center", va="bottom", fontsize=8, weight="bold")
        ax.text(i + 0.5, -height / 2 - 0.08, f"{'×'.join(map(str, shape))}\n{params:,} params\nRF {rf}",
                ha="center", va="top", fontsize=7)
    ax.set_xlim(0, len(blocks))
    ax.set_ylim(-2.1, 1.6)
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    _save(fig, path)
