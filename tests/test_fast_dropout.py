"""FastDropout: the same regulariser as nn.Dropout, with a cheaper mask."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tinyconv.budget import count_params
from tinyconv.fast_dropout import FastDropout, fast_dropout, use_fast_dropout
from tinyconv.zoo import model4


@pytest.mark.parametrize("p", [0.05, 0.1, 0.5, 0.9])
def test_each_lane_drops_with_probability_p(p):
    torch.manual_seed(0)
    n = 400_000
    out = fast_dropout(torch.ones(n), p)
    dropped = (out == 0).float()
    sigma = math.sqrt(p * (1 - p) / (n / 4))
    for lane in range(4):  # every 16-bit lane of the 64-bit draws, including the top one
        rate = dropped[lane::4].mean().item()
        assert abs(rate - p) < 5 * sigma, (lane, rate)


def test_survivors_are_scaled_and_the_mean_is_kept():
    torch.manual_seed(1)
    x = torch.rand(200_000) + 0.5
    out = fast_dropout(x, 0.2)
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / 0.8)
    assert abs(out.mean().item() / x.mean().item() - 1) < 0.01


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=4), p=st.floats(0.0, 1.0))
def test_any_shape_keeps_shape_and_values_are_zero_or_scaled(shape, p):
    x = torch.randn(shape)
    out = fast_dropout(x, p)
    assert out.shape == x.shape
    if p < 1:
        scaled = x / (1 - p)
        assert torch.all((out == 0) | torch.isclose(out, scaled))
    else:
        assert torch.all(out == 0)


def test_gradient_is_the_mask_times_the_scale():
    torch.manual_seed(2)
    x = torch.randn(1000, requires_grad=True)
    out = fast_dropout(x, 0.3)
    out.sum().backward()
    expected = (out.detach() != 0).float() / 0.7
    torch.testing.assert_close(x.grad, expected)


def test_same_seed_same_mask_and_different_seed_different_mask():
    x = torch.ones(10_000)
    torch.manual_seed(5)
    a = fast_dropout(x, 0.5)
    torch.manual_seed(5)
    b = fast_dropout(x, 0.5)
    torch.manual_seed(6)
    c = fast_dropout(x, 0.5)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_identity_in_eval_mode_and_for_p_zero():
    x = torch.randn(3, 4)
    layer = FastDropout(0.5).eval()
    assert layer(x) is x
    assert fast_dropout(x, 0.0) is x
    assert fast_dropout(x, 0.7, training=False) is x


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), "0.1", True])
def test_bad_p_is_refused(p):
    with pytest.raises(ValueError, match="p must"):
        FastDropout(p)


def test_fast_dropout_rejects_bad_p_in_the_functional_form():
    with pytest.raises(ValueError, match="p must be in"):
        fast_dropout(torch.ones(3), 2.0)


def test_repr_reads_like_the_call():
    assert repr(FastDropout(0.05)) == "FastDropout(p=0.05)"


def test_use_fast_dropout_swaps_element_dropout_only():
    model = model4()
    element = [m.p for m in model.modules() if type(m) is nn.Dropout]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    params = count_params(model)
    assert use_fast_dropout(model) == len(element) > 0
    assert [m.p for m in model.modules() if isinstance(m, FastDropout)] == element
    assert not any(type(m) is nn.Dropout for m in model.modules())
    assert count_params(model) == params
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    channel = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Dropout2d(0.1))
    assert use_fast_dropout(channel) == 0


def test_a_swapped_model_gives_the_same_evaluation_output():
    torch.manual_seed(3)
    model = model4().eval()
    x = torch.randn(4, 1, 28, 28)
    expected = model(x)
    use_fast_dropout(model)
    torch.testing.assert_close(model(x), expected)
