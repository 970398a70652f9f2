"""The stage network family: the kind of the second stage's units, their activation, shared convolutions."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from tinyconv.budget import count_params, fit_to_budget
from tinyconv.inspect import summary
from tinyconv.nn.blocks import ConvBNReLUDrop, Residual, SeparableConvBNReLUDrop
from tinyconv.zoo.stagenet import StageNetShape, stagenet

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


def test_options_no_zoo_model_uses_are_gone():
    for removed in ("shared_before", "residual", "first_after_unit"):
        with pytest.raises(TypeError, match=f"unknown stagenet shape arguments: {removed}"):
            stagenet(width=8, **{removed: 2})


def test_the_shape_round_trips_through_its_dict_and_refuses_bad_fields():
    shape = StageNetShape(convs_after=4, after_ratio=2.375, shared_units=3)
    assert StageNetShape.from_dict(shape.to_dict()) == shape
    built = shape.build(8)
    assert built.block6.conv.weight is built.block4.conv.weight  # the last three units share one convolution
    assert count_params(built) == count_params(stagenet(width=8, **shape.to_dict()))
    with pytest.raises(TypeError, match="convs_after must be an int"):
        StageNetShape(convs_after=2.5)
    with pytest.raises(ValueError, match="stem_ratio must be a positive number, got 0"):
        StageNetShape(stem_ratio=0)


