"""int8 C on the host and on an emulated Cortex-M: the shipped models, all 10,000 test images.

For each zoo model with shipped MNIST weights, :func:`tinyconv.deploy.c.to_c` writes int8 C
calibrated on the first ``--calibration`` training images; the host build (cc, -Werror) runs
all 10,000 test images and is compared bit for bit with the integer reference
(:func:`tinyconv.deploy.int8.run_int8`) and with fp32 PyTorch; the same C, cross-compiled by
``arm-none-eabi-gcc``, runs the first ``--device-images`` test images on QEMU's
``mps2-an386`` (Cortex-M4), whose predictions and scores are compared with the host's.
Flash and RAM come from ``arm-none-eabi-size`` on the model's object file, beside the
summary's int8 estimate. Writes ``benchmarks/results/deploy_c.json`` (and ``.md``).

Usage::

    python benchmarks/deploy_c.py --device-images 2000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from tinyconv.data.batches import normalise
from tinyconv.data.mnist import load_mnist
from tinyconv.deploy.c import to_c
from tinyconv.deploy.cbuild import compile_host, cross_tools_missing, run_on_board
from tinyconv.deploy.int8 import run_int8
from tinyconv.inspect import summary
from tinyconv.zoo import get_model, list_weights
from lab import RESULTS_DIR, command_line, write_results
from lab.tables import deploy_c_table, machine_text


def measure(name: str, calibration: int, device_images: int, root: str | None, board: str) -> dict:
    """Export one shipped model to C and score it on the host and the emulated board."""
    model = get_model(name, weights="mnist").eval()
    test_images, test_labels = load_mnist(root, train=False)
    train_images, _ = load_mnist(root, train=True, fetch=False)
    info = summary(model)
    with torch.no_grad():
        torch_says = model(normalise(test_images)).argmax(1).numpy()
    truth = test_labels.numpy()
    with tempfile.TemporaryDirectory() as folder:
        export = to_c(model, Path(folder) / "c", normalise(train_images[:calibration]), name=name)
        started = time.perf_counter()
        host_classes, host_scores = compile_host(export, Path(folder) / "host").run(test_images.numpy())
        host_seconds = time.perf_counter() - started
        reference = run_int8(export.quantized, test_images)
        record = {
            "model": name, "params": info.total_params, "calibration_images": calibration,
            "arena_bytes": export.arena_bytes, "weight_bytes": export.weight_bytes,
            "summary_int8": {"weights": info.weight_bytes("int8"), "peak_activations": info.peak_activation_bytes("int8")},
            "source_bytes": export.source.stat().st_size,
            "test_images": len(truth), "pytorch_correct": int((torch_says == truth).sum()),
            "reference_correct": int((reference.argmax(1).numpy() == truth).sum()),
            "host": {"correct": int((host_classes == truth).sum()),
                     "same_as_pytorch": int((host_classes == torch_says).sum()),
                     "scores_equal_reference": int((host_scores.astype(np.int64) == reference.numpy() - 128).all(1).sum()),
                     "seconds": round(host_seconds, 1)},
        }
        missing = cross_tools_missing()
        if missing:
            record["device"] = {"skipped": missing}
            return record
        n = min(device_images, len(truth))
        started = time.perf_counter()
        device = run_on_board(export, test_images[:n].numpy(), Path(folder) / board, board)
        record["device"] = {
            "board": board, "images": n, "correct": int((device.classes == truth[:n]).sum()),
            "same_as_host": int((device.classes == host_classes[:n]).sum()),
            "scores_equal_host": int((device.scores == host_scores[:n]).all(1).sum()),
            "flash_bytes": device.sizes.flash, "ram_bytes": device.sizes.ram, "text_bytes": device.sizes.text,
            "rodata_bytes": device.sizes.rodata, "stack_bytes": device.stack_bytes,
            "seconds": round(time.perf_counter() - started, 1)}
    return record


def markdown(data: dict) -> str:
    """The Markdown beside the JSON."""
    return (f"# int8 C on the host and on an emulated Cortex-M4\n\nCommand: `{data['command']}`  \n"
            f"Machine: {machine_text(data)}.\n\n" + deploy_c_table(data).to_markdown())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", help="zoo models with shipped weights (default: all)")
    parser.add_argument("--calibration", type=int, default=1000, help="training images for calibration")
    parser.add_argument("--device-images", type=int, default=2000, help="test images run on the emulated board")
    parser.add_argument("--board", default="mps2-an386", help="QEMU board")
    parser.add_argument("--root", help="MNIST root")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "deploy_c.json")
    args = parser.parse_args(argv)
    names = args.models or sorted({w.model for w in list_weights()})
    data = {"runs": [measure(n, args.calibration, args.device_images, args.root, args.board) for n in names]}
    data = write_results(args.out, data, command=command_line(__file__, argv), markdown=markdown)
    print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
