"""A model as the short list of steps a small device runs: the traced graph, BatchNorm folded.

:func:`lower` traces a model with ``torch.export`` (so operators called in ``forward``, not
only layers, are seen) and rewrites it as :class:`Step` s of a few kinds — a convolution
with its BatchNorm folded in (a linear layer is a 1×1 convolution; a BatchNorm on its own is
a per-channel ``scale``), ``relu``, ``clip`` (ReLU6), ``leaky_relu``, max-pooling, global average
pooling, the residual's centre ``crop`` and ``add`` — with every tensor's shape for one image. Reshapes,
dropout and the final (log-)softmax need no work on a device and disappear. An operator
with no such step is a :class:`Blocker`, named with the line of the user's source that
called it.

The same list gives the sizes a device needs (:meth:`Graph.weight_bytes`,
:meth:`Graph.arena_bytes`) and is what the C exporter writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

__all__ = ["Step", "Blocker", "Graph", "lower", "trace", "plan_arena", "live_peak", "where_called", "user_name"]

_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')


@dataclass(frozen=True)
class Blocker:
    """An operator a target cannot run, and where the model calls it.

    Attributes:
        op: The operator as the user wrote it, e.g. ``"torch.sigmoid"``.
        where: ``"mynet.py:14"`` (the user's source line) or ``"layer 'body.act' (GELU)"``.
        reason: Why, when it is not just an unknown operator.
    """

    op: str
    where: str
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.op} at {self.where}" + (f": {self.reason}" if self.reason else "")


@dataclass
class Step:
    """One step of a lowered graph.

    Attributes:
        name: A unique name (the traced node's).
        kind: ``"conv"``, ``"scale"`` (a BatchNorm on its own: ``x * scale + bias`` per
            channel), ``"relu"``, ``"clip"``, ``"leaky_relu"``, ``"maxpool"``, ``"gap"``, ``"crop"`` or ``"add"``.
        inputs: Names of the tensors read (``"input"`` is the image).
        shape: ``(C, H, W)`` of the output for one image (a vector is ``(N, 1, 1)``).
        weight: A convolution's weight ``(O, I/groups, kh, kw)`` as trained (shared weights stay
            shared); the step computes ``conv(x, weight) * scale + bias``.
        weight_key: The parameter the weight is (one key for layers that share it).
        scale: Per output channel, the BatchNorm folded in (ones without one).
        bias: Per output channel (zeros when there was none).
        attrs: ``stride``, ``padding``, ``dilation``, ``groups`` (convolution);
            ``kernel``, ``stride``, ``padding`` (max-pool); ``low``, ``high`` (clip);
            ``slope`` (leaky ReLU); ``top``, ``left`` (crop: the output is the input's
            window of the output's size at that corner).
        where: Where the model calls it (as in :class:`Blocker`).
    """

    name: str
    kind: str
    inputs: tuple[str, ...]
    shape: tuple[int, int, int]
    weight: torch.Tensor | None = None
    bias: torch.Tensor | None = None
    scale: torch.Tensor | None = None
    weight_key: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    where: str = ""


@dataclass
class Graph:
    """A lowered model: its input, steps and output, or what blocks lowering.

    Attributes:
        input_shape: ``(C, H, W)`` of one image.
        steps: The steps, in the order they run.
        output: The name of the tensor holding the class scores.
        blockers: Operators no step stands for (empty when the model lowers).
    """

    input_shape: tuple[int, int, int]
    steps: list[Step]
    output: str
    blockers: list[Blocker]

    def shape_of(self, name: str) -> tuple[int, int, int]:
        """The ``(C, H, W)`` of a tensor of the graph."""
        if name == "input":
            return self.input_shape
        return next(s.shape for s in self.steps if s.name == name)

    def __repr__(self) -> str:
        from tinyconv._repr import short_repr

        return short_repr(self, [("input_shape", tuple(self.input_shape)), ("steps", len(self.steps)),
                                 ("kinds", sorted({s.kind for s in self.steps})), ("blockers", len(self.blockers))])

    def weight_bytes(self, precision: str = "int8") -> int:
        """Bytes of the weights a device stores: each weight once (1 byte at int8, 4 at fp32, even when
        layers share it), and 4 bytes per output channel for the bias of every convolution and scale step.

        Args:
            precision: ``"int8"`` or ``"fp32"``.

        Raises:
            ValueError: For another precision.
        """
        if precision not in ("int8", "fp32"):
            raise ValueError(f"precision must be 'int8' or 'fp32', got {precision!r}")
        per_weight = 1 if precision == "int8" else 4
        weights = {s.weight_key: s.weight.numel() for s in self.steps if s.weight is not None}
        biases = sum(s.bias.numel() for s in self.steps if s.bias is not None)
        return sum(weights.values()) * per_weight + biases * 4

    def arena_bytes(self, precision: str = "int8") -> int:
        """Activation memory of one image as the C export lays it out (:func:`plan_arena`).

        Args:
            precision: ``"int8"`` (1 byte per value) or ``"fp32"`` (4).

        Raises:
            ValueError: For another precision.
        """
        if precision not in ("int8", "fp32"):
            raise ValueError(f"precision must be 'int8' or 'fp32', got {precision!r}")
        return plan_arena(self)[1] * (1 if precision == "int8" else 4)


IN_PLACE = ("relu", "clip", "leaky_relu", "scale")
"""Steps that overwrite their input (it is not read again) instead of taking new memory."""


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _lifetimes(graph: Graph) -> tuple[dict[str, int], dict[str, int]]:
    """Each tensor's size in values and the index of the last step that reads it."""
    last_read: dict[str, int] = {}
    for i, step in enumerate(graph.steps):
        for name in step.inputs:
            last_read[name] = i
    last_read[graph.output] = len(graph.steps)
    return {s.name: _numel(s.shape) for s in graph.steps}, last_read


def _in_place(step: Step, index: int, last_read: dict[str, int]) -> bool:
    return step.kind in IN_PLACE and step.inputs[0] != "input" and last_read.get(step.inputs[0]) == index


def live_peak(graph: Graph) -> int:
    """The most activation values alive during one step (the image itself not counted: it stays in the caller's buffer).

    Args:
        graph: A lowered graph.

    Returns:
        The peak, in values; no arena can be smaller.
    """
    sizes, last_read = _lifetimes(graph)
    live: set[str] = set()
    peak = 0
    for i, step in enumerate(graph.steps):
        if _in_place(step, i, last_read):
            live.discard(step.inputs[0])
        live.add(step.name)
        peak = max(peak, sum(sizes[n] for n in live))
        live = {n for n in live if last_read.get(n, -1) > i}
    return peak


def plan_arena(graph: Graph) -> tuple[dict[str, int], int]:
    """Offsets (in values) of every activation in one arena, and the arena's size.

    The image is read from the caller's buffer and takes no arena space. An activation
    (ReLU, clip, leaky ReLU, a lone BatchNorm's scale) overwrites its input when nothing
    else reads it. Every other output goes into a gap free of tensors still to be read, at
    the end of the arena away from its input (a chain of layers then alternates ends and
    needs its largest input + output, no more); the arena starts at :func:`live_peak`
    and grows only when no placement fits.

    Args:
        graph: A lowered graph.

    Returns:
        ``({tensor name: offset}, size)``.
    """
    bound = max(live_peak(graph), 1)
    while True:
        planned = _plan_within(graph, bound)
        if planned is not None:
            return planned, bound
        bound += max(1, bound // 32)


def _plan_within(graph: Graph, bound: int) -> dict[str, int] | None:
    sizes, last_read = _lifetimes(graph)
    offsets: dict[str, int] = {}
    live: set[str] = set()
    for i, step in enumerate(graph.steps):
        if _in_place(step, i, last_read):
            offsets[step.name] = offsets[step.inputs[0]]
            live.discard(step.inputs[0])
        else:
            size = sizes[step.name]
            taken = sorted((offsets[n], offsets[n] + sizes[n]) for n in live)
            gaps, start = [], 0
            for low, high in [*taken, (bound, bound)]:
                if low - start >= size:
                    gaps.append((start, low))
                start = max(start, high)
            if not gaps:
                return None
            source = offsets.get(step.inputs[0], 0) if step.inputs[0] != "input" else bound
            high_end = source < bound / 2  # the input lies low: go high
            offsets[step.name] = gaps[-1][1] - size if high_end else gaps[0][0]
        live.add(step.name)
        live = {n for n in live if last_read.get(n, -1) > i}
    return offsets


def where_called(node: torch.fx.Node) -> str:
    """The user's source line that called a traced operator, else the layer it belongs to."""
    from tinyconv._io import relative_if_under_cwd
    from tinyconv._usercode import is_user_file

    frames = _FRAME.findall(node.meta.get("stack_trace") or "")
    for filename, line, _ in reversed(frames):
        if is_user_file(filename):
            return f"{relative_if_under_cwd(filename)}:{line}"
    stack = node.meta.get("nn_module_stack") or {}
    if stack:
        path, kind = list(stack.values())[-1]
        kind = getattr(kind, "__name__", str(kind).rsplit(".", 1)[-1].strip("'>"))
        return f"layer {path!r} ({kind})"
    return f"node {node.name!r}"


def user_name(target: Any) -> str:
    """An ATen operator as the user wrote it: ``aten.sigmoid.default`` -> ``torch.sigmoid``."""
    text = str(target)
    if text.startswith("aten."):
        return "torch." + text.split(".")[1]
    return text


def _arguments(node: torch.fx.Node) -> dict[str, Any]:
    """A call's arguments by name, defaults filled in from the operator's schema."""
    schema = node.target._schema  # type: ignore[union-attr]
    values: dict[str, Any] = {}
    for i, argument in enumerate(schema.arguments):
        if i < len(node.args):
            values[argument.name] = node.args[i]
        elif argument.name in node.kwargs:
            values[argument.name] = node.kwargs[argument.name]
        elif argument.has_default_value():
            values[argument.name] = argument.default_value
    return values


def _shape(node: torch.fx.Node) -> tuple[int, int, int]:
    if not isinstance(node.meta.get("val"), torch.Tensor):
        raise ValueError("its result is not one tensor")
    dims = tuple(int(d) for d in node.meta["val"].shape[1:])
    if len(dims) == 1:
        return (dims[0], 1, 1)
    if len(dims) != 3:
        raise ValueError(f"tensor of shape {dims}")
    return dims  # type: ignore[return-value]


def _pair(value: Any) -> tuple[int, int]:
    values = [int(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    return (values[0], values[-1])


ALIASES = frozenset({"aten.reshape.default", "aten.view.default", "aten.flatten.using_ints", "aten.dropout.default",
                     "aten.feature_dropout.default", "aten.contiguous.default", "aten.clone.default",
                     "aten.alias.default", "aten.detach.default", "aten.squeeze.dims", "aten.squeeze.dim",
                     "aten.unsqueeze.default"})
"""Operators that only rename memory (same values, same order) on one image."""

STEPS = frozenset({"aten.relu.default", "aten.relu6.default", "aten.hardtanh.default", "aten.clamp.default", "aten.leaky_relu.default",
                   "aten.max_pool2d.default", "aten.mean.dim", "aten.adaptive_avg_pool2d.default", "aten.add.Tensor",
                   "aten.slice.Tensor"})
"""Operators (besides convolution, linear and BatchNorm) that become a step of their own."""

_SMOOTH = "the int8 C export has relu, relu6 and leaky_relu, no smooth activations"
UNSUPPORTED_WHY = {"aten.silu.default": _SMOOTH, "aten.gelu.default": _SMOOTH, "aten.sigmoid.default": _SMOOTH,
                   "aten.tanh.default": _SMOOTH, "aten.mul.Tensor": "no elementwise products in the int8 C export"}
"""Why a few operators ONNX takes have no int8 C step."""

OUTPUTS = frozenset({"aten.log_softmax.int", "aten.softmax.int"})
"""Operators allowed as the last step only; a device picks the largest score without them."""


def trace(model: nn.Module, input_size: tuple[int, int, int]) -> torch.export.ExportedProgram:
    """The exported program of ``model`` (a plain copy, evaluation mode) for a batch of one image.

    Args:
        model: The model, or a run's exported program (:class:`tinyconv.deploy.program.ExportedModel`).
        input_size: ``(C, H, W)``.

    Returns:
        The program.
    """
    from tinyconv.cpu.plain import plain_copy

    program = getattr(model, "program", None)
    if isinstance(program, torch.export.ExportedProgram):  # a run's model.pt2, already traced
        return program
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.export.export(plain_copy(model).cpu(), (torch.zeros(1, *input_size),))


def lower(model: nn.Module, input_size: tuple[int, int, int] = (1, 28, 28), *,
          program: torch.export.ExportedProgram | None = None) -> Graph:
    """Trace ``model`` and lower it to device steps (BatchNorm folded).

    Args:
        model: The model (unchanged), or a run's exported program.
        input_size: ``(C, H, W)`` of one image.
        program: The traced program, when the caller already has it (:func:`trace`).

    Returns:
        The :class:`Graph`; operators no step stands for are in its ``blockers``.
    """
    program = program or trace(model, input_size)
    signature = program.graph_signature
    tensors = {**program.state_dict, **program.constants}
    named = {**signature.inputs_to_parameters, **signature.inputs_to_buffers,
             **getattr(signature, "inputs_to_lifted_tensor_constants", {})}
    user_inputs = list(signature.user_inputs)
    graph = Graph(tuple(input_size), [], "input", [])  # type: ignore[arg-type]
    env: dict[str, str | None] = {}  # traced node -> tensor of the graph (None: downstream of a blocker)
    readers: dict[str, int] = {}
    for node in program.graph.nodes:
        for used in node.all_input_nodes:
            readers[used.name] = readers.get(used.name, 0) + 1

    def tensor(node: Any) -> torch.Tensor | None:
        if node is None:
            return None
        return tensors[named[node.name]].detach().float()

    tensor.key = lambda node: named[node.name]  # type: ignore[attr-defined]

    for node in program.graph.nodes:
        if node.op == "placeholder":
            if node.name in user_inputs:
                env[node.name] = "input"
        elif node.op == "output":
            _set_output(graph, node, env)
        elif node.op == "call_function" and str(node.target) != "aten.sym_size.int":
            env[node.name] = _lower_call(node, graph, env, tensor, readers)
    return graph


def _set_output(graph: Graph, node: torch.fx.Node, env: dict[str, str | None]) -> None:
    results = [a for a in node.args[0] if a is not None]  # type: ignore[union-attr]
    if len(results) != 1 or not isinstance(results[0], torch.fx.Node) or results[0].name not in env:
        graph.blockers.append(Blocker("the model's output", "forward", "one tensor of class scores expected"))
    elif env[results[0].name] is not None:  # None: downstream of a blocker, already reported
        graph.output = env[results[0].name]  # type: ignore[assignment]


def _lower_call(node: torch.fx.Node, graph: Graph, env: dict[str, str | None], tensor: Any,
                readers: dict[str, int]) -> str | None:
    """Lower one call: the graph tensor standing for its result, or ``None`` (a blocker, reported once)."""
    op, where = str(node.target), where_called(node)
    inputs = [env[a.name] for a in node.all_input_nodes if a.name in env]
    if any(i is None for i in inputs):  # downstream of a blocker: already reported
        return None
    try:
        step = _step(node, op, inputs, tensor, graph, readers)
    except (ValueError, KeyError, TypeError) as error:
        graph.blockers.append(Blocker(user_name(node.target), where, str(error)))
        return None
    if step is None:
        if (op in ALIASES or op in OUTPUTS) and inputs:
            if op in OUTPUTS and not _feeds_output(node):
                graph.blockers.append(Blocker(user_name(node.target), where, "only as the last step"))
            return inputs[0]
        graph.blockers.append(Blocker(user_name(node.target), where, UNSUPPORTED_WHY.get(op, "")))
        return None
    if isinstance(step, str):  # folded into an earlier step
        return step
    step.where = where
    graph.steps.append(step)
    return step.name


def _feeds_output(node: torch.fx.Node) -> bool:
    return all(user.op == "output" for user in node.users)


def _step(node: torch.fx.Node, op: str, inputs: list[str | None], tensor: Any, graph: Graph,
          readers: dict[str, int]) -> Step | str | None:
    """The step for one traced call; a tensor name when it folds into one; ``None`` when no step stands for it."""
    if op in ("aten.conv2d.default", "aten.conv2d.padding", "aten.linear.default"):
        return _conv(node, op, inputs, tensor)
    if op == "aten.batch_norm.default":
        return _batch_norm(node, inputs, tensor, graph, readers)
    if op not in STEPS or not inputs:
        return None
    shape = _shape(node)
    if op == "aten.relu.default":
        return Step(node.name, "relu", (inputs[0],), shape)
    if op == "aten.relu6.default":
        return Step(node.name, "clip", (inputs[0],), shape, attrs={"low": 0.0, "high": 6.0})
    if op in ("aten.hardtanh.default", "aten.clamp.default"):
        a = _arguments(node)
        low, high = (a["min_val"], a["max_val"]) if "min_val" in a else (a["min"], a["max"])
        if low is None or high is None:
            raise ValueError("a clamp needs both bounds")
        return Step(node.name, "clip", (inputs[0],), shape, attrs={"low": float(low), "high": float(high)})
    if op == "aten.leaky_relu.default":
        return Step(node.name, "leaky_relu", (inputs[0],), shape,
                    attrs={"slope": float(_arguments(node)["negative_slope"])})
    if op == "aten.max_pool2d.default":
        a = _arguments(node)
        kernel = _pair(a["kernel_size"])
        stride = _pair(a["stride"]) if a["stride"] else kernel
        if a["ceil_mode"] or _pair(a["dilation"]) != (1, 1):
            raise ValueError("ceil_mode and dilation are not supported")
        return Step(node.name, "maxpool", (inputs[0],), shape,
                    attrs={"kernel": kernel, "stride": stride, "padding": _pair(a["padding"])})
    if op in ("aten.mean.dim", "aten.adaptive_avg_pool2d.default"):
        source = graph.shape_of(inputs[0])  # type: ignore[arg-type]
        if op == "aten.mean.dim":
            dims = sorted(int(d) % 4 for d in _arguments(node)["dim"])
            if dims != [2, 3]:
                raise ValueError(f"a mean over dims {dims} (only over height and width)")
        elif _pair(_arguments(node)["output_size"]) != (1, 1):
            raise ValueError("adaptive pooling to a size other than 1x1")
        return Step(node.name, "gap", (inputs[0],), (source[0], 1, 1))
    if op == "aten.slice.Tensor":
        return _crop(node, inputs[0], shape, graph, readers)  # type: ignore[arg-type]
    if op == "aten.add.Tensor":
        tensors = [a for a in node.args[:2] if isinstance(a, torch.fx.Node)]
        if len(tensors) != 2 or _arguments(node).get("alpha", 1) != 1:
            raise ValueError("only the sum of two tensors")
        if graph.shape_of(inputs[0]) != graph.shape_of(inputs[1]):  # type: ignore[arg-type]
            raise ValueError("the two tensors differ in shape")
        return Step(node.name, "add", (inputs[0], inputs[1]), shape)  # type: ignore[arg-type]
    return None


def _crop(node: torch.fx.Node, source: str, shape: tuple[int, int, int], graph: Graph,
          readers: dict[str, int]) -> Step | str:
    """A slice of the height or width (a residual's centre crop) as a ``crop`` step, merged with the one before."""
    a = _arguments(node)
    dim = int(a["dim"]) % 4
    if dim not in (2, 3) or int(a["step"]) != 1:
        raise ValueError("only a slice of the height or width, step 1")
    size = graph.shape_of(source)
    start = int(a["start"] or 0)
    start = max(0, start + size[dim - 1] if start < 0 else start)
    previous = graph.steps[-1] if graph.steps else None
    if previous is not None and previous.kind == "crop" and previous.name == source \
            and readers.get(node.args[0].name, 0) == 1:  # type: ignore[union-attr]
        previous.attrs["top" if dim == 2 else "left"] += start
        previous.shape = shape
        return previous.name
    attrs = {"top": start if dim == 2 else 0, "left": start if dim == 3 else 0}
    return Step(node.name, "crop", (source,), shape, attrs=attrs)


def _conv(node: torch.fx.Node, op: str, inputs: list[str | None], tensor: Any) -> Step:
    a = _arguments(node)
    if inputs[0] is None:
        raise ValueError("its input is not a tensor of the graph")
    weight, bias = tensor(a["weight"]), tensor(a.get("bias"))
    shape = _shape(node)
    if op == "aten.linear.default":
        weight = weight[:, :, None, None]
        attrs = {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": 1}
    else:
        dilation = _pair(a["dilation"])
        kernel = tuple(weight.shape[2:])
        padding = a["padding"]
        if isinstance(padding, str):
            if padding == "valid":
                padding = (0, 0)
            elif _pair(a["stride"]) == (1, 1):
                padding = tuple(dilation[i] * (kernel[i] - 1) // 2 for i in range(2))
            else:
                raise ValueError("padding='same' with a stride")
        attrs = {"stride": _pair(a["stride"]), "padding": _pair(padding), "dilation": dilation,
                 "groups": int(a["groups"])}
    if bias is None:
        bias = torch.zeros(weight.shape[0])
    return Step(node.name, "conv", (inputs[0],), shape, weight.clone(), bias.clone(), torch.ones(weight.shape[0]),
                tensor.key(a["weight"]), attrs)  # type: ignore[arg-type]


def _batch_norm(node: torch.fx.Node, inputs: list[str | None], tensor: Any, graph: Graph,
                readers: dict[str, int]) -> Step | str:
    a = _arguments(node)
    source = node.args[0]
    mean, var = tensor(a["running_mean"]), tensor(a["running_var"])
    if mean is None or var is None:
        raise ValueError("a BatchNorm without running statistics")
    gamma = tensor(a["weight"]) if a["weight"] is not None else torch.ones_like(mean)
    beta = tensor(a["bias"]) if a["bias"] is not None else torch.zeros_like(mean)
    scale = gamma / torch.sqrt(var + float(a["eps"]))
    shift = beta - mean * scale
    previous = graph.steps[-1] if graph.steps else None
    if (previous is not None and previous.kind == "conv" and previous.name == inputs[0]
            and readers.get(source.name, 0) == 1):  # type: ignore[union-attr]
        previous.scale = previous.scale * scale  # type: ignore[operator]
        previous.bias = previous.bias * scale + shift  # type: ignore[operator]
        return previous.name
    return Step(node.name, "scale", (inputs[0],), _shape(node), None, shift.clone(), scale.clone())  # type: ignore[arg-type]


def run_float(graph: Graph, images: torch.Tensor, *,
              observe: Callable[[str, torch.Tensor], None] | None = None) -> torch.Tensor:
    """Run the lowered graph in floating point (what the device computes before quantization).

    Args:
        graph: A lowered graph without blockers.
        images: ``(N, C, H, W)`` normalised images.
        observe: Called with every step's name and output (e.g. to calibrate ranges).

    Returns:
        ``(N, classes)`` scores (before any softmax).
    """
    import torch.nn.functional as F  # noqa: N812

    values = {"input": images.float()}
    for step in graph.steps:
        x = values[step.inputs[0]]
        a = step.attrs
        if step.kind == "conv":
            y = F.conv2d(x, step.weight, None, a["stride"], a["padding"], a["dilation"], a["groups"])
            y = y * step.scale[None, :, None, None] + step.bias[None, :, None, None]
        elif step.kind == "scale":
            y = x * step.scale[None, :, None, None] + step.bias[None, :, None, None]
        elif step.kind == "relu":
            y = x.clamp_min(0)
        elif step.kind == "clip":
            y = x.clamp(a["low"], a["high"])
        elif step.kind == "leaky_relu":
            y = F.leaky_relu(x, a["slope"])
        elif step.kind == "maxpool":
            y = F.max_pool2d(x, a["kernel"], a["stride"], a["padding"])
        elif step.kind == "gap":
            y = x.mean((2, 3), keepdim=True)
        elif step.kind == "add":
            y = x + values[step.inputs[1]]
        elif step.kind == "crop":
            y = x[:, :, a["top"]:a["top"] + step.shape[1], a["left"]:a["left"] + step.shape[2]]
        else:  # pragma: no cover - lower() makes no other kind
            raise ValueError(f"unknown step kind {step.kind!r}")
        values[step.name] = y.reshape(y.shape[0], *step.shape)
        if observe is not None:
            observe(step.name, values[step.name])
    return values[graph.output].reshape(images.shape[0], -1)
