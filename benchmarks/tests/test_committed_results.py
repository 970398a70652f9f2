"""Checks on the committed results files (marked ``results``; run with ``pytest -m results``).

They read what the benchmarks wrote and hold it to what the library and the docs say:
the zoo's measured figures come from these files for the recipe the zoo registers, and
each file was made by the committed command on the full training set.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.files import read_recipe
from tinyconv.recipe import Recipe
from lab.measured import measured
from tinyconv.zoo import get_model_info, list_models, recipe_for

pytestmark = pytest.mark.results

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results"
BUDGET_MODELS = tuple(sorted(p.stem.removeprefix("final_") for p in RESULTS.glob("final_*.json")
                            if p.stem.removeprefix("final_") in list_models()))
"""Every zoo model with committed final runs (tc8k, tc5k and the searched entries)."""


def _results(name: str) -> dict:
    return json.loads((RESULTS / f"final_{name}.json").read_text())


@pytest.mark.parametrize("name", BUDGET_MODELS)
def test_the_results_file_belongs_to_the_registered_model_and_recipe(name):
    data = _results(name)
    assert data["model"] == name
    assert data["params"] == get_model_info(name).num_params
    assert read_recipe(data["recipe"]) == recipe_for(name)
    runs = [run["history"]["epochs"] for run in data["runs"].values()]
    assert len(runs) >= 3 and all(len(epochs) == recipe_for(name).epochs for epochs in runs)


@pytest.mark.parametrize("name", BUDGET_MODELS)
def test_measured_reads_the_committed_runs(name):
    data = _results(name)
    result = measured(name)
    assert result is not None and result.results == f"benchmarks/results/final_{name}.json"
    assert list(result.seeds) == sorted(int(s) for s in data["runs"])
    for seed, last3 in zip(result.seeds, result.last3, strict=True):
        epochs = data["runs"][str(seed)]["history"]["epochs"]
        assert list(last3) == [e["test_accuracy"] for e in epochs[-3:]]


def test_a_measurement_belongs_to_its_recipe():
    assert measured("tc8k", "reference") is None  # tc8k was not measured with the notebook's recipe
    assert measured("tc8k", "tc8k") is not None


@pytest.mark.parametrize("name", BUDGET_MODELS)
def test_results_were_produced_by_the_committed_script_for_the_full_training_set(name):
    data = _results(name)
    assert data["command"].startswith(f"python benchmarks/final_recipes.py --model {name}")
    assert {"cpu", "cores", "torch"} <= set(data["machine"])
    for run in data["runs"].values():
        meta = run["history"]["meta"]
        assert meta["holdout"] == 0 and meta["train_size"] == 60_000 and meta["eval_size"] == 10_000
        assert meta["eval_name"] == "Test"


def test_several_processes_add_seeds_to_one_results_file(tmp_path):
    from lab.files import add_runs

    path = tmp_path / "final_x.json"
    add_runs(path, {"model": "x", "runs": {"1": {"a": 1}}}, command="c1")
    data = add_runs(path, {"model": "x", "runs": {"4": {"a": 4}}}, command="c2")
    assert sorted(data["runs"]) == ["1", "4"] and data["commands"] == ["c1", "c2"]
    with pytest.raises(ValueError, match="other settings"):
        add_runs(path, {"model": "y", "runs": {}}, command="c3")


def test_a_recipe_written_before_a_new_setting_is_the_same_recipe(tmp_path):
    """A file written before ``aug_probability`` existed takes runs of the same recipe written after."""
    from lab.files import add_runs

    path = tmp_path / "final_x.json"
    recipe = recipe_for("st5k").to_dict()
    older = {k: v for k, v in recipe.items() if k != "aug_probability"}
    add_runs(path, {"model": "x", "recipe": older, "runs": {"1": {"a": 1}}}, command="c1")
    assert sorted(add_runs(path, {"model": "x", "recipe": recipe, "runs": {"2": {}}}, command="c2")["runs"]) == ["1", "2"]
    with pytest.raises(ValueError, match="other settings"):
        add_runs(path, {"model": "x", "recipe": {**recipe, "aug_probability": 0.5}, "runs": {}}, command="c3")


def test_the_deploy_benchmark_holds_the_deploy_pages_promises():
    """ONNX fp32 is PyTorch's model; int8 costs at most 0.1 points and stores a quarter of the weight bytes."""
    data = json.loads((RESULTS / "deploy.json").read_text())
    assert data["command"].startswith("python benchmarks/deploy.py") and data["runs"]
    for run in data["runs"]:
        n, onnx = run["test_images"], run["onnx"]
        assert n == 10_000 and run["calibration_images"] >= 100
        assert get_model_info(run["model"]).num_params == run["params"]
        assert onnx["fp32"]["correct"] == run["pytorch_correct"] and onnx["fp32"]["same_predictions"] == n
        assert onnx["fp32"]["max_abs_diff"] < 1e-3
        assert run["pytorch_correct"] - onnx["int8"]["correct"] <= 10  # 0.1 percentage points
        assert run["weights_bytes"] == {"fp32": 4 * run["params"], "int8": run["params"]}


def _runs_of_the_registered_model(filename: str, infix: str) -> tuple[dict, str]:
    """Load ``final_NAME<infix>...json`` and check it ran NAME's registered network and recipe."""
    data = json.loads((RESULTS / filename).read_text())
    name = data["model"]
    assert filename.startswith(f"final_{name}{infix}")
    assert data["params"] == get_model_info(name).num_params
    assert read_recipe(data["recipe"]) == recipe_for(name)
    return data, name


CHECKS = tuple(sorted(p.name for p in RESULTS.glob("final_*_check.json")))
"""Reruns of some seeds with another rounding (``--contiguous``, another thread count)."""


@pytest.mark.parametrize("filename", CHECKS)
def test_a_rounding_check_reruns_the_registered_model_and_recipe(filename):
    """A check left over from an earlier recipe would compare the new model with an old one."""
    data, name = _runs_of_the_registered_model(filename, "_")
    assert set(data["runs"]) <= set(_results(name)["runs"])  # the seeds it reruns are in the final runs


MORE_SEEDS = tuple(sorted(p.name for p in RESULTS.glob("final_*_seeds*.json")))
"""Final runs of a model with seeds beyond its first five (``--seeds 6 7 8 9 10 --out ...``)."""


@pytest.mark.parametrize("filename", MORE_SEEDS)
def test_more_seeds_train_the_registered_model_and_recipe_with_new_seeds(filename):
    data, name = _runs_of_the_registered_model(filename, "_seeds")
    assert not set(data["runs"]) & set(_results(name)["runs"])  # other seeds than the final runs'
    assert all(len(run["history"]["epochs"]) == recipe_for(name).epochs for run in data["runs"].values())
    assert f"--out benchmarks/results/{filename}" in data["command"]
