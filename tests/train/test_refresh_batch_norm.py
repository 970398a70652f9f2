"""Measuring a weight average's batch norms again: the statistics, what is left alone, and the recipe setting."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from conftest import synthetic_digits, tiny_net
from tinyconv import train_net
from tinyconv.data.batches import TensorBatches
from tinyconv.data.pipeline import Loaders
from tinyconv.recipe import Recipe
from tinyconv.train import FitOptions
from tinyconv.train.average import WeightAverage, refresh_batch_norm


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3, momentum=0.3), nn.Dropout(0.5), nn.ReLU(),
                         nn.Conv2d(3, 2, 3), nn.BatchNorm2d(2))


def test_the_statistics_become_those_of_the_images_over_every_batch():
    net, images = _net(), torch.randn(70, 1, 8, 8)
    refresh_batch_norm(net, images, batch_size=16)  # 5 batches, the last of 6 images
    with torch.no_grad():
        inputs = net[0](images)
    assert torch.allclose(net[1].running_mean, inputs.mean(dim=(0, 2, 3)), atol=1e-5)
    # the second batch norm sees the first one's output without dropout (evaluation mode around it)
    undropped = _net()
    undropped[2] = nn.Identity()
    refresh_batch_norm(undropped, images, batch_size=16)
    assert torch.equal(net[5].running_mean, undropped[5].running_mean)
    assert torch.equal(net[5].running_var, undropped[5].running_var)


def test_modes_momenta_and_the_random_stream_are_left_as_they_were():
    net = _net().train()
    net[2].eval()
    state = torch.random.get_rng_state()
    refresh_batch_norm(net, torch.randn(20, 1, 8, 8, generator=torch.Generator().manual_seed(1)))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert [m.training for m in net] == [True, True, False, True, True, True]
    assert (net[1].momentum, net[5].momentum) == (0.3, 0.1)


def test_bad_arguments_are_refused_naming_them():
    with pytest.raises(ValueError, match="at least one image"):
        refresh_batch_norm(_net(), torch.empty(0, 1, 8, 8))
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        refresh_batch_norm(_net(), torch.randn(2, 1, 8, 8), batch_size=0)
    with pytest.raises(ValueError, match="ema_bn_images must be a whole number of 0 or more, got -1"):
        Recipe(ema_decay=0.99, ema_bn_images=-1)
    with pytest.raises(ValueError, match="ema_bn_images=64 measures the weight average.*set ema_decay above 0"):
        Recipe(ema_bn_images=64)
    with pytest.raises(ValueError, match="ema_bn_images needs pipeline='tensor'.*got pipeline='classic'"):
        Recipe(ema_decay=0.99, ema_bn_images=64, pipeline="classic", augment="rotate")
    with pytest.raises(ValueError, match="give average= too"):
        FitOptions(average_bn_images=torch.zeros(1, 1, 8, 8))


def _loaders() -> Loaders:
    images, labels = synthetic_digits(64, seed=0)
    return Loaders(TensorBatches(images, labels, 16, seed=0), TensorBatches(images, labels, 64, shuffle=False),
                   "Test", 64, 64)


RECIPE = {"epochs": 2, "lr": 0.05, "ema_decay": 0.9, "ema_bn_images": 32}


def test_a_run_evaluates_and_returns_the_average_measured_on_the_first_training_images(tmp_path):
    loaders = _loaders()
    torch.manual_seed(0)
    result = train_net(tiny_net(), RECIPE, data=loaders, out=False, callbacks=[])
    measured = copy.deepcopy(result.model)
    refresh_batch_norm(measured, loaders.train.images[:32])
    for mine, again in zip(result.model.modules(), measured.modules()):
        if isinstance(mine, nn.BatchNorm2d):
            assert torch.allclose(mine.running_mean, again.running_mean, atol=1e-6)
            assert torch.allclose(mine.running_var, again.running_var, atol=1e-6)
    torch.manual_seed(0)
    plain = train_net(tiny_net(), {**RECIPE, "ema_bn_images": 0}, data=_loaders(), out=False, callbacks=[])
    assert [e.raw_test_accuracy for e in plain.history.epochs] == [e.raw_test_accuracy for e in result.history.epochs]
    assert [e.test_loss for e in plain.history.epochs] != [e.test_loss for e in result.history.epochs]


def test_batches_that_do_not_hold_their_images_are_refused():
    from tinyconv.train.run import recipe_bn_images

    with pytest.raises(TypeError, match="hold their images.*got list"):
        recipe_bn_images(Recipe(ema_decay=0.9, ema_bn_images=8), [])
    assert recipe_bn_images(Recipe(ema_decay=0.9), []) is None


def test_an_average_measures_its_own_module():
    net = _net()
    average = WeightAverage(net, 0.9)
    average.refresh_batch_norm(torch.randn(8, 1, 8, 8))
    assert not torch.equal(average.module[1].running_mean, net[1].running_mean)
