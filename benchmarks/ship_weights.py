"""Ship a trained run's weights in the package: safetensors file, SHA-256 and metadata.

Takes the weights a final run evaluated (its weight average when the recipe keeps one)
from the run's checkpoint, counts the test images they classify correctly (CPU, fp32,
NCHW, batch 1000: the count the results test holds them to), and writes
``tinyconv/zoo/weights/<model>-<tag>.safetensors`` and its entry in ``weights.json``
(both atomically). The run's seed, command and machine come from the committed results
file that recorded it.

Usage::

    python benchmarks/ship_weights.py --model st8k --seed 1 \\
        --results benchmarks/results/final_st8k_threads1.json --run runs/final/final_st8k_threads1/seed1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from safetensors.torch import save_file

from lab.files import atomic_write_json, read_results
from lab.tables import machine_text
from tinyconv.app.trained import evaluate_trained, load_trained
from tinyconv.data.batches import MNIST_MEAN, MNIST_STD
from tinyconv.inspect import summary
from tinyconv.zoo import get_model_info
from tinyconv.zoo.weights import Weights

FOLDER = Path(__file__).resolve().parents[1] / "tinyconv" / "zoo" / "weights"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="zoo name")
    parser.add_argument("--seed", type=int, required=True, help="the run's seed in the results file")
    parser.add_argument("--results", type=Path, required=True, help="the committed final_*.json that recorded the run")
    parser.add_argument("--run", type=Path, required=True, help="the run's folder (holding checkpoint.pt)")
    parser.add_argument("--tag", default="mnist")
    parser.add_argument("--root", help="MNIST root")
    args = parser.parse_args(argv)

    results = read_results(args.results.name, args.results.parent)
    run = results["runs"][str(args.seed)]
    recorded = run["history"]["epochs"][-1]
    evaluation, meta = evaluate_trained(args.run, args.root)
    if meta.get("seed") != args.seed or meta.get("model") != args.model:
        parser.error(f"{args.run} holds {meta.get('model')} seed {meta.get('seed')}, not {args.model} seed {args.seed}")
    model, _ = load_trained(args.run)
    name = f"{args.model}-{args.tag}.safetensors"
    tmp = FOLDER / (name + ".tmp")
    # one copy per key: safetensors stores no shared tensors, and a shared convolution loads into each of its names
    save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}, str(tmp))
    tmp.chmod(0o644)
    tmp.replace(FOLDER / name)
    command = next((c for c in results.get("commands", [results["command"]]) if str(args.seed) in c.split()),
                   results["command"])
    entry = Weights(
        model=args.model, tag=args.tag, file=name, sha256=hashlib.sha256((FOLDER / name).read_bytes()).hexdigest(), dataset="MNIST",
        test_correct=evaluation.correct, test_total=evaluation.total,
        evaluated_with="CPU, fp32, NCHW (contiguous), batch 1000, tinyconv.app.trained.evaluate_trained",
        params=get_model_info(args.model).num_params, macs=summary(model, (1, 28, 28)).total_macs,
        recipe=get_model_info(args.model).recipe, seed=args.seed, command=f"{command}  (seed {args.seed})",
        machine=machine_text(results), mean=MNIST_MEAN, std=MNIST_STD,
    )
    index = json.loads((FOLDER / "weights.json").read_text(encoding="utf-8"))
    index = [e for e in index if (e["model"], e["tag"]) != (args.model, args.tag)] + [entry.to_dict()]
    atomic_write_json(FOLDER / "weights.json", sorted(index, key=lambda e: (e["model"], e["tag"])))
    print(f"{args.model} ({args.tag}): {evaluation.correct:,} of {evaluation.total:,} test images "
          f"({evaluation.accuracy:.2f}%; the run recorded {recorded['test_correct']:,} in channels_last), "
          f"{(FOLDER / name).stat().st_size:,} bytes -> {FOLDER / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
