"""Whether a model exports, known before training: decided on the traced graph, not on layer types.

:func:`check_exportable` traces the model with ``torch.export`` once and reports, for each
target, the operators that stop it and the user's line that calls each one: ONNX takes the
operators in :data:`ONNX_OPS` (each compared with ONNX Runtime in the tests); the int8 C
export takes what :func:`tinyconv.inspect.lowering.lower` turns into device steps. ``summary``
and ``budget`` print :meth:`Exportability.line`; training warns at its start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from tinyconv.inspect.lowering import Blocker, Graph, lower, trace, user_name, where_called

__all__ = ["ONNX_OPS", "Exportability", "check_exportable", "require_exportable", "NotExportableError",
           "ExportWarning"]

ONNX_OPS = frozenset({
    "aten.conv2d.default", "aten.conv2d.padding", "aten.batch_norm.default", "aten.relu.default",
    "aten.hardtanh.default", "aten.relu6.default", "aten.leaky_relu.default", "aten.silu.default", "aten.gelu.default",
    "aten.sigmoid.default", "aten.tanh.default", "aten.clamp.default", "aten.mul.Tensor", "aten.add.Tensor",
    "aten.sub.Tensor", "aten.max_pool2d.default", "aten.avg_pool2d.default", "aten.adaptive_avg_pool2d.default",
    "aten.mean.dim", "aten.reshape.default", "aten.view.default", "aten.flatten.using_ints",
    "aten.linear.default", "aten.log_softmax.int", "aten.softmax.int", "aten.dropout.default",
    "aten.feature_dropout.default", "aten.sym_size.int", "aten.permute.default", "aten.contiguous.default",
    "aten.cat.default", "aten.slice.Tensor",
})
"""The traced operators the ONNX export writes (opset 17), as ``torch.export`` names them."""


class ExportWarning(UserWarning):
    """Training a model that will not export to ONNX or int8 C (said at the start, not after training)."""


class NotExportableError(ValueError):
    """A model calls an operator the export target cannot write (the message names it and its line)."""


@dataclass(frozen=True)
class Exportability:
    """What stops a model from exporting, per target.

    Attributes:
        onnx: Operators ONNX export cannot write (empty: it exports).
        c: Operators the int8 C export cannot write (empty: it exports).
        error: Why the model could not be traced at all, else ``None``.
        graph: The lowered graph when the int8 C export takes the model (its sizes), else ``None``.
    """

    onnx: tuple[Blocker, ...]
    c: tuple[Blocker, ...]
    error: str | None = None
    graph: Graph | None = field(default=None, repr=False, compare=False)

    @property
    def onnx_ok(self) -> bool:
        """Whether the model exports to ONNX."""
        return self.error is None and not self.onnx

    @property
    def c_ok(self) -> bool:
        """Whether the model exports to int8 C."""
        return self.error is None and not self.c

    def line(self) -> str:
        """One line: ``Exports: ONNX yes · int8 C no (torch.sigmoid at mynet.py:14)``."""
        if self.error is not None:
            return f"Exports: no (torch.export cannot trace it: {self.error})"
        return f"Exports: ONNX {_verdict(self.onnx)} · int8 C {_verdict(self.c)}"

    def __str__(self) -> str:
        return self.line()

    def __repr__(self) -> str:
        return f"Exportability({self.line().removeprefix('Exports: ')!r})"


def _verdict(blockers: tuple[Blocker, ...]) -> str:
    if not blockers:
        return "yes"
    shown = "; ".join(str(b) for b in blockers[:3])
    more = f"; and {len(blockers) - 3} more" if len(blockers) > 3 else ""
    return f"no ({shown}{more})"


def _onnx_blockers(program) -> tuple[Blocker, ...]:  # noqa: ANN001 - torch.export.ExportedProgram
    found: dict[str, Blocker] = {}
    blocked: set[str] = set()
    for node in program.graph.nodes:
        if node.op != "call_function":
            continue
        if any(arg.name in blocked for arg in node.all_input_nodes):  # downstream of a blocker: reported once
            blocked.add(node.name)
        elif str(node.target) not in ONNX_OPS:
            blocked.add(node.name)
            blocker = Blocker(user_name(node.target), where_called(node))
            found.setdefault(str(blocker), blocker)
    return tuple(found.values())


def check_exportable(model: nn.Module, input_size: tuple[int, int, int] = (1, 28, 28)) -> Exportability:
    """Trace ``model`` once and say, per target, what stops it from exporting.

    Args:
        model: The model (unchanged), or a run's exported program.
        input_size: ``(C, H, W)`` of one image.

    Returns:
        The :class:`Exportability`.
    """
    try:
        program = trace(model, input_size)
    except Exception as error:  # noqa: BLE001 - any tracing failure is the answer, reported in one line
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return Exportability((), (), f"{type(error).__name__}: {first[:200]}")
    graph: Graph = lower(model, input_size, program=program)
    return Exportability(_onnx_blockers(program), tuple(graph.blockers), None, None if graph.blockers else graph)


def require_exportable(model: nn.Module, input_size: tuple[int, int, int], target: str) -> Graph | None:
    """Raise :class:`NotExportableError` naming what stops ``model`` from exporting to ``target``.

    Args:
        model: The model or exported program.
        input_size: ``(C, H, W)``.
        target: ``"onnx"`` or ``"c"``.

    Returns:
        The lowered graph (for ``"c"``), else ``None``.

    Raises:
        NotExportableError: If the model cannot be traced or calls an operator the target cannot write.
    """
    try:
        program = trace(model, input_size)
    except Exception as error:  # noqa: BLE001 - reported with its cause
        raise NotExportableError(f"cannot export: torch.export cannot trace the model ({type(error).__name__}: "
                                 f"{(str(error).strip().splitlines() or [''])[0][:200]})") from error
    if target == "onnx":
        blockers = _onnx_blockers(program)
        graph = None
    else:
        graph = lower(model, input_size, program=program)
        blockers = tuple(graph.blockers)
    if blockers:
        name = "ONNX" if target == "onnx" else "int8 C"
        raise NotExportableError(f"cannot export to {name}: " + "; ".join(f"cannot export {b}" for b in blockers))
    return graph
