"""The norms' own learning rate (``Recipe.norm_lr_scale``): its group, its schedule, its checks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tinyconv.cpu import CpuOptions, apply
from tinyconv.recipe import Recipe
from tinyconv.train.run import make_optimizer, parameter_groups, recipe_scheduler
from tinyconv.zoo import get_model


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1, bias=False))


def test_one_group_by_default_and_two_with_a_scale():
    net = _net()
    assert [len(g["params"]) for g in parameter_groups(net, Recipe(lr=0.1))] == [5]
    groups = parameter_groups(net, Recipe(lr=0.1, norm_lr_scale=4.0))
    norm = net[1]
    assert [g["lr"] for g in groups] == [0.1, pytest.approx(0.4)]
    assert {id(p) for p in groups[1]["params"]} == {id(norm.weight), id(norm.bias)}
    assert len(groups[0]["params"]) == 3  # both convolutions' weights and the first one's bias


def test_a_model_without_norms_keeps_one_group():
    groups = parameter_groups(nn.Conv2d(1, 2, 3), Recipe(norm_lr_scale=4.0))
    assert len(groups) == 1


def test_every_parameter_is_in_exactly_one_group_frozen_ones_too():
    net = _net()
    net[1].weight.requires_grad_(False)
    for recipe in (Recipe(), Recipe(norm_lr_scale=2.0)):
        ids = [id(p) for g in parameter_groups(net, recipe) for p in g["params"]]
        assert sorted(ids) == sorted(id(p) for p in net.parameters())


def test_the_channels_last_batch_norms_of_the_speed_ups_are_norms_too():
    net = get_model("st8k")
    plain = {id(p) for g in parameter_groups(net, Recipe(norm_lr_scale=2.0))[1:] for p in g["params"]}
    apply(net, CpuOptions(channels_last=True))
    assert any(type(m).__name__ == "ChannelsLastBatchNorm2d" for m in net.modules())
    swapped = parameter_groups(net, Recipe(norm_lr_scale=2.0))
    assert plain and {id(p) for p in swapped[1]["params"]} == plain


def test_onecycle_keeps_the_ratio_between_the_groups_at_every_step():
    net = _net()
    recipe = Recipe(lr=0.1, norm_lr_scale=8.0, scheduler="onecycle", epochs=2, nesterov=True)
    optimizer = make_optimizer(net, recipe)
    scheduler = recipe_scheduler(recipe, optimizer, steps_per_epoch=5)
    peaks = [0.0, 0.0]
    for _ in range(10):
        rates = [g["lr"] for g in optimizer.param_groups]
        assert rates[1] == pytest.approx(8.0 * rates[0])
        peaks = [max(a, b) for a, b in zip(peaks, rates)]
        net(torch.randn(2, 1, 5, 5)).sum().backward()
        optimizer.step()
        scheduler.step()
    assert peaks == [pytest.approx(0.1), pytest.approx(0.8)]


@pytest.mark.parametrize("bad", [0, -1.0, True, "2", None])
def test_a_bad_scale_is_refused_by_name(bad):
    with pytest.raises(ValueError, match=f"norm_lr_scale must be a positive number, got {bad!r}"):
        Recipe(norm_lr_scale=bad)


def test_the_scale_round_trips_through_the_recipe_dict():
    recipe = Recipe(norm_lr_scale=16.0)
    assert Recipe.from_dict(recipe.to_dict()) == recipe
