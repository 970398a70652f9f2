"""Where a training step of model4 spends its time, by operator, in both memory formats.

Profiles ``--steps`` training steps of model4 the way ``tinyconv train`` runs them by
default (in-memory batches, allocator tuning, FastDropout, SplitBiasConv2d, batch 128), once with the
contiguous (NCHW) layout (``tinyconv train --contiguous``) and once in ``channels_last``
with :func:`~tinyconv.cpu.channels_last.use_channels_last` (the default), using
``torch.profiler``. Reports each operator's share of the self CPU time, so the docs can
say what dominates a step and what ``channels_last`` changes.

Results go to ``benchmarks/results/profile_step.json`` with a Markdown table beside.

Usage::

    python benchmarks/profile_step.py --steps 50
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def profile(memory_format: str, steps: int, root: str | None) -> dict[str, float]:
    """Self CPU milliseconds per step, by operator name."""
    import torch
    import torch.nn.functional as F
    from torch import optim
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from tinyconv.cpu.channels_last import use_channels_last
    from tinyconv.data.pipeline import mnist_loaders
    from tinyconv.cpu.fast_dropout import use_fast_dropout
    from tinyconv.cpu.split_bias import use_split_bias
    from tinyconv.train import seed_everything
    from tinyconv.zoo import model4

    seed_everything(1)
    loaders = mnist_loaders(root, batch_size=128, seed=1)
    model = model4()
    use_fast_dropout(model)
    use_split_bias(model)
    layout = torch.channels_last if memory_format == "channels_last" else torch.contiguous_format
    if memory_format == "channels_last":
        use_channels_last(model)
    model.train()
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    batches = iter(loaders.train)

    def step() -> None:
        x, y = next(batches)
        x = x.contiguous(memory_format=layout)
        opt.zero_grad(set_to_none=True)
        out = model(x)
        loss = F.nll_loss(out, y)
        loss.item()
        loss.backward()
        opt.step()

    for _ in range(10):
        step()
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    per_op: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        per_op[event.key] += event.self_cpu_time_total / 1000 / steps
    return dict(per_op)


def markdown(data: dict) -> str:
    m = data["machine"]
    lines = [
        "# Where a model4 training step spends its time",
        "",
        f"Command: `{data['command']}`  ",
        f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}. torch.profiler self CPU time per step, "
        f"mean over {data['steps']} steps (batch 128, FastDropout, SplitBiasConv2d, allocator tuning; "
        "channels_last: with use_channels_last).",
        "",
        "| operator | contiguous ms/step | share | channels_last ms/step | share |",
        "|---|---|---|---|---|",
    ]
    plain, last = data["formats"]["contiguous"], data["formats"]["channels_last"]
    total_plain, total_last = sum(plain.values()), sum(last.values())
    names = sorted(set(plain) | set(last), key=lambda n: max(plain.get(n, 0.0), last.get(n, 0.0)), reverse=True)
    for name in names[:14]:
        lines.append(f"| {name} | {plain.get(name, 0.0):.2f} | {plain.get(name, 0.0) / total_plain:.0%} "
                     f"| {last.get(name, 0.0):.2f} | {last.get(name, 0.0) / total_last:.0%} |")
    lines.append(f"| **total** | {total_plain:.1f} | | {total_last:.1f} | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--root", help="MNIST root")
    parser.add_argument("--out", type=Path, default=RESULTS / "profile_step.json")
    args = parser.parse_args(argv)

    from tinyconv._io import atomic_write_bytes, atomic_write_json
    from tinyconv._machine import machine_info
    from tinyconv.cpu.allocator import tune_malloc

    tune_malloc()
    data = {
        "command": ("python benchmarks/profile_step.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip(),
        "machine": machine_info(),
        "steps": args.steps,
        "formats": {fmt: profile(fmt, args.steps, args.root) for fmt in ("contiguous", "channels_last")},
    }
    atomic_write_json(args.out, data)
    atomic_write_bytes(args.out.with_suffix(".md"), markdown(data).encode())
    print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
