"""ONNX export, a check of ONNX Runtime against PyTorch, and int8 static quantization.

:func:`to_onnx` writes a model as a graph of standard operators (``Conv``, ``Relu``,
``MaxPool``, ``ReduceMean``/``GlobalAveragePool``, ``LogSoftmax``...): the CPU speed-up
modules are swapped back to plain PyTorch layers and BatchNorm is folded into the
convolutions it follows. :func:`compare_onnx` runs the file in ONNX Runtime and reports
how far its log-probabilities are from PyTorch's. :func:`quantize_int8` makes a static
int8 model (QDQ format, per-channel weights) calibrated on images the caller gives —
training images, never the test set. Files are written atomically.

Needs the ``deploy`` extra: ``pip install -e '.[deploy]'`` (onnx, onnxruntime).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tinyconv._io import atomic_path
from tinyconv.deploy.plain import fold_batchnorm, plain_copy

__all__ = ["OPSET", "EXPORTABLE", "UnsupportedLayerError", "to_onnx", "OnnxCheck", "compare_onnx",
           "quantize_int8", "MIN_CALIBRATION_IMAGES", "PROGRAM_OPS", "read_metadata"]

OPSET = 17
"""The ONNX opset of exported graphs."""

MIN_CALIBRATION_IMAGES = 100
"""Static quantization needs at least this many calibration images to estimate ranges."""


class UnsupportedLayerError(ValueError):
    """A model holds a layer the exporter does not know how to write as standard operators."""


def _exportable() -> tuple[type[nn.Module], ...]:
    from einops.layers.torch import Rearrange, Reduce

    return (nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Dropout,
            nn.Dropout2d, nn.Identity, nn.LogSoftmax, nn.Softmax, nn.Flatten, nn.Linear, Rearrange, Reduce)


EXPORTABLE = "Conv2d, BatchNorm2d, ReLU, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Dropout, Flatten, Linear, LogSoftmax"
"""The layers the exporter writes (and einops' Rearrange/Reduce, which tinyconv's blocks use)."""


PROGRAM_OPS = frozenset({
    "aten.conv2d.default", "aten.batch_norm.default", "aten.relu.default", "aten.max_pool2d.default",
    "aten.avg_pool2d.default", "aten.adaptive_avg_pool2d.default", "aten.mean.dim", "aten.reshape.default",
    "aten.view.default", "aten.flatten.using_ints", "aten.linear.default", "aten.log_softmax.int",
    "aten.softmax.int", "aten.dropout.default", "aten.add.Tensor", "aten.sym_size.int", "aten.permute.default",
})
"""The operators the exporter writes from an exported program (a run's ``model.pt2``)."""


def _is_program(model: nn.Module) -> bool:
    """Whether ``model`` is an exported program (a run's ``model.pt2``), not a tree of layers."""
    from tinyconv.deploy.program import ExportedModel

    return isinstance(model, ExportedModel)


def _check_program(model: nn.Module) -> None:
    for node in model.program.graph.nodes:
        if node.op == "call_function" and str(node.target) not in PROGRAM_OPS:
            raise UnsupportedLayerError(f"cannot export operator {node.target} (node {node.name!r}) of the program: "
                                        f"not one of {', '.join(sorted(PROGRAM_OPS))}")


def _traceable(model: nn.Module) -> nn.Module:
    """A copy of an exported program whose reshapes leave the batch axis free (``-1``), for the ONNX tracer."""
    traced = copy.copy(model)
    traced._modules = dict(model._modules)  # noqa: SLF001 - a shallow copy must not share the child table
    traced.program = program = copy.deepcopy(model.program)
    for node in program.graph.nodes:
        if node.op == "call_function" and str(node.target) in ("aten.reshape.default", "aten.view.default"):
            source, shape = node.args[0], node.args[1]
            sizes = [i for i, d in enumerate(shape) if isinstance(d, torch.fx.Node)]
            if len(sizes) == 1:  # one symbolic size: the batch, the rest fixed
                node.args = (source, [-1 if i == sizes[0] else d for i, d in enumerate(shape)])
    program.graph.eliminate_dead_code()
    program.recompile()
    return traced


def _check_layers(model: nn.Module) -> None:
    if _is_program(model):
        _check_program(model)
        return
    known = _exportable()
    for name, module in model.named_modules():
        if not list(module.children()) and not isinstance(module, known):
            raise UnsupportedLayerError(f"cannot export layer {name!r} ({type(module).__name__}): not one of "
                                        f"{EXPORTABLE}")


def to_onnx(model: nn.Module, path: str | os.PathLike[str], *, input_size: tuple[int, int, int] = (1, 28, 28),
            dynamic_batch: bool = True, fold: bool = True, metadata: Mapping[str, str] | None = None) -> Path:
    """Export a model to ONNX (standard operators only).

    Args:
        model: The model (unchanged; a plain copy is exported), or a run's exported program
            (:func:`tinyconv.deploy.program.load_program`), whose operators are checked instead of its layers.
        path: The ``.onnx`` file to write.
        input_size: ``(C, H, W)`` of one image.
        dynamic_batch: Let the batch axis vary (else fixed at 1).
        fold: Fold BatchNorm into the convolutions it follows.
        metadata: ``metadata_props`` to store in the file, e.g. the input contract of
            :func:`tinyconv.deploy.contract.input_contract` (how to feed it from raw pixels).

    Returns:
        The path written.

    Raises:
        UnsupportedLayerError: If the model holds a layer ONNX export is not known for
            (the message names it).
        OSError: If the file cannot be written (nothing half-written is left).
    """
    if _is_program(model):  # a run's model.pt2: already plain operators, evaluated as exported
        _check_layers(model)
        plain = _traceable(model)
    else:
        plain = plain_copy(model)
        if fold:
            fold_batchnorm(plain)
        _check_layers(plain)
    example = torch.zeros(1, *input_size)
    axes = {"images": {0: "batch"}, "log_probs": {0: "batch"}} if dynamic_batch else None
    path = Path(path)
    import warnings

    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on TinyNet's input-shape checks
        torch.onnx.export(plain, (example,), str(tmp), input_names=["images"], output_names=["log_probs"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
        if metadata:
            _set_metadata(tmp, metadata)
    return path


def _set_metadata(path: Path, metadata: Mapping[str, str]) -> None:
    """Store ``metadata`` as the ONNX file's ``metadata_props`` (replacing keys it already has)."""
    import onnx

    graph = onnx.load(str(path))
    kept = {p.key: p.value for p in graph.metadata_props if p.key not in metadata}
    del graph.metadata_props[:]
    for key, value in {**kept, **{k: str(v) for k, v in metadata.items()}}.items():
        graph.metadata_props.add(key=key, value=value)
    onnx.save(graph, str(path))


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """An ONNX file's ``metadata_props`` (its input contract, when tinyconv wrote it).

    Args:
        path: The ``.onnx`` file.

    Returns:
        ``{key: value}``.
    """
    import onnx

    return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}


@dataclass(frozen=True)
class OnnxCheck:
    """ONNX Runtime against PyTorch on the same images.

    Attributes:
        images: How many images were compared.
        max_abs_diff: The largest absolute difference of a log-probability.
        same_predictions: Images whose predicted class is the same both ways.
        correct_torch: Correct predictions by PyTorch (when labels are given), else ``None``.
        correct_onnx: Correct predictions by ONNX Runtime (when labels are given), else ``None``.
    """

    images: int
    max_abs_diff: float
    same_predictions: int
    correct_torch: int | None
    correct_onnx: int | None


def _session(path: str | os.PathLike[str]):  # noqa: ANN202 - onnxruntime's type
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def compare_onnx(model: nn.Module | None, path: str | os.PathLike[str],
                 batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> OnnxCheck:
    """Run an ONNX file and (optionally) the PyTorch model on the same batches.

    Args:
        model: The PyTorch model, or ``None`` to score the ONNX file alone.
        path: The ``.onnx`` file.
        batches: ``(images, labels)`` batches; labels may be ``None``.

    Returns:
        The :class:`OnnxCheck` (with ``model=None``, the differences are 0).
    """
    session = _session(path)
    reference = plain_copy(model) if model is not None else None
    n = same = correct_t = correct_o = 0
    worst = 0.0
    for images, labels in batches:
        got = session.run(None, {"images": images.contiguous().numpy().astype(np.float32)})[0]
        if reference is not None:
            with torch.no_grad():
                want = reference(images).numpy()
        else:
            want = got
        worst = max(worst, float(np.abs(got - want).max()))
        same += int((got.argmax(1) == want.argmax(1)).sum())
        if labels is not None:
            correct_o += int((got.argmax(1) == labels.numpy()).sum())
            correct_t += int((want.argmax(1) == labels.numpy()).sum())
        n += images.shape[0]
    return OnnxCheck(n, worst, same, correct_t if n else None, correct_o if n else None)


class _Calibration:
    """Feeds calibration images to ONNX Runtime's quantizer, one batch at a time."""

    def __init__(self, images: torch.Tensor, batch_size: int = 100) -> None:
        self.batches = iter([images[i:i + batch_size].numpy().astype(np.float32)
                             for i in range(0, images.shape[0], batch_size)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.batches, None)
        return None if batch is None else {"images": batch}

    def rewind(self) -> None:  # pragma: no cover - not used by a single calibration pass
        return None


def quantize_int8(onnx_path: str | os.PathLike[str], out_path: str | os.PathLike[str],
                  calibration_images: torch.Tensor) -> Path:
    """Static int8 quantization (QDQ, per-channel weights) of an exported model.

    The int8 file keeps the fp32 file's ``metadata_props`` (its input contract).

    Args:
        onnx_path: The fp32 ``.onnx`` file from :func:`to_onnx`.
        out_path: The int8 ``.onnx`` file to write.
        calibration_images: Normalised training images ``(N, C, H, W)`` that set the
            activation ranges; at least :data:`MIN_CALIBRATION_IMAGES`. Never the test set.

    Returns:
        The path written.

    Raises:
        ValueError: If there are too few calibration images.
    """
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if calibration_images.shape[0] < MIN_CALIBRATION_IMAGES:
        raise ValueError(f"calibration needs at least {MIN_CALIBRATION_IMAGES} images, got "
                         f"{calibration_images.shape[0]}")
    reader = type("Reader", (_Calibration, CalibrationDataReader), {})(calibration_images)
    out_path = Path(out_path)
    with atomic_path(out_path.with_suffix(".pre.onnx")) as pre, atomic_path(out_path) as tmp:
        quant_pre_process(str(onnx_path), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(tmp), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
        _set_metadata(tmp, {k: v for k, v in read_metadata(onnx_path).items() if not k.startswith("onnx.")})
    out_path.with_suffix(".pre.onnx").unlink(missing_ok=True)
    return out_path
