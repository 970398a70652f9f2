"""Composable building blocks for tiny convolutional networks.

Every block but :class:`Residual` is an :class:`torch.nn.Sequential` with stable child
names (``conv``, ``bn``, ``act``, ``drop``, ``pool``, ...), so blocks nest inside an ordinary
``nn.Sequential``, ``state_dict`` keys read well, and inspection tools see the
layers in the order they run. All arguments are checked at construction, and the
``repr`` of a block reads like the call that built it.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from tinyconv.nn.blocks import ConvBNReLUDrop, Transition1x1, GAPHead
    >>> net = nn.Sequential(
    ...     ConvBNReLUDrop(1, 8, dropout=0.05),
    ...     Transition1x1(8, 4),
    ...     GAPHead(4, 10),
    ... )
    >>> net(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Union

from einops.layers.torch import Rearrange, Reduce
from torch import nn

from tinyconv import _validate

__all__ = [
    "ConvBNReLUDrop",
    "SeparableConvBNReLUDrop",
    "Residual",
    "Transition1x1",
    "GAPHead",
    "GlobalAvgPool2d",
    "Padding",
    "resolve_padding",
    "ACTIVATIONS",
    "BLOCK_ORDERS",
]

Padding = Union[int, Literal["same", "valid"]]
"""A convolution's padding: pixels on each side, or ``"same"`` / ``"valid"``."""

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "leaky_relu": nn.LeakyReLU,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
}
"""Activation names accepted by the blocks, mapped to their module factories."""

BLOCK_ORDERS = ("conv-bn-act", "conv-act-bn")
"""Orders of a convolution unit: BatchNorm before the activation (most libraries) or
after it (the seed notebook). Dropout, when present, always comes last."""

_DROPOUT_KINDS = {"element": nn.Dropout, "channel": nn.Dropout2d}


def resolve_padding(padding: Any, kernel_size: int, dilation: int = 1) -> int:
    """Turn a padding argument into the number of pixels added on each side.

    ``"valid"`` means no padding. ``"same"`` means ``dilation * (kernel_size - 1) // 2``,
    which keeps the spatial size at stride 1 and gives ``ceil(size / stride)`` otherwise;
    it needs an odd kernel so that both sides get the same padding.

    Args:
        padding: An int ≥ 0, ``"same"`` or ``"valid"``.
        kernel_size: The convolution's kernel size.
        dilation: The convolution's dilation.

    Returns:
        The padding in pixels.

    Raises:
        TypeError: If ``padding`` is neither an int nor a string.
        ValueError: If ``padding`` is negative, an unknown word, or ``"same"`` with an
            even kernel.
    """
    if isinstance(padding, str):
        _validate.choice("padding", padding, ("same", "valid"))
        if padding == "valid":
            return 0
        if kernel_size % 2 == 0:
            raise ValueError(
                f"padding='same' needs an odd kernel_size, got kernel_size={kernel_size}"
            )
        return dilation * (kernel_size - 1) // 2
    return _validate.non_negative_int("padding", padding)


def _format_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])


class _ReadsLikeItsCall:
    """Blocks whose ``repr`` names the call that built them, then their children (``extra_repr``).

    ``print(block)`` shows ``ConvBNReLUDrop(`` and ``1, 8, padding=1`` above the layers it
    holds, as PyTorch prints any module; :meth:`as_call` is the one-line call alone.
    """

    in_channels: int
    out_channels: int
    _options: dict[str, Any]

    def _call_args(self) -> tuple[Any, ...]:
        return (self.in_channels, self.out_channels)

    def extra_repr(self) -> str:
        """The arguments of the call that built the block (its children print below)."""
        return _format_args(self._call_args(), self._options)

    def as_call(self) -> str:
        """The call that builds an equal block, e.g. ``"ConvBNReLUDrop(1, 8, padding=1)"``.

        Returns:
            The call as one line of Python.
        """
        return f"{type(self).__name__}({self.extra_repr()})"


def _conv_unit(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    *,
    stride: int,
    padding: Any,
    dilation: int,
    bias: bool | None,
    norm: bool,
    activation: str | None,
    dropout: float,
    dropout_kind: str,
    order: str,
) -> list[tuple[str, nn.Module]]:
    """Validate a convolution unit's arguments and return its named layers in run order."""
    _validate.positive_int("in_channels", in_channels)
    _validate.positive_int("out_channels", out_channels)
    _validate.positive_int("kernel_size", kernel_size)
    _validate.positive_int("stride", stride)
    _validate.positive_int("dilation", dilation)
    _validate.flag("norm", norm)
    if activation is not None:
        if not isinstance(activation, str):
            raise TypeError(
                f"activation must be a name or None, got {activation!r} "
                f"({type(activation).__name__})"
            )
        _validate.choice("activation", activation, ACTIVATIONS)
    _validate.probability("dropout", dropout)
    _validate.choice("dropout_kind", dropout_kind, _DROPOUT_KINDS)
    _validate.choice("order", order, BLOCK_ORDERS)
    if bias is not None:
        _validate.flag("bias", bias)
    pixels = resolve_padding(padding, kernel_size, dilation)
    if bias is None:
        # A bias directly followed by BatchNorm is cancelled by the mean subtraction.
        bias = not (norm and order == "conv-bn-act")

    layers: list[tuple[str, nn.Module]] = [
        (
            "conv",
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=pixels,
                dilation=dilation,
                bias=bias,
            ),
        )
    ]
    norm_layer = [("bn", nn.BatchNorm2d(out_channels))] if norm else []
    act_layer = [("act", ACTIVATIONS[activation]())] if activation is not None else []
    layers += norm_layer + act_layer if order == "conv-bn-act" else act_layer + norm_layer
    if dropout > 0:
        layers.append(("drop", _DROPOUT_KINDS[dropout_kind](dropout)))
    return layers


class ConvBNReLUDrop(_ReadsLikeItsCall, nn.Sequential):
    """Convolution, BatchNorm, activation and dropout as one block.

    Children are named ``conv``, ``bn``, ``act`` and ``drop``; a part that is switched
    off (``norm=False``, ``activation=None``, ``dropout=0``) is not created at all.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Square kernel size.
        stride: Convolution stride.
        padding: Pixels per side, or ``"same"`` / ``"valid"`` (see :func:`resolve_padding`).
        dilation: Convolution dilation.
        bias: Whether the convolution has a bias. ``None`` (the default) means "only
            when no BatchNorm directly follows it".
        norm: Whether to add ``BatchNorm2d``.
        activation: An activation name from :data:`ACTIVATIONS`, or ``None``.
        dropout: Dropout rate in ``[0, 1)``; 0 adds no dropout module.
        dropout_kind: ``"element"`` (``nn.Dropout``) or ``"channel"`` (``nn.Dropout2d``).
        order: ``"conv-bn-act"`` or ``"conv-act-bn"`` (the seed's order).

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range or an unknown word.

    Example:
        >>> print(ConvBNReLUDrop(8, 12, padding=1, order="conv-act-bn", dropout=0.05, bias=True).as_call())
        ConvBNReLUDrop(8, 12, padding=1, bias=True, dropout=0.05, order='conv-act-bn')
    """

    _defaults: dict[str, Any] = {
        "kernel_size": 3,
        "stride": 1,
        "padding": "same",
        "dilation": 1,
        "bias": None,
        "norm": True,
        "activation": "relu",
        "dropout": 0.0,
        "dropout_kind": "element",
        "order": "conv-bn-act",
    }

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        *,
        stride: int = 1,
        padding: Padding = "same",
        dilation: int = 1,
        bias: bool | None = None,
        norm: bool = True,
        activation: str | None = "relu",
        dropout: float = 0.0,
        dropout_kind: str = "element",
        order: str = "conv-bn-act",
    ) -> None:
        options = {
            "kernel_size": kernel_size,
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "bias": bias,
            "norm": norm,
            "activation": activation,
            "dropout": dropout,
            "dropout_kind": dropout_kind,
            "order": order,
        }
        layers = _conv_unit(in_channels, out_channels, **options)
        super().__init__()
        for name, layer in layers:
            self.add_module(name, layer)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self._options = {k: v for k, v in options.items() if v != self._defaults[k]}



class SeparableConvBNReLUDrop(_ReadsLikeItsCall, nn.Sequential):
    """A depthwise-separable convolution unit: many channels for few parameters.

    A ``kernel_size``×``kernel_size`` depthwise convolution (one filter per input
    channel) and its BatchNorm, then a 1×1 pointwise convolution that mixes the
    channels, BatchNorm, activation and dropout. A full 3×3 convolution from ``c`` to
    ``c`` channels has ``9c²`` weights; this unit has ``9c + c²``, so at a fixed
    parameter budget it can be about three times as wide (MobileNet's and Xception's
    unit; no activation between the two convolutions, as in Xception).

    Children are named ``depthwise``, ``depthwise_bn``, ``pointwise``, ``bn``, ``act``
    and ``drop`` (the last only when ``dropout > 0``).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Square kernel size of the depthwise convolution.
        padding: Pixels per side of the depthwise convolution, or ``"same"`` /
            ``"valid"`` (see :func:`resolve_padding`).
        activation: An activation name from :data:`ACTIVATIONS`, or ``None``.
        dropout: Dropout rate in ``[0, 1)``; 0 adds no dropout module.
        dropout_kind: ``"element"`` (``nn.Dropout``) or ``"channel"`` (``nn.Dropout2d``).

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range or an unknown word.

    Example:
        >>> unit = SeparableConvBNReLUDrop(8, 32, padding=0)
        >>> print(unit.as_call())
        SeparableConvBNReLUDrop(8, 32, padding=0)
        >>> sum(p.numel() for p in unit.parameters())  # 72 + 16 + 256 + 64
        408
    """

    _defaults: dict[str, Any] = {
        "kernel_size": 3,
        "padding": "same",
        "activation": "relu",
        "dropout": 0.0,
        "dropout_kind": "element",
    }

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        *,
        padding: Padding = "same",
        activation: str | None = "relu",
        dropout: float = 0.0,
        dropout_kind: str = "element",
    ) -> None:
        _validate.positive_int("in_channels", in_channels)
        _validate.positive_int("kernel_size", kernel_size)
        pixels = resolve_padding(padding, kernel_size, 1)
        depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, padding=pixels, groups=in_channels, bias=False)
        pointwise = _conv_unit(in_channels, out_channels, 1, stride=1, padding=0, dilation=1, bias=False,
                               norm=True, activation=activation, dropout=dropout, dropout_kind=dropout_kind,
                               order="conv-bn-act")  # checks the other arguments
        super().__init__()
        self.add_module("depthwise", depthwise)
        self.add_module("depthwise_bn", nn.BatchNorm2d(in_channels))
        self.add_module("pointwise", pointwise[0][1])
        for name, layer in pointwise[1:]:  # bn, act, drop
            self.add_module(name, layer)
        self.in_channels = in_channels
        self.out_channels = out_channels
        options = {"kernel_size": kernel_size, "padding": padding, "activation": activation,
                   "dropout": dropout, "dropout_kind": dropout_kind}
        self._options = {k: v for k, v in options.items() if v != self._defaults[k]}



class Transition1x1(_ReadsLikeItsCall, nn.Sequential):
    """A transition between stages: a 1×1 convolution and a pooling step, in either order.

    The 1×1 convolution changes the channel count cheaply; the pooling halves the
    spatial size (for ``pool_size=2``). With ``out_channels=None`` the block is a pure
    pooling transition that keeps the channels, as between the seed's Model_1–3 stages.

    Children are named ``conv`` (and ``bn``, ``act`` if asked for) and ``pool``.

    Args:
        in_channels: Input channels.
        out_channels: Output channels of the 1×1 convolution, or ``None`` for no
            convolution.
        order: ``"conv-pool"`` (Model_4's) or ``"pool-conv"``.
        pool: ``"max"`` or ``"avg"``.
        pool_size: Pooling window and stride.
        bias: Whether the convolution has a bias; ``None`` means "only when no
            BatchNorm directly follows it".
        norm: Whether to add ``BatchNorm2d`` after the convolution.
        activation: An activation name from :data:`ACTIVATIONS`, or ``None``.
        unit_order: Order of BatchNorm and activation, as in :class:`ConvBNReLUDrop`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range or an unknown word, or if
            ``norm``/``activation`` is asked for without a convolution.

    Example:
        >>> print(Transition1x1(12, 6).as_call())
        Transition1x1(12, 6)
    """

    _defaults: dict[str, Any] = {
        "order": "conv-pool",
        "pool": "max",
        "pool_size": 2,
        "bias": None,
        "norm": False,
        "activation": None,
        "unit_order": "conv-bn-act",
    }

    def __init__(
        self,
        in_channels: int,
        out_channels: int | None = None,
        *,
        order: str = "conv-pool",
        pool: str = "max",
        pool_size: int = 2,
        bias: bool | None = None,
        norm: bool = False,
        activation: str | None = None,
        unit_order: str = "conv-bn-act",
    ) -> None:
        _validate.positive_int("in_channels", in_channels)
        _validate.choice("order", order, ("conv-pool", "pool-conv"))
        _validate.choice("pool", pool, ("max", "avg"))
        _validate.positive_int("pool_size", pool_size)
        options = {
            "order": order,
            "pool": pool,
            "pool_size": pool_size,
            "bias": bias,
            "norm": norm,
            "activation": activation,
            "unit_order": unit_order,
        }
        if out_channels is None:
            if norm or activation is not None:
                raise ValueError(
                    "norm and activation need a convolution; got out_channels=None with "
                    f"norm={norm!r}, activation={activation!r}"
                )
            conv_layers: list[tuple[str, nn.Module]] = []
        else:
            conv_layers = _conv_unit(
                in_channels,
                out_channels,
                1,
                stride=1,
                padding=0,
                dilation=1,
                bias=bias,
                norm=norm,
                activation=activation,
                dropout=0.0,
                dropout_kind="element",
                order=unit_order,
            )
        pool_module = nn.MaxPool2d(pool_size) if pool == "max" else nn.AvgPool2d(pool_size)
        pool_layer: list[tuple[str, nn.Module]] = [("pool", pool_module)]
        layers = conv_layers + pool_layer if order == "conv-pool" else pool_layer + conv_layers
        super().__init__()
        for name, layer in layers:
            self.add_module(name, layer)
        self.in_channels = in_channels
        self.out_channels = in_channels if out_channels is None else out_channels
        self._args = (in_channels,) if out_channels is None else (in_channels, out_channels)
        self._options = {k: v for k, v in options.items() if v != self._defaults[k]}

    def _call_args(self) -> tuple[Any, ...]:
        return self._args


class Residual(nn.Module):
    """A unit plus its own input (a skip connection): ``unit(x) + x``.

    When the unit has no padding its output is smaller than its input; the input is then
    cropped to the output's size around the centre (the pixels the unit's output is centred
    on), so unpadded units can carry a skip connection too. The crop is worked out once,
    from the unit's convolutions, so an exported graph holds a fixed slice. The addition
    costs no parameters. Its child is named ``unit``.

    Args:
        unit: A block whose ``in_channels`` equals its ``out_channels``, with stride-1
            convolutions (and no pooling).

    Raises:
        TypeError: If ``unit`` is not a module.
        ValueError: If the unit changes the number of channels, has a stride other than 1
            or a pooling layer (its output would no longer line up with its input), or pads
            more than its kernels take away.

    Example:
        >>> import torch
        >>> block = Residual(ConvBNReLUDrop(6, 6, padding=0))
        >>> print(block.as_call())
        Residual(ConvBNReLUDrop(6, 6, padding=0))
        >>> block(torch.zeros(2, 6, 12, 12)).shape
        torch.Size([2, 6, 10, 10])
    """

    def __init__(self, unit: nn.Module) -> None:
        if not isinstance(unit, nn.Module):
            raise TypeError(f"unit must be a torch.nn.Module, got {type(unit).__name__}")
        in_channels = getattr(unit, "in_channels", None)
        out_channels = getattr(unit, "out_channels", None)
        if in_channels is None or in_channels != out_channels:
            raise ValueError(f"unit must keep its number of channels for the skip connection, got "
                             f"in_channels={in_channels!r} and out_channels={out_channels!r}")
        super().__init__()
        self.unit = unit
        self.in_channels = self.out_channels = in_channels
        self.crop = _pixels_lost_per_side(unit)

    def forward(self, x: Any) -> Any:
        """The unit's output plus its input, cropped by :attr:`crop` pixels on each side.

        Args:
            x: Input ``(B, C, H, W)``.

        Returns:
            ``unit(x) + x`` (cropped), ``(B, C, H - 2 crop, W - 2 crop)``.
        """
        out = self.unit(x)
        c = self.crop
        return out + (x[..., c:-c, c:-c] if c else x)

    def as_call(self) -> str:
        """The call that builds an equal block, e.g. ``"Residual(ConvBNReLUDrop(4, 4))"``.

        Returns:
            The call as one line of Python.
        """
        return f"Residual({self.unit.as_call()})"


def _pixels_lost_per_side(unit: nn.Module) -> int:
    """How many pixels a stride-1 unit's convolutions take off each side of the map."""
    lost = 0
    for module in unit.modules():
        if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            raise ValueError(f"unit must keep the pixel grid for the skip connection, got a pooling layer {module}")
        if isinstance(module, nn.Conv2d):
            if module.stride != (1, 1):
                raise ValueError(f"unit must keep the pixel grid (stride 1) for the skip connection, got a "
                                 f"convolution with stride {module.stride}")
            if isinstance(module.padding, str) or len(set(module.kernel_size)) > 1 or len(set(module.padding)) > 1 \
                    or len(set(module.dilation)) > 1:
                raise ValueError(f"unit must use square kernels with numeric padding for the skip connection, "
                                 f"got {module}")
            span = module.dilation[0] * (module.kernel_size[0] - 1)
            if span % 2:
                raise ValueError(f"unit's convolution {module} has an even kernel: its output is not centred "
                                 "on its input, so no skip connection lines up")
            lost += span // 2 - module.padding[0]
    if lost < 0:
        raise ValueError(f"unit pads more than its kernels take away ({-lost} pixels per side): its output is "
                         "larger than its input, so no skip connection lines up")
    return lost


class GlobalAvgPool2d(Reduce):
    """Global average pooling that keeps a 1×1 map: ``(B, C, H, W) -> (B, C, 1, 1)``.

    An einops ``Reduce('b c h w -> b c 1 1', 'mean')`` under a name that inspection
    tools recognise as "covers the whole remaining map".
    """

    def __init__(self) -> None:
        super().__init__("b c h w -> b c 1 1", "mean")

    def __repr__(self) -> str:  # einops prints its pattern; this layer has no arguments
        return "GlobalAvgPool2d()"

    def __setstate__(self, state: dict[str, Any]) -> None:
        # einops restores a layer by calling __init__ with its pattern; ours takes none.
        self.__init__()  # type: ignore[misc]


class GAPHead(_ReadsLikeItsCall, nn.Sequential):
    """Classifier head: global average pooling and a convolution to the class count.

    ``order="pool-conv"`` pools first and then applies a 1×1 convolution (Model_4);
    ``order="conv-pool"`` convolves the last feature map first (Models 1–3 use a 3×3
    convolution there) and then pools. The result is flattened to ``(B, num_classes)``
    and, by default, passed through ``log_softmax(dim=1)`` so that it pairs with
    ``F.nll_loss``.

    Children are named ``conv``, ``pool``, ``flatten`` and (if asked for) ``log_softmax``.

    Args:
        in_channels: Input channels.
        num_classes: Number of classes.
        kernel_size: Kernel size of the convolution; must be 1 with ``"pool-conv"``.
        padding: Padding of the convolution (see :func:`resolve_padding`).
        order: ``"pool-conv"`` or ``"conv-pool"``.
        bias: Whether the convolution has a bias.
        output: ``"log_softmax"`` or ``"logits"``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range or an unknown word, or if
            ``order="pool-conv"`` is combined with ``kernel_size != 1``.

    Example:
        >>> print(GAPHead(12, 10).as_call())
        GAPHead(12, 10)
    """

    _defaults: dict[str, Any] = {
        "kernel_size": 1,
        "padding": 0,
        "order": "pool-conv",
        "bias": True,
        "output": "log_softmax",
    }

    def __init__(
        self,
        in_channels: int,
        num_classes: int = 10,
        *,
        kernel_size: int = 1,
        padding: Padding = 0,
        order: str = "pool-conv",
        bias: bool = True,
        output: str = "log_softmax",
    ) -> None:
        _validate.positive_int("in_channels", in_channels)
        _validate.positive_int("num_classes", num_classes)
        _validate.positive_int("kernel_size", kernel_size)
        _validate.choice("order", order, ("pool-conv", "conv-pool"))
        _validate.flag("bias", bias)
        _validate.choice("output", output, ("log_softmax", "logits"))
        if order == "pool-conv" and kernel_size != 1:
            raise ValueError(
                "order='pool-conv' convolves a 1x1 map, so kernel_size must be 1; "
                f"got kernel_size={kernel_size}"
            )
        pixels = resolve_padding(padding, kernel_size)
        conv = ("conv", nn.Conv2d(in_channels, num_classes, kernel_size, padding=pixels, bias=bias))
        pool = ("pool", GlobalAvgPool2d())
        layers = [pool, conv] if order == "pool-conv" else [conv, pool]
        layers.append(("flatten", Rearrange("b c 1 1 -> b c")))
        if output == "log_softmax":
            layers.append(("log_softmax", nn.LogSoftmax(dim=1)))
        super().__init__()
        for name, layer in layers:
            self.add_module(name, layer)
        self.in_channels = in_channels
        self.out_channels = num_classes
        options = {
            "kernel_size": kernel_size,
            "padding": padding,
            "order": order,
            "bias": bias,
            "output": output,
        }
        self._options = {k: v for k, v in options.items() if v != self._defaults[k]}

