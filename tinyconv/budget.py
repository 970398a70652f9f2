"""Parameter counting and the parameter budget.

The budget is an **exclusive** limit: a model fits a budget of ``max_params`` when it
has *fewer than* ``max_params`` trainable parameters. "Under 8k" therefore means at most
7,999 parameters, and :data:`tinyconv.exercise.EXERCISE_BUDGET` is 8,000.

Only trainable parameters count (``requires_grad=True``); buffers such as
BatchNorm's running statistics do not, and a tensor shared by several layers is
counted once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import nn

from tinyconv import _validate
from tinyconv.exercise import EXERCISE_BUDGET

__all__ = [
    "BudgetExceededError",
    "BudgetWarning",
    "BudgetReport",
    "budget_report",
    "count_params",
    "param_holders",
    "check_budget",
    "budgeted",
    "BudgetFit",
    "fit_to_budget",
]


_Builder = TypeVar("_Builder", bound=Callable[..., nn.Module])


def _require_module(model: Any) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def count_params(model: nn.Module) -> int:
    """Count a model's trainable parameters, shared tensors once, buffers never.

    Args:
        model: The model.

    Returns:
        ``sum(p.numel() for p in model.parameters() if p.requires_grad)``.

    Raises:
        TypeError: If ``model`` is not an ``nn.Module``.
    """
    _require_module(model)
    unique = {id(p): p for p in model.parameters()}
    return sum(p.numel() for p in unique.values() if p.requires_grad)


def param_holders(model: nn.Module) -> list[tuple[str, int]]:
    """List the modules that directly own trainable parameters, largest first.

    Args:
        model: The model.

    Returns:
        ``(module name, parameters)`` pairs, sorted by parameters descending. A shared
        tensor is credited to the first module that owns it.

    Raises:
        TypeError: If ``model`` is not an ``nn.Module``.
    """
    _require_module(model)
    seen: set[int] = set()
    holders: list[tuple[str, int]] = []
    for name, module in model.named_modules():
        own = 0
        for p in module.parameters(recurse=False):
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                own += p.numel()
        if own:
            holders.append((name or type(module).__name__, own))
    return sorted(holders, key=lambda item: -item[1])


class BudgetWarning(UserWarning):
    """A run trains a model over its budget: it goes on, and its verdict cannot pass."""


def _over_line(name: str, total: int, max_params: int) -> str:
    """``st8k has 9,000 trainable parameters; the budget allows fewer than 8,000, so it is over by 1,001 (1.12x the limit)``."""
    return (f"{name} has {total:,} trainable parameters; the budget allows fewer than {max_params:,}, so it is over by "
            f"{total - max_params + 1:,} ({total / max_params:.2f}x the limit)")


def _holder_lines(holders: Sequence[tuple[str, int]], total: int) -> list[str]:
    """The largest parameter holders, a line each, under their heading."""
    return ["Largest parameter holders:", *(f"  {h:<24} {c:>10,}  ({c / total:.1%})" for h, c in holders)]


class BudgetExceededError(ValueError):
    """A model has at least as many trainable parameters as its budget allows.

    Attributes:
        total: The model's trainable parameters.
        max_params: The exclusive limit.
        excess: How many parameters must go for the model to fit
            (``total - max_params + 1``).
        holders: The largest parameter holders, as ``(module name, parameters)``.
    """

    def __init__(self, total: int, max_params: int, holders: list[tuple[str, int]], name: str = "model"):
        self.total = total
        self.max_params = max_params
        self.excess = total - max_params + 1
        self.holders = holders
        super().__init__("\n".join([_over_line(name, total, max_params) + ".", *_holder_lines(holders, total)]))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.total, self.max_params, self.holders))


def check_budget(
    model: nn.Module, max_params: int = EXERCISE_BUDGET, *, name: str = "model", top: int = 5
) -> None:
    """Check that a model has fewer than ``max_params`` trainable parameters.

    Passes silently (returns ``None``, so a REPL prints nothing) when the model fits and
    raises otherwise; :func:`count_params` gives the count.

    Args:
        model: The model to check.
        max_params: The exclusive limit (the default is "under 8k").
        name: What to call the model in the error message.
        top: How many of the largest parameter holders the message lists.

    Raises:
        BudgetExceededError: If the model has ``max_params`` or more parameters.
        TypeError: If ``model`` is not an ``nn.Module`` or ``max_params`` not an int.
        ValueError: If ``max_params`` or ``top`` is not positive.
    """
    _validate.positive_int("max_params", max_params)
    _validate.positive_int("top", top)
    total = count_params(model)
    if total >= max_params:
        raise BudgetExceededError(total, max_params, param_holders(model)[:top], name=name)


@dataclass(frozen=True)
class BudgetReport:
    """A model's parameters against a budget, with the largest holders: what ``tinyconv budget`` prints.

    In a notebook it shows as a table; when the model is over, the largest holders that
    together hold the parameters to remove are highlighted.

    Attributes:
        name: What the model is called.
        total: Its trainable parameters.
        max_params: The exclusive budget.
        holders: ``(module name, parameters)``, largest first (all of them).
    """

    name: str
    total: int
    max_params: int
    holders: tuple[tuple[str, int], ...]

    @property
    def fits(self) -> bool:
        """Whether the model has fewer parameters than the budget."""
        return self.total < self.max_params

    @property
    def excess(self) -> int:
        """Parameters to remove for the model to fit (0 when it fits)."""
        return max(0, self.total - self.max_params + 1)

    def line(self) -> str:
        """``OK: st8k has 7,629 trainable parameters, fewer than 8,000 (371 to spare)``, or the over-budget line."""
        if self.fits:
            return (f"OK: {self.name} has {self.total:,} trainable parameters, fewer than {self.max_params:,} "
                    f"({self.max_params - self.total:,} to spare)")
        return f"OVER BUDGET: {_over_line(self.name, self.total, self.max_params)}"

    def __str__(self) -> str:
        return "\n".join([self.line(), *([] if self.fits else _holder_lines(self.holders[:5], self.total))])

    def __repr__(self) -> str:
        return (f"BudgetReport(name={self.name!r}, total={self.total:,}, max_params={self.max_params:,}, "
                f"fits={self.fits})")

    def _repr_html_(self) -> str:
        from tinyconv._repr import html_block, html_table

        rows = [(h, f"{c:,}", f"{c / max(self.total, 1):.1%}") for h, c in self.holders[:10]]
        marked, removed = [], 0
        for i, (_, count) in enumerate(self.holders[:10]):  # the largest holders that together hold the excess
            if self.fits or removed >= self.excess:
                break
            marked.append(i)
            removed += count
        note = [] if self.fits else [f"highlighted: the largest layers that together hold the {self.excess:,} "
                                     "parameters to remove"]
        return html_block(self.line(), html_table(("layer", "parameters", "share"), rows, highlight=marked,
                                                  numeric=(1, 2)), note)


def budget_report(model: nn.Module, max_params: int = EXERCISE_BUDGET, *, name: str = "model") -> BudgetReport:
    """A model's parameters against a budget, as a report (it does not raise; :func:`check_budget` does).

    Args:
        model: The model.
        max_params: The exclusive limit.
        name: What to call the model.

    Returns:
        The :class:`BudgetReport`.

    Raises:
        TypeError: If ``model`` is not an ``nn.Module``.
        ValueError: If ``max_params`` is not a positive int.
    """
    _validate.positive_int("max_params", max_params)
    return BudgetReport(name, count_params(model), max_params, tuple(param_holders(model)))


def budgeted(max_params: int = EXERCISE_BUDGET) -> Callable[[_Builder], _Builder]:
    """Decorate a model builder so that every model it builds is checked against a budget.

    The wrapped builder raises :class:`BudgetExceededError` instead of returning a model
    that is over the budget, and carries the limit as its ``max_params`` attribute.

    Args:
        max_params: The exclusive limit.

    Returns:
        A decorator for builders.

    Raises:
        TypeError: If ``max_params`` is not an int.
        ValueError: If ``max_params`` is not positive.

    Example:
        >>> from tinyconv.nn.blocks import ConvBNReLUDrop, GAPHead
        >>> @budgeted(1000)
        ... def small(*, width: int = 8) -> nn.Module:
        ...     return nn.Sequential(ConvBNReLUDrop(1, width), GAPHead(width, 10))
        >>> small(width=8).__class__.__name__
        'Sequential'
        >>> small.max_params
        1000
    """
    _validate.positive_int("max_params", max_params)

    def decorate(builder: _Builder) -> _Builder:
        @functools.wraps(builder)
        def build(*args: Any, **kwargs: Any) -> nn.Module:
            model = builder(*args, **kwargs)
            check_budget(model, max_params, name=getattr(builder, "__name__", "model"))
            return model

        build.max_params = max_params  # type: ignore[attr-defined]
        return build  # type: ignore[return-value]

    return decorate


@dataclass(frozen=True)
class BudgetFit:
    """The widest setting of a builder that fits a budget.

    Attributes:
        width: The chosen width (an int, or a float for continuous scaling).
        params: The model's trainable parameters at that width.
        model: The model built at that width.
    """

    width: float
    params: int
    model: nn.Module

    def __repr__(self) -> str:
        return f"BudgetFit(width={self.width:.4g}, params={self.params:,}, model={type(self.model).__name__})"


def fit_to_budget(
    builder: Callable[[Any], nn.Module],
    max_params: int = EXERCISE_BUDGET,
    *,
    low: float = 1,
    integer: bool = True,
    resolution: float = 0.01,
    limit: float = 2**16,
) -> BudgetFit:
    """Find the widest ``builder(width)`` that has fewer than ``max_params`` parameters.

    Assumes the parameter count does not decrease as the width grows (true for any
    builder that scales channel counts). Searches by doubling, then bisection, so
    it builds only a few dozen models.

    Args:
        builder: ``builder(width) -> nn.Module``; e.g. ``lambda w: my_net(width=w)``.
        max_params: The exclusive budget.
        low: The smallest width to consider.
        integer: Search integer widths (channel counts); ``False`` searches a float
            multiplier to within ``resolution``.
        resolution: Precision of a float search.
        limit: Largest width tried.

    Returns:
        The :class:`BudgetFit` with the widest fitting width.

    Raises:
        BudgetExceededError: If even ``builder(low)`` is over the budget.
        TypeError: If ``builder`` is not callable or does not return a module.
        ValueError: If ``low`` or ``resolution`` is not positive, or the builder's size
            does not depend on the width (it would fit at any width up to ``limit``).
    """
    if not callable(builder):
        raise TypeError(f"builder must be callable, got {type(builder).__name__}")
    _validate.positive_int("max_params", max_params)
    if not low > 0:
        raise ValueError(f"low must be positive, got {low!r}")
    if not resolution > 0:
        raise ValueError(f"resolution must be positive, got {resolution!r}")

    def build(width: float) -> tuple[nn.Module, int]:
        model = builder(int(width) if integer else width)
        return model, count_params(_require_module(model))

    best_model, best_params = build(low)
    if best_params >= max_params:
        raise BudgetExceededError(
            best_params, max_params, param_holders(best_model)[:5], name=f"builder(width={low})"
        )
    good, bad = low, None
    while bad is None:  # double until over the budget
        trial = good * 2
        if trial > limit:
            if best_params == build(low)[1]:
                raise ValueError(f"the builder's parameter count ({best_params:,}) does not grow with the width "
                                 f"(the same from {low} to {good}): there is no widest version to find")
            return BudgetFit(good, best_params, best_model)
        model, params = build(trial)
        if params < max_params:
            good, best_model, best_params = trial, model, params
        else:
            bad = trial
    while (bad - good > 1) if integer else (bad - good > resolution):
        trial = (good + bad) // 2 if integer else (good + bad) / 2
        model, params = build(trial)
        if params < max_params:
            good, best_model, best_params = trial, model, params
        else:
            bad = trial
    return BudgetFit(int(good) if integer else good, best_params, best_model)
