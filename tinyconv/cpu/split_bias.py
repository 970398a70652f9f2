"""Convolutions whose bias is added after the convolution, for cheaper CPU training.

On a CPU, PyTorch's oneDNN (mkldnn) convolution computes the gradient of a convolution's
bias inside its backward kernel, and for the few channels of a tiny network that is
slow: for model4's 8→12 3×3 convolution on a 128×28×28 batch it cost more than the
weight gradient in a scratch measurement, while the same gradient is a plain sum over
batch and positions, one cheap reduction (``benchmarks/throughput.py`` measures the gain
on whole epochs, ``benchmarks/profile_step.py`` where a step's time goes).
:class:`SplitBiasConv2d` is the same convolution with the bias added as a separate
broadcast addition, so autograd computes the bias gradient as that sum. The maths is
unchanged; results differ from ``nn.Conv2d`` only by floating-point rounding.

Example:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU())
    >>> use_split_bias(model)
    1
    >>> model[0]
    SplitBiasConv2d(1, 4, kernel_size=(3, 3), stride=(1, 1))
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import skip_init

from tinyconv.cpu.swap import Replaced, replace_modules
from tinyconv.cpu.channels_last import add_channel_bias_, is_channels_last

__all__ = ["SplitBiasConv2d", "use_split_bias"]


class SplitBiasConv2d(nn.Conv2d):
    """An ``nn.Conv2d`` that convolves without its bias, then adds the bias.

    It takes the same arguments as ``nn.Conv2d`` and has the same parameters, state-dict
    keys and output (up to rounding); only the way the bias gradient is computed differs.
    """

    def _conv_forward(self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        out = super()._conv_forward(input, weight, None)
        if bias is None:
            return out
        # In place: the convolution's backward needs its input and weight, not its output.
        if is_channels_last(out):
            return add_channel_bias_(out, bias)
        return out.add_(bias.view(1, -1, 1, 1))


def _split(conv: nn.Conv2d) -> SplitBiasConv2d:
    """A SplitBiasConv2d holding ``conv``'s own parameter objects (no random init drawn)."""
    new = skip_init(
        SplitBiasConv2d,
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=True,
        padding_mode=conv.padding_mode,
        device=conv.weight.device,
        dtype=conv.weight.dtype,
    )
    new.weight = conv.weight
    new.bias = conv.bias
    new.train(conv.training)
    return new


def use_split_bias(model: nn.Module, record: Replaced | None = None) -> int:
    """Replace every ``nn.Conv2d`` with a bias inside ``model`` by a :class:`SplitBiasConv2d`.

    The replacements hold the very same parameter objects (an optimizer built before or
    after sees the same tensors), keep the training/evaluation mode, and draw no random
    numbers, so the parameter count, state dict and the random stream of the rest of a
    run stay the same. Convolutions without a bias and subclasses of ``nn.Conv2d`` are
    left alone; hooks registered on a replaced convolution are not carried over.

    Args:
        model: The model, changed in place.
        record: Where to note each replacement (see :func:`~tinyconv.cpu.swap.put_back`).

    Returns:
        How many convolutions were replaced.
    """
    return replace_modules(model, lambda m: _split(m) if type(m) is nn.Conv2d and m.bias is not None else None,
                           record)
