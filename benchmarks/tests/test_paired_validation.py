"""The paired rule (``lab.tables.paired_comparison``, ``benchmarks/paired_validation.py``), held against a hand calculation."""

from __future__ import annotations

import argparse
import math

import pytest

import lab.tables as pv
import paired_validation
from lab.settings import add_settings_argument, parse_setting


def _run(variant: str, seed: int, last3: list[float]) -> dict:
    epochs = [{"epoch": i + 1, "train_loss": 0.1, "train_accuracy": 99.0, "test_loss": 0.02,
               "test_accuracy": acc, "test_correct": round(acc * 100), "test_total": 10_000,
               "lr": 0.1, "seconds": 1.0} for i, acc in enumerate([98.0, *last3])]
    return {"variant": variant, "seed": seed, "overrides": {} if variant == pv.BASELINE else {"batch_size": 32},
            "recipe": {}, "wall_seconds": 60.0, "history": {"epochs": epochs}}


def _data(base: dict[int, list[float]], change: dict[int, list[float]]) -> dict:
    runs = {f"baseline/seed{s}": _run("baseline", s, v) for s, v in base.items()}
    runs |= {f"b32/seed{s}": _run("b32", s, v) for s, v in change.items()}
    return {"model": "st5k", "params": 4946, "holdout": 10_000, "runs": runs}


def test_the_score_is_the_lowest_of_the_last_three_epochs():
    assert pv.paired_score(_run("baseline", 1, [99.41, 99.38, 99.45])) == pytest.approx(99.38)


def test_differences_mean_and_standard_error_by_hand():
    # Scores (minimum of the last three): baseline 99.30, 99.40, 99.35; change 99.40, 99.45, 99.40
    # -> differences 0.10, 0.05, 0.05: mean 0.0667, sample std 0.02887, error 0.02887 / sqrt(3) = 0.01667.
    data = _data({1: [99.3, 99.5, 99.5], 2: [99.4, 99.4, 99.4], 3: [99.35, 99.5, 99.6]},
                 {1: [99.4, 99.4, 99.5], 2: [99.5, 99.45, 99.5], 3: [99.4, 99.5, 99.5], 4: [99.0, 99.0, 99.0]})
    result = pv.paired_comparison(data)["b32"]
    assert result["seeds"] == [1, 2, 3]  # seed 4 has no baseline: not paired
    assert result["differences"] == pytest.approx([0.10, 0.05, 0.05])
    assert result["mean"] == pytest.approx(0.2 / 3)
    assert result["error"] == pytest.approx(math.sqrt(((0.1 - 0.2 / 3) ** 2 + 2 * (0.05 - 0.2 / 3) ** 2) / 2) / math.sqrt(3))
    assert result["wins"]  # 0.0667 > 2 x 0.0167


def test_a_gain_within_two_standard_errors_does_not_win():
    data = _data({1: [99.3] * 3, 2: [99.4] * 3}, {1: [99.5] * 3, 2: [99.3] * 3})  # +0.2, -0.1
    result = pv.paired_comparison(data)["b32"]
    assert result["mean"] == pytest.approx(0.05) and not result["wins"]


def test_one_seed_never_wins():
    result = pv.paired_comparison(_data({1: [99.3] * 3}, {1: [99.6] * 3}))["b32"]
    assert math.isnan(result["error"]) and not result["wins"]


def test_the_markdown_names_the_verdict_and_every_seed():
    data = _data({1: [99.3] * 3, 2: [99.4] * 3}, {1: [99.5] * 3, 2: [99.3] * 3})
    data["machine"] = {"cpu": "AMD EPYC", "cores": 2, "torch": "2.14.1", "threads": 1}
    data["command"] = "python benchmarks/paired_validation.py ..."
    text = pv.paired_table(data).to_markdown()
    assert "| 1 |" in text and "| 2 |" in text
    assert "does not win" in text and "batch_size=32" in text


def test_settings_are_read_as_json_values():
    assert parse_setting("batch_size=32") == ("batch_size", 32)
    assert parse_setting("lr=0.05") == ("lr", 0.05)
    assert parse_setting("augment=custom") == ("augment", "custom")
    with pytest.raises(argparse.ArgumentTypeError, match="KEY=VALUE"):
        parse_setting("batch_size")


def test_a_baseline_with_settings_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        paired_validation.main(["--model", "st5k", "--set", "batch_size=32", "--out", str(tmp_path / "x.json")])
    assert "--set and --variant-model go with a --variant" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_a_variant_needs_a_change_and_a_network_counts_as_one(tmp_path, capsys):
    with pytest.raises(SystemExit):
        paired_validation.main(["--model", "st5k", "--variant", "x", "--out", str(tmp_path / "x.json")])
    assert "needs one of them" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        paired_validation.main(["--model", "st5k", "--variant-model", "st6k", "--out", str(tmp_path / "x.json")])
    assert "go with a --variant other than" in capsys.readouterr().err


def test_a_variant_network_is_named_with_its_parameters_in_the_verdict():
    data = _data({1: [99.3] * 3, 2: [99.4] * 3}, {1: [99.5] * 3, 2: [99.3] * 3})
    for run in data["runs"].values():
        if run["variant"] == "b32":
            run |= {"network": "early.json", "params": 7534, "overrides": {"epochs": 8}}
    note = next(n for n in pv.paired_table(data).notes if n.startswith("`b32`"))
    assert "(network=early.json (7,534 parameters), epochs=8)" in note


def test_the_final_runs_change_a_recipe_only_into_a_file_of_their_own(capsys):
    import final_recipes

    with pytest.raises(SystemExit):
        final_recipes.main(["--model", "st5k", "--set", "batch_size=32"])
    assert "--set needs --out" in capsys.readouterr().err


def test_repeated_set_flags_add_up_instead_of_replacing_each_other():
    parser = argparse.ArgumentParser()
    add_settings_argument(parser, help="settings")
    assert dict(parser.parse_args(["--set", "epochs=8", "--set", "lr=0.2"]).settings) == {"epochs": 8, "lr": 0.2}
    assert dict(parser.parse_args(["--set", "epochs=8", "lr=0.2"]).settings) == {"epochs": 8, "lr": 0.2}
    assert parser.parse_args([]).settings == []


def test_changes_are_compared_with_the_files_reference_variant():
    # Three changes of one short recipe, each against that recipe ("b32" here), not the model's own.
    data = _data({1: [99.0] * 3, 2: [99.0] * 3}, {1: [99.4] * 3, 2: [99.5] * 3})
    data["runs"] |= {f"lr/seed{s}": {**_run("lr", s, v), "overrides": {"lr": 0.2}}
                     for s, v in {1: [99.3] * 3, 2: [99.5] * 3}.items()}
    data["reference"] = "b32"
    result = pv.paired_comparison(data)
    assert set(result) == {"baseline", "lr"}
    assert result["lr"]["differences"] == pytest.approx([-0.1, 0.0])
    text = pv.paired_table(data).to_markdown()
    assert "minus `b32` over 2 seeds" in text and text.index("`b32` last 3") < text.index("`baseline` last 3")


def test_a_markdown_rewrite_can_set_the_reference_but_not_the_runs(tmp_path):
    from lab.files import read_results, rewrite_markdown, write_results

    path = tmp_path / "paired.json"
    write_results(path, _data({1: [99.0] * 3, 2: [99.0] * 3}, {1: [99.4] * 3, 2: [99.5] * 3}), command="test",
                  markdown=paired_validation.markdown)
    rewrite_markdown(path, paired_validation.markdown, {"reference": "b32"})
    assert read_results(path.name, tmp_path)["reference"] == "b32"
    assert "minus `b32`" in path.with_suffix(".md").read_text()
    with pytest.raises(ValueError, match="not the runs"):
        rewrite_markdown(path, paired_validation.markdown, {"runs": {}})
