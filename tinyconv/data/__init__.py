"""Data: MNIST sources, IDX files, safe pickles, tensors and batches.

:func:`make_loaders` is the one entry: MNIST, an IDX folder, tensors or a ``Dataset`` in,
training and evaluation batches out.

The submodules hold one idea each; the names most used are re-exported here.
"""

from tinyconv.data.batches import TensorBatches, normalise
from tinyconv.data.mnist import ensure_mnist, load_mnist
from tinyconv.data.pipeline import Loaders, Mnist, make_loaders
from tinyconv.data.folders import data_folder
from tinyconv.data.sources import ImageData, tensor_data
from tinyconv.data.stats import data_statistics

__all__ = ["TensorBatches", "normalise", "ensure_mnist", "load_mnist", "Loaders", "Mnist", "make_loaders",
           "ImageData", "data_folder", "tensor_data", "data_statistics"]
