"""The zoo's one registry: models and their training recipes, registered, listed and built.

Builders are keyword-only functions that return an ``nn.Module``. Registering one
records its metadata (:class:`ModelInfo`, a declared schema); a test checks that
metadata against the real model, so the numbers in the docs cannot drift from the
code. Recipes are registered in the same place, and each model names its default
recipe; both lookups fail the same way (:class:`UnknownNameError` with close matches).
"""

from __future__ import annotations

import difflib
import functools
import inspect
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from tinyconv import _validate
from tinyconv.budget import budgeted
from tinyconv.recipe import Recipe

__all__ = [
    "ModelInfo",
    "UnknownNameError",
    "UnknownModelError",
    "UnknownRecipeError",
    "register_model",
    "register_recipe",
    "get_recipe",
    "list_recipes",
    "recipe_for",
    "list_models",
    "get_model",
    "get_model_info",
]


@dataclass(frozen=True)
class ModelInfo:
    """Metadata of a registered model (every field declared; nothing free-form).

    Attributes:
        name: Registry name.
        builder: The keyword-only function :func:`get_model` calls to build the model
            (budget-checked); build with :func:`get_model` or the zoo's function of the
            same name, which calls it.
        num_params: Trainable parameters of the default build.
        input_size: ``(channels, height, width)`` of one input image.
        num_classes: Number of output classes.
        max_params: The exclusive parameter budget enforced on every build, or ``None``.
        description: One line on what the model is.
        receptive_field: Side of the output unit's receptive field in pixels (checked
            against :func:`tinyconv.inspect.summary` by the tests).
        macs: Multiply-accumulates per image (checked the same way).
        recipe: Name of the model's default training recipe in the same registry.
        notebook_best_test_accuracy: The seed notebook's recorded best test accuracy in
            percent, for the models it trained; ``None`` otherwise. Accuracy measured
            here belongs to a model *and* a recipe: see the committed results (``benchmarks/results/final_NAME.json``).
    """

    name: str
    builder: Callable[..., nn.Module]
    num_params: int
    input_size: tuple[int, int, int] = (1, 28, 28)
    num_classes: int = 10
    max_params: int | None = None
    description: str = ""
    receptive_field: int | None = None
    macs: int | None = None
    recipe: str = "reference"
    notebook_best_test_accuracy: float | None = None


class UnknownNameError(ValueError):
    """A name is not in the registry; the message suggests close matches."""


class UnknownModelError(UnknownNameError):
    """A model name is not in the registry; the message suggests close matches."""


class UnknownRecipeError(UnknownNameError):
    """A recipe name is not in the registry; the message suggests close matches."""


_REGISTRY: dict[str, ModelInfo] = {}
_RECIPES: dict[str, Recipe] = {}
_RECIPE_OWNERS: dict[str, str] = {}  # recipe name -> the module that registered it


def _caller_module() -> str:
    """The module that called the ``register_*`` function calling this."""
    frame = inspect.currentframe()
    caller = frame.f_back.f_back if frame is not None and frame.f_back is not None else None
    return str(caller.f_globals.get("__name__", "")) if caller is not None else ""


def _lookup(kind: str, table: dict[str, Any], name: Any, error: type[UnknownNameError]) -> Any:
    """One lookup for both tables: type check, then close-match suggestions."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
    try:
        return table[name]
    except KeyError:
        close = difflib.get_close_matches(name, table, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        raise error(f"no {kind} named {name!r} in the zoo; {hint}available: {', '.join(sorted(table))}") from None


def register_model(
    name: str,
    *,
    num_params: int,
    input_size: tuple[int, int, int] = (1, 28, 28),
    num_classes: int = 10,
    max_params: int | None = None,
    description: str = "",
    receptive_field: int | None = None,
    macs: int | None = None,
    recipe: str = "reference",
    notebook_best_test_accuracy: float | None = None,
    replace: bool = False,
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
        receptive_field: Receptive field of the output in pixels.
        macs: Multiply-accumulates per image.
        recipe: Name of the default recipe (registered with :func:`register_recipe`).
        notebook_best_test_accuracy: The seed notebook's recorded best test accuracy, if any.
        replace: Replace an entry of yours with the same name (a notebook cell run again);
            tinyconv's own models cannot be replaced.

    Returns:
        A decorator that registers the builder and returns it (budget-checked if
        ``max_params`` is given).

    Raises:
        ValueError: If ``name`` is already registered (without ``replace``), or is one of
            tinyconv's own models.
    """
    _check_new("model", name, _REGISTRY, replace, lambda info: getattr(info.builder, "__module__", ""))

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        checked = budgeted(max_params)(builder) if max_params is not None else builder
        _REGISTRY[name] = ModelInfo(
            name=name, builder=checked, num_params=num_params, input_size=input_size,
            num_classes=num_classes, max_params=max_params, description=description,
            receptive_field=receptive_field, macs=macs, recipe=recipe,
            notebook_best_test_accuracy=notebook_best_test_accuracy,
        )
        return _calling_get_model(name, checked)

    return decorate


def _calling_get_model(name: str, builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """The zoo's function for ``name``: ``st8k(**config)`` is ``get_model("st8k", **config)``."""

    @functools.wraps(builder)
    def build(*, weights: str | None = None, **config: Any) -> nn.Module:
        return get_model(name, weights=weights, **config)

    build.__doc__ = inspect.cleandoc(builder.__doc__ or "") + (
        f"\n\nThe same as ``get_model({name!r}, **config)``; ``weights=\"mnist\"`` loads the trained weights "
        "tinyconv ships for this model, if any (:func:`tinyconv.zoo.weights.list_weights`).\n")
    build.max_params = getattr(builder, "max_params", None)  # type: ignore[attr-defined]
    return build


def _check_new(kind: str, name: str, registry: dict[str, Any], replace: bool, owner: Callable[[Any], str | None]) -> None:
    """Refuse a taken name (unless ``replace`` and the entry is the user's), saying how to re-register."""
    _validate.flag("replace", replace)
    if name not in registry:
        return
    if (owner(registry[name]) or "").startswith("tinyconv."):
        raise ValueError(f"{name!r} is already registered: it is one of tinyconv's own {kind}s and cannot be "
                         "replaced; register yours under another name")
    if not replace:
        raise ValueError(f"a {kind} named {name!r} is already registered (a notebook cell run again? pass "
                         "replace=True to register it anew)")


def register_recipe(name: str, recipe: Recipe, *, replace: bool = False) -> Recipe:
    """Register a recipe under a name that zoo entries can refer to.

    Args:
        name: The recipe's name; must be new.
        recipe: The recipe.
        replace: Replace a recipe of yours with the same name; tinyconv's own cannot be replaced.

    Returns:
        The recipe.

    Raises:
        ValueError: If the name is taken (without ``replace``), or is one of tinyconv's own recipes.
        TypeError: If ``recipe`` is not a :class:`~tinyconv.recipe.Recipe`.
    """
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    _check_new("recipe", name, _RECIPES, replace, lambda _: _RECIPE_OWNERS.get(name))
    _RECIPE_OWNERS[name] = _caller_module()
    _RECIPES[name] = recipe
    return recipe


def get_recipe(name: str) -> Recipe:
    """Return a registered recipe.

    Args:
        name: The recipe's name.

    Returns:
        The recipe.

    Raises:
        UnknownRecipeError: If no recipe has that name (a ``ValueError``).
    """
    return _lookup("recipe", _RECIPES, name, UnknownRecipeError)


def list_recipes() -> list[str]:
    """List registered recipe names.

    Returns:
        The sorted names.
    """
    return sorted(_RECIPES)


def recipe_for(name: str) -> Recipe:
    """Return the default recipe of a zoo model.

    Args:
        name: Zoo name.

    Returns:
        The recipe its metadata names.

    Raises:
        UnknownModelError: If no model has that name.
    """
    return get_recipe(get_model_info(name).recipe)


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
    return _lookup("model", _REGISTRY, name, UnknownModelError)


def get_model(name: str, *, weights: str | None = None, **kwargs: Any) -> nn.Module:
    """Build a registered model, optionally with the trained weights tinyconv ships for it.

    Args:
        name: Registry name.
        weights: ``"mnist"`` to load the shipped weights (in eval mode); ``None`` for a fresh model.
        **kwargs: Keyword arguments for the builder.

    Returns:
        The model.

    Raises:
        UnknownModelError: If no model has that name.
        BudgetExceededError: If the build exceeds the model's registered budget.
        tinyconv.zoo.weights.UnknownWeightsError: If no such weights are shipped for it.
        tinyconv.zoo.weights.WeightsError: If the weights' file is damaged.
    """
    model = get_model_info(name).builder(**kwargs)
    if weights is None:
        return model
    from tinyconv.zoo.weights import get_weights, load_into

    return load_into(model, get_weights(name, weights))
