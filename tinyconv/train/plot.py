"""Training curves as a PNG."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tinyconv._io import atomic_path
from tinyconv.train.history import History

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_history"]


def plot_history(history: History, path: str | os.PathLike[str] | None = None, *,
                 title: str | None = None) -> Figure:
    """Draw the four curves (train/evaluation loss and accuracy by epoch), and save them as a PNG.

    The figure is a ``matplotlib.figure.Figure`` of its own (no pyplot state, the current
    backend untouched); a notebook shows it when a cell ends with it.

    With a weight average, the accuracy panel shows the average's and the training
    weights' evaluation accuracy.

    Args:
        history: The run's history.
        path: Destination ``.png`` file (written atomically), or ``None`` to only draw.
        title: Figure title; defaults to the model name in ``history.meta``.

    Returns:
        The figure.

    Raises:
        ValueError: If the history is empty.
    """
    if not history.epochs:
        raise ValueError("cannot plot an empty history")
    from matplotlib.figure import Figure  # noqa: F811 - a figure of its own: no pyplot state, the backend untouched

    epochs = history.column("epoch")
    eval_name = history.meta.get("eval_name", "Test").lower()
    fig = Figure(figsize=(10, 4), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    loss_ax.plot(epochs, history.column("train_loss"), "o-", label="train")
    loss_ax.plot(epochs, history.column("test_loss"), "o-", label=eval_name)
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Loss", yscale="log")
    acc_ax.plot(epochs, history.column("train_accuracy"), "o-", label="train")
    raw = history.column("raw_test_accuracy")
    if any(value is not None for value in raw):
        acc_ax.plot(epochs, history.column("test_accuracy"), "o-", label=f"{eval_name} (weight average)")
        acc_ax.plot(epochs, raw, "x--", label=f"{eval_name} (training weights)")
    else:
        acc_ax.plot(epochs, history.column("test_accuracy"), "o-", label=eval_name)
    acc_ax.axhline(99.4, color="grey", linestyle=":", label="99.4%")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    # Zoom where the differences are (99.3 vs 99.5, the 99.4% line): from just under every
    # accuracy of the second half of the run; early epochs may fall below the axis, but the
    # points of the second half (all of them in a run of one epoch) never do.
    half = len(history) // 2
    tail = [v for column in ("test_accuracy", "train_accuracy", "raw_test_accuracy")
            for v in history.column(column)[half:] if v is not None]
    acc_ax.set_ylim(max(min(min(tail) - 0.5, 99.2), 0), 100)
    from matplotlib.ticker import MaxNLocator

    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers, even for one
        if len(epochs) == 1:
            ax.set_xlim(epochs[0] - 1, epochs[0] + 1)
    fig.suptitle(title or str(history.meta.get("model", "")))
    if path is not None:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
    return fig
