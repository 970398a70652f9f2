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
from tinyconv.inspect.exportable import NotExportableError, require_exportable
from tinyconv.cpu.plain import fold_batchnorm, plain_copy

__all__ = ["OPSET", "UnsupportedLayerError", "to_onnx", "OnnxCheck", "compare_onnx",
           "quantize_int8", "MIN_CALIBRATION_IMAGES", "read_metadata", "score_onnx"]

OPSET = 17
"""The ONNX opset of exported graphs."""

MIN_CALIBRATION_IMAGES = 100
"""Static quantization needs at least this many calibration images to estimate ranges."""


UnsupportedLayerError = NotExportableError
"""A model calls an operator ONNX export cannot write (an alias of :class:`~tinyconv.inspect.exportable.NotExportableError`)."""


def _is_program(model: nn.Module) -> bool:
    """Whether ``model`` is an exported program (a run's ``model.pt2``), not a tree of layers."""
    from tinyconv.deploy.program import ExportedModel

    return isinstance(model, ExportedModel)


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
        UnsupportedLayerError: If the traced model calls an operator outside
            :data:`~tinyconv.inspect.exportable.ONNX_OPS` (the message names it and the line calling it).
        OSError: If the file cannot be written (nothing half-written is left).
    """
    require_exportable(model, input_size, "onnx")
    if _is_program(model):  # a run's model.pt2: already plain operators, evaluated as exported
        plain = _traceable(model)
    else:
        plain = plain_copy(model)
        if fold:
            fold_batchnorm(plain)
    example = torch.zeros(1, *input_size)
    axes = {"images": {0: "batch"}, "log_probs": {0: "batch"}} if dynamic_batch else None
    path = Path(path)
    import warnings

    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on TinyNet's input-shape checks
        torch.onnx.export(plain, (example,), str(tmp), input_names=["images"], output_names=["log_probs"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
        _tidy(tmp, metadata or {})
    return path


def _tidy(path: Path, metadata: Mapping[str, str]) -> None:
    """Drop ``Identity`` nodes and unused opset domains, and store ``metadata`` (a clean, static graph)."""
    import onnx

    graph = onnx.load(str(path))
    _drop_identities(graph.graph)
    used = {node.domain for node in graph.graph.node}
    kept_opsets = [o for o in graph.opset_import if o.domain in used or o.domain in ("", "ai.onnx")]
    del graph.opset_import[:]
    graph.opset_import.extend(kept_opsets)
    kept = {p.key: p.value for p in graph.metadata_props if p.key not in metadata}
    del graph.metadata_props[:]
    for key, value in {**kept, **{k: str(v) for k, v in metadata.items()}}.items():
        graph.metadata_props.add(key=key, value=value)
    onnx.save(graph, str(path))


def _drop_identities(graph) -> None:  # noqa: ANN001 - onnx.GraphProto
    """Remove ``Identity`` nodes, reading their input wherever their output was read."""
    outputs = {o.name for o in graph.output}
    rename: dict[str, str] = {}
    kept = []
    for node in graph.node:
        node.input[:] = [rename.get(name, name) for name in node.input]
        if node.op_type == "Identity" and node.output[0] not in outputs:
            rename[node.output[0]] = node.input[0]
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)


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


def score_onnx(path: str | os.PathLike[str], pixels: torch.Tensor, labels: torch.Tensor, *,
               batch_size: int = 1000) -> OnnxCheck:
    """Accuracy of an exported file on raw images, fed the way its metadata says (its input contract).

    Args:
        path: An ``.onnx`` file written by ``tinyconv export`` (fp32 or int8).
        pixels: Raw images ``(N, H, W)`` or ``(N, C, H, W)``, ``uint8`` 0..255 (or floats in [0, 1]).
        labels: ``(N,)`` class indices.
        batch_size: Images per ONNX Runtime call (the result does not depend on it).

    Returns:
        The :class:`OnnxCheck` of the file alone: ``correct_onnx`` of ``images``.

    Raises:
        ValueError: If the file carries no input contract or the images do not fit it.
    """
    from tinyconv.deploy.contract import preprocess

    contract = read_metadata(path)
    preprocess(pixels[:1], contract)  # the contract and the shape, before any work
    batches = ((preprocess(pixels[i:i + batch_size], contract), labels[i:i + batch_size])
               for i in range(0, len(labels), batch_size))
    return compare_onnx(None, path, batches)


def is_int8(path: str | os.PathLike[str]) -> bool:
    """Whether an ONNX file is quantized (holds ``QuantizeLinear``/``QLinear*`` operators)."""
    import onnx

    return any(n.op_type in ("QuantizeLinear", "DequantizeLinear") or n.op_type.startswith("QLinear")
               for n in onnx.load(str(path), load_external_data=False).graph.node)


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
        _tidy(tmp, {k: v for k, v in read_metadata(onnx_path).items() if not k.startswith("onnx.")})
    out_path.with_suffix(".pre.onnx").unlink(missing_ok=True)
    return out_path
