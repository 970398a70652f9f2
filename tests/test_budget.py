"""The parameter budget: counting, the exclusive limit, the error message, budgeted builders."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

from tinyconv.blocks import ConvBNReLUDrop, GAPHead
from tinyconv.budget import BudgetExceededError, budgeted, check_budget, count_params, param_holders
from tinyconv.zoo import model1, model2, model3, model4


def test_count_params_counts_shared_tensors_once_and_skips_buffers_and_frozen():
    shared = nn.Linear(4, 4)
    model = nn.Sequential(shared, nn.BatchNorm1d(4), shared)
    assert count_params(model) == 20 + 8
    model[1].weight.requires_grad_(False)
    assert count_params(model) == 20 + 4
    assert count_params(model) == sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_limit_is_exclusive():
    model = nn.Linear(9, 1)  # 10 parameters
    assert check_budget(model, max_params=11) == 10
    with pytest.raises(BudgetExceededError) as info:
        check_budget(model, max_params=10)
    assert info.value.excess == 1


def test_model4_fits_the_default_budget():
    assert check_budget(model4()) == 7216


@pytest.mark.parametrize(("builder", "total"), [(model1, 257_354), (model2, 19_942), (model3, 19_942)])
def test_models_1_to_3_fail_with_a_readable_message(builder, total):
    with pytest.raises(BudgetExceededError) as info:
        check_budget(builder(), name=builder.__name__)
    error = info.value
    assert isinstance(error, ValueError)
    assert (error.total, error.max_params, error.excess) == (total, 8000, total - 7999)
    message = str(error)
    assert f"{total:,}" in message and "8,000" in message and f"{total - 7999:,}" in message
    largest_name, largest = error.holders[0]
    assert largest == max(count for _, count in param_holders(builder()))
    assert largest_name in message and f"{largest:,}" in message


def test_error_pickles():
    with pytest.raises(BudgetExceededError) as info:
        check_budget(model2())
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value)


def test_budgeted_builder_refuses_to_grow():
    @budgeted(500)
    def net(*, width: int = 4) -> nn.Module:
        return nn.Sequential(ConvBNReLUDrop(1, width), GAPHead(width, 10))

    assert net.max_params == 500 and net.__name__ == "net"
    assert net(width=4)(torch.zeros(1, 1, 8, 8)).shape == (1, 10)
    with pytest.raises(BudgetExceededError, match="net has"):
        net(width=40)


@pytest.mark.parametrize(
    ("call", "error", "word"),
    [
        (lambda: check_budget("model4"), TypeError, "model"),
        (lambda: check_budget(model4(), max_params=0), ValueError, "max_params"),
        (lambda: check_budget(model4(), max_params=8000.0), TypeError, "max_params"),
        (lambda: count_params(None), TypeError, "model"),
        (lambda: budgeted(-1), ValueError, "max_params"),
    ],
)
def test_bad_budget_arguments(call, error, word):
    with pytest.raises(error, match=word):
        call()
