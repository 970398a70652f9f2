"""Whole-process time from the command's start to its verdict, for several recipes side by side.

Each run is one process, ``tinyconv train MODEL --recipe RECIPE --seed S`` with a thread
count, timed from before it starts to after it exits (imports, data loading, every epoch
and the summary included): what a user waits for. Entries run interleaved — for every
seed and thread count, each entry in turn — so that a slower or busier stretch of the
machine falls on all of them alike. Every run's last three test accuracies decide its
verdict (all three ≥ 99.4%), and the Markdown beside the JSON gives, per entry and thread
count, the median wall time, its range, and the pass rate with its 95% Wilson interval.

``--device cuda`` runs the same commands on a GPU (``--device cuda`` to ``tinyconv train``:
the data kept on the device, no per-step synchronisation with the host); without one the
script says so and exits 0 without writing anything.

A model may be a spec file (``benchmarks/specs/``), named from the repository's root, where
every run starts. Usage::

    python benchmarks/time_to_accuracy.py --seeds 1 2 3 --threads 2 \\
        --out benchmarks/results/time_to_accuracy.json
    python benchmarks/time_to_accuracy.py --entries fast --seeds 4 5 6 --threads 1 2 --resume \\
        --out benchmarks/results/time_to_accuracy.json
    python benchmarks/time_to_accuracy.py --device cuda --out benchmarks/results/time_to_accuracy_cuda.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import command_line, read_results
from lab.files import add_runs
from lab.tables import machine_text, time_to_accuracy_table

EXERCISE_ACCURACY = 99.4

ROOT = Path(__file__).resolve().parent.parent
"""The repository's root: every run starts there, so an entry's spec file is named from it."""


@dataclass(frozen=True)
class Entry:
    """What one entry trains: a zoo model with a named recipe, and extra ``tinyconv train`` flags."""

    model: str
    recipe: str
    flags: tuple[str, ...] = ()
    about: str = ""


ENTRIES = {
    "fast": Entry("st8k", "st8k-fast", about="st8k with the 8-epoch recipe"),
    "st8k": Entry("st8k", "st8k", about="st8k with its 15-epoch recipe (make train)"),
    "early": Entry("benchmarks/specs/early_pool8k.json", "st8k-fast",
                   about="the early-pool network (benchmarks/specs/early_pool8k.json: two convolutions at full "
                   "resolution where st8k has three) with st8k's 8-epoch recipe"),
    "seed": Entry("model4", "reference", ("--pipeline", "classic", "--torch-dropout", "--torch-conv",
                                          "--no-malloc-tuning"),
                  about="the seed notebook's pipeline: model4, its recipe, torchvision DataLoader, plain PyTorch layers"),
}
"""The entries by label."""


def plan(entries: Sequence[str], seeds: Sequence[int], threads: Sequence[int]) -> list[tuple[str, int, int]]:
    """The runs in the order they run: for every seed and thread count, each entry in turn.

    Args:
        entries: Entry labels.
        seeds: Seeds.
        threads: Intra-op thread counts.

    Returns:
        ``(entry, seed, threads)`` triples.

    Raises:
        ValueError: For an unknown entry label.
    """
    unknown = [e for e in entries if e not in ENTRIES]
    if unknown:
        raise ValueError(f"unknown entries {unknown}; known: {', '.join(ENTRIES)}")
    return [(entry, seed, t) for seed in seeds for t in threads for entry in entries]


def command(entry: Entry, seed: int, out: Path, device: str) -> list[str]:
    """The ``tinyconv train`` command of one run."""
    return [sys.executable, "-m", "tinyconv.cli", "train", entry.model, "--recipe", entry.recipe, "--seed", str(seed),
            "--out", str(out), "--no-progress", "--device", device, *entry.flags]


def run_once(label: str, seed: int, threads: int, device: str, root: str | None,
             runner: Callable[..., Any] = subprocess.run) -> dict[str, Any]:
    """Train one entry in a process of its own and time it from start to exit.

    Args:
        label: The entry.
        seed: The seed.
        threads: Intra-op threads (``OMP_NUM_THREADS`` of the process).
        device: ``"cpu"`` or ``"cuda"``.
        root: MNIST root (``None``: the default).
        runner: Runs the command (``subprocess.run``; tests give a fake).

    Returns:
        The run: ``{model, recipe, seed, threads, device, epochs, params, wall_s, last_three, passed}``.

    Raises:
        RuntimeError: If the training process fails.
    """
    entry = ENTRIES[label]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    if root is not None:
        env["TINYCONV_DATA"] = root
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        began = time.perf_counter()
        done = runner(command(entry, seed, out, device), env=env, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"{label} seed {seed}: exit {done.returncode}: {done.stderr.strip()[-500:]}")
        history = json.loads((out / "history.json").read_text(encoding="utf-8"))
    accuracies = [e["test_accuracy"] for e in history["epochs"]]
    last = accuracies[-3:]
    return {"entry": label, "model": entry.model, "recipe": entry.recipe, "seed": seed, "threads": threads,
            "device": device, "epochs": len(accuracies), "params": history["meta"]["params"], "wall_s": round(wall, 1),
            "last_three": last, "passed": len(last) == 3 and min(last) >= EXERCISE_ACCURACY}


def markdown(data: dict[str, Any]) -> str:
    """The Markdown beside the JSON."""
    commands = data.get("commands", [data["command"]])
    entries = "".join(f"- `{label}`: {ENTRIES[label].about} (`{' '.join(command(ENTRIES[label], 1, Path('OUT'), 'DEVICE')[3:])}`)\n"
                      for label in sorted({r["entry"] for r in data["runs"].values()}) if label in ENTRIES)
    return (f"# Time to a verdict: whole-process wall time, entries interleaved\n\nCommands: "
            f"{', '.join(f'`{c}`' for c in commands)}  \nMachine: {machine_text(data)}.\n\n{entries}\n"
            + time_to_accuracy_table(data).to_markdown())


def _cuda_missing() -> str | None:
    import torch

    return None if torch.cuda.is_available() else "no CUDA device here"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", nargs="+", default=list(ENTRIES), choices=list(ENTRIES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--root", help="MNIST root")
    parser.add_argument("--out", type=Path, required=True, help="results JSON")
    parser.add_argument("--resume", action="store_true", help="skip runs already in --out")
    args = parser.parse_args(argv)
    if args.device == "cuda" and (why := _cuda_missing()):
        print(f"time_to_accuracy: skipped --device cuda: {why}; nothing written")
        return 0
    done = (read_results(args.out.name, args.out.parent) or {}).get("runs", {}) if args.resume else {}
    this = command_line(__file__, argv)
    for label, seed, threads in plan(args.entries, args.seeds, args.threads):
        key = f"{label}/{args.device}/threads{threads}/seed{seed}"
        if key in done:
            continue
        run = run_once(label, seed, threads, args.device, args.root)
        print(f"{key}: {run['wall_s']:.0f} s, last three {run['last_three']}, {'passed' if run['passed'] else 'NOT MET'}",
              flush=True)
        add_runs(args.out, {"benchmark": "time_to_accuracy", "runs": {key: run}}, command=this, markdown=markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
