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

The most used names are re-exported here.
"""

from tinyconv import _compat

_compat.install()

from tinyconv.budget import (  # noqa: E402
    DEFAULT_MAX_PARAMS,
    BudgetExceededError,
    budgeted,
    check_budget,
    count_params,
    fit_to_budget,
)
from tinyconv.nn import ConvBNReLUDrop, GAPHead, GlobalAvgPool2d, InputShapeError, TinyNet, Transition1x1  # noqa: E402
from tinyconv.zoo import get_model, list_models  # noqa: E402

__version__ = "0.2.0"

__all__ = [
    "ConvBNReLUDrop",
    "GAPHead",
    "GlobalAvgPool2d",
    "Transition1x1",
    "DEFAULT_MAX_PARAMS",
    "BudgetExceededError",
    "budgeted",
    "check_budget",
    "count_params",
    "fit_to_budget",
    "InputShapeError",
    "TinyNet",
    "get_model",
    "list_models",
    "__version__",
]
