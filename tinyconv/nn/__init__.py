"""Network building blocks: composable layers and the input-checking TinyNet container."""

from tinyconv.nn.blocks import (
    ACTIVATIONS,
    ConvBNReLUDrop,
    GAPHead,
    GlobalAvgPool2d,
    Residual,
    SeparableConvBNReLUDrop,
    Transition1x1,
    resolve_padding,
)
from tinyconv.nn.net import InputShapeError, TinyNet

__all__ = [
    "ACTIVATIONS",
    "ConvBNReLUDrop",
    "GAPHead",
    "GlobalAvgPool2d",
    "Residual",
    "SeparableConvBNReLUDrop",
    "Transition1x1",
    "resolve_padding",
    "InputShapeError",
    "TinyNet",
]
