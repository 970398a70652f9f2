"""Training and evaluation throughput: the classic pipeline against tinyconv's, side by side.

Every measurement trains with the library's own step
(:func:`~tinyconv.train.loop.train_epoch`) and applies speed-ups through
:func:`~tinyconv.cpu.options.apply`.

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
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tinyconv.cpu.options import CpuOptions
from lab import RESULTS_DIR, command_line, write_results
from lab.tables import accuracy_table, machine_text, speed_table


def _configs() -> dict[str, dict]:
    """Every configuration: the pipeline, the CpuOptions switches, and benchmark-only extras."""
    off, every = CpuOptions.off(), CpuOptions.all()
    malloc = off.with_changes(tune_malloc=True)
    configs = {"classic": {"pipeline": "classic", "cpu": off.to_dict()},
               "tensor": {"pipeline": "tensor", "cpu": off.to_dict()},
               "tensor+tune_malloc": {"pipeline": "tensor", "cpu": malloc.to_dict()}}
    for name in every.to_dict():
        if name != "tune_malloc":
            configs[f"tensor+tune_malloc+{name}"] = {"pipeline": "tensor",
                                                     "cpu": malloc.with_changes(**{name: True}).to_dict()}
    extras = {"1thread": {"threads": 1}, "batch256": {"batch_size": 256},
              "channel_dropout": {"dropout_kind": "channel"}, "convert_channels_last": {"convert": True},
              "compile": {"compile": True}}
    for name, extra in extras.items():
        configs[f"tensor+tune_malloc+{name}"] = {"pipeline": "tensor", "cpu": malloc.to_dict(), **extra}
    configs["tinyconv"] = {"pipeline": "tensor", "cpu": every.to_dict()}
    configs["tinyconv_contiguous"] = {"pipeline": "tensor", "cpu": every.with_changes(channels_last=False).to_dict()}
    configs["tinyconv+omp_active"] = {"pipeline": "tensor", "cpu": every.to_dict(), "env": {"OMP_WAIT_POLICY": "ACTIVE"}}
    return configs


CONFIGS = _configs()
ON_REQUEST = ("tinyconv_contiguous", "tinyconv+omp_active")
DEFAULT_CONFIGS = [name for name in CONFIGS if name not in ON_REQUEST]
"""What a plain run measures; the configurations in ``ON_REQUEST`` are measured when named (``--configs``)."""


def _converted(batches, convert: bool):
    import torch

    for x, y in batches:
        yield (x.contiguous(memory_format=torch.channels_last) if convert else x), y


def measure(config: dict, train_batches: int, root: str | None) -> dict:
    """Run inside a subprocess: time one training pass and one evaluation pass."""
    import torch
    from torch import optim

    from tinyconv.cpu import apply, tune_process
    from tinyconv.data.pipeline import Mnist, make_loaders
    from tinyconv.train import evaluate, seed_everything, train_epoch
    from tinyconv.zoo import model4

    cpu = CpuOptions(**config["cpu"])
    tune_process(cpu, threads=config.get("threads"))
    seed_everything(1)
    loaders = make_loaders(Mnist(root), batch_size=config.get("batch_size", 128), pipeline=config["pipeline"], seed=1)
    model = model4(dropout_kind=config.get("dropout_kind", "element"))
    apply(model, cpu)
    if config.get("convert"):
        model = model.to(memory_format=torch.channels_last)
    step_model = torch.compile(model) if config.get("compile") else model
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    convert = bool(config.get("convert"))
    # Warm-up (and compilation), untimed; the timed pass then starts a fresh epoch, so it
    # pays what every epoch pays (for the classic pipeline, starting the DataLoader workers).
    train_epoch(step_model, _converted(itertools.islice(loaders.train, 10), convert), opt)
    batches = itertools.islice(loaders.train, train_batches) if train_batches else loaders.train
    started = time.perf_counter()
    seen = train_epoch(step_model, _converted(batches, convert), opt).samples
    train_seconds = time.perf_counter() - started
    began = time.perf_counter()
    result = evaluate(step_model, loaders.eval, channels_last=cpu.channels_last_eval)
    eval_seconds = time.perf_counter() - began
    return {"train_images_per_s": seen / train_seconds, "eval_images_per_s": result.total / eval_seconds,
            "threads": torch.get_num_threads()}


def run_speed(args: argparse.Namespace) -> dict:
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
    return {"mode": "speed", "train_batches": args.train_batches,
            "repeats": args.repeats, "results": summary}


def speed_markdown(data: dict) -> str:
    """The Markdown beside the JSON."""
    timed = (f"{data['train_batches']} training steps" if data["train_batches"]
             else "one whole training epoch (60,000 images, from the start of a fresh pass)")
    return (f"# Throughput: classic pipeline vs tinyconv's\n\nCommand: `{data['command']}`  \n"
            f"Machine: {machine_text(data)}. Model: model4 (element dropout unless noted), batch 128 unless "
            f"noted. Median of {data['repeats']} interleaved repeats, each a fresh process timing {timed} after "
            "10 warm-up steps, and one pass over the 10,000 test images.\n\n" + speed_table(data).to_markdown())


ACCURACY_RUNS: dict[str, dict] = {
    "classic": {"pipeline": "classic", "cpu": CpuOptions.off().to_dict()},
    "tinyconv": {"pipeline": "tensor", "cpu": CpuOptions.all().to_dict()},
}
"""The two ways accuracy mode trains model4: the seed's pipeline untouched, and ``tinyconv train``'s defaults."""


def train_accuracy_run(name: str, epochs: int, root: str | None, echo=print) -> dict:
    """Train model4 with the seed's recipe one of the :data:`ACCURACY_RUNS` ways; return its record."""
    from tinyconv.app.run import train_net
    from tinyconv.data.pipeline import Mnist
    from tinyconv.train.loop import ConsoleOutput
    from tinyconv.zoo import REFERENCE_RECIPE

    setting = ACCURACY_RUNS[name]
    recipe = REFERENCE_RECIPE.with_overrides(pipeline=setting["pipeline"], epochs=epochs)
    began = time.perf_counter()
    result = train_net("model4", recipe, data=Mnist(root), seed=1, out=Path("runs") / "throughput" / name,
                       speedups=CpuOptions(**setting["cpu"]), callbacks=[ConsoleOutput(progress=False, echo=echo)])
    return {"settings": setting, "wall_seconds": time.perf_counter() - began, "history": result.history.to_dict(),
            "summary": result.summary}


def run_accuracy(args: argparse.Namespace) -> dict:
    if args.lockstep:
        return {"mode": "accuracy", "lockstep": True, "runs": run_lockstep(args)}
    runs = {}
    # The classic run goes first: allocator tuning cannot be undone inside a process.
    for name in ACCURACY_RUNS:
        runs[name] = train_accuracy_run(name, args.epochs, args.root)
        print(runs[name].pop("summary"), flush=True)
    return {"mode": "accuracy", "runs": runs}


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
    """The Markdown beside the JSON."""
    how = ("Each run in its own process, the two taking turns epoch by epoch; wall time is the sum of a run's "
           "own epochs." if data.get("lockstep") else "One run after the other, in one process.")
    return (f"# Equal accuracy: model4, seed recipe, 15 epochs, both pipelines\n\nCommand: `{data['command']}`  \n"
            f"Machine: {machine_text(data)}.  \n{how}\n\n" + accuracy_table(data).to_markdown())


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

    if args.mode == "speed":
        data, render, default = run_speed(args), speed_markdown, "throughput.json"
    else:
        data, render, default = run_accuracy(args), accuracy_markdown, "throughput_accuracy.json"
    data = write_results(args.out or RESULTS_DIR / default, data, command=command_line(__file__, argv),
                         markdown=render)
    print(render(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
