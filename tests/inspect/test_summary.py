"""Inspection: summary rows against the real forward pass, FlopCounterMode and a gradient probe."""

from __future__ import annotations

import math

from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from tinyconv.nn.blocks import ConvBNReLUDrop, GAPHead, Transition1x1
from tinyconv.budget import count_params
from tinyconv.inspect.summary import UnknownLayerError, summary
from tinyconv.zoo import get_model, get_model_info, list_models

GOLDEN = Path(__file__).parent / "golden"


def out_size(n, k, s, p, d=1):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


@st.composite
def _axes(draw, kernels, strides, dilations=(1,)):
    """A window's (kernel, stride, padding, dilation) for the height and the width axis, drawn apart."""
    k = (draw(st.sampled_from(kernels)), draw(st.sampled_from(kernels)))
    stride = (draw(st.sampled_from(strides)), draw(st.sampled_from(strides)))
    d = (draw(st.sampled_from(dilations)), draw(st.sampled_from(dilations)))
    p = tuple(draw(st.integers(0, (d[i] * (k[i] - 1)) // 2 + (1 if dilations != (1,) else 0))) for i in (0, 1))
    return k, stride, p, d


@st.composite
def stacks(draw, allow_global=True):
    """A random valid sequential stack of tinyconv blocks and plain layers, with its input size.

    Plain convolutions and pools get their own kernel, stride, padding and dilation per
    axis and the input need not be square, so that a formula using the height's window
    for the width (or the reverse) is caught.
    """
    channels = draw(st.integers(1, 3))
    h0, w0 = draw(st.integers(8, 24)), draw(st.integers(8, 24))
    c, h, w = channels, h0, w0
    layers: list[nn.Module] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["block", "conv", "pool", "transition", "act", "bn"]))
        if kind == "block":
            k, s, d = draw(st.sampled_from([1, 3, 5])), draw(st.integers(1, 2)), draw(st.integers(1, 2))
            p = draw(st.integers(0, (d * (k - 1)) // 2 + 1))
            if min(out_size(h, k, s, p, d), out_size(w, k, s, p, d)) < 1:
                continue
            c2 = draw(st.integers(1, 6))
            layers.append(ConvBNReLUDrop(c, c2, k, stride=s, padding=p, dilation=d,
                                         order=draw(st.sampled_from(["conv-bn-act", "conv-act-bn"]))))
            c, h, w = c2, out_size(h, k, s, p, d), out_size(w, k, s, p, d)
        elif kind == "conv":
            k, s, p, d = draw(_axes([1, 3, 5], [1, 2], (1, 2)))
            nh, nw = out_size(h, k[0], s[0], p[0], d[0]), out_size(w, k[1], s[1], p[1], d[1])
            if min(nh, nw) < 1:
                continue
            c2 = draw(st.integers(1, 6))
            layers.append(nn.Conv2d(c, c2, k, stride=s, padding=p, dilation=d,
                                    groups=draw(st.sampled_from([g for g in (1, c) if c2 % g == 0]))))
            c, h, w = c2, nh, nw
        elif kind == "pool":
            k, s, _, _ = draw(_axes([1, 2, 3], [1, 2, 3]))
            p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
            nh, nw = out_size(h, k[0], s[0], p[0]), out_size(w, k[1], s[1], p[1])
            if min(nh, nw) < 1:
                continue
            layers.append(draw(st.sampled_from([nn.MaxPool2d, nn.AvgPool2d]))(k, s, p))
            h, w = nh, nw
        elif kind == "transition":
            if min(h, w) < 2:
                continue
            c2 = draw(st.one_of(st.none(), st.integers(1, 6)))
            layers.append(Transition1x1(c, c2, order=draw(st.sampled_from(["conv-pool", "pool-conv"]))))
            c, h, w = (c if c2 is None else c2), h // 2, w // 2
        elif kind == "act":
            layers.append(draw(st.sampled_from([nn.ReLU, nn.SiLU, nn.Identity]))())
        else:
            layers.append(nn.BatchNorm2d(c))
    tail = draw(st.sampled_from(["none", "gap", "linear"] if allow_global else ["none"]))
    if tail == "gap":
        layers.append(GAPHead(c, draw(st.integers(2, 10))))
    elif tail == "linear":
        layers += [nn.Flatten(), nn.Linear(c * h * w, draw(st.integers(2, 10)))]
    if not layers:  # every drawn layer was skipped as too big for the image: a stack has at least one layer
        layers.append(nn.ReLU())
    return nn.Sequential(*layers), (channels, h0, w0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks())
def test_summary_matches_forward_params_and_flop_counter(case):
    model, input_size = case
    result = summary(model, input_size, strict=True)
    # shapes: every row's output is what the layer really produced
    shapes = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
             for m in model.modules() if not list(m.children()) and not isinstance(m, nn.Sequential)]
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(1, *input_size))
    for h in hooks:
        h.remove()
    assert [row.output_shape for row in result.rows] == shapes
    assert result.output_shape == tuple(out.shape[1:])
    # parameters: rows sum to the budget count
    assert sum(row.params for row in result.rows) == count_params(model) == result.total_params
    # MACs: convolutions and linear layers are half of FlopCounterMode's FLOPs
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, *input_size))
    conv_linear = sum(r.macs for r in result.rows if r.type in ("Conv2d", "Linear"))
    assert 2 * conv_linear == counter.get_total_flops()


def probe_receptive_field(model: nn.Module, input_size) -> tuple[int, int]:
    """Measure the receptive field of the centre output unit by back-propagation.

    Weights are made positive and max-pooling is swapped for average pooling with the same
    window, so that no gradient path is cut by a ReLU or an argmax; the measured extent is
    then the bounding box of the input pixels with a non-zero gradient.
    """
    model = model.double().eval()
    for _name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.MaxPool2d):
                setattr(module, child_name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand_like(p) + 0.5)
    x = torch.ones(1, *input_size, dtype=torch.float64, requires_grad=True)
    y = model(x)
    h, w = y.shape[-2] // 2, y.shape[-1] // 2
    y[0, :, h, w].sum().backward()
    rows = x.grad[0].abs().sum(0).sum(1).nonzero()
    cols = x.grad[0].abs().sum(0).sum(0).nonzero()
    # A centre unit whose whole field lies in zero padding sees no pixel: nothing to measure.
    assume(rows.numel() > 0)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks(allow_global=False))
def test_receptive_field_equals_gradient_probe(case):
    model, (c, _, _) = case
    analytic = summary(model, (c, 24, 24), strict=True).receptive_field
    assert analytic is not None
    # A large input keeps the centre unit's whole field inside the image.
    size = 2 * max(analytic) + 24
    shape = summary(model, (c, size, size)).output_shape  # a larger input always fits
    assert summary(model, (c, size, size)).receptive_field == analytic
    if len(shape) == 3:
        assert probe_receptive_field(model, (c, size, size)) == analytic


def test_summary_leaves_the_model_exactly_as_it_was():
    model = get_model("model4")
    model.train()
    model.block3.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    summary(model)
    assert model.training and not model.block3.training and model.block4.training
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN running stats included


def test_model4_table_matches_golden_file():
    text = str(summary(get_model("model4")))
    assert text == (GOLDEN / "model4_summary.txt").read_text().rstrip("\n")


@pytest.mark.parametrize("name", list_models())
def test_every_zoo_summary_fits_88_columns(name):
    """The docs show summaries in a fixed-width page, and terminals are often 80-100 columns wide."""
    text = str(summary(get_model(name), get_model_info(name).input_size))
    assert max(len(line) for line in text.splitlines()) <= 88


@pytest.mark.parametrize("name", list_models())
def test_zoo_metadata_matches_summary(name):
    info = get_model_info(name)
    result = summary(get_model(name), info.input_size)
    assert result.receptive_field == (info.receptive_field,) * 2
    assert result.total_macs == info.macs


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 1, 3, padding=1)
        self.b = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x):
        return self.b(torch.relu(self.a(x))) + x


def test_branches_are_unknown_not_identity():
    result = summary(Residual(), (1, 8, 8))
    assert result.rows[0].receptive_field == (3, 3)
    assert result.rows[1].receptive_field is None and result.receptive_field is None
    assert any("not the previous layer's output" in note for note in result.notes)
    assert "?" in str(result)
    with pytest.raises(UnknownLayerError, match="not the previous layer's output"):
        summary(Residual(), (1, 8, 8), strict=True)


def test_a_residual_block_keeps_its_units_receptive_field():
    from tinyconv.nn.blocks import Residual as SkipBlock

    chain = nn.Sequential(ConvBNReLUDrop(1, 4, padding=0), ConvBNReLUDrop(4, 4, padding=0), GAPHead(4, 10))
    skip = nn.Sequential(ConvBNReLUDrop(1, 4, padding=0), SkipBlock(ConvBNReLUDrop(4, 4, padding=0)), GAPHead(4, 10))
    skip.load_state_dict(chain.state_dict(), strict=False)
    plain, branched = summary(chain, (1, 12, 12), strict=True), summary(skip, (1, 12, 12), strict=True)
    assert [r.receptive_field for r in branched.rows] == [r.receptive_field for r in plain.rows]
    assert branched.rows[3].receptive_field == (5, 5) and branched.receptive_field == plain.receptive_field
    assert not any("unknown" in note for note in branched.notes)


def test_unknown_layer_types_are_unknown():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 3))
    result = summary(model, (1, 8, 8))
    assert [r.receptive_field for r in result.rows] == [(3, 3), None, None]
    assert result.rows[1].macs is None and result.total_macs is None
    assert "MACs per image: unknown" in str(result)
    with pytest.raises(UnknownLayerError, match="Upsample"):
        summary(model, (1, 8, 8), strict=True)


def test_parameters_outside_leaf_layers_are_still_counted():
    class WithScale(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3)
            self.scale = nn.Parameter(torch.ones(5))

        def forward(self, x):
            return self.conv(x) * self.scale[0]

    result = summary(WithScale(), (1, 8, 8))
    assert sum(r.params for r in result.rows) == count_params(WithScale()) == 15
    assert result.rows[-1].type == "(not run)"


def test_shared_layers_count_once():
    conv = nn.Conv2d(2, 2, 3, padding=1)
    result = summary(nn.Sequential(conv, nn.ReLU(), conv), (2, 6, 6))
    assert [r.params for r in result.rows] == [38, 0, 0]
    assert result.rows[-1].receptive_field == (5, 5)
    assert not result.notes  # one layer run twice shares with nobody
    tied = nn.Sequential(nn.Conv2d(2, 2, 3, padding=1, bias=False), nn.Conv2d(2, 2, 3, padding=1, bias=False))
    tied[1].weight = tied[0].weight
    result = summary(tied, (2, 6, 6))
    assert [r.params for r in result.rows] == [36, 0] and result.total_params == 36
    assert result.notes == ["1 shares weights with 0, counted once there"]


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: summary("model4"), TypeError, "nn.Module"),
        (lambda: summary(get_model("model4"), (1, 0, 28)), ValueError, "input_size[1]"),
        (lambda: summary(get_model("model4"), 28), ValueError, "input_size"),
        (lambda: summary(get_model("model4"), (3, 28, 28)), ValueError, "failed on an input of size (3, 28, 28)"),
        (lambda: summary(get_model("model4"), (1, 4, 4)), ValueError, "failed on an input"),
    ],
)
def test_bad_summary_arguments(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_pooling_and_global_pooling_against_a_hand_derivation():
    """Non-square windows, derived by hand for input 1x11x9:

    conv (3,1): out 2x9x9, MACs 2*9*9*3 = 486, RF (3, 1);
    max-pool k=(2,3) s=(2,1): out 2x4x7, MACs 2*4*7*2*3 = 336, RF (3+1*1, 1+2*1) = (4, 3), jump (2, 1);
    global average pool: MACs = its 2*4*7 = 56 inputs, RF covers the whole 4x7 map:
    (4 + 3*2, 3 + 6*1) = (10, 9) — rows 0-9 and columns 0-8 of the input.
    """
    from tinyconv.nn.blocks import GlobalAvgPool2d

    model = nn.Sequential(nn.Conv2d(1, 2, (3, 1)), nn.MaxPool2d((2, 3), (2, 1)), GlobalAvgPool2d())
    result = summary(model, (1, 11, 9), strict=True)
    assert [row.macs for row in result.rows] == [486, 336, 56]
    assert [row.receptive_field for row in result.rows] == [(3, 1), (4, 3), (10, 9)]
    assert [row.output_shape for row in result.rows] == [(2, 9, 9), (2, 4, 7), (2, 1, 1)]


def test_model4_memory_by_hand():
    """model4 runs conv -> ReLU -> BN per unit (the seed's order), each a new tensor.

    block1.conv reads the 1x28x28 image and writes 8x28x28: 784 + 6,272 = 7,056 elements;
    block1.act reads and writes 8x28x28: 12,544; block2's units are 12x28x28 each:
    conv 6,272 + 9,408 = 15,680, act and bn 2 x 9,408 = 18,816 — the peak, 75,264 bytes at fp32.
    The head's flatten is a view of the 10x1x1 map: it adds nothing (10 + nothing new).
    """
    result = summary(get_model("model4"), exports=False)  # the unfolded layers' estimate
    live = {row.name: row.live_elements for row in result.rows}
    assert live["block1.conv"] == 784 + 6272
    assert live["block1.act"] == 2 * 6272
    assert live["block2.conv"] == 6272 + 9408
    assert live["block2.act"] == live["block2.bn"] == 2 * 9408
    assert live["head.flatten"] == 10
    assert result.peak_row.name == "block2.act"
    assert result.peak_activation_bytes("fp32") == 75_264 and result.peak_activation_bytes("int8") == 18_816
    assert result.weight_bytes("fp32") == 4 * 7216 and result.weight_bytes("int8") == 7216
    with pytest.raises(ValueError, match="precision"):
        result.weight_bytes("fp16")
    exported = summary(get_model("model4"))  # as a device runs it: activations in place, the image not copied
    assert exported.peak_activation_bytes("int8") == 6272 + 9408  # block1's output while block2's is written
    model = get_model("model4")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]  # after the ReLU: a per-channel scale
    biases = sum(c.out_channels for c in convs) + sum(n.num_features for n in norms)
    assert exported.weight_bytes("int8") == sum(c.weight.numel() for c in convs) + 4 * biases


def test_a_skip_connection_stays_in_memory_until_it_is_read():
    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(1, 2, 3, padding=1)
            self.b = nn.Conv2d(2, 2, 3, padding=1)
            self.c = nn.Conv2d(2, 2, 3, padding=1)

        def forward(self, x):
            y = self.a(x)
            return self.c(self.b(y) + y)  # y is read again after b

    result = summary(Skip(), (1, 4, 4))
    live = [row.live_elements for row in result.rows]
    # a: 16 in + 32 out; b: y (32) + its output (32) and y is still needed (counted once);
    # c: reads b(y) + y (32, made between layers) and writes 32; y and b's output were read
    # by no later *layer*, so they are kept to the end: never too low.
    assert live[0] == 16 + 32 and live[1] == 32 + 32 and live[2] >= 32 + 32


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks())
def test_peak_memory_is_at_least_every_layers_input_and_output(case):
    model, input_size = case
    result = summary(model, input_size)
    assert result.peak_row is not None
    for row in result.rows:
        n_in = math.prod(row.input_shape)
        n_out = math.prod(row.output_shape)
        shares = row.type in ("Flatten", "Rearrange", "Identity")  # views of their input: no new memory
        assert row.live_elements >= n_in + (0 if shares else n_out)
        assert result.peak_row.live_elements >= row.live_elements
