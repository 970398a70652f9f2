"""tinyconv: tiny convolutional networks under a hard parameter budget.

The package is laid out by idea, and data flows data → model → train → results:

- :mod:`tinyconv.nn` — blocks to compose and the ``TinyNet`` container;
- :mod:`tinyconv.budget` — counting parameters, the budget check, ``fit_to_budget``;
- :mod:`tinyconv.inspect` — per-layer shapes, parameters, receptive field, MACs;
- :mod:`tinyconv.zoo` — one registry of models and recipes, with measured results;
- :mod:`tinyconv.data` — MNIST from verified sources, augmentation, in-memory batches;
- :mod:`tinyconv.train` — recipes, the training loop, histories, checkpoints, plots;
- :mod:`tinyconv.cpu` — every CPU speed-up and its switch (``CpuOptions``);
- :mod:`tinyconv.search` — architecture and recipe search under a budget (Optuna);
- :mod:`tinyconv.results` — writing, judging and rendering results;
- :mod:`tinyconv.cli` — the ``tinyconv`` command, a thin layer over the above.

The most used names are re-exported here; they are imported on first use, so that
``import tinyconv`` (and ``tinyconv --help``) does not import PyTorch.
"""

from tinyconv import _compat
from tinyconv._lazy import lazy_exports

_compat.install()

__version__ = "0.2.0"

_EXPORTS = {
    "ConvBNReLUDrop": "tinyconv.nn",
    "GAPHead": "tinyconv.nn",
    "GlobalAvgPool2d": "tinyconv.nn",
    "Residual": "tinyconv.nn",
    "SeparableConvBNReLUDrop": "tinyconv.nn",
    "Transition1x1": "tinyconv.nn",
    "InputShapeError": "tinyconv.nn",
    "TinyNet": "tinyconv.nn",
    "DEFAULT_MAX_PARAMS": "tinyconv.budget",
    "BudgetExceededError": "tinyconv.budget",
    "budgeted": "tinyconv.budget",
    "check_budget": "tinyconv.budget",
    "count_params": "tinyconv.budget",
    "fit_to_budget": "tinyconv.budget",
    "summary": "tinyconv.inspect",
    "get_model": "tinyconv.zoo",
    "list_models": "tinyconv.zoo",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [*_EXPORTS, "__version__"]
