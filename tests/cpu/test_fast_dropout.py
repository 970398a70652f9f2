"""FastDropout: the same regulariser as nn.Dropout, from far fewer random numbers."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tinyconv.budget import count_params
from tinyconv.cpu.channels_last import is_channels_last
from tinyconv.cpu.fast_dropout import (
    POSITIONS_MAX_P,
    FastDropout,
    _drop_positions,
    fast_dropout,
    use_fast_dropout,
)
from tinyconv.zoo import model4

CL = torch.channels_last


@pytest.mark.parametrize("p", [0.05, 0.1, 0.25, 0.5, 0.9])
def test_each_element_drops_with_probability_p(p):
    torch.manual_seed(0)
    n = 400_000
    dropped = (fast_dropout(torch.ones(n), p) == 0).float()
    sigma = math.sqrt(p * (1 - p) / (n / 4))
    for lane in range(4):  # for p > POSITIONS_MAX_P: every 16-bit lane of the 64-bit draws
        rate = dropped[lane::4].mean().item()
        assert abs(rate - p) < 5 * sigma, (lane, rate)


@pytest.mark.parametrize("p", [0.05, 0.2, 0.5])
def test_neighbours_are_dropped_independently(p):
    torch.manual_seed(1)
    n = 400_000
    dropped = fast_dropout(torch.ones(n), p) == 0
    after_a_drop = dropped[1:][dropped[:-1]].float()  # is the next element dropped too?
    sigma = math.sqrt(p * (1 - p) / after_a_drop.numel())
    assert abs(after_a_drop.mean().item() - p) < 5 * sigma


@pytest.mark.parametrize("chunk", [1, 7, None])
def test_drop_positions_are_sorted_in_range_and_at_rate_p_however_many_rounds(chunk):
    torch.manual_seed(2)
    n, p = 50_000, 0.1
    positions = _drop_positions(n, p, torch.device("cpu"), chunk=chunk)
    assert positions.dtype == torch.int64
    assert bool((positions[1:] > positions[:-1]).all())
    assert positions.min().item() >= 0 and positions.max().item() < n
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(positions.numel() / n - p) < 5 * sigma
    gaps = torch.diff(positions).double() - 1  # kept elements between drops: geometric, mean (1 - p) / p
    assert abs(gaps.mean().item() - (1 - p) / p) < 5 * math.sqrt(1 - p) / p / math.sqrt(gaps.numel())


def test_a_vanishing_p_drops_nothing_and_does_not_overflow():
    torch.manual_seed(3)
    x = torch.randn(10_000)
    assert torch.equal(fast_dropout(x, 1e-300), x / (1 - 1e-300))
    assert _drop_positions(10, 1e-300, torch.device("cpu")).numel() == 0


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


@pytest.mark.parametrize("p", [0.1, 0.3])
def test_gradient_is_the_mask_times_the_scale(p):
    torch.manual_seed(2)
    x = torch.randn(1000, requires_grad=True)
    out = fast_dropout(x, p)
    out.sum().backward()
    expected = (out.detach() != 0).float() / (1 - p)
    torch.testing.assert_close(x.grad, expected)


@pytest.mark.parametrize("p", [0.05, POSITIONS_MAX_P, 0.5])
@pytest.mark.parametrize("grad_format", [CL, torch.contiguous_format])
def test_channels_last_input_gives_channels_last_output_and_the_matching_gradient(p, grad_format):
    torch.manual_seed(4)
    x = torch.randn(8, 6, 10, 10).contiguous(memory_format=CL).requires_grad_()
    out = fast_dropout(x, p)
    assert is_channels_last(out)
    kept = out.detach() != 0
    assert abs((~kept).float().mean().item() - p) < 5 * math.sqrt(p * (1 - p) / x.numel())  # zeros were written
    torch.testing.assert_close(out[kept], x.detach()[kept] / (1 - p))
    grad = torch.randn(8, 6, 10, 10).contiguous(memory_format=grad_format)
    out.backward(grad)
    torch.testing.assert_close(x.grad, grad * kept / (1 - p))


def test_a_strided_input_is_handled():
    torch.manual_seed(5)
    base = torch.randn(6, 8, requires_grad=True)
    x = base[:, ::2]
    out = fast_dropout(x, 0.1)
    kept = out.detach() != 0
    torch.testing.assert_close(out[kept], x.detach()[kept] / 0.9)
    out.sum().backward()
    expected = torch.zeros(6, 8)
    expected[:, ::2] = kept.float() / 0.9
    torch.testing.assert_close(base.grad, expected)


@pytest.mark.parametrize("p", [0.05, 0.5])
def test_same_seed_same_mask_and_different_seed_different_mask(p):
    x = torch.ones(10_000)
    torch.manual_seed(5)
    a = fast_dropout(x, p)
    torch.manual_seed(5)
    b = fast_dropout(x, p)
    torch.manual_seed(6)
    c = fast_dropout(x, p)
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


def test_the_first_and_last_elements_are_dropped_at_rate_p_on_the_default_path():
    """An off-by-one in the positions' offset would never drop element 0 (or never the last)."""
    from tinyconv.cpu.fast_dropout import _drop_positions

    p, trials, n = 0.05, 4000, 64
    torch.manual_seed(0)
    first = last = 0
    for _ in range(trials):
        positions = _drop_positions(n, p, torch.device("cpu"))
        first += int(positions.numel() > 0 and positions[0] == 0)
        last += int(positions.numel() > 0 and positions[-1] == n - 1)
    sigma = (trials * p * (1 - p)) ** 0.5
    assert abs(first - trials * p) < 5 * sigma and abs(last - trials * p) < 5 * sigma
