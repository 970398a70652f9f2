"""The exercise's verdict, as the results summary prints it."""

from __future__ import annotations

import pytest

from tinyconv.exercise import exercise_verdict
from tinyconv.train.history import EpochRecord, History
from tinyconv.app.run import format_summary


@pytest.mark.parametrize("accs, params, budget, epochs, passed, words", [
    ([99.0, 99.40, 99.41, 99.45], 7911, 8000, 4, True, "all >= 99.4"),
    ([99.5, 99.39, 99.6, 99.7], 7911, 8000, 4, False, "not all >= 99.4"),
    ([99.5, 99.5, 99.5], 8000, 8000, 3, False, "8,000 >= 8,000 parameters"),  # the budget is exclusive
    ([99.5, 99.5, 99.5], 4999, 5000, 3, True, "4,999 < 5,000"),
    ([99.5, 99.5], 100, 8000, 2, False, "only 2 epochs"),
    ([99.5] * 16, 100, 8000, 16, False, "more than 15"),
])
def test_verdict(accs, params, budget, epochs, passed, words):
    verdict = exercise_verdict(accs, params=params, budget=budget, epochs=epochs)
    assert verdict.passed is passed and words in verdict.reason


def _history(accs, eval_name="Test", budget=None):
    history = History(meta={"model": "m", "eval_name": eval_name, **({"budget": budget} if budget else {})})
    for i, acc in enumerate(accs, 1):
        history.append(EpochRecord(epoch=i, train_loss=0.1, train_accuracy=99.0, test_loss=0.02,
                                   test_accuracy=acc, test_correct=int(acc * 100), test_total=10_000,
                                   lr=0.01, seconds=1.0, train_seconds=1.0))
    return history


def test_the_summary_ends_with_the_verdict():
    last = format_summary(_history([99.1, 99.45, 99.41, 99.42]), 7911).splitlines()[-1]
    assert last.split()[:2] == ["exercise", "PASSED:"] and "99.45, 99.41, 99.42" in last
    small = format_summary(_history([99.5, 99.5, 99.5], budget=5000), 5100).splitlines()[-1]
    assert "NOT MET" in small and "5,100 >= 5,000" in small


def test_a_validation_run_gets_no_verdict():
    last = format_summary(_history([99.5, 99.5, 99.5], eval_name="Validation"), 100).splitlines()[-1]
    assert "test set only" in last
