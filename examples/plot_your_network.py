"""
Your network, from blocks to a device
=====================================

The whole path for a network of your own: compose it from blocks, check its budget,
look at its layers, train it with :func:`tinyconv.train_net` (the function behind
``tinyconv train``: MNIST in memory, a recipe, every CPU speed-up, a run folder and a
verdict), then export it to ONNX and int8 and check ONNX Runtime's accuracy.

One epoch here, to keep the docs build short; ``epochs=15`` is the exercise.
"""

import tempfile
from pathlib import Path

from torch import nn

from tinyconv import ConvBNReLUDrop, GAPHead, Transition1x1
from tinyconv import check_budget, summary, train_net
from tinyconv.data.batches import TensorBatches, normalise
from tinyconv.data.mnist import load_mnist
from tinyconv.deploy import compare_onnx, quantize_int8, to_onnx
from tinyconv.train import ConsoleOutput

net = nn.Sequential(
    ConvBNReLUDrop(1, 8, padding=1), ConvBNReLUDrop(8, 12),
    Transition1x1(12, 8),
    ConvBNReLUDrop(8, 16), ConvBNReLUDrop(16, 16), ConvBNReLUDrop(16, 16),
    GAPHead(16, 10),
)
check_budget(net)  # passes silently: fewer than 8,000 parameters
print(summary(net, (1, 28, 28)))

# %%
# Train: one epoch on all 60,000 training images, evaluated on the 10,000 test images.
folder = Path(tempfile.mkdtemp())
quiet = [ConsoleOutput(progress=False)]  # per-epoch lines and the summary, no bar
result = train_net(net, {"epochs": 1}, out=folder / "run", callbacks=quiet)

# %%
# Export the trained model (the recipe's weight average), check it in ONNX Runtime.
train_images, _ = load_mnist(train=True, fetch=False)
test_images, test_labels = load_mnist(train=False, fetch=False)
fp32 = to_onnx(result.model, folder / "mynet.onnx")
int8 = quantize_int8(fp32, folder / "mynet_int8.onnx", normalise(train_images[:1000]))
test = TensorBatches(normalise(test_images), test_labels, 1000, shuffle=False)
for path in (fp32, int8):
    check = compare_onnx(result.model, path, test)
    onnx_acc = 100 * check.correct_onnx / check.images
    torch_acc = 100 * check.correct_torch / check.images
    print(f"{path.name}: {path.stat().st_size:,} bytes, ONNX Runtime {onnx_acc:.2f}% "
          f"(PyTorch {torch_acc:.2f}%)")

# %%
# The training curves the run folder holds.
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

plt.figure(figsize=(8, 3.2))
plt.imshow(mpimg.imread(folder / "run" / "curves.png"))
plt.axis("off")
plt.show()
