"""Reproduce the seed notebook's six training runs and set them beside its recorded numbers.

Runs Code 1–6 (model1–model4 without augmentation; model4 with rotation; model4 with
rotation and ReduceLROnPlateau(patience=2) stepped on the test loss, as the seed did)
for 15 epochs each with the seed's settings (SGD lr 0.01 momentum 0.9, batch 128,
seed 1) on real MNIST, and writes

- ``benchmarks/results/seed_reproduction.json``: every run's per-epoch history, the
  command, and the machine;
- ``benchmarks/results/seed_reproduction.md``: the comparison table.

Results are written after every run, and ``--resume`` skips runs already in the JSON,
so a long reproduction can be split over several sittings.

Usage::

    python benchmarks/reproduce_seed.py                 # all six runs (about 1.5 h on 2 CPU cores)
    python benchmarks/reproduce_seed.py --runs code4 code5 --resume
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from tinyconv.cpu import CpuOptions
from lab import command_line, write_results
from tinyconv.app.run import train_net
from tinyconv.data.pipeline import Mnist
from tinyconv.train.loop import ConsoleOutput
from tinyconv.zoo import REFERENCE_RECIPE

RESULTS = Path(__file__).parent / "results"

# The seed notebook's recorded results (shared/reference/seed-models.md).
SEED = {
    "code1": {"model": "model1", "augment": "none", "scheduler": "none",
              "test": [65.95, 94.38, 97.53, 98.16, 98.09, 98.54, 98.73, 98.80, 98.92, 98.82, 99.20, 98.80, 98.97, 99.15, 99.07],
              "final_train": 99.37},
    "code2": {"model": "model2", "augment": "none", "scheduler": "none",
              "test": [98.12, 97.96, 98.64, 98.76, 98.80, 98.89, 99.05, 98.87, 98.99, 99.02, 99.19, 99.00, 99.05, 99.07, 98.97],
              "final_train": 99.87},
    "code3": {"model": "model3", "augment": "none", "scheduler": "none",
              "test": [96.85, 97.14, 98.35, 98.43, 98.97, 98.99, 99.10, 98.84, 99.31, 99.17, 99.33, 99.15, 99.10, 99.30, 99.37],
              "final_train": 99.30},
    "code4": {"model": "model4", "augment": "none", "scheduler": "none",
              "test": [97.74, 98.53, 98.19, 98.64, 99.10, 99.07, 98.98, 99.15, 98.93, 99.08, 99.09, 99.15, 99.20, 99.13, 99.28],
              "final_train": 99.03},
    "code5": {"model": "model4", "augment": "rotate", "scheduler": "none",
              "test": [97.72, 98.67, 98.77, 98.98, 99.16, 99.11, 99.14, 99.05, 99.16, 99.30, 99.23, 99.23, 99.17, 99.13, 99.30],
              "final_train": 98.66},
    "code6": {"model": "model4", "augment": "rotate", "scheduler": "plateau",
              "test": [97.73, 98.71, 98.95, 98.86, 99.11, 99.14, 99.33, 99.16, 99.35, 99.22, 99.21, 99.22, 99.42, 99.44, 99.45],
              "final_train": 99.19},
}
# Run the quick model4 runs first and the 257k-parameter model1 last.
ORDER = ["code4", "code5", "code6", "code2", "code3", "code1"]


def best_of(accuracies: list[float]) -> tuple[float, int]:
    best = max(accuracies)
    return best, accuracies.index(best) + 1


def markdown(results: dict) -> str:
    machine = results["machine"]
    lines = [
        "# Seed reproduction",
        "",
        f"Command: `{results['command']}`  ",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['torch_threads']} torch threads, "
        f"torch {machine['torch']}, Python {machine['python']}; pipeline `{results['pipeline']}`.",
        "",
        "Wall time is the whole run; the median epoch is the better speed figure, since some epochs "
        "shared the 2-core machine with other work (every epoch's seconds are in the JSON).",
        "",
        "| run | model | recipe | seed best (epoch) | ours best (epoch) | seed final test | ours final test "
        "| seed final train | ours final train | ours wall time | median s/epoch |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for code in sorted(results["runs"]):
        run, seed = results["runs"][code], SEED[code]
        ours = [e["test_accuracy"] for e in run["history"]["epochs"]]
        s_best, s_epoch = best_of(seed["test"])
        o_best, o_epoch = best_of(ours)
        recipe = f"augment={seed['augment']}, scheduler={seed['scheduler']}"
        lines.append(
            f"| {code} | {seed['model']} | {recipe} | {s_best:.2f} ({s_epoch}) | {o_best:.2f} ({o_epoch}) "
            f"| {seed['test'][-1]:.2f} | {ours[-1]:.2f} | {seed['final_train']:.2f} "
            f"| {run['history']['epochs'][-1]['train_accuracy']:.2f} | {run['wall_seconds'] / 60:.1f} min "
            f"| {statistics.median(e['seconds'] for e in run['history']['epochs']):.0f} |"
        )
    lines += ["", "Test accuracy by epoch (ours):", ""]
    for code in sorted(results["runs"]):
        ours = [e["test_accuracy"] for e in results["runs"][code]["history"]["epochs"]]
        lines.append(f"- {code}: " + " ".join(f"{a:.2f}" for a in ours))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", choices=ORDER, default=ORDER, help="which runs (default: all)")
    parser.add_argument("--epochs", type=int, default=15, help="epochs per run (default: 15)")
    parser.add_argument("--pipeline", choices=["tensor", "classic"], default="tensor")
    parser.add_argument("--root", help="MNIST root")
    parser.add_argument("--out", type=Path, default=RESULTS / "seed_reproduction.json")
    parser.add_argument("--resume", action="store_true", help="skip runs already in the output JSON")
    args = parser.parse_args(argv)

    command = command_line(__file__, argv)
    results = {"pipeline": args.pipeline, "runs": {}}
    if args.resume and args.out.is_file():
        results["runs"] = json.loads(args.out.read_text())["runs"]
    for code in [c for c in ORDER if c in args.runs]:
        if code in results["runs"]:
            print(f"{code}: already done, skipping", flush=True)
            continue
        seed = SEED[code]
        recipe = REFERENCE_RECIPE.with_overrides(
            epochs=args.epochs, augment=seed["augment"], scheduler=seed["scheduler"], pipeline=args.pipeline,
        )
        print(f"{code}: {seed['model']} {recipe}", flush=True)
        began = time.perf_counter()
        result = train_net(
            seed["model"], recipe, data=Mnist(args.root), seed=1, out=Path("runs") / "seed_reproduction" / code,
            speedups=CpuOptions.all().with_changes(fast_dropout=False),  # the seed's own nn.Dropout
            callbacks=[ConsoleOutput(progress=False)],
        )
        results["runs"][code] = {
            "model": seed["model"],
            "params": result.params,
            "recipe": recipe.to_dict(),
            "wall_seconds": time.perf_counter() - began,
            "history": result.history.to_dict(),
        }
        results = write_results(args.out, results, command=command, markdown=markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
