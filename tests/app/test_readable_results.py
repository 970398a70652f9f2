"""Results read in a few rounded lines (and as HTML in a notebook); mistakes can be looked at."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from tinyconv.app.mistakes import confusion_matrix, find_mistakes, plot_mistakes
from tinyconv.app.run import train_net
from tinyconv.data.pipeline import make_loaders
from tinyconv.data.sources import tensor_data
from tinyconv.inspect import summary
from tinyconv.inspect.exportable import check_exportable
from tinyconv.zoo import get_model


@pytest.fixture(scope="module")
def run():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=g)
    labels = torch.arange(64) % 10
    data = tensor_data((images, labels), (images[:16], labels[:16]))
    return data, train_net(get_model("st5k"), {"epochs": 2, "batch_size": 16}, data=data, out=False, callbacks=[])


def _short(text: str, chars: int = 300, lines: int = 10) -> bool:
    """A few lines, no float with more than four decimals."""
    return len(text) <= chars and len(text.splitlines()) <= lines and re.search(r"\d\.\d{5,}", text) is None


def test_every_result_reads_in_a_few_rounded_lines(run):
    data, result = run
    exports = check_exportable(get_model("st8k"), (1, 28, 28))
    objects = [summary(get_model("st8k")), result, result.history, data, exports, exports.graph,
               make_loaders(data, batch_size=16), confusion_matrix(result.model, _normalised(data))]
    for obj in objects:
        text = repr(obj)
        assert text.startswith(type(obj).__name__) and _short(text), text
        assert "tensor([" not in text, text  # no tensor values


def _normalised(data):
    mean, std = data.statistics()
    return data.normalised(data.test_images, mean, std), data.test_labels


def test_a_summary_a_history_and_a_run_show_as_html(run):
    _, result = run
    html = summary(get_model("st8k"))._repr_html_()
    assert html.count("<tr") == 1 + len(summary(get_model("st8k")).rows) and "Exports: ONNX yes" in html
    assert "<table" in result.history._repr_html_() and result.history._repr_html_().count("<tr") == 3
    run_html = result._repr_html_()
    assert "data:image/png;base64," in run_html and "exercise" in run_html


def test_a_history_as_rows_and_a_data_frame(run):
    _, result = run
    rows = result.history.to_rows()
    assert [r["epoch"] for r in rows] == [1, 2] and set(rows[0]) >= {"test_accuracy", "train_loss", "lr"}
    pandas = pytest.importorskip("pandas")
    frame = result.history.to_pandas()
    assert isinstance(frame, pandas.DataFrame) and list(frame.index) == [1, 2]


def test_the_confusion_matrix_counts_every_image_once(run):
    data, result = run
    images, labels = _normalised(data)
    matrix = confusion_matrix(result.model, (images, labels))
    predicted = result.model.eval()(images).argmax(1)
    assert int(matrix.counts.sum()) == len(labels)
    assert int(matrix.counts.diagonal().sum()) == int((predicted == labels).sum())
    assert matrix.counts[int(labels[0]), int(predicted[0])] >= 1
    assert "<table" in matrix._repr_html_() and matrix.plot().axes


def test_the_mistakes_are_the_misclassified_images_surest_first(run):
    data, result = run
    images, labels = _normalised(data)
    mistakes = find_mistakes(result.model, (images, labels), limit=5)
    wrong = int((result.model.eval()(images).argmax(1) != labels).sum())
    assert len(mistakes) == min(5, wrong)
    assert all(m.label != m.predicted and m.label == int(labels[m.index]) for m in mistakes)
    assert [m.confidence for m in mistakes] == sorted((m.confidence for m in mistakes), reverse=True)
    figure = plot_mistakes(result.model, (images, labels), limit=5)
    assert len([ax for ax in figure.axes if ax.get_title()]) == len(mistakes)


def test_a_model_registered_again_needs_replace():
    from tinyconv.zoo.registry import _REGISTRY, register_model

    def build():
        return nn.Linear(1, 1)

    try:
        register_model("notebook_cell_model", num_params=2)(build)
        with pytest.raises(ValueError, match="replace=True"):
            register_model("notebook_cell_model", num_params=2)(build)
        register_model("notebook_cell_model", num_params=2, replace=True)(build)
        with pytest.raises(ValueError, match="one of tinyconv's own models and cannot be replaced"):
            register_model("st8k", num_params=2, replace=True)(build)
    finally:
        _REGISTRY.pop("notebook_cell_model", None)


def test_the_budget_report_reads_as_the_command_and_marks_the_layers_to_cut():
    from tinyconv.budget import budget_report

    over = budget_report(get_model("model1"), 8000, name="model1")
    assert not over.fits and over.excess == 249_355 and str(over).startswith("OVER BUDGET: model1 has 257,354")
    html = over._repr_html_()
    assert html.count("background:#fde7e7") == 4 and "block6.conv" in html  # block6, 5, 4 and the head hold it
    fits = budget_report(get_model("st8k"), 8000, name="st8k")
    assert fits.fits and "371 to spare" in fits.line() and "#fde7e7" not in fits._repr_html_()
    assert len(repr(over)) < 120
