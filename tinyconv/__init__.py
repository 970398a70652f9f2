"""tinyconv: tiny convolutional networks under a hard parameter budget.

The package is laid out by idea, and data flows data → model → train → results:

- :mod:`tinyconv.nn` — blocks to compose and the ``TinyNet`` container;
- :mod:`tinyconv.budget` — counting parameters, the budget check, ``fit_to_budget``;
- :mod:`tinyconv.exercise` — the exercise's rule (budget, accuracy, epochs) and verdict;
- :mod:`tinyconv.recipe` — ``Recipe``, every setting of a run that changes its results;
- :mod:`tinyconv.inspect` — per-layer shapes, parameters, receptive field, MACs;
- :mod:`tinyconv.data` — MNIST from verified sources, augmentation, in-memory batches;
- :mod:`tinyconv.cpu` — every CPU speed-up and its switch (``CpuOptions``);
- :mod:`tinyconv.zoo` — one registry of models and their recipes;
- :mod:`tinyconv.train` — the training loop and its callbacks, histories, checkpoints, plots;
- :mod:`tinyconv.deploy` and :mod:`tinyconv.search` — export, and search under a budget;
- :mod:`tinyconv.app` — names and files turned into runs, run folders and summaries;
- :mod:`tinyconv.cli` — the ``tinyconv`` command, a thin layer over the above.

Each layer imports only the layers listed before it (``tests/test_layout.py``).

The most used names are re-exported here; they are imported on first use, so that
``import tinyconv`` (and ``tinyconv --help``) does not import PyTorch.
"""

from tinyconv._lazy import lazy_exports

__version__ = "0.3.0.dev0"

_EXPORTS = {
    "ConvBNReLUDrop": "tinyconv.nn",
    "GAPHead": "tinyconv.nn",
    "GlobalAvgPool2d": "tinyconv.nn",
    "Residual": "tinyconv.nn",
    "SeparableConvBNReLUDrop": "tinyconv.nn",
    "Transition1x1": "tinyconv.nn",
    "InputShapeError": "tinyconv.nn",
    "TinyNet": "tinyconv.nn",
    "EXERCISE_BUDGET": "tinyconv.exercise",
    "BudgetExceededError": "tinyconv.budget",
    "budgeted": "tinyconv.budget",
    "check_budget": "tinyconv.budget",
    "count_params": "tinyconv.budget",
    "fit_to_budget": "tinyconv.budget",
    "summary": "tinyconv.inspect",
    "Recipe": "tinyconv.recipe",
    "get_model": "tinyconv.zoo",
    "train_net": "tinyconv.app.run",
    "confusion_matrix": "tinyconv.app.mistakes",
    "plot_mistakes": "tinyconv.app.mistakes",
    "list_models": "tinyconv.zoo",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [*_EXPORTS, "__version__"]
