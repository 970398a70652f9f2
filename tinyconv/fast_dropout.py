"""Element-wise dropout with a cheaper random mask, for CPU training.

``nn.Dropout`` draws one random number per activation, and on a CPU drawing those
numbers is a large part of a tiny network's training step (``benchmarks/throughput.py``
measures it). :class:`FastDropout` is the same regulariser — every element is zeroed
independently with probability ``p`` and the survivors are scaled by ``1 / (1 - p)`` —
but it draws 64-bit random integers and splits each into four 16-bit lanes, so one draw
serves four activations. The only difference is that ``p`` is rounded to a multiple of
``1 / 65536`` (0.05 stays 0.05 to within 2e-6).

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

import torch
from torch import nn

from tinyconv._modules import replace_modules
from tinyconv.channels_last import is_channels_last, nhwc_as_nchw

__all__ = ["FastDropout", "fast_dropout", "use_fast_dropout"]

_LANES = 4  # 16-bit lanes per 64-bit draw
_LEVELS = 1 << 16


def _keep_mask(x: torch.Tensor, p: float) -> torch.Tensor:
    """A boolean tensor shaped and laid out like ``x``: each element True with probability ``1 - p``.

    The mask is drawn in ``x``'s memory order (``channels_last`` for a ``channels_last``
    ``x``), so that multiplying the two reads both in the same order.
    """
    numel = x.numel()
    draws = torch.empty((numel + _LANES - 1) // _LANES, dtype=torch.int64, device=x.device)
    draws.random_(-(1 << 63), None)  # the full 64-bit range: every lane uniform on [-2**15, 2**15)
    lanes = draws.view(torch.int16)[:numel]
    lanes = nhwc_as_nchw(lanes, x) if is_channels_last(x) else lanes.view(x.shape)
    threshold = round(p * _LEVELS) - _LEVELS // 2
    return lanes >= threshold


def fast_dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Functional form of :class:`FastDropout`.

    Args:
        x: Input tensor.
        p: Probability of zeroing an element, in ``[0, 1]``.
        training: Apply dropout; if False, return ``x`` unchanged.

    Returns:
        ``x`` with elements zeroed and the rest scaled by ``1 / (1 - p)``.

    Raises:
        ValueError: If ``p`` is outside ``[0, 1]``.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p!r}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = _keep_mask(x, p)
    return x * keep.to(x.dtype).mul_(1.0 / (1.0 - p))


class FastDropout(nn.Module):
    """Element-wise dropout drawing 16 random bits per element (a drop-in for ``nn.Dropout``).

    Args:
        p: Probability of zeroing an element, in ``[0, 1]``.

    Raises:
        ValueError: If ``p`` is outside ``[0, 1]`` or not a number.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a number in [0, 1], got {p!r}")
        self.p = float(p)

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


def use_fast_dropout(model: nn.Module) -> int:
    """Replace every ``nn.Dropout`` inside ``model`` by a :class:`FastDropout` with the same ``p``.

    Channel dropout (``nn.Dropout2d``) and other subclasses are left alone: they draw one
    number per channel and are already cheap. The model is changed in place; parameters
    and buffers are untouched, so the parameter count and state dict stay the same, and
    each replacement keeps its predecessor's training/evaluation mode.

    Args:
        model: The model.

    Returns:
        How many modules were replaced.
    """
    return replace_modules(model, _fast_twin)


def _fast_twin(module: nn.Module) -> FastDropout | None:
    """A FastDropout in the same mode for an ``nn.Dropout``; ``None`` for anything else."""
    if type(module) is not nn.Dropout:
        return None
    return FastDropout(module.p).train(module.training)
