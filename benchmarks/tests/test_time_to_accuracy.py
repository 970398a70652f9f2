"""The time-to-accuracy benchmark's logic, without training: its plan, one timed run, its table, the CUDA skip."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import time_to_accuracy as tta
from lab.tables import time_to_accuracy_line, time_to_accuracy_table


def test_the_entries_run_interleaved_for_every_seed_and_thread_count():
    assert tta.plan(["fast", "seed"], [1, 2], [1, 2]) == [
        ("fast", 1, 1), ("seed", 1, 1), ("fast", 1, 2), ("seed", 1, 2),
        ("fast", 2, 1), ("seed", 2, 1), ("fast", 2, 2), ("seed", 2, 2)]
    with pytest.raises(ValueError, match="unknown entries"):
        tta.plan(["faster"], [1], [1])


def test_every_entry_names_a_model_that_builds_under_the_budget():
    from tinyconv.app.refs import parse_model_ref
    from tinyconv.budget import count_params

    for label, entry in tta.ENTRIES.items():
        target = str(tta.ROOT / entry.model) if entry.model.endswith(".json") else entry.model
        assert count_params(parse_model_ref(target).build()) < 8000, label


def _fake_runner(accuracies, seen):
    def run(cmd, env, capture_output, text, cwd):
        assert Path(cwd) == tta.ROOT
        seen.append((cmd, env))
        out = Path(cmd[cmd.index("--out") + 1])
        out.mkdir(parents=True)
        epochs = [{"epoch": i + 1, "test_accuracy": a} for i, a in enumerate(accuracies)]
        (out / "history.json").write_text(json.dumps({"meta": {"params": 7629}, "epochs": epochs}))
        return subprocess.CompletedProcess(cmd, 0, "", "")
    return run


def test_one_run_is_a_train_process_with_its_threads_and_device_judged_by_its_last_three():
    seen = []
    run = tta.run_once("fast", 7, 1, "cuda", None, runner=_fake_runner([98.0, 99.41, 99.45, 99.4], seen))
    cmd, env = seen[0]
    assert cmd[2:4] == ["tinyconv.cli", "train"] and cmd[cmd.index("--recipe") + 1] == "st8k-fast"
    assert cmd[cmd.index("--seed") + 1] == "7" and cmd[cmd.index("--device") + 1] == "cuda"
    assert env["OMP_NUM_THREADS"] == "1"
    assert run["passed"] and run["last_three"] == [99.41, 99.45, 99.4] and run["epochs"] == 4 and run["params"] == 7629
    failing = tta.run_once("fast", 7, 1, "cpu", None, runner=_fake_runner([99.5, 99.39, 99.5], []))
    assert not failing["passed"]


def test_a_failed_process_is_an_error_not_a_result():
    def broken(cmd, env, capture_output, text, cwd):
        return subprocess.CompletedProcess(cmd, 2, "", "tinyconv train: error: boom")

    with pytest.raises(RuntimeError, match="boom"):
        tta.run_once("st8k", 1, 2, "cpu", None, runner=broken)


def test_the_table_gives_the_median_range_and_the_pass_rate_with_its_interval():
    def run(seed, wall, passed):
        return {"entry": "fast", "model": "st8k", "recipe": "st8k-fast", "seed": seed, "threads": 2, "device": "cpu",
                "epochs": 8, "params": 7629, "wall_s": wall, "last_three": [99.5, 99.5, 99.5 if passed else 99.3],
                "passed": passed}

    data = {"runs": {f"r{i}": run(i, w, p) for i, (w, p) in enumerate([(100, True), (120, True), (90, False)])},
            "machine": {"cpu": "x", "cores": 2, "torch": "2"}, "command": "c"}
    row = time_to_accuracy_table(data).rows[0]
    assert row[6] == "100 s" and row[7] == "90–120 s" and row[8].startswith("2/3 (21–94%)") and row[9] == "99.30"
    data["runs"]["slow"] = {**run(9, 400, False), "entry": "seed", "model": "model4", "recipe": "reference",
                            "epochs": 15}
    assert time_to_accuracy_line(data) == (
        "`st8k-fast` (st8k, 8 epochs, cpu, 2 threads) median 100 s, 2 of 3 runs passed; "
        "the seed notebook's pipeline (model4, 15 epochs, cpu, 2 threads) median 400 s, 0 of 1 run passed")


def test_cuda_is_skipped_cleanly_without_a_gpu(tmp_path, monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert tta.main(["--device", "cuda", "--out", str(tmp_path / "t.json")]) == 0
    assert "skipped --device cuda" in capsys.readouterr().out and not (tmp_path / "t.json").exists()
