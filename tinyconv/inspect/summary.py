"""Model inspection: one row per layer with shape, parameters, receptive field and MACs.

:func:`summary` runs one forward pass on a zero input (batch 1) in eval mode under
``torch.no_grad()``, records every leaf layer in the order it runs, and restores
every module's training flag, so BatchNorm statistics, parameters and modes are
exactly as before.

Counting conventions:

- **Parameters** are trainable parameters, shared tensors counted once (at their
  first use). The rows always sum to :func:`~tinyconv.budget.count_params`.
- **MACs** (multiply-accumulates) per image: a convolution does
  ``output elements × in_channels / groups × kernel area``, a linear layer
  ``in_features × out_features``; bias additions are not counted. **1 MAC = 2 FLOPs**,
  so ``FLOPs = 2 × MACs``. Pooling counts one operation per window element per
  output element (additions or comparisons, reported in the same column). Element-wise
  layers (BatchNorm, activations, dropout) count 0.
- **Receptive field** is analytic (see :mod:`tinyconv.inspect.receptive_field`) and needs the
  layers to form one chain: each layer's input must be the previous layer's output.
  A branch, a functional operation between layers, or a layer type it does not know
  makes that row and all later rows *unknown* (shown as ``?``), never identity.
  ``strict=True`` raises instead. The one branch it understands is
  :class:`~tinyconv.nn.blocks.Residual`: its skip adds the input centre-cropped to the
  unit's output, a field contained in the unit's own, so the sum keeps the unit's field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from einops.layers.torch import Rearrange, Reduce
from torch import nn

from tinyconv import _validate
from tinyconv._repr import html_block, html_table, short_repr
from tinyconv.budget import count_params
from tinyconv.inspect.memory import BYTES_PER_ELEMENT, live_elements
from tinyconv.inspect.output import channel_hint, require_tensor
from tinyconv.inspect.receptive_field import ELEMENTWISE, ReceptiveField, step
from tinyconv.nn.blocks import Residual

__all__ = ["LayerRow", "ModelSummary", "UnknownLayerError", "summary", "layer_macs"]


class UnknownLayerError(ValueError):
    """``strict=True`` and a layer's receptive field or MACs cannot be determined."""


@dataclass(frozen=True)
class LayerRow:
    """One leaf layer as it ran.

    Attributes:
        name: Qualified module name (``block1.conv``).
        type: Class name (``Conv2d``).
        input_shape: Input shape without the batch dimension.
        output_shape: Output shape without the batch dimension.
        params: Trainable parameters first used here.
        receptive_field: ``(h, w)`` after this layer, or ``None`` if unknown.
        jump: ``(h, w)`` input-pixel distance between output units, or ``None``.
        macs: Multiply-accumulates per image, or ``None`` if unknown.
        live_elements: Activation elements that must be in memory while this layer runs
            (see :mod:`tinyconv.inspect.memory`), or ``None`` for a row that did not run.
    """

    name: str
    type: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int
    receptive_field: tuple[int, int] | None
    jump: tuple[int, int] | None
    macs: int | None
    live_elements: int | None = None


@dataclass
class ModelSummary:
    """The result of :func:`summary`.

    Attributes:
        rows: One :class:`LayerRow` per leaf layer call, in execution order.
        input_size: ``(C, H, W)`` of one input.
        total_params: Trainable parameters.
        non_trainable_params: Parameters with ``requires_grad=False``.
        notes: Why some rows are unknown.
        exports: What stops the model from exporting to ONNX and int8 C
            (:class:`tinyconv.inspect.exportable.Exportability`), or ``None`` when not checked.
        returned_shape: The shape (without batch) of what ``forward`` returned.
    """

    rows: list[LayerRow]
    input_size: tuple[int, ...]
    total_params: int
    non_trainable_params: int
    notes: list[str] = field(default_factory=list)
    exports: Any = None
    returned_shape: tuple[int, ...] | None = None

    @property
    def total_macs(self) -> int | None:
        """MACs per image of the whole model, or ``None`` if any layer's are unknown."""
        if any(row.macs is None for row in self.rows):
            return None
        return sum(row.macs for row in self.rows)  # type: ignore[misc]

    @property
    def total_flops(self) -> int | None:
        """FLOPs per image (2 per MAC), or ``None`` if unknown."""
        macs = self.total_macs
        return None if macs is None else 2 * macs

    @property
    def receptive_field(self) -> tuple[int, int] | None:
        """Receptive field of the output, or ``None`` if unknown."""
        return self.rows[-1].receptive_field if self.rows else (1, 1)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape (without batch) of what ``forward`` returns (for a summary built by hand: the last row's)."""
        if self.returned_shape is not None:
            return self.returned_shape
        return self.rows[-1].output_shape if self.rows else self.input_size

    @property
    def peak_row(self) -> LayerRow | None:
        """The layer during which the most activation memory is alive."""
        rows = [r for r in self.rows if r.live_elements is not None]
        return max(rows, key=lambda r: r.live_elements) if rows else None  # type: ignore[arg-type,return-value]

    @property
    def device_graph(self) -> Any:
        """The lowered graph a device runs (:func:`tinyconv.inspect.lowering.lower`), or ``None`` when it does not lower."""
        return getattr(self.exports, "graph", None)

    def weight_bytes(self, precision: str = "fp32") -> int:
        """Bytes of the weights at ``"fp32"`` or ``"int8"`` (flash on a device).

        As exported when the model lowers (:attr:`device_graph`): BatchNorm folded, each
        weight once, a 4-byte bias per output channel
        (:meth:`tinyconv.inspect.lowering.Graph.weight_bytes`); otherwise the trainable parameters.

        Raises:
            ValueError: For another precision.
        """
        size = _bytes(precision)
        graph = self.device_graph
        return graph.weight_bytes(precision) if graph is not None else self.total_params * size

    def peak_activation_bytes(self, precision: str = "fp32") -> int:
        """Peak activation memory for one image at ``"fp32"`` or ``"int8"`` (RAM on a device).

        As exported when the model lowers: the arena of the lowered graph
        (:meth:`tinyconv.inspect.lowering.Graph.arena_bytes`; BatchNorm folded, activations in
        place, the image in the caller's buffer); otherwise the most live elements of the
        unfolded layers (the ``Live B`` column).

        Raises:
            ValueError: For another precision.
        """
        size = _bytes(precision)
        graph = self.device_graph
        if graph is not None:
            return graph.arena_bytes(precision)
        peak = self.peak_row
        return (peak.live_elements or 0) * size if peak else 0

    def __str__(self) -> str:
        return format_table(self)

    def __repr__(self) -> str:
        exports = self.exports.line().removeprefix("Exports: ") if self.exports is not None else None
        return short_repr(self, [("layers", len(self.rows)), ("params", self.total_params), ("macs", self.total_macs),
                                 ("receptive_field", self.receptive_field), ("input_size", tuple(self.input_size)),
                                 ("output_shape", tuple(self.output_shape)), ("exports", exports)])

    def _repr_html_(self) -> str:
        """The layer table as HTML, for a notebook cell that ends in a summary."""
        headers = ("Layer (type)", "Output shape", "Params", "RF", "Jump", "MACs", "Live B")
        rows = [(f"{r.name} ({r.type})", str([-1, *r.output_shape]), f"{r.params:,}", _fmt_pair(r.receptive_field),
                 _fmt_pair(r.jump), "?" if r.macs is None else f"{r.macs:,}",
                 "" if r.live_elements is None else f"{4 * r.live_elements:,}") for r in self.rows]
        footer = [line for line in format_table(self).splitlines()
                  if line and not line.startswith(("-", "=")) and line not in format_table_rows(self)]
        return html_block(f"Summary: {self.total_params:,} trainable parameters",
                          html_table(headers, rows, numeric=(2, 3, 4, 5, 6)), footer)


def _bytes(precision: str) -> int:
    _validate.choice("precision", precision, tuple(BYTES_PER_ELEMENT))
    return BYTES_PER_ELEMENT[precision]


def _fmt_pair(pair: tuple[int, int] | None) -> str:
    if pair is None:
        return "?"
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def format_table_rows(result: ModelSummary) -> set[str]:
    """The table's header and layer lines (what the HTML shows as a table, not as text)."""
    lines = format_table(result).splitlines()
    return set(lines[1:2]) | set(lines[3:3 + len(result.rows)])


def format_table(result: ModelSummary) -> str:
    """Format a summary as a torchsummary-style table with extra columns.

    Args:
        result: The summary.

    Returns:
        The table text.
    """
    headers = ("Layer (type)", "Output Shape", "Param #", "RF", "Jump", "MACs", "Live B")
    cells = [
        (f"{row.name} ({row.type})", str([-1, *row.output_shape]), f"{row.params:,}",
         _fmt_pair(row.receptive_field), _fmt_pair(row.jump), "?" if row.macs is None else f"{row.macs:,}",
         "" if row.live_elements is None else f"{4 * row.live_elements:,}")
        for row in result.rows
    ]
    # each column as wide as its widest cell, the right-aligned ones plus two spaces that separate them:
    # the table stays as narrow as the model allows (within 88 columns for every zoo model)
    widths = [max([len(head)] + [len(cell[i]) for cell in cells]) + (2 if i else 0) for i, head in enumerate(headers)]

    def line(values: tuple[str, ...]) -> str:
        return f"{values[0]:<{widths[0]}}" + "".join(f"{v:>{w}}" for v, w in zip(values[1:], widths[1:], strict=True))

    header = line(headers)
    rule = "-" * len(header)
    lines = [rule, header, "=" * len(header), *(line(cell) for cell in cells)]
    total_macs = result.total_macs
    lines += [
        "=" * len(header),
        f"Total params: {result.total_params + result.non_trainable_params:,}",
        f"Trainable params: {result.total_params:,}",
        f"Non-trainable params: {result.non_trainable_params:,}",
        f"Input size: {list(result.input_size)}; output shape: {list(result.output_shape)}",
        f"Receptive field of the output: {_fmt_pair(result.receptive_field)} pixels",
        (
            f"MACs per image: {total_macs:,} (= {2 * total_macs:,} FLOPs; 1 MAC = 2 FLOPs)"
            if total_macs is not None
            else "MACs per image: unknown (some layers are not analysed)"
        ),
    ]
    peak = result.peak_row
    exported = result.device_graph is not None
    how = " as exported (BatchNorm folded)" if exported else ""
    lines += [
        f"Weights{how}: {result.weight_bytes('fp32'):,} bytes fp32, {result.weight_bytes('int8'):,} bytes int8",
        (f"Peak activations{' as exported' if exported else ''} (one image): "
         f"{result.peak_activation_bytes('fp32'):,} bytes fp32, "
         f"{result.peak_activation_bytes('int8'):,} bytes int8" + ("" if exported else f", during {peak.name}")
         if peak else "Peak activations: none (no layer ran)"),
        "(Live B: fp32 bytes alive while a layer runs, BN unfolded; tinyconv.inspect.memory)",
    ]
    if result.exports is not None:
        lines.append(result.exports.line())
    lines += [f"Note: {note}" for note in result.notes]
    lines.append(rule)
    return "\n".join(lines)


def layer_macs(module: nn.Module, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> int | None:
    """Multiply-accumulates of one call of a layer, for one image.

    Args:
        module: The layer.
        in_shape: Input shape with a batch dimension of 1.
        out_shape: Output shape with a batch dimension of 1.

    Returns:
        The MACs, or ``None`` for a layer type that is not analysed.
    """
    out_elements = 1
    for dim in out_shape[1:]:
        out_elements *= dim
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return out_elements * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        rows = out_elements // module.out_features
        return rows * module.in_features * module.out_features
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        k = module.kernel_size
        kh, kw = (k, k) if isinstance(k, int) else k
        return out_elements * kh * kw
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, Reduce)):
        in_elements = 1
        for dim in in_shape[1:]:
            in_elements *= dim
        return in_elements
    if isinstance(module, (*ELEMENTWISE, nn.Flatten, Rearrange)):
        return 0
    return None


def summary(
    model: nn.Module,
    input_size: tuple[int, ...] = (1, 28, 28),
    *,
    strict: bool = False,
    device: torch.device | str | None = None,
    exports: bool = True,
) -> ModelSummary:
    """Inspect a model layer by layer without changing it.

    Args:
        model: The model.
        input_size: ``(C, H, W)`` of one input image.
        strict: Raise :class:`UnknownLayerError` instead of reporting unknown values.
        device: Device for the probe input; defaults to the model's parameters' device.
        exports: Also trace the model once (``torch.export``, a fraction of a second) to say
            whether it exports to ONNX and int8 C, and to size it as exported.

    Returns:
        The :class:`ModelSummary`.

    Raises:
        TypeError: If ``model`` is not an ``nn.Module``.
        ValueError: If ``input_size`` is not a tuple of positive ints, or the model
            fails on an input of that size (the message names the layer and includes the
            model's error, which is the ``__cause__``).
        tinyconv.inspect.output.ModelOutputError: If ``forward`` returns a tuple, dict or
            anything but one tensor.
        UnknownLayerError: In strict mode, for a layer that cannot be analysed.
    """
    _check_arguments(model, input_size, strict)
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else "cpu"

    calls: list[tuple[str, nn.Module, torch.Tensor, torch.Tensor]] = []
    names = {module: name for name, module in model.named_modules()}

    def record(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        if inputs and isinstance(inputs[0], torch.Tensor) and isinstance(output, torch.Tensor):
            calls.append((names.get(module, type(module).__name__), module, inputs[0], output))

    containers = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
    leaves = [m for m in model.modules() if not list(m.children()) and not isinstance(m, containers)]
    handles = [m.register_forward_hook(record) for m in leaves]
    running: list[nn.Module] = []  # the leaf layers that started, so a failure names its layer
    handles += [m.register_forward_pre_hook(lambda module, inputs: running.append(module)) for m in leaves]
    # id(skip sum) -> (the sum, kept alive so its id stays its own; the unit's output it stands for)
    sums: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def skip_sum(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        if calls and isinstance(output, torch.Tensor):
            sums[id(output)] = (output, calls[-1][3])

    handles += [m.register_forward_hook(skip_sum) for m in model.modules() if isinstance(m, Residual)]
    flags = {module: module.training for module in model.modules()}
    probe = torch.zeros(1, *input_size, device=device)
    model.eval()
    try:
        with torch.no_grad():
            returned = model(probe)
    except Exception as error:
        failed = running[-1] if running and (not calls or calls[-1][1] is not running[-1]) else None
        raise _failure(error, model, tuple(input_size), failed and (names.get(failed, "?"), failed)) from error
    finally:
        for handle in handles:
            handle.remove()
        for module, flag in flags.items():
            module.training = flag

    output = require_tensor(returned, type(model).__name__)
    rows, notes = _rows(calls, probe, strict, {key: unit for key, (_, unit) in sums.items()})
    seen = {id(p) for name, module, *_ in calls for p in module.parameters(recurse=False)}
    missing = [
        (name, sum(p.numel() for p in module.parameters(recurse=False) if p.requires_grad and id(p) not in seen))
        for name, module in model.named_modules()
    ]
    for name, count in missing:
        if count:
            rows.append(LayerRow(name or "(model)", "(not run)", (), (), count, None, None, None))
            notes.append(f"{name or 'the model'} owns {count:,} parameters but did not run as a leaf layer")
    total = count_params(model)
    frozen = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values() if not p.requires_grad)
    return ModelSummary(rows, tuple(input_size), total, frozen, notes, _exportability(model, input_size, exports),
                        tuple(output.shape[1:]))


def _check_arguments(model: Any, input_size: Any, strict: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(input_size, (tuple, list)) or not input_size:
        raise ValueError(f"input_size must be a tuple such as (1, 28, 28), got {input_size!r}")
    for i, dim in enumerate(input_size):
        _validate.positive_int(f"input_size[{i}]", dim)
    _validate.flag("strict", strict)


def _failure(error: Exception, model: nn.Module, input_size: tuple[int, ...],
             layer: tuple[str, nn.Module] | None) -> ValueError:
    """The model failed on the probe: say at which layer (the one that started and did not finish) and what to pass."""
    at = f" at layer {layer[0]!r} ({type(layer[1]).__name__})" if layer else ""
    first = str(error).splitlines()[0] if str(error) else ""
    return ValueError(f"the model failed on an input of size {input_size}{at}: {type(error).__name__}: {first}"
                      f"{channel_hint(model, input_size)}")


def _exportability(model: nn.Module, input_size: tuple[int, ...], exports: bool) -> Any:
    """What stops the model from exporting (and its lowered graph), when asked for and the input is an image."""
    _validate.flag("exports", exports)
    if not exports or len(input_size) != 3:
        return None
    from tinyconv.inspect.exportable import check_exportable

    return check_exportable(model, tuple(input_size))  # type: ignore[arg-type]


def _rows(
    calls: list[tuple[str, nn.Module, torch.Tensor, torch.Tensor]], probe: torch.Tensor, strict: bool,
    skip_sums: dict[int, torch.Tensor],
) -> tuple[list[LayerRow], list[str]]:
    rows: list[LayerRow] = []
    notes: list[str] = []
    live = live_elements(calls, probe)
    state: ReceptiveField | None = ReceptiveField()
    previous: torch.Tensor = probe
    counted: dict[int, str] = {}  # parameter -> the layer whose row counts it
    for name, module, x, y in calls:
        in_shape, out_shape = tuple(x.shape), tuple(y.shape)
        if state is not None and x is not previous and skip_sums.get(id(x)) is not previous:
            state = None
            notes.append(
                f"receptive field unknown from {name}: its input is not the previous layer's output "
                "(a branch or a functional operation in forward)"
            )
        elif state is not None:
            state = step(state, module, in_shape, out_shape)
            if state is None:
                notes.append(f"receptive field unknown from {name}: {type(module).__name__} is not analysed")
        if state is None and strict:
            raise UnknownLayerError(notes[-1] if notes else f"receptive field unknown at {name}")
        macs = layer_macs(module, in_shape, out_shape)
        if macs is None:
            message = f"MACs unknown for {name}: {type(module).__name__} is not analysed"
            if strict:
                raise UnknownLayerError(message)
            notes.append(message)
        params = 0
        owners: list[str] = []
        for p in module.parameters(recurse=False):
            if p.requires_grad and id(p) not in counted:
                counted[id(p)] = name
                params += p.numel()
            elif p.requires_grad and counted[id(p)] not in (name, *owners):  # not a layer run twice
                owners.append(counted[id(p)])
        if owners:
            notes.append(f"{name} shares weights with {', '.join(owners)}, counted once there")
        rows.append(
            LayerRow(
                live_elements=live[len(rows)],
                name=name,
                type=type(module).__name__,
                input_shape=in_shape[1:],
                output_shape=out_shape[1:],
                params=params,
                receptive_field=state.size if state is not None else None,
                jump=state.jump if state is not None else None,
                macs=macs,
            )
        )
        previous = y
    return rows, notes
