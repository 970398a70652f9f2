"""channels_last training: ChannelsLastBatchNorm2d, use_channels_last and the layouts they keep."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn

from tinyconv.budget import count_params
from tinyconv.cpu.channels_last import (
    ChannelsLastBatchNorm2d,
    add_channel_bias_,
    channel_rows,
    is_channels_last,
    use_channels_last,
)
from tinyconv.cpu.fast_dropout import FastDropout
from tinyconv.cpu.split_bias import use_split_bias
from tinyconv.inspect.summary import summary
from tinyconv.zoo import model4

CL = torch.channels_last


def _pair(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The same values as a contiguous and as a channels_last leaf tensor."""
    return x.clone().requires_grad_(), x.contiguous(memory_format=CL).requires_grad_()


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 5),
    c=st.integers(1, 13),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    offset=st.floats(-20, 20),
    momentum=st.sampled_from([0.1, 0.5]),
)
@example(n=1, c=12, h=1, w=3, offset=13.0, momentum=0.1)
def test_training_matches_nn_batchnorm2d(n, c, h, w, offset, momentum):
    # In float64: the property is the arithmetic, not float32 rounding, which a channel of
    # two or three nearly equal values far from zero amplifies by 1/std past any fixed
    # tolerance (n=1, c=12, h=1, w=3, offset=13 did, once). Float32 training is compared on
    # a whole model in test_a_channels_last_model4_trains_like_the_contiguous_one.
    if n * h * w == 1:
        return  # one value per channel: nn.BatchNorm2d refuses it in training
    torch.manual_seed(0)
    reference = nn.BatchNorm2d(c, momentum=momentum).double()
    with torch.no_grad():
        reference.weight.uniform_(0.5, 1.5)
        reference.bias.uniform_(-1, 1)
    fast = ChannelsLastBatchNorm2d(c, momentum=momentum).double()
    fast.load_state_dict(reference.state_dict())
    plain, last = _pair(torch.randn(n, c, h, w, dtype=torch.float64) * 3 + offset)
    if not is_channels_last(last):
        return  # c == 1 or h == w == 1: both layouts are the same tensor, nothing to test
    out, out2 = reference(plain), fast(last)
    assert is_channels_last(out2)
    torch.testing.assert_close(out2, out, rtol=1e-4, atol=1e-4)
    grad = torch.randn_like(out)
    out.backward(grad)
    out2.backward(grad.contiguous(memory_format=CL))
    torch.testing.assert_close(last.grad, plain.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(fast.weight.grad, reference.weight.grad, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(fast.bias.grad, reference.bias.grad, rtol=1e-4, atol=1e-3)
    for name in ("running_mean", "running_var"):
        torch.testing.assert_close(getattr(fast, name), getattr(reference, name), rtol=1e-4, atol=1e-5)
    assert fast.num_batches_tracked.item() == reference.num_batches_tracked.item() == 1


def test_the_fast_path_is_taken_for_channels_last_training_only(monkeypatch):
    from tinyconv.cpu import channels_last as module

    calls = []
    original = module._BatchNormRows.apply
    monkeypatch.setattr(module._BatchNormRows, "apply", lambda *a: calls.append(1) or original(*a))
    norm = ChannelsLastBatchNorm2d(4)
    x = torch.randn(2, 4, 3, 3)
    norm(x)
    norm(x.contiguous(memory_format=CL))
    assert calls == [1]
    norm.eval()(x.contiguous(memory_format=CL))
    ChannelsLastBatchNorm2d(4, momentum=None)(x.contiguous(memory_format=CL))
    ChannelsLastBatchNorm2d(4, affine=False)(x.contiguous(memory_format=CL))
    assert calls == [1]


@pytest.mark.parametrize("kwargs", [{"momentum": None}, {"affine": False}, {"track_running_stats": False}, {}])
def test_other_settings_and_evaluation_are_nn_batchnorm2d_exactly(kwargs):
    torch.manual_seed(1)
    reference = nn.BatchNorm2d(3, **kwargs)
    fast = ChannelsLastBatchNorm2d(3, **kwargs)
    fast.load_state_dict(reference.state_dict())
    x = torch.randn(4, 3, 5, 5).contiguous(memory_format=CL)
    if kwargs:
        assert torch.equal(fast(x), reference(x))
    reference.eval()
    fast.eval()
    assert torch.equal(fast(x), reference(x))


def test_one_value_per_channel_fails_like_nn_batchnorm2d():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        ChannelsLastBatchNorm2d(3)(torch.randn(1, 3, 1, 1))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(2, 9), h=st.integers(1, 5), w=st.integers(2, 5))
def test_channel_rows_is_a_view_with_one_column_per_channel_position(n, c, h, w):
    x = torch.randn(n, c, h, w).contiguous(memory_format=CL)
    rows, k = channel_rows(x)
    assert rows.data_ptr() == x.data_ptr() and (n * h * w) % k == 0
    assert rows.shape == (n * h * w // k, k * c)
    torch.testing.assert_close(rows.sum(0).view(k, c).sum(0), x.sum((0, 2, 3)))
    with pytest.raises(ValueError, match="channels_last"):
        channel_rows(torch.randn(n, c, h, w).transpose(2, 3))
    with pytest.raises(ValueError, match="4-D"):
        channel_rows(torch.randn(3, 4))


def test_add_channel_bias_adds_in_place_and_sums_the_gradient():
    torch.manual_seed(2)
    bias = torch.randn(5, requires_grad=True)
    base = torch.randn(3, 5, 4, 4, requires_grad=True)
    x = (base * 1.0).contiguous(memory_format=CL)
    expected = x.detach() + bias.detach().view(1, -1, 1, 1)
    out = add_channel_bias_(x, bias)
    assert out is x and is_channels_last(out)
    torch.testing.assert_close(out, expected)
    grad = torch.randn(3, 5, 4, 4)
    out.backward(grad)
    torch.testing.assert_close(bias.grad, grad.sum((0, 2, 3)))
    torch.testing.assert_close(base.grad, grad)


def test_fast_dropout_keeps_the_layout_and_masks_consistently():
    torch.manual_seed(3)
    x = torch.randn(8, 6, 10, 10).contiguous(memory_format=CL).requires_grad_()
    y = FastDropout(0.25)(x)
    assert is_channels_last(y)
    kept = y != 0
    assert 0.65 < kept.float().mean().item() < 0.85
    torch.testing.assert_close(y[kept], x[kept] / 0.75)
    y.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() / 0.75)


def test_replacement_keeps_parameters_buffers_state_and_random_stream():
    torch.manual_seed(3)
    model = model4()
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    keys = list(model.state_dict())
    norms = sum(type(m) is nn.BatchNorm2d for m in model.modules())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    state = torch.random.get_rng_state()
    assert use_channels_last(model) == norms > 0
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(p is params[name] for name, p in model.named_parameters())
    assert all(b is buffers[name] for name, b in model.named_buffers())
    assert list(model.state_dict()) == keys
    assert optimizer.param_groups[0]["params"][0] is model.block1.conv.weight
    assert model.block1.conv.weight.is_contiguous(memory_format=CL)
    assert use_channels_last(model) == 0  # idempotent
    model.eval()
    assert not model.block1.bn.training


def test_a_channels_last_model4_trains_like_the_contiguous_one():
    torch.manual_seed(5)
    reference = model4(dropout=0.0)
    fast = copy.deepcopy(reference)
    use_split_bias(fast)
    use_channels_last(fast)
    x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    for model in (reference, fast):
        model.train()
        F.nll_loss(model(x), y).backward()
    for (name, p), q in zip(reference.named_parameters(), fast.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-3, atol=1e-5, msg=name)
    for (name, b), c in zip(reference.named_buffers(), fast.buffers(), strict=True):
        torch.testing.assert_close(c, b, rtol=1e-4, atol=1e-5, msg=name)
    reference.eval()
    fast.eval()
    torch.testing.assert_close(fast(x), reference(x), rtol=1e-4, atol=1e-5)
    assert count_params(fast) == count_params(reference)
    mine, theirs = summary(fast, (1, 28, 28), strict=True), summary(reference, (1, 28, 28), strict=True)
    assert (mine.total_params, mine.total_macs, mine.receptive_field) == \
        (theirs.total_params, theirs.total_macs, theirs.receptive_field)
