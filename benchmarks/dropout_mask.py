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
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from tinyconv._io import atomic_write_bytes, atomic_write_json
from tinyconv._machine import machine_info
from tinyconv.cpu.fast_dropout import fast_dropout

RESULTS = Path(__file__).parent / "results"
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
        "command": "python benchmarks/dropout_mask.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine_info(),
        "threads": torch.get_num_threads(),
        "elements": x0.numel(),
        "p": args.p,
        "median_ms": medians,
        "samples_s": samples,
    }
    out = RESULTS / "dropout_mask.json"
    atomic_write_json(out, data)
    line = ", ".join(f"{name} {ms:.2f} ms" for name, ms in medians.items())
    text = (f"# Dropout mask cost\n\nCommand: `{data['command'].strip()}`  \n{x0.numel():,} elements, p={args.p}, "
            f"{data['threads']} threads, forward + backward, median of {args.repeats}: {line}.\n")
    atomic_write_bytes(out.with_suffix(".md"), text.encode())
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
