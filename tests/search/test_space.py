"""The search space and the objective: every trained network is under budget, on validation data only."""

from __future__ import annotations

import json

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyconv.budget import BudgetExceededError, count_params
from tinyconv.search import (
    DEFAULT_SPACE,
    Dimension,
    SearchSpace,
    TrialSettings,
    UnknownParameterError,
    build_candidate,
    criterion,
    load_space,
    smallest_budget,
)
from tinyconv.search.objective import Objective
from tinyconv.search.space import STARTING_POINTS
from tinyconv.zoo.stagenet import StageNetShapeError, stagenet

SHAPES = st.fixed_dictionaries({
    "convs_before": st.integers(1, 3),
    "convs_after": st.integers(2, 4),
    "stem_ratio": st.floats(0.4, 1.0),
    "transition_ratio": st.floats(0.4, 1.0),
    "after_ratio": st.floats(0.8, 1.6),
    "stem_padding": st.sampled_from([0, 1]),
    "after_padding": st.sampled_from([0, 1]),
    "second_pool": st.booleans(),
    "pool_after": st.integers(1, 2),
    "head": st.sampled_from(["gap", "conv3"]),
})


@settings(max_examples=40, deadline=None)
@given(shape=SHAPES, budget=st.integers(300, 20_000))
def test_a_candidate_is_the_widest_network_under_the_budget(shape, budget):
    try:
        candidate = build_candidate(shape, budget)
    except (BudgetExceededError, StageNetShapeError):
        return  # pruned before training, at no cost
    assert candidate.params == count_params(candidate.model) < budget
    wider = stagenet(width=candidate.width + 1, **shape)
    assert count_params(wider) >= budget or candidate.width == 256


def test_a_shape_that_cannot_fit_is_refused_before_any_model_is_trained():
    with pytest.raises(BudgetExceededError, match="fewer than 200"):
        build_candidate({"convs_before": 3, "convs_after": 4}, 200)
    with pytest.raises(StageNetShapeError, match="shrinks to"):
        build_candidate({"convs_before": 3, "stem_padding": 0, "convs_after": 4, "second_pool": True,
                         "pool_after": 2, "head": "conv3"}, 8000)


def test_the_criterion_is_the_lowest_of_the_last_three_epochs():
    assert criterion([90.0, 99.5, 99.3, 99.6]) == 99.3
    assert criterion([98.0]) == 98.0
    with pytest.raises(ValueError, match="no epochs"):
        criterion([])


def test_the_space_round_trips_through_json_and_has_a_stable_fingerprint(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(json.dumps(DEFAULT_SPACE.to_dict()))
    loaded = load_space(str(path))
    assert loaded == DEFAULT_SPACE and loaded.fingerprint() == DEFAULT_SPACE.fingerprint()
    smaller = SearchSpace(DEFAULT_SPACE.dimensions[:-1])
    assert smaller.fingerprint() != DEFAULT_SPACE.fingerprint()
    assert "label_smoothing" in DEFAULT_SPACE.describe()


def test_an_unknown_parameter_is_refused(tmp_path):
    with pytest.raises(UnknownParameterError, match="'colour'"):
        Dimension("colour", "categorical", choices=("red",))
    path = tmp_path / "space.json"
    path.write_text(json.dumps({"dimensions": [{"name": "lr", "kind": "float", "low": 0.01, "high": 0.1,
                                                "step": 2}]}))
    with pytest.raises(UnknownParameterError, match="unknown keys: \\['step'\\]"):
        load_space(str(path))
    path.write_text("{not json")
    with pytest.raises(ValueError, match="is not JSON"):
        load_space(str(path))


def test_conditions_must_name_earlier_dimensions():
    later = Dimension("pool_after", "int", low=1, high=2, when={"second_pool": (True,)})
    with pytest.raises(ValueError, match="must come before it"):
        SearchSpace((later, Dimension("second_pool", "categorical", choices=(False, True))))


@pytest.mark.parametrize("point", STARTING_POINTS)
def test_sampling_a_point_gives_a_shape_and_a_recipe(point):
    shape, recipe = DEFAULT_SPACE.sample(optuna.trial.FixedTrial(point))
    assert shape["convs_before"] == point["convs_before"] and recipe["lr"] == point["lr_sgd"]
    assert "pool_after" not in shape or point["second_pool"]
    assert shape["dropout"] == 0.0  # "none" becomes no dropout
    build_candidate(shape, 8000)


def test_smallest_budget_is_a_floor():
    floor = smallest_budget()
    assert 0 < floor < 1000
    assert stagenet(width=2, convs_before=1, convs_after=2, stem_ratio=0.4, transition_ratio=0.4,
                    after_ratio=0.8) is not None


def test_the_objective_never_loads_the_test_set(monkeypatch):
    """Trials read the training images only; the last 10,000 of them are the validation set."""
    import torch

    import tinyconv.data.pipeline as pipeline

    calls = []

    def fake_load(root, *, train=True, fetch=True):
        calls.append(train)
        if not train:
            raise AssertionError("a trial loaded the test set")
        g = torch.Generator().manual_seed(0)
        return torch.randint(0, 255, (60_000, 28, 28), dtype=torch.uint8, generator=g), \
            torch.randint(0, 10, (60_000,), generator=g)

    class FewBatches(pipeline.TensorBatches):  # keep the unit test fast: 2 batches a pass
        def __init__(self, x, y, batch_size, **kwargs):
            super().__init__(x[:2 * batch_size], y[:2 * batch_size], batch_size, **kwargs)

    monkeypatch.setattr(pipeline, "ensure_mnist", lambda root: None)
    monkeypatch.setattr(pipeline, "load_mnist", fake_load)
    monkeypatch.setattr(pipeline, "TensorBatches", FewBatches)
    objective = Objective(DEFAULT_SPACE, TrialSettings(budget=3000, epochs=1, data="mnist", root="unused"))
    score = objective(optuna.trial.FixedTrial(STARTING_POINTS[0]))
    assert calls == [True] and 0 <= score <= 100


def test_a_point_outside_the_space_is_refused_with_the_name_and_value():
    from tinyconv.search import DEFAULT_SPACE

    DEFAULT_SPACE.check_point(STARTING_POINTS[0])  # a starting point is inside
    with pytest.raises(ValueError, match=r"batch_size=32 is outside the space's range \{64, 128, 256\}"):
        DEFAULT_SPACE.check_point({**STARTING_POINTS[0], "batch_size": 32})
    with pytest.raises(ValueError, match=r"pct_start=0.5 is outside"):
        DEFAULT_SPACE.check_point({"pct_start": 0.5})
    with pytest.raises(ValueError, match=r"convs_before=2.5 is outside"):
        DEFAULT_SPACE.check_point({"convs_before": 2.5})
    with pytest.raises(ValueError, match=r"second_pool=0 is outside"):  # 0 is not False
        DEFAULT_SPACE.check_point({"second_pool": 0})
    with pytest.raises(UnknownParameterError, match="colour"):
        DEFAULT_SPACE.check_point({"colour": 1})


@given(st.sampled_from(["int", "float"]), st.integers(-5, 5), st.integers(0, 5), st.floats(-20, 20))
def test_a_number_is_contained_exactly_when_it_lies_in_the_range(kind, low, span, value):
    from tinyconv.search import Dimension

    dim = Dimension("pct_start", kind, low=low, high=low + span)
    inside = low <= value <= low + span and (kind == "float" or value == int(value))
    assert dim.contains(value) == inside
    assert not dim.contains(True) and not dim.contains("1")


def test_a_trial_trains_through_the_one_trainer_on_the_studys_device(monkeypatch):
    from tinyconv.recipe import Recipe
    from tinyconv.search import objective

    calls = {}

    def fake_train_net(model, recipe, **kwargs):
        calls.update(kwargs, model=model(), recipe=recipe)
        raise StopIteration

    monkeypatch.setattr(objective, "train_net", fake_train_net)
    settings = TrialSettings(budget=3000, epochs=1, data="synthetic", device="cuda")
    with pytest.raises(StopIteration):
        objective.train_trial({}, 4, Recipe(epochs=1), settings, seed=3)
    assert calls["device"] == "cuda" and calls["seed"] == 3 and calls["out"] is False
    assert calls["data"].eval_name == "Validation" and calls["holdout"] == 0
