"""Blocks: analytic shapes and parameter counts against the real layers, bad arguments, repr."""

from __future__ import annotations

import math
import pickle

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tinyconv.nn.blocks import (
    ConvBNReLUDrop,
    GAPHead,
    GlobalAvgPool2d,
    Residual,
    SeparableConvBNReLUDrop,
    Transition1x1,
    resolve_padding,
)
from tinyconv.budget import count_params


def conv_out(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """The textbook output size of a convolution or pooling window."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@st.composite
def conv_configs(draw):
    kernel = draw(st.integers(1, 5))
    dilation = draw(st.integers(1, 2))
    padding = draw(st.one_of(st.integers(0, 3), st.sampled_from(["valid", "same"])))
    if padding == "same" and kernel % 2 == 0:
        kernel += 1
    stride = draw(st.integers(1, 3))
    span = dilation * (kernel - 1) + 1
    size = draw(st.integers(span, 16))
    return {
        "in_channels": draw(st.integers(1, 6)),
        "out_channels": draw(st.integers(1, 6)),
        "kernel_size": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "bias": draw(st.sampled_from([None, True, False])),
        "norm": draw(st.booleans()),
        "activation": draw(st.sampled_from([None, "relu", "silu"])),
        "dropout": draw(st.sampled_from([0.0, 0.1])),
        "order": draw(st.sampled_from(["conv-bn-act", "conv-act-bn"])),
        "size": size,
        "batch": draw(st.integers(1, 3)),
    }


@settings(max_examples=60, deadline=None)
@given(conv_configs())
def test_conv_block_shape_and_params_match_formulas(cfg):
    size, batch = cfg.pop("size"), cfg.pop("batch")
    block = ConvBNReLUDrop(**cfg).eval()  # eval: BatchNorm accepts a 1x1 map of one image
    k, s, d = cfg["kernel_size"], cfg["stride"], cfg["dilation"]
    pad = {"valid": 0, "same": d * (k - 1) // 2}.get(cfg["padding"], cfg["padding"])
    out = conv_out(size, k, s, pad, d)
    if cfg["padding"] == "same":
        assert out == math.ceil(size / s)
    bias = cfg["bias"] if cfg["bias"] is not None else not (cfg["norm"] and cfg["order"] == "conv-bn-act")
    expected_params = (
        cfg["in_channels"] * cfg["out_channels"] * k * k
        + cfg["out_channels"] * bias
        + 2 * cfg["out_channels"] * cfg["norm"]
    )
    x = torch.randn(batch, cfg["in_channels"], size, size)
    assert block(x).shape == (batch, cfg["out_channels"], out, out)
    assert count_params(block) == expected_params
    assert (block.in_channels, block.out_channels) == (cfg["in_channels"], cfg["out_channels"])


@settings(max_examples=40, deadline=None)
@given(
    in_channels=st.integers(1, 8),
    out_channels=st.one_of(st.none(), st.integers(1, 8)),
    order=st.sampled_from(["conv-pool", "pool-conv"]),
    pool=st.sampled_from(["max", "avg"]),
    pool_size=st.integers(1, 3),
    size=st.integers(3, 20),
    batch=st.integers(1, 3),
)
def test_transition_shape_and_params(in_channels, out_channels, order, pool, pool_size, size, batch):
    block = Transition1x1(in_channels, out_channels, order=order, pool=pool, pool_size=pool_size)
    out_c = in_channels if out_channels is None else out_channels
    expected_params = 0 if out_channels is None else in_channels * out_channels + out_channels
    y = block(torch.randn(batch, in_channels, size, size))
    assert y.shape == (batch, out_c, size // pool_size, size // pool_size)
    assert count_params(block) == expected_params
    assert block.out_channels == out_c


@settings(max_examples=40, deadline=None)
@given(
    in_channels=st.integers(1, 8),
    classes=st.integers(1, 12),
    kernel=st.sampled_from([1, 3]),
    order=st.sampled_from(["conv-pool", "pool-conv"]),
    output=st.sampled_from(["log_softmax", "logits"]),
    size=st.integers(3, 9),
    batch=st.integers(1, 3),
)
def test_head_shape_params_and_output(in_channels, classes, kernel, order, output, size, batch):
    if order == "pool-conv":
        kernel = 1
    head = GAPHead(in_channels, classes, kernel_size=kernel, order=order, output=output)
    y = head(torch.randn(batch, in_channels, size, size))
    assert y.shape == (batch, classes)
    assert count_params(head) == in_channels * classes * kernel * kernel + classes
    if output == "log_softmax":
        torch.testing.assert_close(y.exp().sum(dim=1), torch.ones(batch))


@settings(max_examples=40, deadline=None)
@given(
    in_channels=st.integers(1, 8),
    out_channels=st.integers(1, 8),
    kernel=st.sampled_from([1, 3, 5]),
    padding=st.one_of(st.integers(0, 2), st.just("same")),
    size=st.integers(5, 12),
)
def test_separable_unit_shape_and_params_match_formulas(in_channels, out_channels, kernel, padding, size):
    block = SeparableConvBNReLUDrop(in_channels, out_channels, kernel, padding=padding).eval()
    pad = (kernel - 1) // 2 if padding == "same" else padding
    out = block(torch.randn(2, in_channels, size, size))
    assert out.shape == (2, out_channels, conv_out(size, kernel, 1, pad, 1), conv_out(size, kernel, 1, pad, 1))
    # depthwise k*k per input channel, pointwise c_in*c_out, two BatchNorms (scale and shift)
    expected = kernel * kernel * in_channels + in_channels * out_channels + 2 * in_channels + 2 * out_channels
    assert count_params(block) == expected
    assert block.depthwise.groups == in_channels and block.pointwise.kernel_size == (1, 1)
    assert list(dict(block.named_children())) == ["depthwise", "depthwise_bn", "pointwise", "bn", "act"]


def test_separable_unit_is_a_depthwise_then_pointwise_convolution():
    block = SeparableConvBNReLUDrop(3, 5, padding=1, activation=None).eval()
    x = torch.randn(2, 3, 7, 7)
    manual = block.bn(block.pointwise(block.depthwise_bn(torch.nn.functional.conv2d(
        x, block.depthwise.weight, padding=1, groups=3))))
    torch.testing.assert_close(block(x), manual)
    # per input channel, the depthwise step sees only that channel
    y = x.clone()
    y[:, 1] += 1.0
    depthwise_changed = (block.depthwise(y) - block.depthwise(x)).abs().sum(dim=(0, 2, 3))
    assert depthwise_changed[0] == 0 and depthwise_changed[2] == 0 and depthwise_changed[1] > 0


def test_seed_order_puts_relu_before_batchnorm():
    block = ConvBNReLUDrop(1, 4, order="conv-act-bn", dropout=0.1)
    assert [name for name, _ in block.named_children()] == ["conv", "act", "bn", "drop"]
    block = ConvBNReLUDrop(1, 4, dropout=0.1)
    assert [name for name, _ in block.named_children()] == ["conv", "bn", "act", "drop"]


def test_switched_off_parts_are_absent():
    block = ConvBNReLUDrop(1, 4, norm=False, activation=None, dropout=0)
    assert [name for name, _ in block.named_children()] == ["conv"]
    assert block.conv.bias is not None  # no norm follows, so the default keeps the bias


def test_channel_dropout_uses_dropout2d():
    assert isinstance(ConvBNReLUDrop(1, 4, dropout=0.1, dropout_kind="channel").drop, nn.Dropout2d)


def test_transition_orders():
    assert [n for n, _ in Transition1x1(4, 2).named_children()] == ["conv", "pool"]
    assert [n for n, _ in Transition1x1(4, 2, order="pool-conv").named_children()] == ["pool", "conv"]
    assert [n for n, _ in Transition1x1(4, 2, norm=True, activation="relu").named_children()] == [
        "conv",
        "bn",
        "act",
        "pool",
    ]


def test_global_pool_equals_seed_avgpool():
    x = torch.randn(2, 10, 5, 5)
    seed = nn.AvgPool2d(5, 2)(x)
    torch.testing.assert_close(GlobalAvgPool2d()(x), seed)


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: ConvBNReLUDrop(0, 4), ValueError, ["in_channels", "0"]),
        (lambda: ConvBNReLUDrop(1, -2), ValueError, ["out_channels", "-2"]),
        (lambda: ConvBNReLUDrop(1.5, 4), TypeError, ["in_channels", "1.5"]),
        (lambda: ConvBNReLUDrop(True, 4), TypeError, ["in_channels", "True"]),
        (lambda: ConvBNReLUDrop(1, 4, kernel_size=0), ValueError, ["kernel_size", "0"]),
        (lambda: ConvBNReLUDrop(1, 4, stride=0), ValueError, ["stride", "0"]),
        (lambda: ConvBNReLUDrop(1, 4, padding=-1), ValueError, ["padding", "-1"]),
        (lambda: ConvBNReLUDrop(1, 4, padding="full"), ValueError, ["padding", "'full'"]),
        (lambda: ConvBNReLUDrop(1, 4, padding=1.0), TypeError, ["padding", "1.0"]),
        (lambda: ConvBNReLUDrop(1, 4, kernel_size=2, padding="same"), ValueError, ["same", "kernel_size=2"]),
        (lambda: ConvBNReLUDrop(1, 4, dropout=1.0), ValueError, ["dropout", "1.0"]),
        (lambda: ConvBNReLUDrop(1, 4, dropout=-0.1), ValueError, ["dropout", "-0.1"]),
        (lambda: ConvBNReLUDrop(1, 4, dropout="0.1"), TypeError, ["dropout", "'0.1'"]),
        (lambda: ConvBNReLUDrop(1, 4, order="bn-conv"), ValueError, ["order", "'bn-conv'"]),
        (lambda: ConvBNReLUDrop(1, 4, activation="tanhh"), ValueError, ["activation", "'tanhh'"]),
        (lambda: ConvBNReLUDrop(1, 4, activation=nn.ReLU), TypeError, ["activation"]),
        (lambda: ConvBNReLUDrop(1, 4, norm="yes"), TypeError, ["norm", "'yes'"]),
        (lambda: ConvBNReLUDrop(1, 4, bias=1), TypeError, ["bias", "1"]),
        (lambda: ConvBNReLUDrop(1, 4, dropout_kind="pixel"), ValueError, ["dropout_kind", "'pixel'"]),
        (lambda: SeparableConvBNReLUDrop(0, 4), ValueError, ["in_channels", "0"]),
        (lambda: SeparableConvBNReLUDrop(4, 0), ValueError, ["out_channels", "0"]),
        (lambda: SeparableConvBNReLUDrop(4, 4, kernel_size=0), ValueError, ["kernel_size", "0"]),
        (lambda: SeparableConvBNReLUDrop(4, 4, padding=-1), ValueError, ["padding", "-1"]),
        (lambda: SeparableConvBNReLUDrop(4, 4, dropout=1.0), ValueError, ["dropout", "1.0"]),
        (lambda: SeparableConvBNReLUDrop(4, 4, activation="tanhh"), ValueError, ["activation", "'tanhh'"]),
        (lambda: SeparableConvBNReLUDrop(4, 4, dropout_kind="pixel"), ValueError, ["dropout_kind", "'pixel'"]),
        (lambda: Transition1x1(0, 4), ValueError, ["in_channels", "0"]),
        (lambda: Transition1x1(4, 0), ValueError, ["out_channels", "0"]),
        (lambda: Transition1x1(4, 2, order="pool-pool"), ValueError, ["order", "'pool-pool'"]),
        (lambda: Transition1x1(4, 2, pool="min"), ValueError, ["pool", "'min'"]),
        (lambda: Transition1x1(4, 2, pool_size=0), ValueError, ["pool_size", "0"]),
        (lambda: Transition1x1(4, norm=True), ValueError, ["out_channels=None", "norm=True"]),
        (lambda: GAPHead(4, 0), ValueError, ["num_classes", "0"]),
        (lambda: GAPHead(4, 10, kernel_size=3), ValueError, ["kernel_size", "3"]),
        (lambda: GAPHead(4, 10, order="conv"), ValueError, ["order", "'conv'"]),
        (lambda: GAPHead(4, 10, output="softmax"), ValueError, ["output", "'softmax'"]),
    ],
)
def test_bad_arguments_fail_at_construction_naming_the_culprit(make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_resolve_padding():
    assert resolve_padding("valid", 3) == 0
    assert resolve_padding("same", 5) == 2
    assert resolve_padding("same", 3, dilation=2) == 2
    assert resolve_padding(2, 3) == 2


BLOCKS = [
    ConvBNReLUDrop(3, 5),
    ConvBNReLUDrop(1, 8, 5, stride=2, padding=2, bias=True, dropout=0.05, order="conv-act-bn"),
    ConvBNReLUDrop(2, 4, norm=False, activation="silu", dropout=0.1, dropout_kind="channel"),
    Transition1x1(12, 6),
    Transition1x1(12),
    Transition1x1(8, 4, order="pool-conv", pool="avg", norm=True, activation="relu"),
    GAPHead(12, 10),
    GAPHead(32, 10, kernel_size=3, order="conv-pool", output="logits"),
    SeparableConvBNReLUDrop(4, 16),
    SeparableConvBNReLUDrop(3, 12, 5, padding=0, activation="silu", dropout=0.1, dropout_kind="channel"),
]


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.as_call())
def test_the_call_rebuilds_the_same_block(block):
    namespace = {"ConvBNReLUDrop": ConvBNReLUDrop, "Transition1x1": Transition1x1, "GAPHead": GAPHead,
                 "SeparableConvBNReLUDrop": SeparableConvBNReLUDrop}
    rebuilt = eval(block.as_call(), namespace)  # noqa: S307 - our own call
    assert repr(rebuilt) == repr(block) and rebuilt.as_call() == block.as_call()
    assert [type(m) for m in rebuilt.modules()] == [type(m) for m in block.modules()]
    assert count_params(rebuilt) == count_params(block)


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.as_call())
def test_the_repr_shows_the_call_then_the_children(block):
    lines = repr(block).splitlines()
    assert lines[0] == f"{type(block).__name__}(" and lines[1].strip() == block.extra_repr()
    assert all(f"({name}): " in repr(block) for name, _ in block.named_children())


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.as_call())
def test_blocks_survive_pickle_and_export(block):
    block.eval()
    x = torch.randn(2, block.in_channels, 9, 9)
    expected = block(x)
    torch.testing.assert_close(pickle.loads(pickle.dumps(block))(x), expected)
    exported = torch.export.export(block, (x,))
    torch.testing.assert_close(exported.module()(x), expected)


@pytest.mark.parametrize("padding", [0, 1])
def test_residual_adds_the_centre_cropped_input(padding):
    torch.manual_seed(0)
    unit = ConvBNReLUDrop(4, 4, padding=padding).eval()
    block = Residual(unit)
    x = torch.randn(2, 4, 9, 9)
    crop = x[..., 1:8, 1:8] if padding == 0 else x
    torch.testing.assert_close(block(x), unit(x) + crop)
    assert count_params(block) == count_params(unit)
    assert block.as_call() == f"Residual(ConvBNReLUDrop(4, 4, padding={padding}))"
    assert "(unit): ConvBNReLUDrop(" in repr(block)


def test_residual_crops_what_the_units_convolutions_take_away():
    unit = nn.Sequential(nn.Conv2d(1, 1, 3, padding=0, bias=False), nn.Conv2d(1, 1, 5, padding=1, bias=False))
    unit.in_channels = unit.out_channels = 1  # a bare Sequential names no widths
    block = Residual(unit)
    assert block.crop == 2
    with torch.no_grad():
        for conv in unit:
            conv.weight.zero_()
    x = torch.arange(64.0).reshape(1, 1, 8, 8)
    assert torch.equal(block(x), x[..., 2:6, 2:6])


@pytest.mark.parametrize("unit, words", [
    (ConvBNReLUDrop(4, 6), "in_channels=4 and out_channels=6"),
    (ConvBNReLUDrop(4, 4, stride=2), "stride 1"),
    (ConvBNReLUDrop(4, 4, kernel_size=2, padding=0), "even kernel"),
    (ConvBNReLUDrop(4, 4, padding=2), "pads more than its kernels take away"),
    (Transition1x1(4, 4), "pooling layer"),
    (nn.ReLU(), "in_channels=None"),
])
def test_residual_refuses_units_that_cannot_carry_a_skip(unit, words):
    with pytest.raises(ValueError, match=words):
        Residual(unit)
    with pytest.raises(TypeError, match="unit must be a torch.nn.Module"):
        Residual("conv")
