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

With ``--sweep-batch-sizes 32 64 128 256`` it also times whole steps with a wall clock at
each batch size in both formats (a fresh model each time, the sizes and formats interleaved
``--sweep-repeats`` times, the same number of images per measurement) and reports each
size's time per image beside the first size's: what a larger batch buys in time, before
the recipe has to pay for it in accuracy.

Results go to ``benchmarks/results/profile_step.json`` (``--out``) with a Markdown table beside.

Usage::

    python benchmarks/profile_step.py --steps 50
    python benchmarks/profile_step.py --model st8k --batch-size 64 --steps 50 \\
        --sweep-batch-sizes 32 64 128 256 --out benchmarks/results/profile_step_st8k.json
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from lab import RESULTS_DIR, command_line, write_results
from lab.tables import batch_sweep_table, machine_text, profile_table, step_floor_text


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


def _model_and_optimizer(model_name: str, channels_last: bool) -> tuple[Any, Any]:
    """A fresh zoo model with every CPU speed-up (``channels_last`` as asked) and its SGD optimizer."""
    from torch import optim

    from tinyconv.cpu import CpuOptions, apply
    from tinyconv.train import seed_everything
    from tinyconv.zoo import get_model

    seed_everything(1)
    model = get_model(model_name)
    apply(model, CpuOptions(channels_last=channels_last))
    return model, optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def sweep_batch_sizes(model_name: str, batch_sizes: list[int], repeats: int, images: int,
                      data: Any) -> dict[str, dict[str, list[float]]]:
    """Wall-clock milliseconds per training step, by batch size and memory format, each measured ``repeats`` times.

    Every measurement builds a fresh model, takes 5 untimed steps and then times steps over
    ``images`` training images (at least 5 steps); the sizes and formats are interleaved.
    ``data`` is any source :func:`~tinyconv.data.make_loaders` takes (``Mnist(root)`` for MNIST).
    """
    import time

    from tinyconv.data.pipeline import make_loaders
    from tinyconv.train import train_epoch

    out: dict[str, dict[str, list[float]]] = {str(b): {"contiguous": [], "channels_last": []} for b in batch_sizes}
    for _ in range(repeats):
        for batch in batch_sizes:
            loaders = make_loaders(data, batch_size=batch, seed=1)
            steps = max(5, images // batch)
            for fmt in ("contiguous", "channels_last"):
                model, opt = _model_and_optimizer(model_name, fmt == "channels_last")
                train_epoch(model, itertools.islice(loaders.train, 5), opt)
                began = time.perf_counter()
                train_epoch(model, itertools.islice(loaders.train, steps), opt)
                out[str(batch)][fmt].append((time.perf_counter() - began) / steps * 1000)
    return out


def profile(memory_format: str, steps: int, root: str | None, model_name: str = "model4",
            batch_size: int = 128) -> dict[str, float]:
    """Self CPU milliseconds per step, by operator name."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from tinyconv.data.pipeline import Mnist, make_loaders
    from tinyconv.train import train_epoch

    model, opt = _model_and_optimizer(model_name, memory_format == "channels_last")
    loaders = make_loaders(Mnist(root), batch_size=batch_size, seed=1)
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
            + profile_table(data, top=14).to_markdown() + step_floor_text(data) + _sweep_markdown(data))


def _sweep_markdown(data: dict) -> str:
    """The batch-size sweep's section of the Markdown (empty without a sweep)."""
    if "sweep" not in data:
        return ""
    return ("\n## Wall-clock step time by batch size\n\n" + batch_sweep_table(data).to_markdown() + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--model", default="model4", help="zoo name (default: model4)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--sweep-batch-sizes", type=int, nargs="+", default=[],
                        help="also time whole steps at these batch sizes (the first is the reference)")
    parser.add_argument("--sweep-repeats", type=int, default=3)
    parser.add_argument("--sweep-images", type=int, default=12800, help="training images per timed measurement")
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
    if args.sweep_batch_sizes:
        from tinyconv.data.pipeline import Mnist

        data["sweep"] = sweep_batch_sizes(args.model, args.sweep_batch_sizes, args.sweep_repeats,
                                          args.sweep_images, Mnist(args.root))
    data = write_results(args.out, data, command=command_line(__file__, argv), markdown=markdown)
    print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
