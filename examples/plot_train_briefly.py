"""
Train briefly and plot the curves
=================================

Two epochs of model4 on a 6,000-image subset of real MNIST — enough to see the loop,
the progress lines and the curves. ``tinyconv train model4`` does the full run.
"""

import tempfile
from pathlib import Path

from torch import optim

from tinyconv.data.batches import TensorBatches, normalise
from tinyconv.data.mnist import load_mnist
from tinyconv.train import ConsoleOutput, FitOptions, plot_history, seed_everything
from tinyconv.train.loop import run_epochs
from tinyconv.zoo import model4

seed_everything(1)
train_images, train_labels = load_mnist(train=True)  # fetched and verified on first use
test_images, test_labels = load_mnist(train=False, fetch=False)
train = TensorBatches(normalise(train_images[:6000]), train_labels[:6000],
                      batch_size=64, seed=1)
test = TensorBatches(normalise(test_images[:2000]), test_labels[:2000],
                     batch_size=1000, shuffle=False)

model = model4()
optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
history = run_epochs(model, train, test, epochs=2, optimizer=optimizer,
              options=FitOptions(meta={"model": "model4"}),
              callbacks=[ConsoleOutput(progress=False)])

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
