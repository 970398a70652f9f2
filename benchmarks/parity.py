"""Speed parity: your own network through ``train_net`` against the same network as a zoo model.

The same architecture (``st8k``'s) is trained for one epoch two ways, interleaved
round-robin ``--repeats`` times in one process: as a zoo name (``train_net("st8k")``) and
as an ``nn.Module`` a user built from the blocks (``train_net(net, "st8k")``). The report
gives each way's median training images per second and the ratio, user over zoo; the
goal is at least 0.95. Writes ``benchmarks/results/parity.json`` (and ``.md``). Run it on
a quiet machine: nothing else training at the same time.

Usage::

    python benchmarks/parity.py --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from lab.files import RESULTS_DIR, command_line, write_results
from lab.tables import machine_text
from tinyconv.app.run import train_net
from tinyconv.cpu import CpuOptions
from tinyconv.data.pipeline import Mnist
from tinyconv.zoo.searched import SEARCHED
from tinyconv.zoo.spec import StageNetSpec


def _user_network():
    """st8k's network as a user would build it: from the shape, not from the zoo."""
    return StageNetSpec.from_dict(SEARCHED["st8k"]).build()


def _images_per_second(model, folder: Path, root: str | None) -> float:
    result = train_net(model, {"epochs": 1}, data=Mnist(root), out=folder, overwrite=True, callbacks=[],
                       speedups=CpuOptions.all())
    record = result.history.epochs[0]
    return result.history.meta["train_size"] / record.train_seconds


def markdown(data: dict) -> str:
    """The Markdown beside the JSON."""
    rows = [f"| {way} | {statistics.median(v):,.0f} | {', '.join(f'{x:,.0f}' for x in v)} |"
            for way, v in data["images_per_second"].items()]
    return (f"# Speed parity: your network through train_net vs the zoo's\n\nCommand: `{data['command']}`  \n"
            f"Machine: {machine_text(data)}.\n\n| way | median images/s | each round |\n|---|---|---|\n"
            + "\n".join(rows) + f"\n\nRatio (user / zoo, medians): **{data['ratio']:.3f}**\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--root", help="MNIST root")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "parity.json")
    args = parser.parse_args(argv)
    speeds: dict[str, list[float]] = {"zoo model (train_net('st8k'))": [], "your network (train_net(net))": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeats):
            for way in speeds:
                model = "st8k" if way.startswith("zoo") else _user_network()
                speeds[way].append(_images_per_second(model, Path(tmp) / f"r{round_}", args.root))
                print(f"round {round_ + 1}: {way}: {speeds[way][-1]:,.0f} images/s", flush=True)
    zoo, user = (statistics.median(v) for v in speeds.values())
    data = {"images_per_second": speeds, "ratio": user / zoo, "repeats": args.repeats}
    write_results(args.out, data, command=command_line(__file__, argv), markdown=markdown)
    print(f"ratio (user / zoo): {user / zoo:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
