"""tinyconv's own budget models: budgets enforced, recipes wired, metadata equal to the committed results."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyconv.budget import BudgetExceededError, budgeted, check_budget, count_params
from tinyconv.train.recipe import Recipe, get_recipe
from tinyconv.train.run import recipe_for
from tinyconv.zoo import get_model, get_model_info
from tinyconv.zoo.funnel import funnel

REPO = Path(__file__).resolve().parents[1]
BUDGET_MODELS = {"tc8k": 8_000, "tc5k": 5_000}


@pytest.mark.parametrize("name, limit", BUDGET_MODELS.items())
def test_budget_models_pass_their_budget(name, limit):
    info = get_model_info(name)
    model = get_model(name)
    assert info.max_params == limit
    assert count_params(model) == info.num_params < limit
    check_budget(model, limit)


@pytest.mark.parametrize("name, limit", BUDGET_MODELS.items())
def test_the_budget_guards_every_build(name, limit):
    assert get_model_info(name).builder.max_params == limit
    with pytest.raises(BudgetExceededError):
        budgeted(limit)(lambda: funnel(widths=(10, 16, 12, 16, 16)))()


@pytest.mark.parametrize("name", BUDGET_MODELS)
def test_train_uses_the_models_own_recipe(name):
    assert get_model_info(name).extra["recipe"] == name
    assert recipe_for(name) == get_recipe(name)
    assert recipe_for(name) != recipe_for("model4")


def _results(name: str) -> dict:
    measured = get_model_info(name).extra["measured"]
    return json.loads((REPO / measured["results"]).read_text())


@pytest.mark.parametrize("name", BUDGET_MODELS)
def test_measured_metadata_matches_the_committed_results(name):
    info = get_model_info(name)
    measured = info.extra["measured"]
    data = _results(name)
    assert data["model"] == name
    assert data["params"] == info.num_params
    assert Recipe(**data["recipe"]) == recipe_for(name)
    runs = [run["history"]["epochs"] for run in data["runs"].values()]
    finals = [epochs[-1]["test_accuracy"] for epochs in runs]
    assert measured["seeds"] == len(runs) >= 3
    assert all(len(epochs) == recipe_for(name).epochs for epochs in runs)
    assert measured["final_mean"] == pytest.approx(statistics.mean(finals), abs=0.005)
    assert measured["final_std"] == pytest.approx(statistics.stdev(finals), abs=0.005)
    assert measured["last3_min"] == pytest.approx(min(e["test_accuracy"] for ep in runs for e in ep[-3:]), abs=0.005)


@pytest.mark.parametrize("name", BUDGET_MODELS)
def test_results_were_produced_by_the_committed_script_for_the_full_training_set(name):
    data = _results(name)
    assert data["command"].startswith(f"python benchmarks/final_recipes.py --model {name}")
    assert {"cpu", "cores", "torch"} <= set(data["machine"])
    for run in data["runs"].values():
        meta = run["history"]["meta"]
        assert meta["holdout"] == 0 and meta["train_size"] == 60_000 and meta["eval_size"] == 10_000
        assert meta["eval_name"] == "Test"


@settings(max_examples=15, deadline=None)
@given(widths=st.tuples(*[st.integers(1, 12)] * 5), stem_padding=st.sampled_from([0, 1]))
def test_funnel_shapes_and_padding_costs_no_parameters(widths, stem_padding):
    model = funnel(widths=widths, stem_padding=stem_padding).eval()
    out = model(torch.randn(2, 1, 28, 28))
    assert out.shape == (2, 10)
    torch.testing.assert_close(out.exp().sum(1), torch.ones(2))
    assert count_params(model) == count_params(funnel(widths=widths))


def test_funnel_stem_padding_widens_the_maps_and_the_receptive_field():
    from tinyconv.summary import summary

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


def _script(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _selection(name: str) -> dict:
    return json.loads((REPO / "benchmarks" / "results" / name).read_text())


@pytest.mark.parametrize("name, group", [("tc8k", "under8k"), ("tc5k", "under5k")])
def test_zoo_entries_are_the_best_validation_candidates(name, group):
    """Stage 1 (seed 1) chose architecture and recipe; stage 3 (seeds 1-3, lowest of the last 3) the average."""
    from tinyconv.zoo.budget import TC5K_WIDTHS, TC8K_WIDTHS

    candidates = _selection("selection.json")["candidates"]
    group_candidates = {k: c for k, c in candidates.items() if c["group"] == group}
    base = max(group_candidates, key=lambda k: (group_candidates[k]["score"], group_candidates[k]["last3"][-1]))
    best = group_candidates[base]  # ties: the last epoch decides
    widths = {"tc8k": TC8K_WIDTHS, "tc5k": TC5K_WIDTHS}[name]
    assert best["model_kwargs"] == {"widths": list(widths)}
    assert best["params"] == get_model_info(name).num_params

    stage2 = _selection("selection_average.json")
    rows = {k: row for k, row in stage2["scores"].items() if row["group"] == group}
    assert {row["base"] for row in rows.values()} == {base}
    assert all(row["score"] is not None and len(row["per_seed"]) == 2 for row in rows.values())
    stage3 = _selection("selection_criterion.json")
    rows3 = {k: row for k, row in stage3["scores"].items() if row["group"] == group}
    assert all(row["score"] is not None and sorted(row["per_seed"]) == ["1", "2", "3"] for row in rows3.values())
    for row in rows3.values():  # seeds 1 and 2 are stage 2's runs, re-scored
        decay = row["ema_decay"] or 0.0
        stage2_row = next(r for r in rows.values() if (r["ema_decay"] or 0.0) == decay)
        for seed in ("1", "2"):
            assert row["per_seed"][seed]["last3"] == stage2_row["per_seed"][seed]["last3"]
        assert row["score"] == pytest.approx(statistics.mean(min(s["last3"]) for s in row["per_seed"].values()))
    winner = rows3[_script("select_criterion").chosen(stage3["scores"], group)]
    assert recipe_for(name) == Recipe(**best["recipe"]).with_overrides(ema_decay=winner["ema_decay"])


@pytest.mark.parametrize("group", ["under8k", "under5k"])
def test_a_weight_average_leaves_training_unchanged_in_the_committed_runs(group):
    """Stage 2's seed-1 training weights score exactly what stage 1's run without an average did."""
    stage2 = _selection("selection_average.json")
    rows = [row for row in stage2["scores"].values() if row["group"] == group and not row["ema_decay"]]
    (row,) = rows
    stage1 = _selection("selection.json")["candidates"][row["base"]]
    assert row["per_seed"]["1"]["last3"] == stage1["last3"]
