"""fp32 against int8: export trained runs to ONNX, quantize them, and measure both on the test set.

For each run folder (as ``tinyconv train`` or ``benchmarks/final_recipes.py`` writes it),
the trained model (its weight average when it kept one) is exported with
:func:`tinyconv.deploy.onnx.to_onnx`, quantized with
:func:`~tinyconv.deploy.onnx.quantize_int8` (static, QDQ, per-channel weights) calibrated on
the first ``--calibration`` training images, and both files are run by ONNX Runtime on
all 10,000 test images next to PyTorch. Writes ``benchmarks/results/deploy.json`` (and
``.md``): file sizes, test accuracy of PyTorch / ONNX fp32 / ONNX int8, prediction
agreement, the largest log-probability difference, and the device memory of
:func:`tinyconv.inspect.summary` (weights and peak activations, fp32 and int8).

Usage::

    python benchmarks/deploy.py --runs runs/final/tc8k-seed1 runs/final/tc5k-seed1
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tinyconv.data.batches import TensorBatches, normalise
from tinyconv.data.mnist import load_mnist
from tinyconv.app.trained import load_trained
from tinyconv.deploy.onnx import compare_onnx, quantize_int8, to_onnx
from tinyconv.inspect import summary
from lab import RESULTS_DIR, command_line, write_results
from lab.tables import deploy_table, machine_text


def measure(run: Path, calibration: int, root: str | None) -> dict:
    """Export, quantize and score one run."""
    model, meta = load_trained(run)
    test_images, test_labels = load_mnist(root, train=False)
    train_images, _ = load_mnist(root, train=True, fetch=False)
    test = TensorBatches(normalise(test_images), test_labels, 1000, shuffle=False)
    info = summary(model)
    with tempfile.TemporaryDirectory() as folder:
        fp32 = to_onnx(model, Path(folder) / "fp32.onnx")
        int8 = quantize_int8(fp32, Path(folder) / "int8.onnx", normalise(train_images[:calibration]))
        checks = {name: compare_onnx(model, path, test) for name, path in (("fp32", fp32), ("int8", int8))}
        sizes = {"fp32": fp32.stat().st_size, "int8": int8.stat().st_size}
    return {"run": str(run), "model": meta.get("model"), "seed": meta.get("seed"), "params": info.total_params,
            "calibration_images": calibration, "file_bytes": sizes,
            "weights_bytes": {p: info.weight_bytes(p) for p in ("fp32", "int8")},
            "peak_activation_bytes": {p: info.peak_activation_bytes(p) for p in ("fp32", "int8")},
            "test_images": checks["fp32"].images, "pytorch_correct": checks["fp32"].correct_torch,
            "onnx": {name: {"correct": c.correct_onnx, "same_predictions": c.same_predictions,
                            "max_abs_diff": c.max_abs_diff} for name, c in checks.items()}}


def markdown(data: dict) -> str:
    """The Markdown beside the JSON."""
    return (f"# fp32 and int8 on the test set\n\nCommand: `{data['command']}`  \nMachine: {machine_text(data)}.\n\n"
            + deploy_table(data).to_markdown())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", type=Path, required=True, help="run folders with checkpoint.pt")
    parser.add_argument("--calibration", type=int, default=1000, help="training images for calibration")
    parser.add_argument("--root", help="MNIST root")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "deploy.json")
    args = parser.parse_args(argv)
    data = {"runs": [measure(run, args.calibration, args.root) for run in args.runs]}
    data = write_results(args.out, data, command=command_line(__file__, argv), markdown=markdown)
    print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
