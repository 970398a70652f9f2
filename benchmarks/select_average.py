"""Second selection stage: weight averaging, scored over two seeds on the validation split.

The first stage (``select_recipe.py``) scored every candidate with seed 1 only; the
best candidates of each group were then within about 0.05 points of each other, the
size of the seed-to-seed spread. This stage starts from each group's first-stage
winner and asks one question — does evaluating an exponential moving average of the
weights (:class:`tinyconv.train.average.WeightAverage`) make the last epochs better
and steadier? — with seeds 1 and 2.

Each run trains on the first 50,000 training images and evaluates on the last 10,000
(the test set is not loaded). A run with an average also records the accuracy of the
training weights themselves, and keeping an average does not change training (tested
in ``tests/test_average.py``), so every run scores two candidates at once: "no
average" and "average with this decay". The score of a candidate is the mean over
seeds of the mean validation accuracy of the last three epochs; the zoo recipe is the
candidate with the best score. Ties go to the higher mean accuracy of the last epoch,
then to the higher lowest accuracy of the last three epochs (the issue's criterion),
then to the smaller decay (the average that lags less behind the training weights).

Results go to ``benchmarks/results/selection_average.json`` after every run
(``--resume`` skips runs already there) with a Markdown table beside.

Usage::

    python benchmarks/select_average.py --resume
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from tinyconv._io import atomic_write_bytes, atomic_write_json
from tinyconv._machine import machine_info
from tinyconv.budget import count_params
from tinyconv.train.run import train_zoo_model
from tinyconv.zoo import get_model

sys.path.insert(0, str(Path(__file__).parent))
from select_recipe import CANDIDATES  # noqa: E402

RESULTS = Path(__file__).parent / "results"
BASES = {"under8k": "w8b-onecycle-affine-pct03", "under5k": "w5c-onecycle-rotate"}
"""Each group's first-stage winner."""
DECAYS = (0.998, 0.999)
SEEDS = (1, 2)


def run_key(base: str, decay: float, seed: int) -> str:
    return f"{base}/ema{decay}/seed{seed}"


def averaged_run(group: str, base: str, decay: float, seed: int, root: str | None) -> dict:
    """Train candidate ``base`` with a weight average on the validation split; return its record.

    The run trains on the first 50,000 training images and evaluates on the last 10,000;
    the record holds the model settings, the recipe, the wall time and the history, in
    which every epoch has both the average's and the training weights' accuracy.
    """
    _, kwargs, recipe = CANDIDATES[base]
    key = run_key(base, decay, seed)
    averaged = recipe.with_overrides(ema_decay=decay)
    print(f"{key}: {kwargs} {averaged}", flush=True)
    began = time.perf_counter()
    result = train_zoo_model("funnel", averaged, seed=seed, holdout=10_000, root=root, progress=False,
                             out=Path("runs") / "selection" / key.replace("/", "-"), model_kwargs=kwargs, echo=None)
    last = result.history.last(3)
    print(f"{key}: last 3 average {[r.test_accuracy for r in last]}, "
          f"training weights {[r.raw_test_accuracy for r in last]}", flush=True)
    return {
        "group": group, "base": base, "seed": seed,
        "model_kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
        "params": count_params(get_model("funnel", **kwargs)),
        "recipe": averaged.to_dict(),
        "wall_seconds": time.perf_counter() - began,
        "history": result.history.to_dict(),
    }


def scores(data: dict) -> dict[str, dict]:
    """Score every candidate of every group from the runs done so far.

    Returns:
        ``{candidate: {"group", "base", "ema_decay", "per_seed": {seed: last-3 mean}, "score"}}``;
        ``score`` is ``None`` until every seed has run.
    """
    table: dict[str, dict] = {}
    for group, base in BASES.items():
        for decay in (0.0, *DECAYS):
            per_seed = {}
            for seed in SEEDS:
                # The "no average" candidate reads the training weights' accuracy of a run
                # with an average (the first decay's); training is the same with or without.
                run = data["runs"].get(run_key(base, decay or DECAYS[0], seed))
                if run is None:
                    continue
                column = "raw_test_accuracy" if decay == 0.0 else "test_accuracy"
                last3 = [epoch[column] for epoch in run["history"]["epochs"][-3:]]
                per_seed[seed] = {"last3": last3, "mean": statistics.mean(last3)}
            name = f"{base}" + (f"+ema{decay}" if decay else "")
            done = len(per_seed) == len(SEEDS)
            table[name] = {
                "group": group, "base": base, "ema_decay": decay, "per_seed": per_seed,
                "score": statistics.mean(s["mean"] for s in per_seed.values()) if done else None,
            }
    return table


def rank_key(row: dict) -> tuple:
    """Sort key of a scored candidate: higher is better (see the module docstring for ties)."""
    per_seed = row["per_seed"].values()
    last_epoch = statistics.mean(s["last3"][-1] for s in per_seed)
    lowest = min(min(s["last3"]) for s in per_seed)
    return (round(row["score"], 6), round(last_epoch, 6), lowest, -row["ema_decay"])


def chosen(table: dict[str, dict], group: str) -> str | None:
    """The winning candidate of a group, or ``None`` while any candidate lacks a score."""
    rows = {name: row for name, row in table.items() if row["group"] == group}
    if not rows or any(row["score"] is None for row in rows.values()):
        return None
    return max(rows, key=lambda name: rank_key(rows[name]))


def markdown(data: dict) -> str:
    m = data["machine"]
    lines = [
        "# Selection stage 2: weight averaging, two seeds, validation split (last 10,000 training images)",
        "",
        f"Command: `{data['command']}`  ",
        f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}. Trained on 50,000 images; score = mean "
        "over seeds 1 and 2 of the mean validation accuracy of the last 3 epochs. The test set is not used.",
        "",
        "| candidate | group | EMA decay | seed 1: last 3 val acc | seed 2: last 3 val acc | score | chosen |",
        "|---|---|---|---|---|---|---|",
    ]
    table = scores(data)
    winners = {chosen(table, group) for group in BASES}
    for name, row in sorted(table.items(), key=lambda kv: (kv[1]["group"], -(kv[1]["score"] or 0))):
        cells = [", ".join(f"{a:.2f}" for a in row["per_seed"][s]["last3"]) if s in row["per_seed"] else "—"
                 for s in SEEDS]
        score = f"{row['score']:.3f}" if row["score"] is not None else "—"
        lines.append(f"| {name} | {row['group']} | {row['ema_decay'] or 'none'} | {cells[0]} | {cells[1]} | {score} "
                     f"| {'yes' if name in winners else ''} |")
    lines += ["", "Ties: higher mean last-epoch accuracy, then higher lowest of the last three epochs, then the "
              "smaller decay."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", choices=["under8k", "under5k", "all"], default="all")
    parser.add_argument("--root", help="MNIST root")
    parser.add_argument("--out", type=Path, default=RESULTS / "selection_average.json")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--markdown-only", action="store_true", help="rewrite the Markdown table from the JSON")
    args = parser.parse_args(argv)
    if args.markdown_only:
        data = json.loads(args.out.read_text())
        atomic_write_bytes(args.out.with_suffix(".md"), markdown(data).encode())
        return 0

    command = "python benchmarks/select_average.py " + " ".join(argv if argv is not None else sys.argv[1:])
    data = {"machine": machine_info(), "command": command.strip(), "runs": {}}
    if args.resume and args.out.is_file():
        data["runs"] = json.loads(args.out.read_text())["runs"]
    for group, base in BASES.items():
        if args.group not in ("all", group):
            continue
        for seed in SEEDS:
            for decay in DECAYS:
                key = run_key(base, decay, seed)
                if key in data["runs"]:
                    print(f"{key}: done, skipping", flush=True)
                    continue
                data["runs"][key] = averaged_run(group, base, decay, seed, args.root)
                data["scores"] = scores(data)
                atomic_write_json(args.out, data)
                atomic_write_bytes(args.out.with_suffix(".md"), markdown(data).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
