"""A model as plain PyTorch layers, ready to leave PyTorch (kept here for the deploy API).

The functions live in :mod:`tinyconv.cpu.plain`, beside the speed-up modules they undo, so
that inspection can size a model as exported without importing the exporters.
"""

from tinyconv.cpu.plain import fold_batchnorm, plain_copy

__all__ = ["plain_copy", "fold_batchnorm"]
