"""Cost of one dropout layer, forward and backward: torch's ``F.dropout`` against FastDropout.

Times ``dropout(x).sum().backward()`` on one activation tensor the size of model4's first
layer at batch 128 (128 × 8 × 28 × 28 ≈ 0.80 million elements), alternating the two
implementations, and reports the median of the repeats. Writes
``benchmarks/results/dropout_mask.json`` and a Markdown line beside it.

Usage::

    python benchmarks/dropout_mask.py --repeats 30
"""

from __future__ import annotations

import argparse
from pathlib import Path
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from tinyconv.cpu.fast_dropout import fast_dropout
from lab import RESULTS_DIR, command_line, write_results
IMPLEMENTATIONS = {
    "torch F.dropout": lambda x, p: F.dropout(x, p, True),
    "tinyconv fast_dropout": fast_dropout,
}


def time_once(drop, x0: torch.Tensor, p: float) -> float:
    x = x0.clone().requires_grad_()
    began = time.perf_counter()
    drop(x, p).sum().backward()
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--p", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "dropout_mask.json", help="results JSON")
    args = parser.parse_args(argv)

    x0 = torch.randn(128 * 8 * 28 * 28)
    samples: dict[str, list[float]] = {name: [] for name in IMPLEMENTATIONS}
    for _ in range(3):  # warm-up
        for drop in IMPLEMENTATIONS.values():
            time_once(drop, x0, args.p)
    for _ in range(args.repeats):
        for name, drop in IMPLEMENTATIONS.items():
            samples[name].append(time_once(drop, x0, args.p))
    medians = {name: statistics.median(s) * 1e3 for name, s in samples.items()}
    data = {
        "threads": torch.get_num_threads(),
        "elements": x0.numel(),
        "p": args.p,
        "median_ms": medians,
        "samples_s": samples,
    }
    data = write_results(args.out, data, command=command_line(__file__, argv),
                         markdown=markdown)
    print(markdown(data))
    return 0


def markdown(data: dict) -> str:
    """The Markdown beside the JSON."""
    line = ", ".join(f"{name} {ms:.2f} ms" for name, ms in data["median_ms"].items())
    return (f"# Dropout mask cost\n\nCommand: `{data['command']}`  \n{data['elements']:,} elements, "
            f"p={data['p']}, {data['threads']} threads, forward + backward, median of "
            f"{len(next(iter(data['samples_s'].values())))}: {line}.\n")


if __name__ == "__main__":
    sys.exit(main())
