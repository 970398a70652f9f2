"""Choose architectures and recipes on a validation split — never on the test set.

Every candidate trains on the first 50,000 training images and is scored on the last
10,000 (``holdout=10000``): the score is the mean validation accuracy of the last three
epochs, which rewards a run that *ends* well rather than one lucky epoch. The test set
is not loaded. Results are appended to ``benchmarks/results/selection.json`` after
every candidate (``--resume`` skips those already there) with a Markdown table beside.

The candidates were added in rounds (the first four of each group, then variations of
the best); ``tc8k`` and ``tc5k`` in the zoo are the best-scoring candidate of each group,
ties broken by the validation accuracy of the last epoch.

Usage::

    python benchmarks/select_recipe.py --group under8k
    python benchmarks/select_recipe.py --group under5k --resume
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tinyconv._io import atomic_write_bytes, atomic_write_json
from tinyconv._machine import machine_info
from tinyconv.budget import count_params
from tinyconv.train.recipe import Recipe
from tinyconv.train.run import train_zoo_model
from tinyconv.zoo import get_model

RESULTS = Path(__file__).parent / "results"

# name -> (group, model kwargs, recipe)
CANDIDATES: dict[str, tuple[str, dict, Recipe]] = {
    "w8-onecycle-affine": ("under8k", {"widths": (10, 16, 10, 16, 14)},
                           Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="affine")),
    "w8-onecycle-rotate": ("under8k", {"widths": (10, 16, 10, 16, 14)},
                           Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="rotate")),
    "w8-onecycle-affine-drop": ("under8k", {"widths": (10, 16, 10, 16, 14), "dropout": 0.05},
                                Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="affine")),
    "w8-step-affine": ("under8k", {"widths": (10, 16, 10, 16, 14)},
                       Recipe(scheduler="step", lr=0.05, step_size=6, gamma=0.2, augment="affine")),
    "w8-onecycle-affine-b64": ("under8k", {"widths": (10, 16, 10, 16, 14)},
                               Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="affine", batch_size=64)),
    "w8-onecycle-affine-lr05": ("under8k", {"widths": (10, 16, 10, 16, 14)},
                                Recipe(scheduler="onecycle", lr=0.05, nesterov=True, augment="affine")),
    "w8b-onecycle-affine": ("under8k", {"widths": (9, 16, 10, 16, 16)},
                            Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="affine")),
    "w8b-pad-onecycle-affine": ("under8k", {"widths": (9, 16, 10, 16, 16), "stem_padding": 1},
                                Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="affine")),
    "w8b-pad-onecycle-rotate": ("under8k", {"widths": (9, 16, 10, 16, 16), "stem_padding": 1},
                                Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="rotate")),
    "w8b-onecycle-affine-wd1e-4": ("under8k", {"widths": (9, 16, 10, 16, 16)},
                                   Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="affine",
                                          weight_decay=1e-4)),
    "w8b-onecycle-affine-wd5e-4": ("under8k", {"widths": (9, 16, 10, 16, 16)},
                                   Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="affine",
                                          weight_decay=5e-4)),
    "w8b-onecycle-affine-lr02": ("under8k", {"widths": (9, 16, 10, 16, 16)},
                                 Recipe(scheduler="onecycle", lr=0.2, nesterov=True, augment="affine")),
    "w8b-onecycle-affine-b64-lr005": ("under8k", {"widths": (9, 16, 10, 16, 16)},
                                      Recipe(scheduler="onecycle", lr=0.05, nesterov=True, augment="affine",
                                             batch_size=64)),
    "w8b-onecycle-affine-pct03": ("under8k", {"widths": (9, 16, 10, 16, 16)},
                                  Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="affine",
                                         pct_start=0.3)),
    "w5-onecycle-affine": ("under5k", {"widths": (8, 12, 8, 12, 12)},
                           Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="affine")),
    "w5-onecycle-rotate": ("under5k", {"widths": (8, 12, 8, 12, 12)},
                           Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="rotate")),
    "w5-onecycle-affine-b64": ("under5k", {"widths": (8, 12, 8, 12, 12)},
                               Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="affine", batch_size=64)),
    "w5b-onecycle-affine": ("under5k", {"widths": (8, 12, 10, 12, 12)},
                            Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="affine")),
    "w5c-onecycle-affine": ("under5k", {"widths": (9, 12, 9, 12, 12)},
                            Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="affine")),
    "w5c-onecycle-rotate": ("under5k", {"widths": (9, 12, 9, 12, 12)},
                            Recipe(scheduler="onecycle", lr=0.1, nesterov=True, augment="rotate")),
}


def markdown(data: dict) -> str:
    m = data["machine"]
    lines = [
        "# Recipe selection on the validation split (last 10,000 training images)",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}. Seed 1, trained on 50,000 images. "
        "Score = mean validation accuracy of the last 3 epochs. The test set is not used.",
        "",
        "| candidate | group | params | recipe | last 3 val acc | score | wall |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, run in sorted(data["candidates"].items(), key=lambda kv: (kv[1]["group"], -kv[1]["score"])):
        last = ", ".join(f"{a:.2f}" for a in run["last3"])
        r = run["recipe"]
        recipe = f"{r['scheduler']} lr={r['lr']} batch={r['batch_size']} augment={r['augment']}"
        lines.append(f"| {name} | {run['group']} | {run['params']:,} | {recipe} | {last} | {run['score']:.3f} "
                     f"| {run['wall_seconds'] / 60:.1f} min |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", choices=["under8k", "under5k", "all"], default="all")
    parser.add_argument("--only", nargs="+", choices=list(CANDIDATES), help="run just these candidates")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--root", help="MNIST root")
    parser.add_argument("--out", type=Path, default=RESULTS / "selection.json")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)

    data = {"machine": machine_info(), "candidates": {}}
    if args.resume and args.out.is_file():
        data["candidates"] = json.loads(args.out.read_text())["candidates"]
    for name, (group, kwargs, recipe) in CANDIDATES.items():
        if (args.only and name not in args.only) or (args.group != "all" and group != args.group):
            continue
        if name in data["candidates"]:
            print(f"{name}: done, skipping", flush=True)
            continue
        recipe = recipe.with_overrides(epochs=args.epochs)
        print(f"{name}: {kwargs} {recipe}", flush=True)
        began = time.perf_counter()
        result = train_zoo_model("funnel", recipe, seed=1, holdout=10_000, root=args.root, progress=False,
                                 out=Path("runs") / "selection" / name, model_kwargs=kwargs, echo=None)
        last3 = [r.test_accuracy for r in result.history.last(3)]
        data["candidates"][name] = {
            "group": group,
            "model_kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
            "params": count_params(get_model("funnel", **kwargs)),
            "recipe": recipe.to_dict(),
            "last3": last3,
            "score": sum(last3) / 3,
            "wall_seconds": time.perf_counter() - began,
            "history": result.history.to_dict(),
        }
        atomic_write_json(args.out, data)
        atomic_write_bytes(args.out.with_suffix(".md"), markdown(data).encode())
        print(f"{name}: last 3 validation accuracies {last3}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
