"""The record of a training run: one row per epoch, saved as JSON."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from tinyconv._io import atomic_write_json
from tinyconv._repr import html_block, html_table, short_repr

__all__ = ["EpochRecord", "History"]


@dataclass(frozen=True)
class EpochRecord:
    """Metrics of one epoch.

    Attributes:
        epoch: Epoch number, from 1.
        train_loss: Mean training loss over the epoch's samples.
        train_accuracy: Training accuracy in percent (on the augmented batches, with
            dropout active, as the seed reported it).
        test_loss: Mean loss on the evaluation set (test or validation).
        test_accuracy: Evaluation accuracy in percent.
        test_correct: Correct evaluation predictions.
        test_total: Evaluation samples.
        lr: Learning rate at the end of the epoch.
        seconds: Wall time of the epoch (training and evaluation).
        train_seconds: Wall time of the training part.
        raw_test_accuracy: With a weight average, the evaluation accuracy of the
            training weights themselves (``test_accuracy`` is the average's); ``None``
            without one.
    """

    epoch: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    test_correct: int
    test_total: int
    lr: float
    seconds: float
    train_seconds: float = 0.0
    raw_test_accuracy: float | None = None


@dataclass
class History:
    """All epochs of a run plus free-form metadata (model, recipe, seed, machine...).

    Attributes:
        epochs: One :class:`EpochRecord` per completed epoch.
        meta: JSON-serialisable metadata.
    """

    epochs: list[EpochRecord] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def append(self, record: EpochRecord) -> None:
        """Add an epoch.

        Args:
            record: The epoch's metrics.
        """
        self.epochs.append(record)

    def __len__(self) -> int:
        return len(self.epochs)

    def column(self, name: str) -> list[Any]:
        """Return one metric for every epoch.

        Args:
            name: An :class:`EpochRecord` field name.

        Returns:
            The values in epoch order.
        """
        return [getattr(record, name) for record in self.epochs]

    def best(self) -> EpochRecord:
        """Return the epoch with the highest evaluation accuracy (the earliest on ties).

        Returns:
            The best epoch.

        Raises:
            ValueError: If the history is empty.
        """
        if not self.epochs:
            raise ValueError("the history has no epochs yet")
        return max(self.epochs, key=lambda r: (r.test_accuracy, -r.epoch))

    def last(self, n: int = 3) -> list[EpochRecord]:
        """Return the last ``n`` epochs.

        Args:
            n: How many.

        Returns:
            Up to ``n`` records.
        """
        return self.epochs[-n:]

    def time_to(self, accuracy: float, *, stayed: bool = False) -> tuple[int, float] | None:
        """Return when the evaluation accuracy first reached ``accuracy``.

        Args:
            accuracy: Target accuracy in percent.
            stayed: Count only an epoch from which every later epoch stays at or above
                the target ("reached and stayed there").

        Returns:
            ``(epoch, seconds)``: the first such epoch and the wall time of all epochs up
            to and including it; ``None`` if never reached (or never for good).
        """
        elapsed, found = 0.0, None
        for record in self.epochs:
            elapsed += record.seconds
            if record.test_accuracy >= accuracy:
                if found is None:
                    found = (record.epoch, elapsed)
                if not stayed:
                    return found
            elif stayed:
                found = None
        return found

    @property
    def total_seconds(self) -> float:
        """Wall time of all epochs."""
        return sum(r.seconds for r in self.epochs)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict.

        Returns:
            ``{"meta": ..., "epochs": [...]}``.
        """
        return {"meta": dict(self.meta), "epochs": [asdict(r) for r in self.epochs]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Rebuild a history from :meth:`to_dict` output.

        Args:
            data: The dict.

        Returns:
            The history.
        """
        return cls([EpochRecord(**row) for row in data.get("epochs", [])], dict(data.get("meta", {})))

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per epoch (the :class:`EpochRecord` fields), for a table or ``csv.DictWriter``.

        Returns:
            The rows, in epoch order.
        """
        return [asdict(r) for r in self.epochs]

    def to_pandas(self) -> Any:
        """The epochs as a ``pandas.DataFrame`` indexed by epoch.

        Returns:
            The data frame.

        Raises:
            ImportError: If pandas is not installed (``pip install pandas``); :meth:`to_rows` needs nothing.
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("History.to_pandas needs pandas (pip install pandas); History.to_rows() gives the same "
                              "rows as dicts") from None
        return pd.DataFrame(self.to_rows()).set_index("epoch")

    def __repr__(self) -> str:
        fields: list[tuple[str, Any]] = [("model", self.meta.get("model")), ("epochs", len(self.epochs))]
        if self.epochs:
            best = self.best()
            fields += [("best", f"{best.test_accuracy:.2f}% (epoch {best.epoch})"),
                       ("last", [round(r.test_accuracy, 2) for r in self.last(3)]),
                       ("minutes", round(self.total_seconds / 60, 1))]
        return short_repr(self, fields)

    def _repr_html_(self) -> str:
        """The per-epoch table as HTML (the best epoch marked), for a notebook cell."""
        name = self.meta.get("eval_name", "Test").lower()
        headers = ("epoch", "train loss", "train acc %", f"{name} loss", f"{name} acc %", "lr", "seconds")
        best = self.best().epoch if self.epochs else None
        rows = [(r.epoch, f"{r.train_loss:.4f}", f"{r.train_accuracy:.2f}", f"{r.test_loss:.4f}",
                 f"{r.test_accuracy:.2f}", f"{r.lr:.3g}", f"{r.seconds:.1f}") for r in self.epochs]
        marked = [i for i, r in enumerate(self.epochs) if r.epoch == best]
        return html_block(f"History of {self.meta.get('model', 'a run')}: {len(self.epochs)} epochs",
                          html_table(headers, rows, highlight=marked, numeric=range(7)))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the history as JSON, atomically.

        Args:
            path: Destination file.
        """
        atomic_write_json(path, self.to_dict())
