"""Results: how runs are written down, judged and shown.

:func:`~tinyconv.results.files.write_results` stores a benchmark's raw results with the
command and the machine; :func:`~tinyconv.results.verdict.exercise_verdict` judges a run
against the exercise; :mod:`~tinyconv.results.tables` is the one renderer that turns the
committed JSON into the tables of the docs, the README and the benchmarks' Markdown.
"""

from tinyconv.results.files import RESULTS_DIR, command_line, read_results, write_results
from tinyconv.results.machine import machine_info
from tinyconv.results.tables import Table
from tinyconv.results.verdict import (
    EXERCISE_ACCURACY,
    EXERCISE_BUDGET,
    EXERCISE_EPOCHS,
    Verdict,
    exercise_verdict,
)

__all__ = [
    "RESULTS_DIR",
    "command_line",
    "read_results",
    "write_results",
    "machine_info",
    "Table",
    "EXERCISE_ACCURACY",
    "EXERCISE_BUDGET",
    "EXERCISE_EPOCHS",
    "Verdict",
    "exercise_verdict",
]
