"""SplitBiasConv2d: the same convolution as nn.Conv2d, with its bias added afterwards."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tinyconv.budget import count_params
from tinyconv.cpu.split_bias import SplitBiasConv2d, use_split_bias
from tinyconv.inspect.summary import summary
from tinyconv.zoo import model4, tc8k


@settings(max_examples=40, deadline=None)
@given(
    groups=st.integers(1, 2),
    per_group_in=st.integers(1, 3),
    per_group_out=st.integers(1, 3),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 2),
    padding=st.integers(0, 1),
    padding_mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
    bias=st.booleans(),
)
def test_output_and_gradients_match_nn_conv2d(groups, per_group_in, per_group_out, kernel, stride, padding,
                                              padding_mode, bias):
    torch.manual_seed(0)
    args = (groups * per_group_in, groups * per_group_out, kernel)
    kwargs = {"stride": stride, "padding": padding, "groups": groups, "bias": bias, "padding_mode": padding_mode}
    reference = nn.Conv2d(*args, **kwargs)
    split = SplitBiasConv2d(*args, **kwargs)
    split.load_state_dict(reference.state_dict())
    x = torch.randn(3, args[0], 6, 7, requires_grad=True)
    x2 = x.detach().clone().requires_grad_()
    out, out2 = reference(x), split(x2)
    torch.testing.assert_close(out2, out)
    grad = torch.randn_like(out)
    out.backward(grad)
    out2.backward(grad)
    torch.testing.assert_close(x2.grad, x.grad)
    torch.testing.assert_close(split.weight.grad, reference.weight.grad)
    if bias:
        torch.testing.assert_close(split.bias.grad, reference.bias.grad)
        torch.testing.assert_close(split.bias.grad, grad.sum((0, 2, 3)))


def test_replacement_keeps_parameters_state_and_random_stream():
    torch.manual_seed(3)
    model = model4()
    before = {name: p for name, p in model.named_parameters()}
    keys = list(model.state_dict())
    convs_with_bias = sum(type(m) is nn.Conv2d and m.bias is not None for m in model.modules())
    state = torch.random.get_rng_state()
    assert use_split_bias(model) == convs_with_bias > 0
    assert torch.equal(torch.random.get_rng_state(), state)  # no random init drawn
    assert all(p is before[name] for name, p in model.named_parameters())
    assert list(model.state_dict()) == keys
    assert not any(type(m) is nn.Conv2d and m.bias is not None for m in model.modules())
    assert use_split_bias(model) == 0  # idempotent


def test_model_outputs_and_inspection_are_unchanged():
    torch.manual_seed(4)
    model = model4().eval()
    split = model4().eval()
    split.load_state_dict(model.state_dict())
    use_split_bias(split)
    x = torch.randn(5, 1, 28, 28)
    torch.testing.assert_close(split(x), model(x))
    assert count_params(split) == count_params(model)
    mine, theirs = summary(split, (1, 28, 28), strict=True), summary(model, (1, 28, 28), strict=True)
    assert (mine.total_params, mine.total_macs, mine.receptive_field) == \
        (theirs.total_params, theirs.total_macs, theirs.receptive_field)
    assert [(r.output_shape, r.params, r.macs) for r in mine.rows] == \
        [(r.output_shape, r.params, r.macs) for r in theirs.rows]


def test_bias_free_convolutions_and_subclasses_are_left_alone():
    class MyConv(nn.Conv2d):
        pass

    model = nn.Sequential(nn.Conv2d(1, 2, 3, bias=False), MyConv(2, 2, 1), nn.Conv2d(2, 2, 1))
    assert use_split_bias(model) == 1
    assert type(model[0]) is nn.Conv2d and type(model[1]) is MyConv and type(model[2]) is SplitBiasConv2d


@pytest.mark.parametrize("training", [True, False])
def test_training_mode_is_kept(training):
    model = nn.Sequential(nn.Conv2d(1, 2, 3)).train(training)
    use_split_bias(model)
    assert model[0].training is training


def test_repr_reads_like_the_call_and_funnel_transition_is_split():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1))
    use_split_bias(model)
    assert repr(model[0]) == "SplitBiasConv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert use_split_bias(tc8k()) == 2  # the 1x1 transition and the head; the 3x3 units have no bias
