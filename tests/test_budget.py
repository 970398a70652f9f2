"""The parameter budget: counting, the exclusive limit, the error message, budgeted builders."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

from tinyconv.nn.blocks import ConvBNReLUDrop, GAPHead
from tinyconv.budget import (
    BudgetExceededError,
    budgeted,
    check_budget,
    count_params,
    fit_to_budget,
    param_holders,
)
from tinyconv.testing import assert_fits_budget
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
    assert check_budget(model, max_params=11) is None  # silent: a REPL shows no stray number
    with pytest.raises(BudgetExceededError) as info:
        check_budget(model, max_params=10)
    assert info.value.excess == 1


def test_model4_fits_the_default_budget():
    assert check_budget(model4()) is None and count_params(model4()) == 7216


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


def widening(width):
    return nn.Sequential(ConvBNReLUDrop(1, width), ConvBNReLUDrop(width, width), GAPHead(width, 10))


@pytest.mark.parametrize("limit", [200, 1000, 8000, 20000])
def test_fit_to_budget_finds_the_widest_integer_width(limit):
    fit = fit_to_budget(widening, limit)
    assert fit.params == count_params(widening(fit.width)) < limit
    assert count_params(widening(fit.width + 1)) >= limit
    assert count_params(fit.model) == fit.params


def test_fit_to_budget_with_a_float_multiplier():
    def scaled(mult):
        return widening(max(1, round(8 * mult)))

    fit = fit_to_budget(scaled, 5000, low=0.1, integer=False, resolution=0.01)
    assert fit.params < 5000
    assert count_params(scaled(fit.width + 0.02)) >= 5000 or round(8 * (fit.width + 0.02)) == round(8 * fit.width)


def test_fit_to_budget_when_nothing_fits():
    with pytest.raises(BudgetExceededError, match="width=1"):
        fit_to_budget(widening, 30)


def test_fit_to_budget_stops_at_the_limit():
    fit = fit_to_budget(lambda w: nn.Linear(w, 1), 1000, limit=64)
    assert fit.width == 64 and fit.params == 65


def test_fit_to_budget_refuses_a_builder_whose_size_ignores_the_width():
    with pytest.raises(ValueError, match="does not grow with the width"):
        fit_to_budget(lambda w: nn.Linear(1, 1), 100, limit=64)


def test_fit_to_budget_bad_arguments():
    with pytest.raises(TypeError, match="callable, got int"):
        fit_to_budget(42, 100)
    with pytest.raises(ValueError, match="max_params must be a positive int"):
        fit_to_budget(widening, 0)
    with pytest.raises(ValueError, match="low"):
        fit_to_budget(widening, 100, low=0)
    with pytest.raises(TypeError, match="nn.Module"):
        fit_to_budget(lambda w: "not a model", 100)


def test_assert_fits_budget_for_users_suites():
    assert assert_fits_budget(model4) == 7216
    assert assert_fits_budget("model4") == 7216
    assert assert_fits_budget("tinyconv.zoo:model4", max_params=7217) == 7216
    with pytest.raises(AssertionError, match="over by 1 "):
        assert_fits_budget(model4(), max_params=7216)


def test_fit_to_budget_never_returns_a_model_exactly_at_the_budget():
    """The budget is exclusive everywhere: a width whose count equals it does not fit."""
    for budget in (2, 10, 64, 100, 257):
        fit = fit_to_budget(lambda w: nn.Linear(w, 1, bias=False), budget)
        assert fit.params == fit.width == budget - 1


def test_fit_to_budget_refuses_a_smallest_width_exactly_at_the_budget():
    """Kills ``best_params >= max_params`` → ``>`` (mutmut): the budget is exclusive for the first build too."""
    with pytest.raises(BudgetExceededError, match="fewer than 5"):
        fit_to_budget(lambda w: nn.Linear(w, 1, bias=False), 5, low=5)


def test_fit_to_budget_hands_integer_widths_to_the_builder():
    seen = []

    def builder(width):
        seen.append(width)
        return nn.Linear(width, 1, bias=False)

    fit = fit_to_budget(builder, 40, low=1.5)
    assert fit.width == 39 and all(isinstance(w, int) for w in seen)


def test_a_float_search_reaches_its_resolution():
    """Kills the float search stopping at the integer step (mutmut ``if (integer) or True``)."""
    fit = fit_to_budget(lambda m: nn.Linear(int(m * 100), 1, bias=False), 5000, low=0.5, integer=False)
    assert 49.98 < fit.width < 50.0 and fit.params == 4999 == count_params(fit.model)


def test_fit_to_budget_at_the_limit_returns_the_model_and_refuses_a_zero_resolution():
    fit = fit_to_budget(lambda w: nn.Linear(w, 1), 1000, limit=64)
    assert count_params(fit.model) == 65
    with pytest.raises(ValueError, match="resolution must be positive"):
        fit_to_budget(widening, 100, integer=False, resolution=0)


def test_param_holders_credits_each_trainable_tensor_once_to_its_own_module():
    """Kills the param_holders survivors of the mutation run (recurse, requires_grad/seen, the sum, the names)."""
    from tinyconv.budget import param_holders

    shared = nn.Linear(3, 4)  # 16 parameters
    frozen = nn.Linear(2, 2)
    frozen.requires_grad_(False)
    model = nn.Sequential(shared, nn.ReLU(), shared, nn.Sequential(nn.Linear(4, 5)), frozen)
    assert param_holders(model) == [("3.0", 25), ("0", 16)]  # largest first
    assert param_holders(nn.Linear(2, 3)) == [("Linear", 9)]  # the root module is named by its class
    assert sum(n for _, n in param_holders(model4())) == count_params(model4())


def test_param_holders_credits_a_tied_weight_to_its_first_module_only():
    first, second = nn.Linear(3, 3, bias=False), nn.Linear(3, 3, bias=False)
    second.weight = first.weight  # weight tying: one tensor, two modules
    from tinyconv.budget import param_holders

    assert param_holders(nn.Sequential(first, second)) == [("0", 9)]
