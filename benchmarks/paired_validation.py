"""Compare a recipe change with a zoo model's own recipe on the validation split, seed by seed.

The paired rule the research log fixes before any run: each seed trains twice on the
first 50,000 training images — once with the model's registered recipe (``baseline``),
once with the change — and is scored on the last 10,000 by the exercise's criterion,
the *lowest* validation accuracy of the last three epochs. The change wins only if the
mean of the per-seed differences is above two standard errors of that mean. The test
set is never loaded. Use seeds no earlier selection has seen.

Runs are written after every one, keyed ``<variant>/seed<seed>``; several processes may
add runs to one file at once (the baseline in one, the change in another), and a run
already in the file is skipped. A variant may also train another network
(``--variant-model``, a zoo name or a spec file) with the model's recipe and the changes. The Markdown beside the JSON has one row per seed and
the verdict of each change against the baseline.

Usage::

    python benchmarks/paired_validation.py --model st5k --seeds 41 42 43 44 45 --threads 1 \\
        --out benchmarks/results/paired_st5k_batch32.json                 # the baseline
    python benchmarks/paired_validation.py --model st5k --variant batch32 --set batch_size=32 \\
        --seeds 41 42 43 44 45 --threads 1 --out benchmarks/results/paired_st5k_batch32.json
    python benchmarks/paired_validation.py --model st8k --variant early_pool --variant-model \\
        benchmarks/specs/early_pool8k.json --seeds 61 62 63 --threads 1 --out OUT.json  # another network
    python benchmarks/paired_validation.py --out benchmarks/results/paired_st5k_batch32.json \\
        --markdown-only
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch

from lab import command_line, read_results
from lab.files import add_runs, rewrite_markdown
from lab.settings import add_settings_argument
from lab.tables import BASELINE, machine_text, paired_comparison, paired_reference, paired_table
from tinyconv.app.run import train_net
from tinyconv.budget import count_params
from tinyconv.data.pipeline import Mnist
from tinyconv.train.loop import ConsoleOutput
from tinyconv.cpu import CpuOptions
from tinyconv.zoo import get_model_info, recipe_for

HOLDOUT = 10_000


def markdown(data: dict[str, Any]) -> str:
    """The Markdown beside the JSON."""
    commands = data.get("commands", [data["command"]])
    head = (f"# {data['model']} on the validation split: a recipe change beside the model's own recipe\n\n"
            f"Trained on the first {60_000 - data['holdout']:,} training images, scored on the last "
            f"{data['holdout']:,}; the test set is not loaded.  \nCommands (one process each): "
            f"{', '.join(f'`{c}`' for c in commands)}  \nMachine: {machine_text(data)}.\n\n")
    return head + paired_table(data).to_markdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="zoo name")
    parser.add_argument("--variant", default=BASELINE, help=f"the change's label (default: {BASELINE}, no change)")
    add_settings_argument(parser, help="recipe settings the variant changes, e.g. batch_size=32 lr=0.05")
    parser.add_argument("--variant-model", metavar="MODEL",
                        help="train this network (a zoo name or a spec .json) in the variant instead of --model, "
                        "with --model's recipe and the --set changes")
    parser.add_argument("--reference", help=f"the variant the others are compared with (default: {BASELINE}); "
                        "kept in the file")
    parser.add_argument("--seeds", type=int, nargs="+", default=[41, 42, 43, 44, 45])
    parser.add_argument("--root", help="MNIST root")
    parser.add_argument("--out", type=Path, required=True, help="results JSON")
    parser.add_argument("--threads", type=int, help="intra-op threads (default: PyTorch's choice)")
    parser.add_argument("--markdown-only", action="store_true", help="rewrite the Markdown from the JSON")
    args = parser.parse_args(argv)

    if args.markdown_only:
        rewrite_markdown(args.out, markdown, {"reference": args.reference} if args.reference else None)
        return 0
    if args.model is None:
        parser.error("--model is required unless --markdown-only")
    overrides = dict(args.settings)
    if (args.variant == BASELINE) != (not overrides and args.variant_model is None):
        parser.error(f"--set and --variant-model go with a --variant other than {BASELINE!r}, and such a variant "
                     "needs one of them")
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    info = get_model_info(args.model)
    recipe = recipe_for(args.model).with_overrides(**overrides)
    cpu = CpuOptions.all()
    out = args.out
    previous = read_results(out.name, out.parent)
    data = {"model": args.model, "params": info.num_params, "holdout": HOLDOUT, "cpu": cpu.to_dict(),
            "runs": previous["runs"] if previous else {}}
    reference = args.reference or (previous or {}).get("reference")
    if reference is not None:
        data["reference"] = reference
    command = command_line(__file__, argv)
    network = args.variant_model or args.model
    for seed in args.seeds:
        key = f"{args.variant}/seed{seed}"
        if key in data["runs"]:
            print(f"{key}: done, skipping", flush=True)
            continue
        began = time.perf_counter()
        result = train_net(network, recipe, data=Mnist(args.root), holdout=HOLDOUT, seed=seed, speedups=cpu,
                           out=Path("runs") / "paired" / out.stem / args.variant / f"seed{seed}", overwrite=True,
                           callbacks=[ConsoleOutput(progress=False)])
        data["runs"][key] = {"variant": args.variant, "seed": seed, "overrides": overrides,
                             **({"network": network, "params": count_params(result.model)} if args.variant_model else {}),
                             "recipe": recipe.to_dict(), "wall_seconds": time.perf_counter() - began,
                             "history": result.history.to_dict()}
        data = add_runs(out, data, command=command, markdown=markdown)
    for variant, result in paired_comparison(data).items():
        print(f"{variant} - {paired_reference(data)}: {result['mean']:+.3f} (standard error {result['error']:.3f}, "
              f"{len(result['seeds'])} seeds): {'wins' if result['wins'] else 'does not win'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
