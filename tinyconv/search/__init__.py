"""Architecture and recipe search under a parameter budget, on Optuna.

"What is the best network I can train under N parameters?" A study samples a
stage-network shape and a recipe from a :class:`~tinyconv.search.space.SearchSpace`,
scales the shape to the widest network under the budget with
:func:`~tinyconv.budget.fit_to_budget`, trains it on the validation split (the last
10,000 training images; the test set is never loaded) and scores it by the lowest
validation accuracy of the last three epochs. Studies are stored in an embedded SQLite
file by default, or in any Optuna RDB storage (PostgreSQL) shared by many machines.
"""

import warnings as _warnings

with _warnings.catch_warnings():  # Optuna imports tqdm.auto, which warns in a notebook kernel without ipywidgets;
    _warnings.filterwarnings("ignore", message="IProgress not found")  # tinyconv's bars choose for themselves
    import optuna as _optuna  # noqa: F401

from tinyconv.search.objective import HOLDOUT, Candidate, Objective, TrialSettings, build_candidate, criterion
from tinyconv.search.export import export_trial
from tinyconv.search.render import report_study, trial_table
from tinyconv.search.space import DEFAULT_SPACE, Dimension, SearchSpace, UnknownParameterError, load_space
from tinyconv.search.study import (
    BudgetTooSmallError,
    SearchConfig,
    SearchError,
    StorageError,
    StudyMismatchError,
    UnknownStudyError,
    load_study,
    open_study,
    run_search,
    smallest_budget,
    storage_url,
)

__all__ = [
    "HOLDOUT",
    "Candidate",
    "Objective",
    "TrialSettings",
    "build_candidate",
    "criterion",
    "export_trial",
    "report_study",
    "trial_table",
    "DEFAULT_SPACE",
    "Dimension",
    "SearchSpace",
    "UnknownParameterError",
    "load_space",
    "BudgetTooSmallError",
    "SearchConfig",
    "SearchError",
    "StorageError",
    "StudyMismatchError",
    "UnknownStudyError",
    "load_study",
    "open_study",
    "run_search",
    "smallest_budget",
    "storage_url",
]
