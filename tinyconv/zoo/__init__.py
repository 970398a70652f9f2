"""The model zoo: one registry of models and their training recipes.

:mod:`~tinyconv.zoo.reference` holds the seed notebook's ``model1``–``model4``,
:mod:`~tinyconv.zoo.funnel` tinyconv's funnel with ``tc8k`` and ``tc5k``, and
:mod:`~tinyconv.zoo.stagenet` the family the architecture search explores, and
:mod:`~tinyconv.zoo.published` small networks from public results, to be reproduced. Accuracy
measured for a model and its recipe is in the committed results (``benchmarks/results/``).

Example:
    >>> from tinyconv.zoo import model4, list_models
    >>> sum(p.numel() for p in model4().parameters())
    7216
    >>> list_models("model*")[:4]
    ['model1', 'model2', 'model3', 'model4']
"""

from tinyconv.zoo.registry import (
    ModelInfo,
    UnknownModelError,
    UnknownNameError,
    UnknownRecipeError,
    get_model,
    get_model_info,
    get_recipe,
    list_models,
    list_recipes,
    recipe_for,
    register_model,
    register_recipe,
)
from tinyconv.zoo.reference import REFERENCE_RECIPE, model1, model2, model3, model4
from tinyconv.zoo.funnel import TC5K_RECIPE, TC8K_RECIPE, funnel, scaled_funnel, tc5k, tc8k
from tinyconv.zoo.stagenet import StageNetShape, stagenet
from tinyconv.zoo.published import WOOLLY3762_RECIPE, woolly3762
from tinyconv.zoo.spec import StageNetSpec
from tinyconv.zoo import searched as _searched  # noqa: F401,E402  (registers the searched entries)
from tinyconv.zoo.fast import ST8K_FAST_RECIPE
from tinyconv.zoo.weights import Weights, get_weights, list_weights

st5k, st6k, st7k, st8k = (_searched.BUILDERS[_name] for _name in ("st5k", "st6k", "st7k", "st8k"))
"""The searched entries' builders, e.g. ``st8k(weights="mnist")``."""

__all__ = [
    "ModelInfo",
    "UnknownModelError",
    "UnknownNameError",
    "UnknownRecipeError",
    "get_model",
    "get_model_info",
    "get_recipe",
    "list_models",
    "list_recipes",
    "recipe_for",
    "register_model",
    "register_recipe",
    "REFERENCE_RECIPE",
    "model1",
    "model2",
    "model3",
    "model4",
    "TC5K_RECIPE",
    "ST8K_FAST_RECIPE",
    "TC8K_RECIPE",
    "funnel",
    "scaled_funnel",
    "tc5k",
    "tc8k",
    "stagenet",
    "st5k",
    "st6k",
    "st7k",
    "st8k",
    "Weights",
    "get_weights",
    "list_weights",
    "StageNetShape",
    "StageNetSpec",
    "woolly3762",
    "WOOLLY3762_RECIPE",
]
