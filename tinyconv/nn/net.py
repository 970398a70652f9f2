"""A sequential network that knows its input size and says clearly when an input is wrong."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from tinyconv import _validate

__all__ = ["InputShapeError", "TinyNet"]


class InputShapeError(ValueError):
    """An input tensor does not have the shape a network expects."""


class TinyNet(nn.Sequential):
    """An ``nn.Sequential`` of blocks that checks its input before running.

    A wrong rank, channel count or a spatial size too small for the network raises
    :class:`InputShapeError` naming the expected and the received shape, instead of an
    error from deep inside a convolution.

    Args:
        blocks: Named blocks, in order.
        input_size: ``(C, H, W)`` the network was designed for.

    Raises:
        ValueError: If ``input_size`` is not three positive ints.
    """

    def __init__(self, blocks: OrderedDict[str, nn.Module], input_size: tuple[int, int, int] = (1, 28, 28)):
        if len(input_size) != 3:
            raise ValueError(f"input_size must be (C, H, W), got {input_size!r}")
        for i, dim in enumerate(input_size):
            _validate.positive_int(f"input_size[{i}]", dim)
        super().__init__(blocks)
        self.input_size = tuple(input_size)

    @classmethod
    def from_blocks(cls, *blocks: nn.Module, input_size: tuple[int, int, int] = (1, 28, 28)) -> TinyNet:
        """Build a network from blocks, naming them ``block1``, ``transition1``, ..., ``head``.

        Args:
            *blocks: The blocks, in order.
            input_size: ``(C, H, W)`` the network is designed for.

        Returns:
            The network.
        """
        from tinyconv.nn.blocks import GAPHead, Transition1x1

        named: OrderedDict[str, nn.Module] = OrderedDict()
        counts = {"block": 0, "transition": 0}
        for block in blocks:
            if isinstance(block, GAPHead):
                named["head"] = block
                continue
            kind = "transition" if isinstance(block, Transition1x1) else "block"
            counts[kind] += 1
            named[f"{kind}{counts[kind]}"] = block
        return cls(named, input_size=input_size)

    def _expected(self) -> str:
        c, h, w = self.input_size
        return f"(batch, {c}, H, W), e.g. (batch, {c}, {h}, {w})"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Check the input's shape and run the blocks.

        Args:
            x: ``(B, C, H, W)`` float tensor.

        Returns:
            The last block's output.

        Raises:
            InputShapeError: If the rank, channels or spatial size do not fit.
            TypeError: If ``x`` is not a floating-point tensor.
        """
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"input must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4:
            hint = " (add a batch dimension with x.unsqueeze(0))" if x.ndim == 3 else ""
            raise InputShapeError(f"expected input of shape {self._expected()}; got {tuple(x.shape)}{hint}")
        if x.shape[1] != self.input_size[0]:
            raise InputShapeError(
                f"expected {self.input_size[0]} input channel(s), shape {self._expected()}; got {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise TypeError(f"input must be a floating-point tensor, got {x.dtype} (normalise images first)")
        if tuple(x.shape[2:]) == self.input_size[1:]:
            return super().forward(x)
        try:
            return super().forward(x)
        except RuntimeError as error:
            raise InputShapeError(
                f"input of shape {tuple(x.shape)} does not fit this network, designed for "
                f"{self._expected()}: {str(error).splitlines()[0]}"
            ) from error
