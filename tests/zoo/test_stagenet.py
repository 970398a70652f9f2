"""The stage network family: the kind of the second stage's units, their activation, shared convolutions."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from tinyconv.budget import count_params, fit_to_budget
from tinyconv.inspect import summary
from tinyconv.nn.blocks import ConvBNReLUDrop, Residual, SeparableConvBNReLUDrop
from tinyconv.zoo.stagenet import stagenet

SHAPE = {"convs_before": 3, "convs_after": 3, "stem_ratio": 0.5, "transition_ratio": 0.55, "stem_padding": 0,
         "after_padding": 0}


def test_separable_units_replace_only_the_second_stage():
    conv = stagenet(width=13, after_ratio=1.15, **SHAPE)
    separable = stagenet(width=13, after_ratio=41 / 13, after_unit="separable", **SHAPE)
    kinds = [type(m) for m in separable.children()]
    assert kinds[:3] == [ConvBNReLUDrop] * 3  # the first stage keeps full convolutions
    assert kinds[4:7] == [SeparableConvBNReLUDrop] * 3
    assert separable.block6.out_channels == 41 and conv.block6.out_channels == 15
    # 41 channels cost about what 15 full ones do: 9*41 + 41*41 against 9*15*15 per unit
    assert abs(count_params(separable) - count_params(conv)) < 100
    assert separable(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    # same spatial sizes, hence the same receptive field
    assert summary(separable, (1, 28, 28)).receptive_field == summary(conv, (1, 28, 28)).receptive_field


def test_the_widest_separable_network_under_a_budget_fits_it():
    fit = fit_to_budget(lambda w: stagenet(width=w, after_ratio=3.0, after_unit="separable", **SHAPE), 5000)
    assert fit.params < 5000
    assert count_params(stagenet(width=fit.width + 1, after_ratio=3.0, after_unit="separable", **SHAPE)) >= 5000


def test_a_separable_first_unit_widens_the_transition_in_front_of_shared_full_convolutions():
    shape = {"convs_before": 2, "convs_after": 4, "stem_ratio": 0.42, "transition_ratio": 0.64, "shared_units": 3}
    full = stagenet(width=8, after_ratio=2.625, **shape)
    first = stagenet(width=8, after_ratio=2.625, first_after_unit="separable", **shape)
    assert [type(m) for m in first.children()][3:7] == [SeparableConvBNReLUDrop] + [ConvBNReLUDrop] * 3
    assert first.block3.out_channels == first.block6.out_channels == 21
    assert first.block6.conv.weight is first.block4.conv.weight  # the later units still share
    # 5 -> 21: a full 3x3 unit costs 9*5*21 weights and a 21-channel norm; a separable one
    # 9*5 depthwise weights, their 5-channel norm, 5*21 pointwise ones and the 21-channel norm
    assert count_params(full) - count_params(first) == (945 + 42) - (45 + 10 + 105 + 42) == 785
    assert summary(first, (1, 28, 28)).receptive_field == summary(full, (1, 28, 28)).receptive_field
    assert stagenet(width=8, first_after_unit="conv", after_unit="separable").block3.__class__ is ConvBNReLUDrop
    with pytest.raises(ValueError, match="first_after_unit.*'depthwise'"):
        stagenet(width=8, first_after_unit="depthwise")
    with pytest.raises(ValueError, match="first_after_unit='conv' or None, got 'separable'"):
        stagenet(width=8, transition_ratio=1.0, convs_after=3, shared_units=3, first_after_unit="separable")


def test_an_unknown_unit_kind_is_refused_by_name():
    with pytest.raises(ValueError, match="after_unit.*'depthwise'"):
        stagenet(width=8, after_unit="depthwise")


def test_the_activation_reaches_every_unit_and_nothing_else_changes():
    torch.manual_seed(0)
    relu = stagenet(width=13, after_ratio=1.15, **SHAPE)
    torch.manual_seed(0)
    silu = stagenet(width=13, after_ratio=1.15, activation="silu", **SHAPE)
    assert [type(m) for m in silu.modules()].count(nn.SiLU) == 6
    assert nn.ReLU not in [type(m) for m in silu.modules()]
    assert "activation='silu'" in repr(silu.block6)
    for (name, a), b in zip(relu.state_dict().items(), silu.state_dict().values(), strict=True):
        assert torch.equal(a, b), name  # same weights: only the nonlinearity differs
    x = torch.randn(2, 1, 28, 28)
    relu.eval(), silu.eval()
    assert not torch.allclose(relu(x), silu(x))
    with pytest.raises(ValueError, match="activation.*'swish'"):
        stagenet(width=8, activation="swish")


@pytest.mark.parametrize("shared", [2, 3])
def test_shared_units_reuse_one_convolution_and_count_it_once(shared):
    plain = stagenet(width=13, after_ratio=1.5, **{**SHAPE, "convs_after": 4})
    net = stagenet(width=13, after_ratio=1.5, shared_units=shared, **{**SHAPE, "convs_after": 4})
    units = [net.block4, net.block5, net.block6, net.block7]
    first = units[4 - shared]
    for unit in units[5 - shared:]:
        assert unit.conv.weight is first.conv.weight and unit.bn is not first.bn
    for unit in units[: 4 - shared]:
        assert unit.conv.weight is not first.conv.weight
    per_conv = 9 * 20 * 20  # 20 channels = round(13 * 1.5)
    assert count_params(net) == count_params(plain) - (shared - 1) * per_conv
    assert summary(net, (1, 28, 28)).total_params == count_params(net)


def test_shared_weights_stay_shared_through_training_and_a_checkpoint():
    net = stagenet(width=13, after_ratio=1.5, shared_units=2, **SHAPE)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        optimizer.zero_grad()
        net(torch.randn(4, 1, 28, 28)).sum().backward()
        optimizer.step()
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    buffer.seek(0)
    again = stagenet(width=13, after_ratio=1.5, shared_units=2, **SHAPE)
    again.load_state_dict(torch.load(buffer, weights_only=True))
    assert again.block6.conv.weight is again.block5.conv.weight
    torch.testing.assert_close(again.block6.conv.weight, net.block5.conv.weight)


@pytest.mark.parametrize(("shape", "message"), [
    ({"shared_units": 0}, "shared_units.*0"),
    ({"shared_units": 4}, "at most convs_after = 3"),
    ({"shared_units": 3}, "transition as wide as the second stage: transition_ratio=0.55 gives 4 channels, after_ratio=1.0 gives 8"),
    ({"shared_units": 2, "after_unit": "separable"}, "after_unit='conv'"),
    ({"shared_units": 2, "second_pool": True, "pool_after": 2}, "across the second pooling"),
])
def test_impossible_sharing_is_refused_by_name(shape, message):
    with pytest.raises(ValueError, match=message):
        stagenet(width=8, **{**SHAPE, **shape})


def test_the_first_second_stage_unit_shares_too_when_the_transition_is_as_wide():
    from tinyconv.budget import count_params

    net = stagenet(width=8, **{**SHAPE, "convs_after": 4, "transition_ratio": 2.625, "after_ratio": 2.625,
                               "shared_units": 4})
    units = [net.block4, net.block5, net.block6, net.block7]
    assert net.transition1.conv.out_channels == units[0].conv.in_channels == 21
    assert all(unit.conv.weight is units[0].conv.weight for unit in units[1:])
    assert len({id(unit.bn) for unit in units}) == 4  # each keeps its own batch norm
    one_shared = stagenet(width=8, **{**SHAPE, "convs_after": 4, "transition_ratio": 2.625, "after_ratio": 2.625,
                                      "shared_units": 3})
    assert count_params(one_shared) - count_params(net) == 21 * 21 * 9  # the first unit's weights, now shared
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_shared_before_reuses_one_first_stage_convolution_at_full_resolution():
    shape = {"convs_before": 4, "stem_ratio": 0.42, "transition_ratio": 0.75, "after_ratio": 2.125,
             "convs_after": 4, "shared_units": 3}
    plain = stagenet(width=8, **shape)
    net = stagenet(width=8, shared_before=2, **shape)
    assert net.block4.conv.weight is net.block3.conv.weight and net.block4.bn is not net.block3.bn
    assert net.block2.conv.weight is not net.block3.conv.weight
    assert count_params(net) == count_params(plain) - 9 * 8 * 8
    assert summary(net, (1, 28, 28)).total_params == count_params(net)
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_the_second_first_stage_unit_shares_only_when_the_stem_is_as_wide():
    net = stagenet(width=8, convs_before=3, stem_ratio=1.0, shared_before=2)
    assert net.block3.conv.weight is net.block2.conv.weight
    with pytest.raises(ValueError, match="stem_ratio to give width=8 channels too: stem_ratio=0.5 gives 4"):
        stagenet(width=8, convs_before=3, stem_ratio=0.5, shared_before=2)


@pytest.mark.parametrize(("shape", "message"), [
    ({"shared_before": 0}, "shared_before.*0"),
    ({"shared_before": 3}, "below convs_before = 3 .*got 3"),
])
def test_impossible_first_stage_sharing_is_refused_by_name(shape, message):
    with pytest.raises(ValueError, match=message):
        stagenet(width=8, **{**SHAPE, **shape})


def test_residual_wraps_exactly_the_second_stage_units_that_keep_their_width():
    shape = {"convs_before": 2, "stem_ratio": 0.42, "transition_ratio": 0.75, "after_ratio": 2.375,
             "convs_after": 4, "shared_units": 3}
    plain = stagenet(width=8, **shape)
    net = stagenet(width=8, residual=True, **shape)
    wrapped = [name for name, block in net.named_children() if isinstance(block, Residual)]
    assert wrapped == ["block4", "block5", "block6"]
    assert net.block5.unit.conv.weight is net.block4.unit.conv.weight
    assert count_params(net) == count_params(plain)
    assert summary(net, (1, 28, 28)).receptive_field == summary(plain, (1, 28, 28)).receptive_field
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(TypeError, match="residual must be True or False"):
        stagenet(width=8, residual="yes", **shape)
