"""The public 3,762-parameter network, rebuilt from the blocks, and its recipe."""

from __future__ import annotations

import pytest
import torch
from torch import optim

from tinyconv.budget import count_params
from tinyconv.train.schedulers import make_scheduler
from tinyconv.zoo import get_model, get_recipe, recipe_for
from tinyconv.zoo.published import woolly3762


def test_it_has_exactly_the_published_parameter_count_block_by_block():
    net = woolly3762()
    assert count_params(net) == 3_762
    # the notebook's blocks: 1->4 (3 convs), 4->8 (3 convs), 8->8 (3 convs), each conv with bias and BN; 8->10 head
    conv = lambda i, o: 9 * i * o + o + 2 * o  # noqa: E731  (weights, bias, BatchNorm)
    first, second, third = conv(1, 4) + 2 * conv(4, 4), conv(4, 8) + 2 * conv(8, 8), 3 * conv(8, 8)
    assert (first, second, third) == (360, 1512, 1800)
    assert first + second + third + 8 * 10 + 10 == count_params(net)
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert count_params(get_model("woolly3762")) == 3_762


def test_its_recipe_is_batch_32_and_a_linear_one_cycle_from_005_to_01():
    recipe = recipe_for("woolly3762")
    assert recipe is get_recipe("woolly3762")
    assert (recipe.batch_size, recipe.momentum, recipe.augment) == (32, 0.9, "custom")
    model = woolly3762()
    optimizer = optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum)
    steps = 10
    schedule = make_scheduler(recipe.scheduler, optimizer, epochs=recipe.epochs, steps_per_epoch=steps,
                              pct_start=recipe.pct_start, onecycle_start=recipe.onecycle_start,
                              onecycle_anneal=recipe.onecycle_anneal)
    rates = []
    for _ in range(recipe.epochs * steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates[0] == pytest.approx(0.05)
    assert max(rates) == pytest.approx(0.1) and rates.index(max(rates)) == 2 * steps - 1  # the peak at epoch 2
    assert rates[5] - rates[4] == pytest.approx(rates[10] - rates[9])  # linear, not cosine
    assert rates[-1] < 1e-3


def test_the_default_one_cycle_is_unchanged_by_the_new_settings():
    def first_rates(**kwargs):
        model = woolly3762()
        optimizer = optim.SGD(model.parameters(), lr=0.1)
        schedule = make_scheduler("onecycle", optimizer, epochs=2, steps_per_epoch=5, **kwargs)
        rates = []
        for _ in range(10):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.step()
        return rates

    plain = optim.SGD(woolly3762().parameters(), lr=0.1)
    torch_default = optim.lr_scheduler.OneCycleLR(plain, max_lr=0.1, epochs=2, steps_per_epoch=5, pct_start=0.2)
    expected = []
    for _ in range(10):
        expected.append(plain.param_groups[0]["lr"])
        plain.step()
        torch_default.step()
    assert first_rates() == expected
