"""Deploying a tiny model: plain layers, ONNX export, int8 quantization, int8 C for a microcontroller.

``to_onnx``, ``quantize_int8`` and ``compare_onnx`` live in :mod:`tinyconv.deploy.onnx`
(the ``deploy`` extra: onnx, onnxruntime) and ``to_c`` in :mod:`tinyconv.deploy.c` (no
extra); all are imported on first use, so that ``import tinyconv.deploy`` works without onnx installed.
"""

from tinyconv._lazy import lazy_exports
from tinyconv.cpu.plain import fold_batchnorm, plain_copy

_EXPORTS = {"to_onnx": "tinyconv.deploy.onnx", "quantize_int8": "tinyconv.deploy.onnx",
            "compare_onnx": "tinyconv.deploy.onnx", "to_c": "tinyconv.deploy.c"}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["fold_batchnorm", "plain_copy", *_EXPORTS]
