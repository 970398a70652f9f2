"""The input contract an exported file carries: how to turn raw pixels into what the model expects.

Every ONNX file ``tinyconv export`` writes (fp32 and int8) holds these as ``metadata_props``,
so the file alone says how to feed it::

    x = (pixel * input.scale - input.mean) / input.std     # per channel, pixel in 0..255

with ``input.shape`` ``C×H×W``, ``input.polarity`` (MNIST: ``white-on-black``, 0 = background)
and ``labels`` the classes in output order. Read them with ONNX Runtime:
``onnxruntime.InferenceSession(path).get_modelmeta().custom_metadata_map``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

__all__ = ["PIXEL_SCALE", "input_contract", "describe_contract", "preprocess"]

PIXEL_SCALE = 1 / 255
"""Raw 8-bit pixel values are scaled by this before the normalisation."""


def input_contract(data: Mapping[str, Any], *, model: str, params: int, test_accuracy: float | None = None,
                   labels: Sequence[str] | None = None) -> dict[str, str]:
    """The metadata an exported file carries about its input and its model.

    Args:
        data: What the model trained on, as a run records it (``name``, ``input_size``,
            ``num_classes``, ``mean``, ``std``).
        model: The model's name.
        params: Its parameter count.
        test_accuracy: Its test accuracy in percent, when known.
        labels: The class names in output order (default ``0`` … ``num_classes - 1``).

    Returns:
        ``{key: text}``, the keys ``model``, ``params``, ``tinyconv.version``, ``input.shape``,
        ``input.scale``, ``input.mean``, ``input.std``, ``input.formula``, ``input.polarity``,
        ``labels`` and, when known, ``test_accuracy``.

    Raises:
        ValueError: If ``data`` lacks the normalisation or the input size.
    """
    from tinyconv import __version__

    missing = [key for key in ("input_size", "mean", "std") if key not in data]
    if missing:
        raise ValueError(f"data must say {', '.join(missing)} to describe the exported input, got {dict(data)!r}")
    classes = data.get("num_classes") or 10
    names = list(labels) if labels is not None else [str(i) for i in range(int(classes))]
    contract = {
        "model": model,
        "params": str(params),
        "tinyconv.version": __version__,
        "input.shape": "x".join(str(int(d)) for d in data["input_size"]),
        "input.scale": repr(PIXEL_SCALE),
        "input.mean": ",".join(repr(float(m)) for m in data["mean"]),
        "input.std": ",".join(repr(float(s)) for s in data["std"]),
        "input.formula": "x = (pixel * input.scale - input.mean) / input.std, per channel, pixel in 0..255",
        "input.polarity": "white-on-black" if data.get("name") in ("MNIST", None) else "as in the training images",
        "labels": ",".join(names),
    }
    if test_accuracy is not None:
        contract["test_accuracy"] = f"{test_accuracy:.2f}"
    return contract


def describe_contract(contract: Mapping[str, str]) -> str:
    """The contract as the lines ``tinyconv export`` prints.

    Args:
        contract: From :func:`input_contract` (or a file's metadata).

    Returns:
        Two lines: the input's shape, scaling and polarity; the output's classes.
    """
    return (f"input: {contract['input.shape']} pixels 0..255, x = (pixel/255 - {contract['input.mean']}) / "
            f"{contract['input.std']}, {contract['input.polarity']}\n"
            f"output: log-probabilities of {contract['labels']}")


def preprocess(pixels: torch.Tensor, contract: Mapping[str, str]) -> torch.Tensor:
    """Raw pixels to the exported model's input, by the file's own contract (:func:`input_contract`).

    Args:
        pixels: ``(N, H, W)`` or ``(N, C, H, W)``: ``uint8`` 0..255, or floats in [0, 1].
        contract: The file's metadata (``input.scale``, ``input.mean``, ``input.std``, ``input.shape``).

    Returns:
        ``(N, C, H, W)`` float32.

    Raises:
        ValueError: If the metadata holds no input contract, or the pixels do not have its shape.
    """
    missing = [k for k in ("input.scale", "input.mean", "input.std", "input.shape") if k not in contract]
    if missing:
        raise ValueError(f"the file does not say how to feed it (no {', '.join(missing)} in its metadata): "
                         "export it with `tinyconv export` to carry its input contract")
    shape = tuple(int(d) for d in contract["input.shape"].split("x"))
    if pixels.dim() == 3:
        pixels = pixels[:, None]
    if tuple(pixels.shape[1:]) != shape:
        raise ValueError(f"the file takes images of {contract['input.shape']}, the data has "
                         f"{'x'.join(str(d) for d in pixels.shape[1:])}")
    values = pixels.float() if not pixels.is_floating_point() else pixels.float() * 255
    mean = torch.tensor([float(m) for m in contract["input.mean"].split(",")])[None, :, None, None]
    std = torch.tensor([float(s) for s in contract["input.std"].split(",")])[None, :, None, None]
    return (values * float(contract["input.scale"]) - mean) / std
