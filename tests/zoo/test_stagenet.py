"""The stage network family: the kind of the second stage's units."""

from __future__ import annotations

import pytest
import torch

from tinyconv.budget import count_params, fit_to_budget
from tinyconv.inspect import summary
from tinyconv.nn.blocks import ConvBNReLUDrop, SeparableConvBNReLUDrop
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


def test_an_unknown_unit_kind_is_refused_by_name():
    with pytest.raises(ValueError, match="after_unit.*'depthwise'"):
        stagenet(width=8, after_unit="depthwise")
