"""Data: MNIST sources, IDX files, safe pickles, tensors and batches.

The submodules hold one idea each; the names most used are re-exported here.
"""

from tinyconv.data.batches import TensorBatches, normalise
from tinyconv.data.mnist import ensure_mnist, load_mnist
from tinyconv.data.pipeline import mnist_loaders
from tinyconv.data.stats import data_statistics

__all__ = ["TensorBatches", "normalise", "ensure_mnist", "load_mnist", "mnist_loaders", "data_statistics"]
