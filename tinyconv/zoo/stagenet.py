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
   about three times as wide for the same parameters);
4. a head: global average pooling and a 1×1 convolution (``head="gap"``), or a 3×3
   convolution to the classes before the pooling (``head="conv3"``).

Every 3×3 unit uses the activation ``activation`` (ReLU by default; any name of
:data:`~tinyconv.nn.blocks.ACTIVATIONS`). With ``shared_units=k > 1`` the last ``k`` units of
the second stage share one convolution (each keeps its own BatchNorm): the same filters
applied ``k`` times, as in a recurrent convolutional network. The shared weights count once
against the budget, so the second stage can be wider for the same parameters. The first
second-stage unit can share too (``shared_units=convs_after``) when the transition is as
wide as the second stage (``transition_ratio`` giving the channels ``after_ratio`` gives).

The shape is one typed, validated object, :class:`StageNetShape` (with
:meth:`~StageNetShape.to_dict` and :meth:`~StageNetShape.from_dict`, the form the search
and the exported specs store); one integer, ``width``, scales every channel count, so
:func:`tinyconv.budget.fit_to_budget` finds the widest member of a shape that fits a
budget. :meth:`StageNetShape.sizes` checks, before anything is built, that the spatial
size stays positive through every layer.

Example:
    >>> from tinyconv.budget import count_params, fit_to_budget
    >>> fit = fit_to_budget(lambda w: stagenet(width=w, second_pool=True, after_padding=1), 8000)
    >>> fit.params < 8000
    True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from tinyconv import _validate
from tinyconv.nn.blocks import ACTIVATIONS, ConvBNReLUDrop, GAPHead, SeparableConvBNReLUDrop, Transition1x1
from tinyconv.nn.net import TinyNet

__all__ = ["StageNetShape", "StageNetShapeError", "STAGENET_DEFAULTS", "stagenet"]

_HEADS = ("gap", "conv3")
_AFTER_UNITS = {"conv": ConvBNReLUDrop, "separable": SeparableConvBNReLUDrop}


class StageNetShapeError(ValueError):
    """A stage network's layers would shrink the image below one pixel."""


def _scaled(width: int, ratio: float) -> int:
    return max(1, round(width * ratio))


@dataclass(frozen=True)
class StageNetShape:
    """The shape of a stage network: everything but its width, validated on construction.

    Attributes:
        convs_before: 3×3 units of the first stage, at full resolution.
        convs_after: 3×3 units of the second stage, after the transition.
        stem_ratio: Width of the first unit, as a ratio of ``width``.
        transition_ratio: Width of the 1×1 transition, as a ratio of ``width``.
        after_ratio: Width of the second stage's units, as a ratio of ``width``.
        stem_padding: Padding of the first stage's units (0 or 1; 1 keeps 28×28).
        after_padding: Padding of the second stage's units (0 or 1).
        second_pool: Whether a second 2×2 max-pool follows unit ``pool_after`` of the second stage.
        pool_after: After which second-stage unit the second pool comes (from 1).
        dropout: Dropout rate after every 3×3 unit but the last.
        dropout_kind: ``"channel"`` (Dropout2d) or ``"element"``.
        head: ``"gap"`` (pool, then a 1×1 convolution) or ``"conv3"`` (a 3×3 convolution, then pool).
        after_unit: ``"conv"`` or ``"separable"``: the kind of the second stage's units.
        activation: A name of :data:`~tinyconv.nn.blocks.ACTIVATIONS`.
        shared_units: How many of the second stage's last units share one convolution (1: none).

    Raises:
        TypeError: For a field of the wrong type.
        ValueError: If a field is out of range, or two fields contradict each other.
    """

    convs_before: int = 2
    convs_after: int = 3
    stem_ratio: float = 0.6
    transition_ratio: float = 0.6
    after_ratio: float = 1.0
    stem_padding: int = 1
    after_padding: int = 0
    second_pool: bool = False
    pool_after: int = 1
    dropout: float = 0.0
    dropout_kind: str = "channel"
    head: str = "gap"
    after_unit: str = "conv"
    activation: str = "relu"
    shared_units: int = 1

    def __post_init__(self) -> None:
        _validate.positive_int("convs_before", self.convs_before)
        _validate.positive_int("convs_after", self.convs_after)
        for name in ("stem_ratio", "transition_ratio", "after_ratio"):
            _validate.positive_number(name, getattr(self, name))
        _validate.choice("stem_padding", self.stem_padding, (0, 1))
        _validate.choice("after_padding", self.after_padding, (0, 1))
        _validate.flag("second_pool", self.second_pool)
        _validate.choice("head", self.head, _HEADS)
        _validate.choice("after_unit", self.after_unit, tuple(_AFTER_UNITS))
        _validate.choice("activation", self.activation, tuple(ACTIVATIONS))
        if self.second_pool and not 1 <= self.pool_after <= self.convs_after:
            raise ValueError(f"pool_after must be in [1, convs_after={self.convs_after}], got {self.pool_after!r}")
        _validate.positive_int("shared_units", self.shared_units)
        if self.shared_units > 1:
            self._check_sharing()

    def _check_sharing(self) -> None:
        if self.after_unit != "conv":
            raise ValueError(f"shared_units > 1 needs after_unit='conv', got after_unit={self.after_unit!r}")
        if self.shared_units > self.convs_after:
            raise ValueError(f"shared_units must be at most convs_after = {self.convs_after}, got {self.shared_units!r}")
        if self.second_pool and self.pool_after > self.convs_after - self.shared_units:
            raise ValueError(f"shared_units={self.shared_units} would share a convolution across the second pooling "
                             f"(pool_after={self.pool_after}, convs_after={self.convs_after})")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageNetShape:
        """Read a shape written by :meth:`to_dict` (missing fields take their defaults).

        Args:
            data: Field names and values.

        Returns:
            The shape.

        Raises:
            TypeError: For a name that is not a field (all such names listed).
            ValueError: If a value is out of range.
        """
        return _validate.replace_known(cls(), "stagenet shape arguments", dict(data))

    def to_dict(self) -> dict[str, Any]:
        """Every field and its value, as the search and the exported specs store them.

        Returns:
            A JSON-serialisable dict.
        """
        return dataclasses.asdict(self)

    def sizes(self, size: int = 28) -> list[int]:
        """Spatial sizes after each layer, checked to stay positive.

        Args:
            size: Input height and width.

        Returns:
            The side length after every 3×3 unit, pooling step and the head's convolution.

        Raises:
            StageNetShapeError: If a layer would leave less than one pixel.
        """
        sizes: list[int] = []

        def step(new: int, what: str) -> None:
            if new < 1:
                raise StageNetShapeError(f"the image shrinks to {new} pixels at {what} (sizes so far: {sizes})")
            sizes.append(new)

        side = size
        for i in range(self.convs_before):
            side += 2 * self.stem_padding - 2
            step(side, f"unit {i + 1} of the first stage")
        side //= 2
        step(side, "the transition's pooling")
        for i in range(self.convs_after):
            side += 2 * self.after_padding - 2
            step(side, f"unit {i + 1} of the second stage")
            if self.second_pool and i + 1 == self.pool_after:
                side //= 2
                step(side, "the second pooling")
        if self.head == "conv3":
            step(side - 2, "the head's 3x3 convolution")
        return sizes

    def build(self, width: int) -> TinyNet:
        """Build the network at a width.

        Args:
            width: Channels of the first stage's units after the first; every other width
                is a ratio of it.

        Returns:
            The model; input ``(B, 1, 28, 28)``, output log-probabilities ``(B, 10)``.

        Raises:
            ValueError: If ``width`` is not a positive int, or the transition is too
                narrow to share the first second-stage unit.
            StageNetShapeError: If the layers would shrink the image below one pixel.
        """
        _validate.positive_int("width", width)
        self.sizes(28)
        activation = {} if self.activation == "relu" else {"activation": self.activation}
        unit = {"dropout": self.dropout, "dropout_kind": self.dropout_kind, **activation}
        blocks: list[Any] = []
        channels = 1
        for i in range(self.convs_before):
            out = _scaled(width, self.stem_ratio) if i == 0 else width
            blocks.append(ConvBNReLUDrop(channels, out, padding=self.stem_padding, **unit))
            channels = out
        blocks.append(Transition1x1(channels, _scaled(width, self.transition_ratio)))
        channels = _scaled(width, self.transition_ratio)
        after = _scaled(width, self.after_ratio)
        self._check_first_shared(channels, after, width)
        second_stage: list[Any] = []
        for i in range(self.convs_after):
            last = i + 1 == self.convs_after
            kind = _AFTER_UNITS[self.after_unit]
            second_stage.append(kind(channels, after, padding=self.after_padding, **(activation if last else unit)))
            blocks.append(second_stage[-1])
            channels = after
            if self.second_pool and i + 1 == self.pool_after:
                blocks.append(Transition1x1(channels))
        if self.shared_units > 1:  # the last k units apply the first of them's convolution, each with its own BatchNorm
            for later in second_stage[len(second_stage) - self.shared_units + 1:]:
                later.conv.weight = second_stage[len(second_stage) - self.shared_units].conv.weight
        head = {"kernel_size": 3, "order": "conv-pool"} if self.head == "conv3" else {}
        blocks.append(GAPHead(channels, 10, **head))
        return TinyNet.from_blocks(*blocks)

    def _check_first_shared(self, transition: int, after: int, width: int) -> None:
        if self.shared_units == self.convs_after > 1 and transition != after:
            raise ValueError(f"shared_units={self.shared_units} (= convs_after) shares the first second-stage unit "
                             f"too, which needs the transition as wide as the second stage: transition_ratio="
                             f"{self.transition_ratio!r} gives {transition} channels, after_ratio="
                             f"{self.after_ratio!r} gives {after} (at width={width})")


STAGENET_DEFAULTS: dict[str, Any] = StageNetShape().to_dict()
"""The shape arguments of :func:`stagenet` and their defaults (``width`` has none)."""


def stagenet(*, width: int, **shape: Any) -> TinyNet:
    """Build a stage network in one call: ``StageNetShape(**shape).build(width)``.

    Args:
        width: The network's width (see :meth:`StageNetShape.build`).
        **shape: Fields of :class:`StageNetShape` (the others take their defaults).

    Returns:
        The model, as :meth:`StageNetShape.build` returns it.

    Raises:
        TypeError: For an unknown shape argument.
        ValueError: If an argument is out of range (see :class:`StageNetShape`).
        StageNetShapeError: If the layers would shrink the image below one pixel.
    """
    return StageNetShape.from_dict(shape).build(width)
