"""The model zoo: registered builders with metadata.

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
    get_model,
    get_model_info,
    list_models,
    register_model,
    resolve_model,
)
from tinyconv.zoo.funnel import funnel, scaled_funnel
from tinyconv.zoo.budget import tc5k, tc8k
from tinyconv.zoo.seed import model1, model2, model3, model4

__all__ = [
    "ModelInfo",
    "UnknownModelError",
    "get_model",
    "get_model_info",
    "list_models",
    "register_model",
    "resolve_model",
    "model1",
    "model2",
    "model3",
    "model4",
    "funnel",
    "scaled_funnel",
    "tc8k",
    "tc5k",
]
