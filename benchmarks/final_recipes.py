"""Train a zoo model with its recipe for several seeds and report test accuracy.

Each seed trains on all 60,000 training images with the model's registered recipe
(chosen beforehand on a validation split) and is evaluated on the test set after every
epoch. Writes ``benchmarks/results/final_<model>.json`` (per epoch: train/test loss and
accuracy, lr, seconds; seed; command; machine) and a Markdown table beside it (the last
three test accuracies per seed, whether all three reach 99.4%, the first epoch from
which a seed stayed there, the mean ± standard deviation, the wall time). Results are
written after every seed; ``--resume`` skips seeds already recorded, and several
processes may add different seeds to one file at once (each command is listed).

Usage::

    python benchmarks/final_recipes.py --model tc8k                 # seeds 1-5
    python benchmarks/final_recipes.py --model tc5k --seeds 1 2 3 --resume
    python benchmarks/final_recipes.py --model st8k --seeds 4 5    # beside a process doing 1-3
    python benchmarks/final_recipes.py --model st8k --seeds 11 12 --threads 1 \
        --out benchmarks/results/final_st8k_threads1.json
    python benchmarks/final_recipes.py --model tc8k --seeds 1 --contiguous \
        --out benchmarks/results/final_tc8k_contiguous_check.json
    python benchmarks/final_recipes.py --model st5k --set batch_size=32 --threads 1 \
        --out benchmarks/results/final_st5k_batch32_threads1.json   # a change that won on validation

``--set`` changes the registered recipe (only for a change that won on the validation
split, see ``paired_validation.py``) and needs ``--out``, so that the model's own results
files keep its own recipe.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from tinyconv.cpu import CpuOptions
from tinyconv.inspect import summary
from lab import RESULTS_DIR, command_line, read_results
from lab.files import add_runs, rewrite_markdown
from lab.settings import add_settings_argument
from lab.tables import final_runs_table, machine_text
from tinyconv.app.run import train_net
from tinyconv.data.pipeline import Mnist
from tinyconv.train.loop import ConsoleOutput
from tinyconv.zoo import get_model, get_model_info, recipe_for


def markdown(data: dict) -> str:
    """The Markdown beside the JSON: what ran, where, and the per-seed table."""
    commands = data.get("commands", [data["command"]])
    ran = "Command" + ("s (one process each)" if len(commands) > 1 else "")
    head = (f"# {data['model']}: {data['params']:,} parameters, {data['macs']:,} MACs/image, "
            f"receptive field {data['receptive_field']}\n\n{ran}: {', '.join(f'`{c}`' for c in commands)}  \n"
            f"Machine: {machine_text(data)}. Recipe: `{data['recipe']}`.\n\n")
    return head + final_runs_table(data).to_markdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="zoo name")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--root", help="MNIST root")
    parser.add_argument("--out", type=Path, help="results JSON (default: benchmarks/results/final_MODEL.json)")
    parser.add_argument("--contiguous", action="store_true", help="train in NCHW instead of channels_last")
    parser.add_argument("--threads", type=int, help="intra-op threads (default: PyTorch's choice, one per core); "
                        "the count changes the summation order and with it the last digits")
    parser.add_argument("--resume", action="store_true", help="skip seeds already in the output JSON")
    add_settings_argument(parser, help="recipe settings to change (needs --out), e.g. batch_size=32")
    parser.add_argument("--markdown-only", action="store_true", help="rewrite the Markdown table from the JSON")
    args = parser.parse_args(argv)

    info = get_model_info(args.model)
    out = args.out or RESULTS_DIR / f"final_{args.model}.json"
    if args.markdown_only:
        rewrite_markdown(out, markdown)
        return 0
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    if args.settings and args.out is None:
        parser.error("--set needs --out: the model's own results files keep its registered recipe")
    recipe = recipe_for(args.model).with_overrides(**dict(args.settings))
    cpu = CpuOptions.all().with_changes(channels_last=not args.contiguous)
    model_summary = summary(get_model(args.model), info.input_size)
    previous = read_results(out.name, out.parent) if args.resume else None
    data = {"model": args.model, "params": info.num_params, "macs": model_summary.total_macs,
            "receptive_field": model_summary.receptive_field[0], "recipe": recipe.to_dict(),
            "cpu": cpu.to_dict(), "runs": previous["runs"] if previous else {}}
    command = command_line(__file__, argv)
    for seed in args.seeds:
        if str(seed) in data["runs"]:
            print(f"seed {seed}: done, skipping", flush=True)
            continue
        began = time.perf_counter()
        result = train_net(args.model, recipe, data=Mnist(args.root), seed=seed, speedups=cpu,
                           out=Path("runs") / "final" / out.stem / f"seed{seed}", overwrite=True,
                           callbacks=[ConsoleOutput(progress=False)])
        data["runs"][str(seed)] = {"wall_seconds": time.perf_counter() - began, "history": result.history.to_dict()}
        data = add_runs(out, data, command=command, markdown=markdown)  # other processes may add seeds too
    return 0


if __name__ == "__main__":
    sys.exit(main())
