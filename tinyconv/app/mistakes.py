"""Where a trained model goes wrong: the confusion matrix and the misclassified images.

Both take the model and its evaluation data in any of the forms tinyconv uses — batches
(``Loaders.eval``, a :class:`~tinyconv.data.batches.TensorBatches`, a ``DataLoader``) or
an ``(images, labels)`` pair of normalised tensors, e.g. from
:func:`~tinyconv.app.trained.run_images` — and draw on a ``matplotlib.figure.Figure`` of
their own (no pyplot state, the backend untouched).

Example:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.LogSoftmax(dim=1))
    >>> matrix = confusion_matrix(model, (torch.randn(6, 1, 2, 2), torch.tensor([0, 1, 2, 0, 1, 2])))
    >>> int(matrix.counts.sum()), matrix.counts.shape
    (6, torch.Size([3, 3]))
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from tinyconv._repr import html_block, html_table

__all__ = ["ConfusionMatrix", "Mistake", "confusion_matrix", "find_mistakes", "plot_mistakes"]

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of (true class, predicted class).

    Attributes:
        counts: ``int64 (classes, classes)``; row = true class, column = prediction.
    """

    counts: torch.Tensor

    @property
    def accuracy(self) -> float:
        """Correct predictions in percent."""
        total = int(self.counts.sum())
        return 100.0 * int(self.counts.diagonal().sum()) / max(total, 1)

    def most_confused(self, n: int = 3) -> list[tuple[int, int, int]]:
        """The ``n`` largest off-diagonal cells as ``(true, predicted, count)``, largest first."""
        off = self.counts.clone()
        off.fill_diagonal_(0)
        values, order = off.flatten().sort(descending=True)
        k = self.counts.shape[1]
        return [(int(i) // k, int(i) % k, int(v)) for v, i in zip(values[:n], order[:n], strict=True) if v > 0]

    def __repr__(self) -> str:
        pairs = ", ".join(f"{t}→{p}: {c}" for t, p, c in self.most_confused())
        return (f"ConfusionMatrix(classes={self.counts.shape[0]}, images={int(self.counts.sum()):,}, "
                f"accuracy={self.accuracy:.2f}%, most_confused=[{pairs}])")

    def _repr_html_(self) -> str:
        classes = self.counts.shape[0]
        rows = [[f"true {t}", *(int(c) for c in self.counts[t])] for t in range(classes)]
        errors = [t for t in range(classes) if int(self.counts[t].sum() - self.counts[t, t]) > 0]
        table = html_table(["", *(f"pred {p}" for p in range(classes))], rows, numeric=range(1, classes + 1))
        return html_block(f"Confusion matrix: {self.accuracy:.2f}% of {int(self.counts.sum()):,} images", table,
                          [f"rows with mistakes: {', '.join(map(str, errors)) or 'none'}"])

    def plot(self) -> Any:
        """The matrix as a heat map (counts written in the cells).

        Returns:
            A ``matplotlib.figure.Figure``.
        """
        from matplotlib.figure import Figure

        classes = self.counts.shape[0]
        fig = Figure(figsize=(1 + 0.5 * classes, 0.8 + 0.5 * classes), layout="constrained")
        ax = fig.subplots()
        shown = self.counts.double().log1p().numpy()
        ax.imshow(shown, cmap="Blues")
        for t in range(classes):
            for p in range(classes):
                count = int(self.counts[t, p])
                if count:
                    ax.text(p, t, str(count), ha="center", va="center", fontsize=7,
                            color="white" if shown[t, p] > shown.max() / 2 else "black")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_xticks(range(classes))
        ax.set_yticks(range(classes))
        ax.set_title(f"{self.accuracy:.2f}% correct")
        return fig


@dataclass(frozen=True)
class Mistake:
    """One misclassified image.

    Attributes:
        index: Its position in the data.
        image: The (normalised) image, ``(C, H, W)``.
        label: The true class.
        predicted: The model's class.
        confidence: The model's probability of ``predicted``.
    """

    index: int
    image: torch.Tensor
    label: int
    predicted: int
    confidence: float


def _batches(data: Any, batch_size: int = 1000) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], torch.Tensor):
        images, labels = data
        if len(images) != len(labels):
            raise ValueError(f"data has {len(images)} images and {len(labels)} labels")
        for start in range(0, len(images), batch_size):
            yield images[start:start + batch_size], labels[start:start + batch_size]
        return
    if not hasattr(data, "__iter__"):
        raise TypeError(f"data must be (images, labels) tensors or batches of them, got {type(data).__name__}")
    yield from data


def _predictions(model: nn.Module, data: Any) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(images, labels, log-probabilities) per batch, the model in eval mode (its mode restored)."""
    was_training = model.training
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    model.eval()
    try:
        with torch.no_grad():
            for images, labels in _batches(data):
                yield images, labels, model(images.to(device)).float().cpu()
    finally:
        model.train(was_training)


def confusion_matrix(model: nn.Module, data: Any, num_classes: int | None = None) -> ConfusionMatrix:
    """Count each (true class, predicted class) over the data.

    Args:
        model: The trained model (class scores out).
        data: ``(images, labels)`` tensors or batches of them.
        num_classes: The classes; ``None``: the model's output width.

    Returns:
        The :class:`ConfusionMatrix`.
    """
    counts: torch.Tensor | None = None
    for _, labels, scores in _predictions(model, data):
        k = num_classes or scores.shape[1]
        if counts is None:
            counts = torch.zeros(k, k, dtype=torch.int64)
        index = labels.cpu().long() * k + scores.argmax(1)
        counts += torch.bincount(index, minlength=k * k).reshape(k, k)
    if counts is None:
        raise ValueError("data holds no images")
    return ConfusionMatrix(counts)


def find_mistakes(model: nn.Module, data: Any, limit: int = 16) -> list[Mistake]:
    """The misclassified images the model was surest of, most confident first.

    Args:
        model: The trained model (log-probabilities out, as tinyconv's heads give).
        data: ``(images, labels)`` tensors or batches of them (in a fixed order).
        limit: At most this many.

    Returns:
        The mistakes.
    """
    found: list[Mistake] = []
    seen = 0
    for images, labels, scores in _predictions(model, data):
        confidence, predicted = scores.exp().max(1)
        for i in torch.nonzero(predicted != labels.cpu()).flatten().tolist():
            found.append(Mistake(seen + i, images[i].cpu(), int(labels[i]), int(predicted[i]), float(confidence[i])))
        seen += len(labels)
        found = sorted(found, key=lambda m: -m.confidence)[:limit]
    return found


def plot_mistakes(model: nn.Module, data: Any, limit: int = 16, columns: int = 8) -> Any:
    """A grid of the misclassified images the model was surest of, titled ``true→predicted (confidence)``.

    Args:
        model: The trained model.
        data: ``(images, labels)`` tensors or batches of them.
        limit: At most this many images.
        columns: Images per row.

    Returns:
        A ``matplotlib.figure.Figure`` (a notebook shows it when a cell ends with it).
    """
    from matplotlib.figure import Figure

    mistakes = find_mistakes(model, data, limit)
    rows = max(1, -(-len(mistakes) // columns))
    fig = Figure(figsize=(1.3 * columns, 1.5 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, mistake in zip(axes.flat, mistakes, strict=False):
        image = mistake.image
        shown = image[0] if image.shape[0] == 1 else image.permute(1, 2, 0)
        low, high = float(shown.min()), float(shown.max())
        ax.imshow(((shown - low) / max(high - low, 1e-8)).numpy(), cmap="gray" if image.shape[0] == 1 else None)
        ax.set_title(f"{mistake.label}→{mistake.predicted} ({100 * mistake.confidence:.0f}%)", fontsize=8)
    if not mistakes:
        axes.flat[0].set_title("no mistakes")
    return fig
