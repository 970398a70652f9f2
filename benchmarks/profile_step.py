"""Where a training step of a zoo model spends its time, by operator, in both memory formats.

Profiles ``--steps`` training steps of ``--model`` (model4 by default) the way
``tinyconv train`` runs them by default (in-memory batches, every
:class:`~tinyconv.cpu.options.CpuOptions` speed-up, batch ``--batch-size``), once with the
contiguous (NCHW) layout (``tinyconv train --contiguous``) and once in ``channels_last``
(the default), using ``torch.profiler`` around the library's own training step
(:func:`~tinyconv.train.loop.train_epoch` over ``--steps`` batches). Reports each
operator's share of the self CPU time, and the arithmetic floor beside it: a step's
multiply-accumulates (three times the forward pass's: forward, and the gradients of the
inputs and of the weights) at the speed this process multiplies two large matrices.

Results go to ``benchmarks/results/profile_step.json`` (``--out``) with a Markdown table beside.

Usage::

    python benchmarks/profile_step.py --steps 50
    python benchmarks/profile_step.py --model st8k --batch-size 64 --steps 50 \\
        --out benchmarks/results/profile_step_st8k.json
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import defaultdict
from pathlib import Path

from lab import RESULTS_DIR, command_line, write_results
from lab.tables import machine_text, profile_table, step_floor_text


def matmul_gflops(size: int = 1024, repeats: int = 20) -> float:
    """Floating-point operations per second of a large float32 matrix product, in billions (best of ``repeats``)."""
    import time

    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - began)
    return 2 * size**3 / best / 1e9


def floor_ms(macs_per_image: int, batch_size: int, gflops: float) -> float:
    """A training step's arithmetic at ``gflops``: three passes of ``macs_per_image`` over the batch, in ms."""
    return 3 * 2 * macs_per_image * batch_size / (gflops * 1e9) * 1000


def profile(memory_format: str, steps: int, root: str | None, model_name: str = "model4",
            batch_size: int = 128) -> dict[str, float]:
    """Self CPU milliseconds per step, by operator name."""
    from torch import optim
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from tinyconv.cpu import CpuOptions, apply
    from tinyconv.data.pipeline import Mnist, make_loaders
    from tinyconv.train import seed_everything, train_epoch
    from tinyconv.zoo import get_model

    seed_everything(1)
    loaders = make_loaders(Mnist(root), batch_size=batch_size, seed=1)
    model = get_model(model_name)
    apply(model, CpuOptions(channels_last=memory_format == "channels_last"))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    train_epoch(model, itertools.islice(loaders.train, 10), opt)  # warm-up
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        train_epoch(model, itertools.islice(loaders.train, steps), opt)
    per_op: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        per_op[event.key] += event.self_cpu_time_total / 1000 / steps
    return dict(per_op)


def markdown(data: dict) -> str:
    """The Markdown beside the JSON."""
    model, batch = data.get("model", "model4"), data.get("batch_size", 128)
    return (f"# Where a {model} training step spends its time\n\nCommand: `{data['command']}`  \n"
            f"Machine: {machine_text(data)}. torch.profiler self CPU time per step, mean over {data['steps']} "
            f"steps (batch {batch}, every CPU speed-up; the contiguous column without channels_last).\n\n"
            + profile_table(data, top=14).to_markdown() + step_floor_text(data))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--model", default="model4", help="zoo name (default: model4)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--root", help="MNIST root")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "profile_step.json")
    args = parser.parse_args(argv)

    from tinyconv.cpu import tune_process

    from tinyconv.zoo import get_model_info

    tune_process()
    gflops = matmul_gflops()
    macs = get_model_info(args.model).macs
    data = {"steps": args.steps, "model": args.model, "batch_size": args.batch_size, "macs_per_image": macs,
            "matmul_gflops": gflops, "floor_ms": floor_ms(macs, args.batch_size, gflops),
            "formats": {fmt: profile(fmt, args.steps, args.root, args.model, args.batch_size)
                        for fmt in ("contiguous", "channels_last")}}
    data = write_results(args.out, data, command=command_line(__file__, argv), markdown=markdown)
    print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
