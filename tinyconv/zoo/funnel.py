"""The funnel family and tinyconv's budget models built from it, ``tc8k`` and ``tc5k``.

Two 3×3 convolutions (unpadded: 28 → 24; with ``stem_padding=1``: 28 → 28), a 1×1
transition with max-pooling (→ 12 or 14), three unpadded 3×3 convolutions (→ 6 or 8),
and a GAP head. Every convolution unit is
Conv → BatchNorm → ReLU (no bias before BatchNorm) with optional channel dropout. The
five widths set the parameter count; :func:`tinyconv.budget.fit_to_budget` can scale
them to a budget.

``tc8k`` and ``tc5k`` are funnels whose widths, like their recipes (registered here
too), were chosen on a validation split (the last 10,000 training images), never on the
test set. Their budgets are enforced on every build; the test accuracy measured for
them is read from the committed results by the committed results (``benchmarks/results/final_NAME.json``).

Example:
    >>> from tinyconv.budget import count_params
    >>> count_params(tc8k()) < 8000
    True
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from tinyconv import _validate
from tinyconv.exercise import EXERCISE_BUDGET
from tinyconv.nn.blocks import ConvBNReLUDrop, GAPHead, Transition1x1
from tinyconv.nn.net import TinyNet
from tinyconv.recipe import Recipe
from tinyconv.zoo.registry import register_model, register_recipe

__all__ = ["funnel", "scaled_funnel", "DEFAULT_WIDTHS", "FUNNEL_WIDTHS", "TC8K_WIDTHS", "TC5K_WIDTHS", "tc8k", "tc5k",
           "TC8K_RECIPE", "TC5K_RECIPE"]

DEFAULT_WIDTHS = (10, 16, 10, 16, 14)
"""Widths ``(c1, c2, transition, c, last)`` of the default funnel (7,754 parameters)."""


def _widths(widths: tuple[int, ...]) -> tuple[int, int, int, int, int]:
    if len(widths) != 5:
        raise ValueError(f"widths must be 5 channel counts (c1, c2, transition, c, last), got {widths!r}")
    for i, width in enumerate(widths):
        _validate.positive_int(f"widths[{i}]", width)
    return tuple(widths)  # type: ignore[return-value]


@register_model(
    "funnel",
    num_params=7_754,
    description="tinyconv funnel: 2 convs, 1x1 transition + pool, 3 convs, GAP head; widths configurable",
    receptive_field=28,
    macs=1_352_876,
)
def funnel(
    *,
    widths: tuple[int, ...] = DEFAULT_WIDTHS,
    dropout: float = 0.0,
    dropout_kind: str = "channel",
    stem_padding: int = 0,
) -> TinyNet:
    """Build a funnel network.

    Args:
        widths: Channel counts ``(c1, c2, transition, c, last)``.
        dropout: Dropout rate after every 3×3 unit but the last.
        dropout_kind: ``"channel"`` (``Dropout2d``) or ``"element"``.
        stem_padding: Zero-padding of the two convolutions before the pool (0 or 1):
            1 keeps the full 28×28 resolution until the pool, for more computation at
            the same parameter count.

    Returns:
        The model; input ``(B, 1, 28, 28)``, output log-probabilities ``(B, 10)``.

    Raises:
        ValueError: If ``widths`` is not five positive ints, ``dropout`` is out of range
            or ``stem_padding`` is not 0 or 1.
    """
    c1, c2, t, c, last = _widths(tuple(widths))
    _validate.choice("stem_padding", stem_padding, (0, 1))
    unit = {"padding": 0, "dropout": dropout, "dropout_kind": dropout_kind}
    stem = dict(unit, padding=stem_padding)
    return TinyNet.from_blocks(
        ConvBNReLUDrop(1, c1, **stem),
        ConvBNReLUDrop(c1, c2, **stem),
        Transition1x1(c2, t),
        ConvBNReLUDrop(t, c, **unit),
        ConvBNReLUDrop(c, c, **unit),
        ConvBNReLUDrop(c, last, padding=0),
        GAPHead(last, 10),
    )


def scaled_funnel(scale: float, base: tuple[int, ...] = DEFAULT_WIDTHS, **kwargs: object) -> nn.Module:
    """Build a funnel with every width multiplied by ``scale`` (rounded, at least 1).

    For :func:`tinyconv.budget.fit_to_budget`, e.g.
    ``fit_to_budget(scaled_funnel, 5000, low=0.1, integer=False)``.

    Args:
        scale: Width multiplier.
        base: Widths at scale 1.
        **kwargs: Further :func:`funnel` arguments.

    Returns:
        The model.
    """
    return funnel(widths=tuple(max(1, round(w * scale)) for w in base), **kwargs)  # type: ignore[arg-type]


FUNNEL_WIDTHS: dict[str, tuple[int, ...]] = {"tc8k": (9, 16, 10, 16, 16), "tc5k": (9, 12, 9, 12, 12)}
"""Widths of the registered funnels, chosen on the validation split
(``benchmarks/results/superseded/selection.md``); each build reads them here."""

TC8K_WIDTHS = FUNNEL_WIDTHS["tc8k"]
"""Funnel widths of :func:`tc8k`."""

TC5K_WIDTHS = FUNNEL_WIDTHS["tc5k"]
"""Funnel widths of :func:`tc5k`."""


def _funnel_entry(name: str, *, budget: int, num_params: int, macs: int,
                  description: str) -> Callable[..., TinyNet]:
    """Register a funnel of fixed widths under ``name``, with its own recipe of that name."""

    def build(*, dropout: float = 0.0) -> TinyNet:
        return funnel(widths=FUNNEL_WIDTHS[name], dropout=dropout)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (f"Build ``{name}``, tinyconv's funnel under {budget:,} parameters (widths {FUNNEL_WIDTHS[name]}).\n\n"
                     "Args:\n    dropout: Channel-dropout rate after the 3×3 units (the recipe uses none).\n\n"
                     "Returns:\n    The model; input ``(B, 1, 28, 28)``, output log-probabilities ``(B, 10)``.\n\n"
                     "Raises:\n    ValueError: If ``dropout`` is out of range.\n")
    return register_model(name, num_params=num_params, max_params=budget, description=description,
                          receptive_field=28, macs=macs, recipe=name)(build)


tc8k = _funnel_entry(
    "tc8k", budget=EXERCISE_BUDGET, num_params=7_911, macs=1_274_308,
    description="tinyconv's under-8k funnel, trained with its own OneCycle + affine recipe and a weight average",
)
tc5k = _funnel_entry(
    "tc5k", budget=5_000, num_params=4_978, macs=909_372,
    description="tinyconv's under-5k funnel, trained with its own OneCycle + rotation recipe and a weight average",
)


TC8K_RECIPE = register_recipe(
    "tc8k", Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="affine", pct_start=0.3, ema_decay=0.998)
)
"""The recipe of the ``tc8k`` zoo model, chosen on the validation split: SGD with Nesterov
momentum 0.9, OneCycleLR peaking at 0.1 after 30% of the steps, batch 128, 15 epochs,
random rotation ±7°, shift ±10% and zoom 0.9–1.1, and an exponential moving average of
the weights (decay 0.998) evaluated in place of the training weights. What was compared
to choose it is in ``benchmarks/results/superseded/``."""

TC5K_RECIPE = register_recipe(
    "tc5k", Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="rotate", ema_decay=0.998)
)
"""The recipe of the ``tc5k`` zoo model, chosen the same way: as :data:`TC8K_RECIPE` but
with OneCycleLR's default 20% warm-up and rotation (±7°) only."""
