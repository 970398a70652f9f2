"""Where a training step of model4 spends its time, by operator, in both memory formats.

Profiles ``--steps`` training steps of model4 the way ``tinyconv train`` runs them by
default (in-memory batches, every :class:`~tinyconv.cpu.options.CpuOptions` speed-up,
batch 128), once with the contiguous (NCHW) layout (``tinyconv train --contiguous``) and
once in ``channels_last`` (the default), using ``torch.profiler`` around the library's
own training step (:func:`~tinyconv.train.loop.train_epoch` over ``--steps`` batches).
Reports each operator's share of the self CPU time.

Results go to ``benchmarks/results/profile_step.json`` with a Markdown table beside.

Usage::

    python benchmarks/profile_step.py --steps 50
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import defaultdict
from pathlib import Path

from lab import RESULTS_DIR, command_line, write_results
from lab.tables import machine_text, profile_table


def profile(memory_format: str, steps: int, root: str | None) -> dict[str, float]:
    """Self CPU milliseconds per step, by operator name."""
    from torch import optim
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from tinyconv.cpu import CpuOptions, apply
    from tinyconv.data.pipeline import Mnist, make_loaders
    from tinyconv.train import seed_everything, train_epoch
    from tinyconv.zoo import model4

    seed_everything(1)
    loaders = make_loaders(Mnist(root), batch_size=128, seed=1)
    model = model4()
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
    return (f"# Where a model4 training step spends its time\n\nCommand: `{data['command']}`  \n"
            f"Machine: {machine_text(data)}. torch.profiler self CPU time per step, mean over {data['steps']} "
            "steps (batch 128, every CPU speed-up; the contiguous column without channels_last).\n\n"
            + profile_table(data, top=14).to_markdown())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--root", help="MNIST root")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "profile_step.json")
    args = parser.parse_args(argv)

    from tinyconv.cpu import tune_process

    tune_process()
    data = {"steps": args.steps,
            "formats": {fmt: profile(fmt, args.steps, args.root) for fmt in ("contiguous", "channels_last")}}
    data = write_results(args.out, data, command=command_line(__file__, argv), markdown=markdown)
    print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
