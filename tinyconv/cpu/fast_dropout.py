"""Element-wise dropout with a cheaper random mask, for CPU training.

``nn.Dropout`` draws one random number per activation, and on a CPU drawing those
numbers is a large part of a tiny network's training step (``benchmarks/throughput.py``
measures it). :class:`FastDropout` is the same regulariser — every element is zeroed
independently with probability ``p`` and the survivors are scaled by ``1 / (1 - p)`` —
drawn from far fewer random numbers:

- on a CPU, for ``p <= 0.1`` (rates such as the seed's 0.05), it draws *where* the dropped
  elements are: the gaps between them follow a geometric distribution, so about
  ``p * n`` random numbers place them all, and the output is the input scaled with those
  elements set to zero. Each element is dropped with probability exactly ``p``.
- for larger ``p``, and on other devices, it draws 64-bit random integers and splits each
  into four 16-bit lanes, so one draw serves four elements; ``p`` is then rounded to a
  multiple of ``1 / 65536``.

Both take their random numbers from PyTorch's generator, so ``torch.manual_seed`` makes
them reproducible, and both keep a ``channels_last`` input in that format.

Example:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1))
    >>> use_fast_dropout(model)
    1
    >>> model[1]
    FastDropout(p=0.1)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from tinyconv.cpu.swap import Replaced, replace_modules
from tinyconv.cpu.channels_last import is_channels_last, nhwc_as_nchw

__all__ = ["POSITIONS_MAX_P", "FastDropout", "fast_dropout", "use_fast_dropout"]

POSITIONS_MAX_P = 0.1
"""Largest ``p`` for which the positions of the dropped elements are drawn (above it, a lane mask).

The two ways cost about the same near ``p = 0.1`` (forward and backward of 1.2 million
activations); below it drawing positions is cheaper, above it the lane mask.
"""

_LANES = 4  # 16-bit lanes per 64-bit draw
_LEVELS = 1 << 16


def _memory_order(x: torch.Tensor) -> torch.Tensor:
    """A flat view of a contiguous or ``channels_last`` tensor, in memory order."""
    return (x.permute(0, 2, 3, 1) if is_channels_last(x) else x).view(-1)  # a view, never a copy


def _drop_positions(numel: int, p: float, device: torch.device, chunk: int | None = None) -> torch.Tensor:
    """Sorted indices in ``[0, numel)``, each present independently with probability ``p``.

    The gap before each dropped element (how many elements are kept first) is geometric:
    ``floor(log(1 - u) / log(1 - p))`` for ``u`` uniform on ``[0, 1)``, drawn in double
    precision; running sums of ``gap + 1`` are the positions. Gaps are drawn ``chunk`` at a
    time (by default enough to pass ``numel`` but for a six-sigma shortfall) until the
    positions pass ``numel``.
    """
    log_keep = math.log1p(-p)
    if chunk is None:
        expected = numel * p
        chunk = int(expected + 6.0 * math.sqrt(expected) + 16)
    parts = []
    start = 0.0
    while True:
        u = torch.rand(chunk, dtype=torch.float64, device=device)
        positions = torch.log1p(-u).div_(log_keep).floor_().add_(1.0).cumsum_(0).add_(start - 1.0)
        inside = int(torch.searchsorted(positions, float(numel)))
        parts.append(positions[:inside])
        if inside < chunk:
            break
        start = float(positions[-1]) + 1.0
    return torch.cat(parts).to(torch.int64)


class _ScaleAndDrop(torch.autograd.Function):
    """``x * scale`` with the elements at ``positions`` (in ``x``'s memory order) set to zero."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, positions: torch.Tensor, scale: float) -> torch.Tensor:
        out = x * scale
        _memory_order(out).index_fill_(0, positions, 0.0)
        ctx.save_for_backward(positions)
        ctx.scale = scale
        ctx.memory_format = torch.channels_last if is_channels_last(x) else torch.contiguous_format
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (positions,) = ctx.saved_tensors
        grad_x = grad.contiguous(memory_format=ctx.memory_format) * ctx.scale
        _memory_order(grad_x).index_fill_(0, positions, 0.0)
        return grad_x, None, None


def _keep_mask(x: torch.Tensor, p: float) -> torch.Tensor:
    """A 0/1 tensor of ``x``'s dtype, shaped and laid out like ``x``: each element 1 with probability ``1 - p``.

    The mask is drawn in ``x``'s memory order (``channels_last`` for a ``channels_last``
    ``x``), so that multiplying the two reads both in the same order.
    """
    numel = x.numel()
    draws = torch.empty((numel + _LANES - 1) // _LANES, dtype=torch.int64, device=x.device)
    draws.random_(-(1 << 63), None)  # the full 64-bit range: every lane uniform on [-2**15, 2**15)
    lanes = draws.view(torch.int16)[:numel]
    threshold = round(p * _LEVELS) - _LEVELS // 2
    mask = torch.ge(lanes, threshold, out=torch.empty(numel, dtype=x.dtype, device=x.device))
    return nhwc_as_nchw(mask, x) if is_channels_last(x) else mask.view(x.shape)


def fast_dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Functional form of :class:`FastDropout`.

    Args:
        x: Input tensor.
        p: Probability of zeroing an element, in ``[0, 1]``.
        training: Apply dropout; if False, return ``x`` unchanged.

    Returns:
        ``x`` with elements zeroed and the rest scaled by ``1 / (1 - p)``, in ``x``'s
        memory format when that is contiguous or ``channels_last``.

    Raises:
        ValueError: If ``p`` is outside ``[0, 1]``.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p!r}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    scale = 1.0 / (1.0 - p)
    if p > POSITIONS_MAX_P or x.device.type != "cpu":  # counting positions would wait on a GPU
        return x * _keep_mask(x, p).mul_(scale)
    if not (x.is_contiguous() or is_channels_last(x)):
        x = x.contiguous()
    return _ScaleAndDrop.apply(x, _drop_positions(x.numel(), p, x.device), scale)


class FastDropout(nn.Dropout):
    """Element-wise dropout from far fewer random numbers (a drop-in for ``nn.Dropout``).

    See :mod:`tinyconv.cpu.fast_dropout` for how the dropped elements are drawn. It is
    an ``nn.Dropout`` subclass, so code that recognises dropout layers (inspection,
    export) needs to know nothing of it.

    Args:
        p: Probability of zeroing an element, in ``[0, 1]``.

    Raises:
        ValueError: If ``p`` is outside ``[0, 1]`` or not a number.
    """

    def __init__(self, p: float = 0.5) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a number in [0, 1], got {p!r}")
        super().__init__(float(p))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply dropout in training mode; the identity in evaluation mode.

        Args:
            x: Input tensor.

        Returns:
            The output, same shape as ``x``.
        """
        return fast_dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        """Return ``"p=..."`` so the repr reads like the call that built the module.

        Returns:
            The text between the parentheses of the repr.
        """
        return f"p={self.p}"


def use_fast_dropout(model: nn.Module, record: Replaced | None = None) -> int:
    """Replace every ``nn.Dropout`` inside ``model`` by a :class:`FastDropout` with the same ``p``.

    Channel dropout (``nn.Dropout2d``) and other subclasses are left alone: they draw one
    number per channel and are already cheap. The model is changed in place; parameters
    and buffers are untouched, so the parameter count and state dict stay the same, and
    each replacement keeps its predecessor's training/evaluation mode.

    Args:
        model: The model.
        record: Where to note each replacement (see :func:`~tinyconv.cpu.swap.put_back`).

    Returns:
        How many modules were replaced.
    """
    return replace_modules(model, _fast_twin, record)


def _fast_twin(module: nn.Module) -> FastDropout | None:
    """A FastDropout in the same mode for an ``nn.Dropout``; ``None`` for anything else."""
    if type(module) is not nn.Dropout:
        return None
    return FastDropout(module.p).train(module.training)
