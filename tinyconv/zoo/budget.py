"""tinyconv's own budget models: funnels for the 8,000- and 5,000-parameter budgets.

Both are :func:`~tinyconv.zoo.funnel.funnel` networks whose widths, like their training
recipes (``get_recipe("tc8k")``, ``get_recipe("tc5k")``), were chosen with
``benchmarks/select_recipe.py`` on a validation split (the last 10,000 training images),
never on the test set. Their registered budgets are enforced on every build, and their
metadata records the test accuracy measured by ``benchmarks/final_recipes.py``
(``benchmarks/results/final_tc8k.json``, ``final_tc5k.json``); a test checks the two agree.

Example:
    >>> from tinyconv.zoo import tc8k
    >>> from tinyconv.budget import count_params
    >>> count_params(tc8k()) < 8000
    True
"""

from __future__ import annotations

from tinyconv.net import TinyNet
from tinyconv.zoo.funnel import funnel
from tinyconv.zoo.registry import register_model

__all__ = ["TC8K_WIDTHS", "TC5K_WIDTHS", "tc8k", "tc5k"]

TC8K_WIDTHS = (9, 16, 10, 16, 16)
"""Funnel widths of :func:`tc8k` (selection candidate ``w8b-onecycle-affine-pct03``)."""

TC5K_WIDTHS = (9, 12, 9, 12, 12)
"""Funnel widths of :func:`tc5k` (selection candidate ``w5c-onecycle-rotate``)."""


@register_model(
    "tc8k",
    num_params=7_911,
    max_params=8_000,
    description="tinyconv's under-8k funnel, trained with its own OneCycle + affine recipe and a weight average",
    receptive_field=28,
    macs=1_274_308,
    recipe="tc8k",
    measured={"final_mean": 99.45, "final_std": 0.04, "last3_min": 99.38, "seeds": 3,
              "results": "benchmarks/results/final_tc8k.json"},
)
def tc8k(*, dropout: float = 0.0) -> TinyNet:
    """Build tinyconv's under-8,000-parameter model.

    Args:
        dropout: Channel-dropout rate after the 3×3 units (the recipe uses none).

    Returns:
        The model; input ``(B, 1, 28, 28)``, output log-probabilities ``(B, 10)``.

    Raises:
        ValueError: If ``dropout`` is out of range.
    """
    return funnel(widths=TC8K_WIDTHS, dropout=dropout)


@register_model(
    "tc5k",
    num_params=4_978,
    max_params=5_000,
    description="tinyconv's under-5k funnel, trained with its own OneCycle + rotation recipe and a weight average",
    receptive_field=28,
    macs=909_372,
    recipe="tc5k",
    measured={"final_mean": 99.38, "final_std": 0.05, "last3_min": 99.34, "seeds": 3,
              "results": "benchmarks/results/final_tc5k.json"},
)
def tc5k(*, dropout: float = 0.0) -> TinyNet:
    """Build tinyconv's under-5,000-parameter model.

    Args:
        dropout: Channel-dropout rate after the 3×3 units (the recipe uses none).

    Returns:
        The model; input ``(B, 1, 28, 28)``, output log-probabilities ``(B, 10)``.

    Raises:
        ValueError: If ``dropout`` is out of range.
    """
    return funnel(widths=TC5K_WIDTHS, dropout=dropout)
