"""Training in the ``channels_last`` memory format on a CPU, with a batch norm that suits it.

PyTorch's oneDNN convolutions run faster on ``channels_last`` (NHWC) tensors than on the
usual NCHW ones, in their backward pass above all, and max-pooling does too; but
PyTorch's CPU batch norm is several times slower on ``channels_last`` inputs with the
few channels of a tiny network, which cancels the gain (``benchmarks/profile_step.py``
shows both). :class:`ChannelsLastBatchNorm2d` is ``nn.BatchNorm2d`` with a training path
for ``channels_last`` inputs built on one observation: such a tensor is, in memory, a
matrix with one column per channel, and viewed as a wider matrix of ``k`` pixels per row
(``k * C`` columns) every per-channel sum becomes a fast column sum followed by a fold
of ``k`` partial sums, and every per-channel scale a fast row-broadcast. The statistics
are computed in two passes (mean, then the mean squared deviation), as accurate as
``nn.BatchNorm2d``'s; results differ from it only by rounding.

:func:`use_channels_last` puts a model in that format and swaps its batch norms.
:class:`~tinyconv.cpu.fast_dropout.FastDropout` and
:class:`~tinyconv.cpu.split_bias.SplitBiasConv2d` keep ``channels_last`` tensors in that
format at full speed, through :func:`channel_rows`.

Example:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
    >>> use_channels_last(model)
    1
    >>> type(model[1]).__name__
    'ChannelsLastBatchNorm2d'
    >>> model(torch.randn(2, 1, 8, 8)).is_contiguous(memory_format=torch.channels_last)
    True
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import skip_init

from tinyconv.cpu.swap import Replaced, replace_modules

__all__ = [
    "ChannelsLastBatchNorm2d",
    "add_channel_bias_",
    "channel_rows",
    "is_channels_last",
    "nhwc_as_nchw",
    "use_channels_last",
]

_ROW_PIXELS = (16, 8, 4, 2, 1)  # pixels per row of the matrix view, the first that divides N*H*W


def is_channels_last(x: torch.Tensor) -> bool:
    """Whether ``x`` is a 4-D tensor laid out in ``channels_last`` order (and not also plain contiguous).

    Args:
        x: Any tensor.

    Returns:
        True for a 4-D tensor whose memory is NHWC-ordered and not NCHW-ordered.
    """
    return x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def channel_rows(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """View a ``channels_last`` tensor as a matrix of ``k`` pixels per row.

    Column ``j`` of the view holds channel ``j % C``; every per-channel sum is the view's
    column sum folded as ``.view(k, C).sum(0)``, and every per-channel vector ``v`` acts
    on it as ``v.repeat(k)``.

    Args:
        x: A 4-D tensor ``(N, C, H, W)``, contiguous in ``channels_last`` order.

    Returns:
        ``(rows, k)``: a view of ``x`` of shape ``(N * H * W // k, k * C)`` and ``k``.

    Raises:
        ValueError: If ``x`` is not 4-D or not contiguous in ``channels_last`` order.
    """
    if x.dim() != 4 or not x.is_contiguous(memory_format=torch.channels_last):
        raise ValueError(f"x must be a 4-D channels_last tensor, got shape {tuple(x.shape)} strides {x.stride()}")
    n, c, h, w = x.shape
    pixels = n * h * w
    k = next(k for k in _ROW_PIXELS if pixels % k == 0)
    return x.permute(0, 2, 3, 1).view(pixels // k, k * c), k


def _channel_sum(rows: torch.Tensor, k: int) -> torch.Tensor:
    """Per-channel sum of a matrix view from :func:`channel_rows`."""
    return rows.sum(0).view(k, -1).sum(0)


def nhwc_as_nchw(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """View values stored in NHWC order as a ``channels_last`` tensor shaped like ``like``.

    Args:
        values: A contiguous tensor of ``like.numel()`` elements in NHWC order (flat, or a
            matrix view from :func:`channel_rows`).
        like: A 4-D tensor ``(N, C, H, W)`` giving the shape.

    Returns:
        A view of ``values`` of shape ``(N, C, H, W)`` with ``channels_last`` strides.
    """
    n, c, h, w = like.shape
    return values.view(n, h, w, c).permute(0, 3, 1, 2)


def _grad_rows(grad: torch.Tensor) -> tuple[torch.Tensor, int]:
    """:func:`channel_rows` of an incoming gradient, made ``channels_last`` first if it is not."""
    return channel_rows(grad.contiguous(memory_format=torch.channels_last))


class _AddChannelBias(torch.autograd.Function):
    """``x += bias`` per channel, in place, on a ``channels_last`` tensor."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        rows, k = channel_rows(x)
        rows.add_(bias.repeat(k))
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        grad_bias = None
        if ctx.needs_input_grad[1]:
            rows, k = _grad_rows(grad)
            grad_bias = _channel_sum(rows, k)
        return grad, grad_bias


def add_channel_bias_(x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Add a per-channel bias to a ``channels_last`` tensor in place (autograd-aware).

    Args:
        x: A 4-D ``channels_last`` tensor ``(N, C, H, W)``; changed in place.
        bias: Shape ``(C,)``.

    Returns:
        ``x``.
    """
    return _AddChannelBias.apply(x, bias)


class _BatchNormRows(torch.autograd.Function):
    """Training-mode batch norm of a ``channels_last`` tensor through its matrix view."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        rows, k = channel_rows(x)
        count = rows.shape[0] * k
        mean = _channel_sum(rows, k).div_(count)
        centred = rows - mean.repeat(k)
        var = _channel_sum(centred * centred, k).div_(count)
        invstd = (var + eps).rsqrt_()
        y = torch.addcmul(bias.repeat(k), centred, (weight * invstd).repeat(k))
        ctx.save_for_backward(centred, weight, invstd)
        ctx.k = k
        ctx.mark_non_differentiable(mean, var)
        return nhwc_as_nchw(y, x), mean, var

    @staticmethod
    def backward(ctx, grad, _grad_mean, _grad_var):
        centred, weight, invstd = ctx.saved_tensors
        k = ctx.k
        grad_rows, _ = _grad_rows(grad)
        count = grad_rows.shape[0] * k
        grad_sum = _channel_sum(grad_rows, k)
        grad_dot = _channel_sum(grad_rows * centred, k)  # sum of grad * (x - mean)
        grad_x = None
        if ctx.needs_input_grad[0]:
            # d loss / d x = a * grad + b * (x - mean) + c, per channel.
            a = weight * invstd
            b = -a * invstd * invstd * grad_dot / count
            c = -a * grad_sum / count
            rows = torch.addcmul(c.repeat(k), centred, b.repeat(k)).addcmul_(grad_rows, a.repeat(k))
            grad_x = nhwc_as_nchw(rows, grad)
        return grad_x, grad_dot * invstd, grad_sum, None


class ChannelsLastBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` with a fast training path for ``channels_last`` inputs.

    It takes the same arguments as ``nn.BatchNorm2d`` and has the same parameters,
    buffers and state-dict keys. In training mode, with an affine transform with a bias, running
    statistics and a fixed ``momentum``, a ``channels_last`` input of more than one value
    per channel takes the matrix-view path described in :mod:`tinyconv.cpu.channels_last`;
    everything else (evaluation, contiguous inputs, other settings) is
    ``nn.BatchNorm2d``'s own code.
    """

    def _fast_path(self, x: torch.Tensor) -> bool:
        return (
            self.training
            and self.affine
            and self.bias is not None
            and self.track_running_stats
            and self.momentum is not None
            and x.dtype in (torch.float32, torch.float64)
            and is_channels_last(x)
            and x.numel() > x.shape[1]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` by its batch statistics (training) or the running ones (evaluation).

        Args:
            x: Input ``(N, C, H, W)``.

        Returns:
            The normalised tensor, in ``x``'s memory format.
        """
        if not self._fast_path(x):
            return super().forward(x)
        y, mean, var = _BatchNormRows.apply(x, self.weight, self.bias, self.eps)
        with torch.no_grad():
            count = x.numel() // x.shape[1]
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var * (count / (count - 1)), self.momentum)
            self.num_batches_tracked.add_(1)
        return y


def _channels_last_twin(norm: nn.BatchNorm2d) -> ChannelsLastBatchNorm2d:
    """A ChannelsLastBatchNorm2d holding ``norm``'s own parameters and buffers."""
    twin = skip_init(
        ChannelsLastBatchNorm2d,
        norm.num_features,
        eps=norm.eps,
        momentum=norm.momentum,
        affine=norm.affine,
        track_running_stats=norm.track_running_stats,
        device=norm.weight.device if norm.weight is not None else None,
        dtype=norm.weight.dtype if norm.weight is not None else None,
    )
    for name, param in norm._parameters.items():  # None entries too (bias=False)
        twin.register_parameter(name, param)
    for name, buffer in norm._buffers.items():
        twin.register_buffer(name, buffer)
    twin.train(norm.training)
    return twin


def use_channels_last(model: nn.Module, record: Replaced | None = None) -> int:
    """Put ``model`` in ``channels_last`` format and give it batch norms that suit it.

    Every ``nn.BatchNorm2d`` (not subclasses) becomes a :class:`ChannelsLastBatchNorm2d`
    holding the very same parameter and buffer objects; then the model's 4-D parameters
    are converted to ``channels_last`` in place (the parameter objects stay the same, so
    an optimizer built before or after sees the same tensors). A convolution with a
    ``channels_last`` weight gives ``channels_last`` outputs whatever its input's layout,
    so inputs need no conversion. No random numbers are drawn; parameter count and
    state dict stay the same; hooks on a replaced batch norm are not carried over.

    Args:
        model: The model, changed in place.
        record: Where to note each replacement (see :func:`~tinyconv.cpu.swap.put_back`).

    Returns:
        How many batch norms were replaced.
    """
    replaced = replace_modules(model, lambda m: _channels_last_twin(m) if type(m) is nn.BatchNorm2d else None,
                              record)
    model.to(memory_format=torch.channels_last)
    return replaced
