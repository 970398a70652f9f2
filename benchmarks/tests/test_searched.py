"""Searched zoo entries are exactly what the committed studies exported, with the trial's recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.files import read_recipe
from tinyconv.recipe import Recipe
from tinyconv.zoo import get_model_info, recipe_for
from tinyconv.zoo.searched import SEARCHED

pytestmark = pytest.mark.results
SEARCH = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "search"


@pytest.mark.parametrize("name", sorted(SEARCHED))
def test_a_searched_entry_is_its_studys_export(name):
    spec = SEARCHED[name]
    exported = json.loads((SEARCH / spec["source"]["study"] / f"{name}.json").read_text())
    assert exported == spec
    trials = json.loads((SEARCH / spec["source"]["study"] / "trials.json").read_text())["trials"]
    trial = next(t for t in trials if t["number"] == spec["source"]["trial"])
    assert trial["state"] == "COMPLETE" and trial["user_attrs"]["params"] == spec["params"]
    assert read_recipe(trial["user_attrs"]["recipe"]) == recipe_for(name)
    assert get_model_info(name).num_params == spec["params"] < spec["budget"] == get_model_info(name).max_params


@pytest.mark.parametrize("name", sorted(SEARCHED))
def test_the_entry_was_the_best_of_its_study_on_validation(name):
    """Chosen by the validation score (rescored seeds' worst where there are some), never by test accuracy."""
    spec = SEARCHED[name]
    data = json.loads((SEARCH / spec["source"]["study"] / "trials.json").read_text())
    rescored = data.get("rescore", {})

    def key(t):  # worst seed, own score, then the mean of the last three epochs (the tie rule)
        extra = rescored.get(str(t["number"]), {})
        last3 = t["user_attrs"]["accuracies"][-3:]
        return (min([*extra.values(), t["values"][0]]), t["values"][0], sum(last3) / len(last3))

    done = [t for t in data["trials"] if t["state"] == "COMPLETE"]
    assert max(done, key=key)["number"] == spec["source"]["trial"]


@pytest.mark.parametrize("study", ["tc8k-search", "tc5k-search"])
def test_a_committed_study_can_be_continued_with_the_default_space(study, tmp_path):
    """Running the README's search command again must continue the study, not refuse it as another one."""
    import shutil

    from tinyconv.search.objective import TrialSettings
    from tinyconv.search.study import SearchConfig, open_study

    shutil.copy(SEARCH / study / "study.db", tmp_path / "study.db")
    stored = open_study(study, SearchConfig(TrialSettings(budget=int(study[2]) * 1000)),
                        f"sqlite:///{tmp_path / 'study.db'}")
    assert len(stored.trials) > 10
