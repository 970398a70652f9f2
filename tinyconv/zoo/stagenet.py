"""The stage network family: the shapes the architecture search explores.

A :func:`stagenet` is built only from tinyconv blocks:

1. a first stage of ``convs_before`` 3×3 units at full resolution (the first one
   ``stem_ratio`` times as wide as the others; ``stem_padding=1`` keeps 28×28);
2. a :class:`~tinyconv.nn.blocks.Transition1x1` (1×1 convolution to
   ``transition_ratio × width`` channels, then 2×2 max-pooling);
3. a second stage of ``convs_after`` 3×3 units ``after_ratio × width`` wide
   (``after_padding`` pixels each), with an optional second 2×2 max-pool
   (``second_pool``) after the first ``pool_after`` of them; the units are full
   convolutions (``after_unit="conv"``) or depthwise-separable ones
   (``after_unit="separable"``: :class:`~tinyconv.nn.blocks.SeparableConvBNReLUDrop`,
   about three times as wide for the same parameters); ``first_after_unit`` makes the
   first of them another kind (``None``: the same as the others) — a separable unit
   that widens the narrow transition to the second stage for a fifth of a full
   convolution's weights, say, in front of full convolutions;
4. a head: global average pooling and a 1×1 convolution (``head="gap"``), or a 3×3
   convolution to the classes before the pooling (``head="conv3"``).

Every 3×3 unit uses the activation ``activation`` (ReLU by default; any name of
:data:`~tinyconv.nn.blocks.ACTIVATIONS`). With ``shared_units=k > 1`` the last ``k`` units of
the second stage share one convolution (each keeps its own BatchNorm): the same filters
applied ``k`` times, as in a recurrent convolutional network. The shared weights count once
against the budget, so the second stage can be wider for the same parameters. The first
second-stage unit can share too (``shared_units=convs_after``) when the transition is as
wide as the second stage (``transition_ratio`` giving the channels ``after_ratio`` gives).
``shared_before=k > 1`` does the same in the first stage: its last ``k`` units apply one
``width``-wide convolution ``k`` times at full resolution (the first unit never shares: it
reads the image; the second shares only when ``stem_ratio`` gives ``width`` channels too).
``residual=True`` adds a skip connection (:class:`~tinyconv.nn.blocks.Residual`, no
parameters) around every second-stage unit whose input is as wide as its output, so
repeated units — shared ones above all — refine their input instead of replacing it.

One integer, ``width``, scales every channel count, so
:func:`tinyconv.budget.fit_to_budget` finds the widest member of a shape that fits a
budget. :func:`stagenet_shape` checks, before anything is built, that the spatial size
stays positive through every layer.

Example:
    >>> from tinyconv.budget import count_params, fit_to_budget
    >>> fit = fit_to_budget(lambda w: stagenet(width=w, second_pool=True, after_padding=1), 8000)
    >>> fit.params < 8000
    True
"""

from __future__ import annotations

from typing import Any

from tinyconv import _validate
from tinyconv.nn.blocks import (
    ACTIVATIONS,
    ConvBNReLUDrop,
    GAPHead,
    Residual,
    SeparableConvBNReLUDrop,
    Transition1x1,
)
from tinyconv.nn.net import TinyNet

__all__ = ["stagenet", "stagenet_shape", "StageNetShapeError", "STAGENET_DEFAULTS"]

STAGENET_DEFAULTS: dict[str, Any] = {
    "convs_before": 2,
    "convs_after": 3,
    "stem_ratio": 0.6,
    "transition_ratio": 0.6,
    "after_ratio": 1.0,
    "stem_padding": 1,
    "after_padding": 0,
    "second_pool": False,
    "pool_after": 1,
    "dropout": 0.0,
    "dropout_kind": "channel",
    "head": "gap",
    "after_unit": "conv",
    "first_after_unit": None,
    "activation": "relu",
    "shared_units": 1,
    "shared_before": 1,
    "residual": False,
}
"""The shape arguments of :func:`stagenet` and their defaults (``width`` has none)."""

_HEADS = ("gap", "conv3")
_AFTER_UNITS = {"conv": ConvBNReLUDrop, "separable": SeparableConvBNReLUDrop}


class StageNetShapeError(ValueError):
    """A stage network's layers would shrink the image below one pixel."""


def _scaled(width: int, ratio: float) -> int:
    return max(1, round(width * ratio))


def stagenet_shape(size: int = 28, **shape: Any) -> list[int]:
    """Spatial sizes after each layer of a stage network, checked to stay positive.

    Args:
        size: Input height and width.
        **shape: :func:`stagenet` shape arguments (missing ones take their defaults).

    Returns:
        The side length after every 3×3 unit, pooling step and the head's convolution.

    Raises:
        StageNetShapeError: If a layer would leave less than one pixel.
        TypeError: For an argument :func:`stagenet` does not take.
    """
    unknown = sorted(set(shape) - set(STAGENET_DEFAULTS))
    if unknown:
        raise TypeError(f"unknown stagenet arguments: {', '.join(unknown)}")
    s = {**STAGENET_DEFAULTS, **shape}
    sizes: list[int] = []

    def step(new: int, what: str) -> None:
        if new < 1:
            raise StageNetShapeError(f"the image shrinks to {new} pixels at {what} (sizes so far: {sizes})")
        sizes.append(new)

    side = size
    for i in range(s["convs_before"]):
        side += 2 * s["stem_padding"] - 2
        step(side, f"unit {i + 1} of the first stage")
    side //= 2
    step(side, "the transition's pooling")
    for i in range(s["convs_after"]):
        side += 2 * s["after_padding"] - 2
        step(side, f"unit {i + 1} of the second stage")
        if s["second_pool"] and i + 1 == s["pool_after"]:
            side //= 2
            step(side, "the second pooling")
    if s["head"] == "conv3":
        step(side - 2, "the head's 3x3 convolution")
    return sizes


def _share_last(units: list[Any], k: int) -> None:
    """Make the last ``k`` units of a stage apply the convolution of the first of them (each keeps its BatchNorm)."""
    if k > 1:
        for later in units[len(units) - k + 1:]:
            later.conv.weight = units[len(units) - k].conv.weight


def _validate_shape(s: dict[str, Any]) -> None:
    _validate.positive_int("convs_before", s["convs_before"])
    _validate.positive_int("convs_after", s["convs_after"])
    for name in ("stem_ratio", "transition_ratio", "after_ratio"):
        if not isinstance(s[name], (int, float)) or isinstance(s[name], bool) or not s[name] > 0:
            raise ValueError(f"{name} must be a positive number, got {s[name]!r}")
    _validate.choice("stem_padding", s["stem_padding"], (0, 1))
    _validate.choice("after_padding", s["after_padding"], (0, 1))
    _validate.flag("second_pool", s["second_pool"])
    _validate.flag("residual", s["residual"])
    _validate.choice("head", s["head"], _HEADS)
    _validate.choice("after_unit", s["after_unit"], tuple(_AFTER_UNITS))
    if s["first_after_unit"] is not None:
        _validate.choice("first_after_unit", s["first_after_unit"], tuple(_AFTER_UNITS))
    if s["second_pool"] and not 1 <= s["pool_after"] <= s["convs_after"]:
        raise ValueError(f"pool_after must be in [1, convs_after={s['convs_after']}], got {s['pool_after']!r}")
    _validate.choice("activation", s["activation"], tuple(ACTIVATIONS))
    _validate.positive_int("shared_before", s["shared_before"])
    if s["shared_before"] > 1 and s["shared_before"] >= s["convs_before"]:
        raise ValueError(f"shared_before must be below convs_before = {s['convs_before']} (the first unit reads the "
                         f"image and cannot share), got {s['shared_before']!r}")
    _validate.positive_int("shared_units", s["shared_units"])
    if s["shared_units"] > 1:
        if s["after_unit"] != "conv":
            raise ValueError(f"shared_units > 1 needs after_unit='conv', got after_unit={s['after_unit']!r}")
        if s["shared_units"] == s["convs_after"] and s["first_after_unit"] not in (None, "conv"):
            raise ValueError(f"shared_units={s['shared_units']} (= convs_after) shares the first second-stage unit, "
                             f"which needs first_after_unit='conv' or None, got {s['first_after_unit']!r}")
        if s["shared_units"] > s["convs_after"]:
            raise ValueError(f"shared_units must be at most convs_after = {s['convs_after']}, got {s['shared_units']!r}")
        if s["second_pool"] and s["pool_after"] > s["convs_after"] - s["shared_units"]:
            raise ValueError(f"shared_units={s['shared_units']} would share a convolution across the second pooling "
                             f"(pool_after={s['pool_after']}, convs_after={s['convs_after']})")


def stagenet(*, width: int, **shape: Any) -> TinyNet:
    """Build a stage network.

    Args:
        width: Channels of the first stage's units after the first; every other width
            is a ratio of it.
        **shape: Any of :data:`STAGENET_DEFAULTS`: ``convs_before``, ``convs_after``,
            ``stem_ratio``, ``transition_ratio``, ``after_ratio``, ``stem_padding``,
            ``after_padding``, ``second_pool``, ``pool_after``, ``dropout`` (after every
            3×3 unit but the last), ``dropout_kind`` (``"channel"`` or ``"element"``),
            ``head`` (``"gap"`` or ``"conv3"``), ``after_unit`` (``"conv"`` or
            ``"separable"``: the kind of the second stage's units), ``first_after_unit``
            (``None``, ``"conv"`` or ``"separable"``: the kind of its first unit, if it
            differs), ``activation`` (a name of
            :data:`~tinyconv.nn.blocks.ACTIVATIONS`), ``shared_units`` (how many of the
            second stage's last units share one convolution; 1: none) and ``shared_before``
            (the same for the first stage's last units) and ``residual`` (skip
            connections around the second stage's units that keep their width).

    Returns:
        The model; input ``(B, 1, 28, 28)``, output log-probabilities ``(B, 10)``.

    Raises:
        TypeError: For an unknown shape argument.
        ValueError: If an argument is out of range.
        StageNetShapeError: If the layers would shrink the image below one pixel.
    """
    _validate.positive_int("width", width)
    stagenet_shape(28, **shape)
    s = {**STAGENET_DEFAULTS, **shape}
    _validate_shape(s)
    activation = {} if s["activation"] == "relu" else {"activation": s["activation"]}
    unit = {"dropout": s["dropout"], "dropout_kind": s["dropout_kind"], **activation}
    blocks: list[Any] = []
    channels = 1
    first_stage: list[Any] = []
    for i in range(s["convs_before"]):
        out = _scaled(width, s["stem_ratio"]) if i == 0 else width
        first_stage.append(ConvBNReLUDrop(channels, out, padding=s["stem_padding"], **unit))
        channels = out
    if s["shared_before"] > 1 and first_stage[-s["shared_before"]].conv.in_channels != width:
        raise ValueError(f"shared_before={s['shared_before']} shares the first stage's second unit, which needs "
                         f"stem_ratio to give width={width} channels too: stem_ratio={s['stem_ratio']!r} gives "
                         f"{first_stage[0].conv.out_channels}")
    _share_last(first_stage, s["shared_before"])
    blocks += first_stage
    blocks.append(Transition1x1(channels, _scaled(width, s["transition_ratio"])))
    channels = _scaled(width, s["transition_ratio"])
    after = _scaled(width, s["after_ratio"])
    if s["shared_units"] == s["convs_after"] > 1 and channels != after:
        raise ValueError(f"shared_units={s['shared_units']} (= convs_after) shares the first second-stage unit too, "
                         f"which needs the transition as wide as the second stage: transition_ratio="
                         f"{s['transition_ratio']!r} gives {channels} channels, after_ratio={s['after_ratio']!r} "
                         f"gives {after} (at width={width})")
    after_unit = _AFTER_UNITS[s["after_unit"]]
    first_unit = after_unit if s["first_after_unit"] is None else _AFTER_UNITS[s["first_after_unit"]]
    second_stage: list[Any] = []
    for i in range(s["convs_after"]):
        last = i + 1 == s["convs_after"]
        kind = first_unit if i == 0 else after_unit
        second_stage.append(kind(channels, after, padding=s["after_padding"], **(activation if last else unit)))
        blocks.append(second_stage[-1])
        channels = after
        if s["second_pool"] and i + 1 == s["pool_after"]:
            blocks.append(Transition1x1(channels))
    _share_last(second_stage, s["shared_units"])
    if s["residual"]:
        blocks = [Residual(b) if any(b is u for u in second_stage) and b.in_channels == b.out_channels else b
                  for b in blocks]
    if s["head"] == "conv3":
        blocks.append(GAPHead(channels, 10, kernel_size=3, order="conv-pool"))
    else:
        blocks.append(GAPHead(channels, 10))
    return TinyNet.from_blocks(*blocks)
