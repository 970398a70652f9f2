"""Training and evaluation throughput: the classic pipeline against tinyconv's, side by side.

Mode ``speed`` (the default) measures images per second for a set of configurations.
Each measurement runs in a fresh subprocess (allocator settings cannot be undone in a
process), the configurations are interleaved round-robin, and every configuration is
measured ``--repeats`` times; the report gives the median and each configuration's
ratio to the classic pipeline. A measurement times one whole training epoch from the
start of a fresh pass (for the classic pipeline that includes starting the DataLoader's
workers, as every epoch of a real run does) after 10 untimed warm-up steps, then one
pass over the test set; ``--train-batches N`` times N steps instead. (Timing 150 steps
was the default once; it flattered the in-memory pipeline.)

- ``classic``: the seed's pipeline — ``torchvision.datasets.MNIST`` + ``DataLoader``
  (batch 128, shuffle, 2 workers) + per-sample ``ToTensor``/``Normalize``.
- ``tensor``: tinyconv's in-memory pipeline (``TensorBatches``), nothing else changed.
- ``tensor+malloc``: plus :func:`tinyconv.cpu.allocator.tune_malloc`.
- further levers, each on top of ``tensor+malloc``: one thread, batch 256, channel
  dropout instead of element dropout (changes the model's regulariser), channels_last,
  ``torch.compile``, and :class:`~tinyconv.cpu.fast_dropout.FastDropout` (the same
  element-wise dropout drawn from far fewer random numbers: at model4's rate of 0.05,
  the positions of the dropped elements) and
  :class:`~tinyconv.cpu.split_bias.SplitBiasConv2d` (the same convolutions with the bias
  added after them, so its gradient is a plain sum) — the last two are what
  ``tinyconv train`` does by default; and
  :func:`~tinyconv.cpu.channels_last.use_channels_last` (training in ``channels_last`` with
  batch norms that suit it), also a default. ``channels_last`` alone converts the model
  and keeps torch's batch norm.
- ``tinyconv``: what ``tinyconv train`` does by default — the in-memory pipeline,
  allocator tuning, FastDropout, SplitBiasConv2d, ``use_channels_last``, and evaluation of
  a channels_last copy of the model.
- ``tinyconv_contiguous`` (only with ``--configs``): the same without ``use_channels_last``
  (``tinyconv train --contiguous``; the default before it).
- ``tinyconv+omp_active`` (only with ``--configs``): the same with the environment
  variable ``OMP_WAIT_POLICY=ACTIVE``, which keeps OpenMP's worker threads spinning
  between the many small parallel regions instead of sleeping; it must be set before
  the process starts, so it is something to export in a shell, not a library setting.

Mode ``accuracy`` trains model4 for 15 epochs with the seed's recipe twice, one run
after the other: through the classic pipeline with ``nn.Dropout`` and no tuning, and
the way ``tinyconv train`` does by default (in-memory pipeline, allocator tuning,
FastDropout, SplitBiasConv2d, channels_last training), and reports test accuracy, seconds per training epoch and wall time.

With ``--lockstep`` the two runs train at the same time in two processes that take
turns epoch by epoch (one trains while the other waits), so that both meet the same
drift of a shared machine's speed; run one after the other, the first meets minutes
of it that the second does not.

Results go to ``benchmarks/results/throughput.json`` (or ``throughput_accuracy.json``)
with a Markdown table beside them.

Usage::

    python benchmarks/throughput.py                       # speed, 3 repeats
    python benchmarks/throughput.py --mode accuracy       # two 15-epoch runs
    python benchmarks/throughput.py --mode accuracy --lockstep \
        --out benchmarks/results/throughput_accuracy_lockstep.json
    python benchmarks/throughput.py --configs classic tinyconv tinyconv+omp_active \
        --out benchmarks/results/throughput_omp.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"

CONFIGS: dict[str, dict] = {
    "classic": {"pipeline": "classic"},
    "tensor": {"pipeline": "tensor"},
    "tensor+malloc": {"pipeline": "tensor", "malloc": True},
    "tensor+malloc+1thread": {"pipeline": "tensor", "malloc": True, "threads": 1},
    "tensor+malloc+batch256": {"pipeline": "tensor", "malloc": True, "batch_size": 256},
    "tensor+malloc+channel_dropout": {"pipeline": "tensor", "malloc": True, "dropout_kind": "channel"},
    "tensor+malloc+channels_last": {"pipeline": "tensor", "malloc": True, "channels_last": True},
    "tensor+malloc+compile": {"pipeline": "tensor", "malloc": True, "compile": True},
    "tensor+malloc+fast_dropout": {"pipeline": "tensor", "malloc": True, "fast_dropout": True},
    "tensor+malloc+split_bias": {"pipeline": "tensor", "malloc": True, "split_bias": True},
    "tensor+malloc+use_channels_last": {"pipeline": "tensor", "malloc": True, "channels_last_train": True},
    "tinyconv": {"pipeline": "tensor", "malloc": True, "fast_dropout": True, "split_bias": True,
                 "channels_last_train": True, "channels_last_eval": True},
    "tinyconv_contiguous": {"pipeline": "tensor", "malloc": True, "fast_dropout": True, "split_bias": True,
                            "channels_last_eval": True},
    "tinyconv+omp_active": {"pipeline": "tensor", "malloc": True, "fast_dropout": True, "split_bias": True,
                            "channels_last_train": True, "channels_last_eval": True,
                            "env": {"OMP_WAIT_POLICY": "ACTIVE"}},
}
ON_REQUEST = ("tinyconv_contiguous", "tinyconv+omp_active")
DEFAULT_CONFIGS = [name for name in CONFIGS if name not in ON_REQUEST]
"""What a plain run measures; the configurations in ``ON_REQUEST`` are measured when named (``--configs``)."""


def measure(config: dict, train_batches: int, root: str | None) -> dict:
    """Run inside a subprocess: time training steps and one evaluation pass."""
    import torch
    import torch.nn.functional as F
    from torch import optim

    from tinyconv.cpu.channels_last import use_channels_last
    from tinyconv.data.pipeline import mnist_loaders
    from tinyconv.cpu.fast_dropout import use_fast_dropout
    from tinyconv.cpu.allocator import tune_malloc
    from tinyconv.cpu.split_bias import use_split_bias
    from tinyconv.train import evaluate, seed_everything
    from tinyconv.zoo import model4

    if config.get("malloc"):
        assert tune_malloc()
    if config.get("threads"):
        torch.set_num_threads(config["threads"])
    seed_everything(1)
    batch_size = config.get("batch_size", 128)
    loaders = mnist_loaders(root, batch_size=batch_size, pipeline=config["pipeline"], seed=1)
    model = model4(dropout_kind=config.get("dropout_kind", "element"))
    if config.get("fast_dropout"):
        assert use_fast_dropout(model) > 0
    if config.get("split_bias"):
        assert use_split_bias(model) > 0
    if config.get("channels_last"):
        model = model.to(memory_format=torch.channels_last)
    if config.get("channels_last_train"):
        assert use_channels_last(model) > 0
    step_model = torch.compile(model) if config.get("compile") else model
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()

    def step(x, y):
        if config.get("channels_last"):
            x = x.contiguous(memory_format=torch.channels_last)
        opt.zero_grad(set_to_none=True)
        out = step_model(x)
        loss = F.nll_loss(out, y)
        loss.item()  # as the training loop does for its running loss
        loss.backward()
        opt.step()
        (out.argmax(1) == y).sum().item()  # and for its accuracy

    for i, (x, y) in enumerate(loaders.train):  # warm-up (and compilation), untimed
        step(x, y)
        if i + 1 == 10:
            break
    # The timed pass starts a fresh epoch, so it pays what every epoch pays: for the
    # classic pipeline, starting the DataLoader workers.
    limit = train_batches or len(loaders.train)
    seen = 0
    started = time.perf_counter()
    for i, (x, y) in enumerate(loaders.train):
        if i == limit:
            break
        step(x, y)
        seen += y.shape[0]
    train_seconds = time.perf_counter() - started
    began = time.perf_counter()
    result = evaluate(step_model, loaders.eval, channels_last=config.get("channels_last_eval", False))
    eval_seconds = time.perf_counter() - began
    return {
        "train_images_per_s": seen / train_seconds,
        "eval_images_per_s": result.total / eval_seconds,
        "threads": torch.get_num_threads(),
    }


def run_speed(args: argparse.Namespace) -> dict:
    from tinyconv._machine import machine_info

    names = args.configs or DEFAULT_CONFIGS
    samples: dict[str, list[dict]] = {name: [] for name in names}
    for repeat in range(args.repeats):
        for name in names:
            command = [sys.executable, __file__, "--child", json.dumps(CONFIGS[name]),
                       "--train-batches", str(args.train_batches)]
            if args.root:
                command += ["--root", args.root]
            env = {**os.environ, **CONFIGS[name].get("env", {})}
            output = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
            sample = json.loads(output.strip().splitlines()[-1])
            samples[name].append(sample)
            print(f"repeat {repeat + 1}/{args.repeats} {name:<32} train {sample['train_images_per_s']:8.0f} img/s"
                  f"   eval {sample['eval_images_per_s']:8.0f} img/s", flush=True)
    summary = {}
    base = statistics.median(s["train_images_per_s"] for s in samples["classic"]) if "classic" in samples else None
    base_eval = statistics.median(s["eval_images_per_s"] for s in samples["classic"]) if "classic" in samples else None
    for name, runs in samples.items():
        train = statistics.median(s["train_images_per_s"] for s in runs)
        evaluation = statistics.median(s["eval_images_per_s"] for s in runs)
        summary[name] = {
            "config": CONFIGS[name],
            "train_images_per_s": train,
            "eval_images_per_s": evaluation,
            "train_ratio_to_classic": train / base if base else None,
            "eval_ratio_to_classic": evaluation / base_eval if base_eval else None,
            "samples": runs,
        }
    return {"mode": "speed", "machine": machine_info(), "train_batches": args.train_batches,
            "repeats": args.repeats, "results": summary}


def speed_markdown(data: dict) -> str:
    m = data["machine"]
    lines = [
        "# Throughput: classic pipeline vs tinyconv's",
        "",
        f"Command: `{data['command']}`  ",
        f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}. Model: model4 (seed, element dropout "
        "unless noted), batch 128 unless noted. Median of "
        f"{data['repeats']} interleaved repeats, each a fresh process timing "
        + (f"{data['train_batches']} training steps" if data["train_batches"] else "one whole training epoch "
           "(60,000 images, from the start of a fresh pass)")
        + " after 10 warm-up steps, and one pass over the 10,000 test images.",
        "",
        "| configuration | train img/s | × classic | eval img/s | × classic |",
        "|---|---|---|---|---|",
    ]
    for name, r in data["results"].items():
        ratio = f"{r['train_ratio_to_classic']:.2f}" if r["train_ratio_to_classic"] else "—"
        eratio = f"{r['eval_ratio_to_classic']:.2f}" if r["eval_ratio_to_classic"] else "—"
        lines.append(f"| {name} | {r['train_images_per_s']:.0f} | {ratio} | {r['eval_images_per_s']:.0f} | {eratio} |")
    return "\n".join(lines) + "\n"


ACCURACY_RUNS: dict[str, dict] = {
    "classic": {"pipeline": "classic", "fast_dropout": False, "split_bias": False, "channels_last": False,
                "tune": False},
    "tinyconv": {"pipeline": "tensor", "fast_dropout": True, "split_bias": True, "channels_last": True,
                 "tune": True},
}
"""The two ways accuracy mode trains model4: the seed's pipeline untouched, and ``tinyconv train``'s defaults."""


def train_accuracy_run(name: str, epochs: int, root: str | None, echo=print) -> dict:
    """Train model4 with the seed's recipe one of the :data:`ACCURACY_RUNS` ways; return its record."""
    from tinyconv.train.recipe import SEED_RECIPE
    from tinyconv.train.run import train_zoo_model

    setting = ACCURACY_RUNS[name]
    recipe = SEED_RECIPE.with_overrides(pipeline=setting["pipeline"], fast_dropout=setting["fast_dropout"],
                                        split_bias=setting["split_bias"], channels_last=setting["channels_last"],
                                        epochs=epochs)
    began = time.perf_counter()
    result = train_zoo_model("model4", recipe, seed=1, out=Path("runs") / "throughput" / name,
                             root=root, progress=False, tune=setting["tune"], echo=echo)
    return {"settings": setting, "wall_seconds": time.perf_counter() - began, "history": result.history.to_dict(),
            "summary": result.summary}


def run_accuracy(args: argparse.Namespace) -> dict:
    from tinyconv._machine import machine_info

    if args.lockstep:
        return {"mode": "accuracy", "lockstep": True, "machine": machine_info(), "runs": run_lockstep(args)}
    runs = {}
    # The classic run goes first: allocator tuning cannot be undone inside a process.
    for name in ACCURACY_RUNS:
        runs[name] = train_accuracy_run(name, args.epochs, args.root)
        print(runs[name].pop("summary"), flush=True)
    return {"mode": "accuracy", "machine": machine_info(), "runs": runs}


def lockstep_child(name: str, epochs: int, root: str | None) -> None:
    """Run inside a subprocess: before each epoch, say ``READY`` and wait for a line on stdin."""
    def echo(line: str) -> None:
        if line.startswith("EPOCH:"):
            print("READY", flush=True)
            sys.stdin.readline()
        print(line, file=sys.stderr, flush=True)

    record = train_accuracy_run(name, epochs, root, echo=echo)
    print(record.pop("summary"), file=sys.stderr, flush=True)
    # Time spent waiting for the other process's turn is not this run's: count its own epochs only.
    record["wall_seconds"] = sum(epoch["seconds"] for epoch in record["history"]["epochs"])
    print("RESULT " + json.dumps(record), flush=True)


def run_lockstep(args: argparse.Namespace) -> dict:
    """Train both ways at once in two processes that take turns epoch by epoch, so both meet the same drift."""
    children = {}
    for name in ACCURACY_RUNS:
        command = [sys.executable, __file__, "--lockstep-child", name, "--epochs", str(args.epochs)]
        if args.root:
            command += ["--root", args.root]
        children[name] = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def wait(child: subprocess.Popen) -> str:
        """The child's next protocol line: READY (waiting for its next epoch) or RESULT."""
        for line in child.stdout:
            if line.startswith(("READY", "RESULT")):
                return line
        raise RuntimeError(f"a lock-step child stopped early (exit code {child.wait()})")

    for child in children.values():
        wait(child)  # each child is READY before its first epoch
    runs = {}
    while len(runs) < len(children):
        for name, child in children.items():
            if name in runs:
                continue
            child.stdin.write("go\n")
            child.stdin.flush()
            line = wait(child)
            if line.startswith("RESULT"):
                runs[name] = json.loads(line[len("RESULT "):])
                child.wait()
    return runs


def accuracy_markdown(data: dict) -> str:
    m = data["machine"]
    lines = [
        "# Equal accuracy: model4, seed recipe, 15 epochs, both pipelines",
        "",
        f"Command: `{data['command']}`  ",
        f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}.  ",
        ("Each run in its own process, the two taking turns epoch by epoch; wall time is the sum of a run's "
         "own epochs." if data.get("lockstep") else "One run after the other, in one process."),
        "",
        "| run | best test acc (epoch) | last 3 epochs | train s/epoch | wall time |",
        "|---|---|---|---|---|",
    ]
    for name, run in data["runs"].items():
        epochs = run["history"]["epochs"]
        best = max(epochs, key=lambda e: e["test_accuracy"])
        last = ", ".join(f"{e['test_accuracy']:.2f}" for e in epochs[-3:])
        per_epoch = statistics.mean(e["train_seconds"] for e in epochs)
        lines.append(f"| {name} | {best['test_accuracy']:.2f} ({best['epoch']}) | {last} | {per_epoch:.1f} "
                     f"| {run['wall_seconds'] / 60:.1f} min |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["speed", "accuracy"], default="speed")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), help="speed mode: which configurations")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-batches", type=int, default=0,
                        help="speed mode: training steps to time (default 0: one whole epoch)")
    parser.add_argument("--epochs", type=int, default=15, help="accuracy mode: epochs per run")
    parser.add_argument("--root", help="MNIST root")
    parser.add_argument("--out", type=Path, help="results JSON (default: benchmarks/results/throughput*.json)")
    parser.add_argument("--lockstep", action="store_true",
                        help="accuracy mode: run both trainings at once in two processes taking turns epoch by epoch")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--lockstep-child", choices=list(ACCURACY_RUNS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(json.loads(args.child), args.train_batches, args.root)))
        return 0
    if args.lockstep_child:
        lockstep_child(args.lockstep_child, args.epochs, args.root)
        return 0

    from tinyconv._io import atomic_write_bytes, atomic_write_json

    command = "python benchmarks/throughput.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.mode == "speed":
        data, render, default = run_speed(args), speed_markdown, "throughput.json"
    else:
        data, render, default = run_accuracy(args), accuracy_markdown, "throughput_accuracy.json"
    data["command"] = command.strip()
    out = args.out or RESULTS / default
    atomic_write_json(out, data)
    atomic_write_bytes(out.with_suffix(".md"), render(data).encode())
    print(render(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
