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


def test_the_summary_table_names_the_threads_each_run_used():
    """The same seed moves by a tenth between one and two threads, so the table says which it was."""
    from lab.tables import _short_machine

    machine = {"cpu": "Intel(R) Xeon(R) Processor", "torch": "2.14.1+cu130", "torch_threads": 2}
    assert _short_machine(machine) == "Intel, torch 2.14.1, 2 threads"
    assert _short_machine({**machine, "torch_threads": 1}) == "Intel, torch 2.14.1, 1 thread"
    assert _short_machine({k: v for k, v in machine.items() if k != "torch_threads"}) == "Intel, torch 2.14.1"


def test_a_results_files_machine_line_names_its_threads():
    from lab.tables import machine_text

    data = {"machine": {"cpu": "AMD EPYC", "cores": 2, "torch": "2.15.0", "torch_threads": 1}}
    assert machine_text(data) == "AMD EPYC (2 cores, torch 2.15.0, 1 thread)"


def test_the_wilson_interval_matches_a_hand_calculation():
    from tinyconv.exercise import wilson_interval

    # 38 of 40, z = 1.96: p = 0.95, z²/n = 0.09604; centre = (0.95 + 0.04802) / 1.09604 = 0.910570;
    # half-width = 1.96 * sqrt(0.95 * 0.05 / 40 + 3.8416 / 6400) / 1.09604 = 0.075612
    low, high = wilson_interval(38, 40, z=1.96)
    assert low == pytest.approx(0.834958, abs=1e-5) and high == pytest.approx(0.986182, abs=1e-5)
    # all pass: the lower end is n / (n + z²); none pass: the upper end is z² / (n + z²)
    assert wilson_interval(20, 20, z=1.96) == (pytest.approx(20 / 23.8416), 1.0)
    assert wilson_interval(0, 5, z=1.96) == (0.0, pytest.approx(3.8416 / 8.8416))


@pytest.mark.parametrize(("successes", "trials", "message"), [
    (3, 0, "trials must be a positive int, got 0"),
    (-1, 5, r"successes must be an int in 0..trials=5, got -1"),
    (6, 5, r"successes must be an int in 0..trials=5, got 6"),
])
def test_the_wilson_interval_refuses_impossible_counts(successes, trials, message):
    from tinyconv.exercise import wilson_interval

    with pytest.raises(ValueError, match=message):
        wilson_interval(successes, trials)


def test_a_pass_rate_counts_runs_whose_last_three_epochs_all_reach_the_line():
    from tinyconv.exercise import pass_rate

    rate = pass_rate([[99.0, 99.40, 99.41, 99.45], [99.39, 99.5, 99.5], [99.6, 99.6, 99.6]])
    assert (rate.passed, rate.runs, rate.worst) == (2, 3, 99.39)
    assert str(rate).startswith("2 of 3 runs (95% Wilson interval ")
    with pytest.raises(ValueError, match="fewer"):
        pass_rate([[99.5, 99.5]])
