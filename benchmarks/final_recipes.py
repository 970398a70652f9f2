"""Run the zoo's budget models with their recipes for three seeds and report test accuracy.

Each model trains on all 60,000 training images with its registered recipe (chosen
beforehand on a validation split by ``select_recipe.py``) and is evaluated on the test
set after every epoch. Writes ``benchmarks/results/final_<model>.json`` (per epoch:
train/test loss and accuracy, lr, seconds; seed; machine) and a Markdown table with
parameters, MACs, receptive field, the last three test accuracies per seed, their mean
± standard deviation and the wall time. ``--resume`` skips seeds already recorded.

Usage::

    python benchmarks/final_recipes.py --model tc8k
    python benchmarks/final_recipes.py --model tc5k --seeds 1 2 3 --resume
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
from tinyconv.inspect.summary import summary
from tinyconv.train.history import History
from tinyconv.train.run import recipe_for, train_zoo_model
from tinyconv.zoo import get_model, get_model_info

RESULTS = Path(__file__).parent / "results"


def markdown(data: dict) -> str:
    m = data["machine"]
    averaged = bool(data["recipe"].get("ema_decay"))
    lines = [
        f"# {data['model']}: {data['params']:,} parameters, {data['macs']:,} MACs/image, "
        f"receptive field {data['receptive_field']}",
        "",
        f"Command: `{data['command']}`  ",
        f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}. Recipe: `{data['recipe']}`.",
        "",
        "| seed | last 3 test acc (%) | all ≥ 99.4 | final | best (epoch) | first ≥ 99.4 (time) | wall time |"
        + (" training weights, last 3 |" if averaged else ""),
        "|---|---|---|---|---|---|---|" + ("---|" if averaged else ""),
    ]
    finals = []
    for seed, run in sorted(data["runs"].items(), key=lambda kv: int(kv[0])):
        epochs = run["history"]["epochs"]
        last3 = [e["test_accuracy"] for e in epochs[-3:]]
        raw3 = [e.get("raw_test_accuracy") or 0.0 for e in epochs[-3:]]
        best = max(epochs, key=lambda e: e["test_accuracy"])
        finals.append(last3[-1])
        reached = History.from_dict(run["history"]).time_to(99.4)
        first = f"epoch {reached[0]} ({reached[1]:.0f} s)" if reached else "—"
        lines.append(f"| {seed} | {', '.join(f'{a:.2f}' for a in last3)} | {'yes' if min(last3) >= 99.4 else 'no'} "
                     f"| {last3[-1]:.2f} | {best['test_accuracy']:.2f} ({best['epoch']}) | {first} "
                     f"| {run['wall_seconds'] / 60:.1f} min |"
                     + (f" {', '.join(f'{a:.2f}' for a in raw3)} |" if averaged else ""))
    if averaged:
        lines += ["", f"Test accuracy is that of the weight average (decay {data['recipe']['ema_decay']}) that "
                  "the recipe evaluates; the last column shows the training weights' own accuracy."]
    if finals:
        spread = statistics.stdev(finals) if len(finals) > 1 else 0.0
        lines += ["", f"Final test accuracy: mean {statistics.mean(finals):.2f} ± {spread:.2f} (std over seeds)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="zoo name")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--root", help="MNIST root")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--markdown-only", action="store_true", help="rewrite the Markdown table from the JSON")
    args = parser.parse_args(argv)

    info = get_model_info(args.model)
    out = RESULTS / f"final_{args.model}.json"
    if args.markdown_only:
        atomic_write_bytes(out.with_suffix(".md"), markdown(json.loads(out.read_text())).encode())
        return 0
    recipe = recipe_for(args.model)
    model_summary = summary(get_model(args.model), info.input_size)
    data = {
        "command": "python benchmarks/final_recipes.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "model": args.model,
        "params": info.num_params,
        "macs": model_summary.total_macs,
        "receptive_field": model_summary.receptive_field[0],
        "recipe": recipe.to_dict(),
        "machine": machine_info(),
        "runs": {},
    }
    if args.resume and out.is_file():
        data["runs"] = json.loads(out.read_text())["runs"]
    for seed in args.seeds:
        if str(seed) in data["runs"]:
            print(f"seed {seed}: done, skipping", flush=True)
            continue
        began = time.perf_counter()
        result = train_zoo_model(args.model, recipe, seed=seed, root=args.root, progress=False,
                                 out=Path("runs") / "final" / f"{args.model}-seed{seed}")
        data["runs"][str(seed)] = {"wall_seconds": time.perf_counter() - began, "history": result.history.to_dict()}
        atomic_write_json(out, data)
        atomic_write_bytes(out.with_suffix(".md"), markdown(data).encode())
        print(result.summary, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
