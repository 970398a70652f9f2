"""
Train briefly and plot the curves
=================================

Two epochs of model4 on a 6,000-image subset of real MNIST — enough to see the loop,
the progress lines and the curves — through the one trainer, :func:`tinyconv.train_net`,
given batches of our own (:class:`~tinyconv.data.pipeline.Loaders`). ``tinyconv train
model4`` does the full run.
"""

import tempfile
from pathlib import Path

from tinyconv import train_net
from tinyconv.data import Loaders
from tinyconv.data.batches import TensorBatches, normalise
from tinyconv.data.mnist import load_mnist
from tinyconv.train import ConsoleOutput, plot_history

train_images, train_labels = load_mnist(train=True)  # fetched and verified on first use
test_images, test_labels = load_mnist(train=False, fetch=False)
train = TensorBatches(normalise(train_images[:6000]), train_labels[:6000],
                      batch_size=64, seed=1)
test = TensorBatches(normalise(test_images[:2000]), test_labels[:2000],
                     batch_size=1000, shuffle=False)

result = train_net("model4", {"epochs": 2, "lr": 0.05, "scheduler": "none"},
                   data=Loaders(train, test, "Test", 6000, 2000), out=False,
                   callbacks=[ConsoleOutput(progress=False)])
history = result.history

# %%
# The history is data; the plot is one call.
print(history.best())
png = Path(tempfile.mkdtemp()) / "curves.png"
plot_history(history, png)

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

plt.figure(figsize=(10, 4))
plt.imshow(mpimg.imread(png))
plt.axis("off")
plt.show()
