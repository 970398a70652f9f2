"""The lab's rates and machine lines: Wilson intervals, pass rates, what a results table says."""

from __future__ import annotations

import pytest


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
    from lab.rates import wilson_interval

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
    from lab.rates import wilson_interval

    with pytest.raises(ValueError, match=message):
        wilson_interval(successes, trials)


def test_a_pass_rate_counts_runs_whose_last_three_epochs_all_reach_the_line():
    from lab.rates import pass_rate

    rate = pass_rate([[99.0, 99.40, 99.41, 99.45], [99.39, 99.5, 99.5], [99.6, 99.6, 99.6]])
    assert (rate.passed, rate.runs, rate.worst) == (2, 3, 99.39)
    assert str(rate).startswith("2 of 3 runs (95% Wilson interval ")
    with pytest.raises(ValueError, match="fewer"):
        pass_rate([[99.5, 99.5]])
