"""tinyconv: tiny convolutional networks under a hard parameter budget.

The public API is grouped by module: :mod:`tinyconv.nn.blocks` (layers to compose),
:mod:`tinyconv.budget` (parameter counting and the budget check) and
:mod:`tinyconv.zoo` (registered models). The most used names are re-exported here.
"""

from tinyconv.nn.blocks import ConvBNReLUDrop, GAPHead, GlobalAvgPool2d, Transition1x1
from tinyconv.budget import (  # noqa: E402
    DEFAULT_MAX_PARAMS,
    BudgetExceededError,
    budgeted,
    check_budget,
    count_params,
)
from tinyconv.nn.net import InputShapeError, TinyNet
from tinyconv.zoo import get_model, list_models

__version__ = "0.1.0"

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
    "InputShapeError",
    "TinyNet",
    "get_model",
    "list_models",
    "__version__",
]
