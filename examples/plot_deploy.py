"""
Export, quantize and check a model
==================================

Train ``tc8k`` briefly (one epoch on 6,000 training images — the full recipe is
``tinyconv train tc8k``), export it to ONNX with standard operators only, quantize it to
int8 calibrated on training images, and compare both with PyTorch on 2,000 test images;
then write it as int8 C and check that too. The memory a device needs comes from
:func:`tinyconv.inspect.summary`.
"""

import tempfile
from pathlib import Path

from tinyconv import train_net
from tinyconv.data import Loaders
from tinyconv.data.batches import TensorBatches, normalise
from tinyconv.data.mnist import load_mnist
from tinyconv.deploy.onnx import compare_onnx, quantize_int8, to_onnx
from tinyconv.inspect import summary

train_images, train_labels = load_mnist(train=True)
test_images, test_labels = load_mnist(train=False, fetch=False)
train = TensorBatches(normalise(train_images[:6000]), train_labels[:6000],
                      batch_size=64, seed=1)
test = TensorBatches(normalise(test_images[:2000]), test_labels[:2000],
                     batch_size=500, shuffle=False)
data = Loaders(train, test, "Test", 6000, 2000)
model = train_net("tc8k", {"epochs": 1}, data=data, out=False, callbacks=[]).model

folder = Path(tempfile.mkdtemp())
fp32 = to_onnx(model, folder / "tc8k.onnx")
int8 = quantize_int8(fp32, folder / "tc8k_int8.onnx", normalise(train_images[:500]))
for path in (fp32, int8):
    check = compare_onnx(model, path, test)
    onnx_acc = 100 * check.correct_onnx / check.images
    torch_acc = 100 * check.correct_torch / check.images
    print(f"{path.name}: {path.stat().st_size:,} bytes, ONNX Runtime {onnx_acc:.2f}% "
          f"vs PyTorch {torch_acc:.2f}%, {check.same_predictions}/{check.images} same "
          f"predictions, max diff {check.max_abs_diff:.1e}")

info = summary(model)
print(f"weights: {info.weight_bytes('fp32'):,} B fp32, "
      f"{info.weight_bytes('int8'):,} B int8")
print(f"peak activations: {info.peak_activation_bytes('fp32'):,} B fp32, "
      f"{info.peak_activation_bytes('int8'):,} B int8")

# %%
# What a device must hold, in bytes: the weights and the peak activations, fp32 vs int8.
import matplotlib.pyplot as plt  # noqa: E402

kinds = ["weights", "peak activations"]
fp32_bytes = [info.weight_bytes("fp32"), info.peak_activation_bytes("fp32")]
int8_bytes = [info.weight_bytes("int8"), info.peak_activation_bytes("int8")]
fig, ax = plt.subplots(figsize=(6, 3))
positions = range(len(kinds))
ax.barh([p + 0.2 for p in positions], fp32_bytes, height=0.4, label="fp32")
ax.barh([p - 0.2 for p in positions], int8_bytes, height=0.4, label="int8")
ax.set_yticks(list(positions), kinds)
ax.set_xlabel("bytes")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# The same model as int8 C for a microcontroller: ``to_c`` writes ``tc8k.h``
# and ``tc8k.c`` (raw pixels in, the class out). Where a C compiler is, it is
# built, run on the test images and compared with its integer reference and
# with PyTorch.
from tinyconv.deploy.c import to_c  # noqa: E402
from tinyconv.deploy.check import check_c  # noqa: E402

c_folder = Path(tempfile.mkdtemp()) / "c"
export = to_c(model, c_folder, normalise(train_images[:500]), name="tc8k")
print(f"{export.source.name}: arena {export.arena_bytes:,} B "
      f"(summary {info.peak_activation_bytes('int8'):,} B), weights "
      f"{export.weight_bytes:,} B (summary {info.weight_bytes('int8'):,} B)")
c_check = check_c(export, model, normalise(test_images[:2000]),
                  test_labels[:2000], mean=0.1307, std=0.3081)
print(c_check.describe())
