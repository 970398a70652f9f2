"""Analytic receptive fields of a chain of layers, one axis at a time.

For each axis the state is ``(rf, jump, start)``: how many input pixels one output
unit sees, how many input pixels apart neighbouring output units are, and where the
first unit's field is centred. A window layer (convolution or pooling) with
effective kernel ``k_eff = dilation * (k - 1) + 1``, stride ``s`` and padding ``p``
updates it as::

    rf    += (k_eff - 1) * jump
    start += ((k_eff - 1) / 2 - p) * jump
    jump  *= s

Global pooling (and a linear layer on a flattened map) covers the whole remaining
map. Element-wise layers leave the state unchanged. Any other layer is *unknown*:
its effect is never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from einops.layers.torch import Rearrange, Reduce
from torch import nn

__all__ = ["AxisField", "ReceptiveField", "ELEMENTWISE", "step"]

ELEMENTWISE: tuple[type[nn.Module], ...] = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.InstanceNorm2d,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Sigmoid,
    nn.Tanh,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Dropout,
    nn.Dropout2d,
    nn.Identity,
    nn.LogSoftmax,
    nn.Softmax,
)
"""Layers that act on each position separately and leave the receptive field unchanged
(subclasses included: tinyconv's training-time replacements derive from these)."""


@dataclass(frozen=True)
class AxisField:
    """Receptive-field state along one axis.

    Attributes:
        rf: Input pixels seen by one output unit.
        jump: Input-pixel distance between neighbouring output units.
        start: Centre of the first output unit's field, in input pixels.
    """

    rf: float = 1.0
    jump: float = 1.0
    start: float = 0.5

    def window(self, kernel: int, stride: int, padding: int, dilation: int = 1) -> AxisField:
        """Apply a sliding window.

        Args:
            kernel: Kernel size.
            stride: Stride.
            padding: Padding on each side.
            dilation: Dilation.

        Returns:
            The new state.
        """
        span = dilation * (kernel - 1)
        return AxisField(
            self.rf + span * self.jump,
            self.jump * stride,
            self.start + (span / 2 - padding) * self.jump,
        )

    def cover(self, size: int) -> AxisField:
        """Apply a layer that sees the whole remaining map of ``size`` units.

        Args:
            size: The map's size along this axis.

        Returns:
            The new state.
        """
        return AxisField(self.rf + (size - 1) * self.jump, self.jump * size, self.start + (size - 1) / 2 * self.jump)


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive-field state along both axes, plus whether the map has been flattened.

    Attributes:
        h: Height axis.
        w: Width axis.
        flat_size: ``(H, W)`` of the map when it was flattened, or ``None``.
    """

    h: AxisField = AxisField()
    w: AxisField = AxisField()
    flat_size: tuple[int, int] | None = None

    @property
    def size(self) -> tuple[int, int]:
        """``(rf_h, rf_w)`` as ints."""
        return int(self.h.rf), int(self.w.rf)

    @property
    def jump(self) -> tuple[int, int]:
        """``(jump_h, jump_w)`` as ints."""
        return int(self.h.jump), int(self.w.jump)


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _is_global_reduce(module: nn.Module) -> bool:
    if not isinstance(module, Reduce):
        return False
    left, right = (side.split() for side in module.pattern.split("->"))
    return left[-2:] == ["h", "w"] and "h" not in right and "w" not in right


def step(
    state: ReceptiveField, module: nn.Module, in_shape: tuple[int, ...], out_shape: tuple[int, ...]
) -> ReceptiveField | None:
    """Advance the receptive-field state through one layer.

    Args:
        state: The state before the layer.
        module: The layer.
        in_shape: Its input shape (with batch).
        out_shape: Its output shape (with batch).

    Returns:
        The state after the layer, or ``None`` if this layer cannot be analysed.
    """
    if isinstance(module, ELEMENTWISE):
        return state
    if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
        if isinstance(module, nn.Conv2d) and isinstance(module.padding, str):
            kh, kw = _pair(module.kernel_size)
            dh, dw = _pair(module.dilation)
            ph, pw = (0, 0) if module.padding == "valid" else (dh * (kh - 1) // 2, dw * (kw - 1) // 2)
        else:
            ph, pw = _pair(module.padding)
        kh, kw = _pair(module.kernel_size)
        sh, sw = _pair(module.stride if module.stride is not None else module.kernel_size)
        dh, dw = _pair(getattr(module, "dilation", 1))
        if getattr(module, "ceil_mode", False):
            return None
        return ReceptiveField(state.h.window(kh, sh, ph, dh), state.w.window(kw, sw, pw, dw))
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)) or _is_global_reduce(module):
        if len(out_shape) >= 4 and tuple(out_shape[-2:]) != (1, 1) and not _is_global_reduce(module):
            return None  # adaptive pooling to a map larger than 1x1: windows vary, not analysed
        return ReceptiveField(state.h.cover(in_shape[-2]), state.w.cover(in_shape[-1]))
    if isinstance(module, (nn.Flatten, Rearrange)):
        if len(in_shape) == 4 and len(out_shape) == 2:
            return ReceptiveField(state.h, state.w, flat_size=(in_shape[-2], in_shape[-1]))
        return None
    if isinstance(module, nn.Linear):
        if state.flat_size is None:
            return state if len(in_shape) == 2 else None
        h, w = state.flat_size
        return ReceptiveField(state.h.cover(h), state.w.cover(w), flat_size=(1, 1))
    return None
