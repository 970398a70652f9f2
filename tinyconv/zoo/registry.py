"""The model registry: one place where zoo builders are registered, listed and built.

Builders are keyword-only functions that return an ``nn.Module``. Registering one
records its metadata (:class:`ModelInfo`); a test checks that metadata against the
real model, so the numbers in the docs cannot drift from the code.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from tinyconv.budget import budgeted

__all__ = [
    "ModelInfo",
    "UnknownModelError",
    "register_model",
    "list_models",
    "get_model",
    "get_model_info",
    "resolve_model",
]


@dataclass(frozen=True)
class ModelInfo:
    """Metadata of a registered model.

    Attributes:
        name: Registry name.
        builder: The keyword-only function that builds the model.
        num_params: Trainable parameters of the default build.
        input_size: ``(channels, height, width)`` of one input image.
        num_classes: Number of output classes.
        max_params: The exclusive parameter budget enforced on every build, or ``None``.
        description: One line on what the model is.
        seed_best_test_accuracy: The seed notebook's recorded best test accuracy in
            percent, for the models it trained; ``None`` otherwise.
        extra: Further metadata: ``receptive_field`` (pixels of the output unit's
            field), ``macs`` (multiply-accumulates per image), ``recipe`` (name of
            the default training recipe), ``measured`` (test accuracy measured by
            ``benchmarks/final_recipes.py``: ``final_mean``, ``final_std``,
            ``last3_min``, ``seeds`` and the ``results`` file)...
    """

    name: str
    builder: Callable[..., nn.Module]
    num_params: int
    input_size: tuple[int, int, int] = (1, 28, 28)
    num_classes: int = 10
    max_params: int | None = None
    description: str = ""
    seed_best_test_accuracy: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class UnknownModelError(ValueError):
    """A model name is not in the registry; the message suggests close matches."""


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(
    name: str,
    *,
    num_params: int,
    input_size: tuple[int, int, int] = (1, 28, 28),
    num_classes: int = 10,
    max_params: int | None = None,
    description: str = "",
    seed_best_test_accuracy: float | None = None,
    **extra: Any,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a model builder under ``name``.

    With ``max_params`` the builder is wrapped by :func:`tinyconv.budget.budgeted`, so no
    build of it can silently grow past the budget.

    Args:
        name: Registry name; must be new.
        num_params: Trainable parameters of the default build (checked by the tests).
        input_size: ``(channels, height, width)`` of one input image.
        num_classes: Number of output classes.
        max_params: Exclusive parameter budget enforced on every build, or ``None``.
        description: One line on what the model is.
        seed_best_test_accuracy: The seed's recorded best test accuracy, if any.
        **extra: Further metadata stored in :attr:`ModelInfo.extra`.

    Returns:
        A decorator that registers the builder and returns it (budget-checked if
        ``max_params`` is given).

    Raises:
        ValueError: If ``name`` is already registered.
    """
    if name in _REGISTRY:
        raise ValueError(f"a model named {name!r} is already registered")

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        checked = budgeted(max_params)(builder) if max_params is not None else builder
        _REGISTRY[name] = ModelInfo(
            name=name,
            builder=checked,
            num_params=num_params,
            input_size=input_size,
            num_classes=num_classes,
            max_params=max_params,
            description=description,
            seed_best_test_accuracy=seed_best_test_accuracy,
            extra=dict(extra),
        )
        return checked

    return decorate


def list_models(pattern: str = "*") -> list[str]:
    """List registered model names matching a glob pattern, sorted.

    Args:
        pattern: A shell-style pattern such as ``"model*"``.

    Returns:
        The matching names.
    """
    return sorted(n for n in _REGISTRY if fnmatch.fnmatchcase(n, pattern))


def get_model_info(name: str) -> ModelInfo:
    """Return the metadata of a registered model.

    Args:
        name: Registry name.

    Returns:
        The model's :class:`ModelInfo`.

    Raises:
        UnknownModelError: If no model has that name (the message lists close matches).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, _REGISTRY, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        raise UnknownModelError(
            f"no model named {name!r} in the zoo; {hint}available: {', '.join(list_models())}"
        ) from None


def get_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model.

    Args:
        name: Registry name.
        **kwargs: Keyword arguments for the builder.

    Returns:
        The model.

    Raises:
        UnknownModelError: If no model has that name.
        BudgetExceededError: If the build exceeds the model's registered budget.
    """
    return get_model_info(name).builder(**kwargs)


def resolve_model(target: str) -> nn.Module:
    """Build a model from a zoo name or an import path such as ``mypkg.models:Net``.

    An import path may name an ``nn.Module`` instance, a module class, or a function;
    classes and functions are called without arguments.

    Args:
        target: A zoo name or ``package.module:attribute``.

    Returns:
        The model.

    Raises:
        UnknownModelError: If ``target`` has no colon and is not a zoo name.
        ValueError: If the import path cannot be imported or does not give a module.
    """
    if ":" not in target:
        return get_model(target)
    import importlib

    module_name, _, attribute = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import {target!r}: {type(error).__name__}: {error}") from None
    model = obj if isinstance(obj, nn.Module) else obj() if callable(obj) else obj
    if not isinstance(model, nn.Module):
        raise ValueError(f"{target!r} gave a {type(model).__name__}, not a torch.nn.Module")
    return model
