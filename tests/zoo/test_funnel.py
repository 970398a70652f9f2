"""The funnel family and tinyconv's budget models: budgets enforced, recipes wired."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyconv.budget import BudgetExceededError, check_budget, count_params
from tinyconv.zoo import get_model, get_model_info, get_recipe, recipe_for
from tinyconv.zoo.funnel import funnel

BUDGET_MODELS = {"tc8k": 8_000, "tc5k": 5_000}


@pytest.mark.parametrize("name, limit", BUDGET_MODELS.items())
def test_budget_models_pass_their_budget(name, limit):
    info = get_model_info(name)
    model = get_model(name)
    assert info.max_params == limit
    assert count_params(model) == info.num_params < limit
    check_budget(model, limit)


@pytest.mark.parametrize("name, limit", BUDGET_MODELS.items())
def test_the_budget_guards_every_build(name, limit, monkeypatch):
    """The registered builder itself refuses to build past its budget if its widths grow."""
    import importlib

    module = importlib.import_module("tinyconv.zoo.funnel")  # the package attribute `funnel` is the function

    assert get_model_info(name).builder.max_params == limit
    monkeypatch.setitem(module.FUNNEL_WIDTHS, name, (10, 16, 12, 16, 16))  # 8,000+ parameters
    with pytest.raises(BudgetExceededError, match=f"{limit:,}"):
        get_model(name)


@pytest.mark.parametrize("name", BUDGET_MODELS)
def test_train_uses_the_models_own_recipe(name):
    assert get_model_info(name).recipe == name
    assert recipe_for(name) == get_recipe(name)
    assert recipe_for(name) != recipe_for("model4")


@settings(max_examples=15, deadline=None)
@given(widths=st.tuples(*[st.integers(1, 12)] * 5), stem_padding=st.sampled_from([0, 1]))
def test_funnel_shapes_and_padding_costs_no_parameters(widths, stem_padding):
    model = funnel(widths=widths, stem_padding=stem_padding).eval()
    out = model(torch.randn(2, 1, 28, 28))
    assert out.shape == (2, 10)
    torch.testing.assert_close(out.exp().sum(1), torch.ones(2))
    assert count_params(model) == count_params(funnel(widths=widths))


def test_funnel_stem_padding_widens_the_maps_and_the_receptive_field():
    from tinyconv.inspect.summary import summary

    plain, padded = summary(funnel()), summary(funnel(stem_padding=1))
    assert plain.receptive_field == (28, 28) and padded.receptive_field == (32, 32)
    assert padded.total_macs > plain.total_macs


@pytest.mark.parametrize("kwargs, message", [
    ({"widths": (8, 12, 8, 12)}, "widths must be 5"),
    ({"widths": (8, 12, 0, 12, 12)}, r"widths\[2\]"),
    ({"stem_padding": 2}, "stem_padding must be one of 0, 1; got 2"),
])
def test_funnel_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        funnel(**kwargs)


def test_scaled_funnel_fits_a_budget():
    from tinyconv.budget import fit_to_budget
    from tinyconv.zoo import scaled_funnel

    fit = fit_to_budget(scaled_funnel, 5000, low=0.1, integer=False)
    assert count_params(fit.model) < 5000
