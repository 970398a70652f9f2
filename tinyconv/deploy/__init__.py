"""Deploying a tiny model: plain layers, ONNX export, int8 quantization (the ``deploy`` extra)."""

from tinyconv.deploy.plain import fold_batchnorm, plain_copy

__all__ = ["fold_batchnorm", "plain_copy"]
