"""Integer-only inference of a lowered graph: the arithmetic the C export runs, in PyTorch.

:func:`quantize_graph` turns a :class:`~tinyconv.inspect.lowering.Graph` into a
:class:`QuantizedGraph`: activations as ``uint8`` with a scale and zero point per tensor
(ranges calibrated on training images), weights as ``int8`` per output channel (shared
weights stay shared), biases as ``int32`` in the accumulator's scale, and every rescaling
as an integer multiplier and shift (:func:`requantize`, as CMSIS-NN and TensorFlow Lite
do). The image enters as its raw pixels: the normalisation ``(pixel/255 - mean) / std`` is
the input's scale and zero point, so nothing is computed for it.

:func:`run_int8` computes exactly what the generated C computes (same integers, same
rounding), so the C file can be checked bit for bit against it; a ReLU or ReLU6 after a
convolution shares its output's range (fused, as TensorFlow Lite does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from tinyconv.inspect.lowering import Graph, Step

__all__ = ["TensorQuant", "QuantizedStep", "QuantizedGraph", "quantize_graph", "run_int8", "requantize",
           "multiplier", "MIN_CALIBRATION_IMAGES"]

from tinyconv.deploy.onnx import MIN_CALIBRATION_IMAGES  # noqa: E402 - one threshold for ONNX and C


@dataclass(frozen=True)
class TensorQuant:
    """How a tensor's ``uint8`` values ``q`` stand for real ones: ``real = scale * (q - zero)``."""

    scale: float
    zero: int


def multiplier(real: float) -> tuple[int, int]:
    """A real factor as an integer multiplier and right shift: ``real ≈ m / 2**shift``.

    Args:
        real: The factor (any sign).

    Returns:
        ``(m, shift)`` with ``|m| < 2**31`` and ``1 <= shift <= 62``.

    Raises:
        ValueError: If the factor is too large for the scheme (``|real| >= 2**30``).
    """
    if real == 0 or not math.isfinite(real):
        return 0, 1
    exponent = math.frexp(abs(real))[1]  # |real| = f * 2**exponent, f in [0.5, 1)
    shift = 31 - exponent
    if shift < 1:
        raise ValueError(f"a rescaling factor of {real:g} is too large for 32-bit multipliers")
    shift = min(shift, 62)
    m = round(real * 2 ** shift)
    if abs(m) >= 2 ** 31:
        m, shift = round(real * 2 ** (shift - 1)), shift - 1
    return int(m), int(shift)


def requantize(values: torch.Tensor, m: Any, shift: Any) -> torch.Tensor:
    """``floor((values * m + 2**(shift-1)) / 2**shift)`` in 64-bit integers (the C export's rounding).

    Args:
        values: ``int64`` values.
        m: Multiplier(s), broadcast against ``values``.
        shift: Shift(s), broadcast likewise.

    Returns:
        ``int64``, clamped to ``±2**30``.
    """
    m = torch.as_tensor(m, dtype=torch.int64)
    shift = torch.as_tensor(shift, dtype=torch.int64)
    t = values.to(torch.int64) * m + torch.bitwise_left_shift(torch.ones_like(shift), shift - 1)
    return torch.bitwise_right_shift(t, shift).clamp(-(2 ** 30), 2 ** 30)


@dataclass
class QuantizedStep:
    """One step with its integer parameters.

    Attributes:
        step: The lowered step (shapes, attributes).
        out: The output's quantization.
        weight: ``int8`` weights ``(O, I/groups, kh, kw)`` (convolutions).
        bias: ``int32`` per output channel, in the accumulator's scale (convolutions, scales).
        mult: Per output channel (or one) multiplier of the output rescaling.
        shift: Shifts matching ``mult``.
        extra: Kind-specific integers: ``low``/``high`` (clip bounds in the input's units),
            ``slope`` (leaky ReLU: multiplier, shift), ``second`` (add: the second input's
            multiplier, shift).
    """

    step: Step
    out: TensorQuant
    weight: torch.Tensor | None = None
    bias: torch.Tensor | None = None
    mult: torch.Tensor = field(default_factory=lambda: torch.zeros(1, dtype=torch.int64))
    shift: torch.Tensor = field(default_factory=lambda: torch.ones(1, dtype=torch.int64))
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class QuantizedGraph:
    """A lowered graph with integer parameters: what the C export writes.

    Attributes:
        graph: The lowered graph.
        input: The raw pixels' quantization (``real = scale * (pixel - zero)``).
        steps: One :class:`QuantizedStep` per step of the graph.
        quant: Every tensor's quantization, by name.
    """

    graph: Graph
    input: TensorQuant
    steps: list[QuantizedStep]
    quant: dict[str, TensorQuant]

    @property
    def output(self) -> TensorQuant:
        """The class scores' quantization."""
        return self.quant[self.graph.output]

    def __repr__(self) -> str:
        from tinyconv._repr import short_repr

        return short_repr(self, [("steps", len(self.steps)), ("input_scale", self.input.scale),
                                 ("input_zero", self.input.zero), ("weight_bytes", self.graph.weight_bytes("int8")),
                                 ("arena_bytes", self.graph.arena_bytes("int8"))])


def _ranges(graph: Graph, images: torch.Tensor) -> dict[str, tuple[float, float]]:
    """Each step output's (min, max) over the calibration images, 0 included."""
    from tinyconv.inspect.lowering import run_float

    found: dict[str, tuple[float, float]] = {}

    def seen(name: str, value: torch.Tensor) -> None:
        low, high = found.get(name, (0.0, 0.0))
        found[name] = (min(low, float(value.min())), max(high, float(value.max())))

    for start in range(0, images.shape[0], 500):
        run_float(graph, images[start:start + 500], observe=seen)
    return found


def _tensor_quant(low: float, high: float) -> TensorQuant:
    scale = max(high - low, 1e-8) / 255
    return TensorQuant(scale, int(min(255, max(0, round(-low / scale)))))


def _weights(step: Step) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-output-channel symmetric int8 weights and their scales."""
    w = step.weight.double()  # type: ignore[union-attr]
    scales = w.abs().flatten(1).amax(1) / 127
    scales = torch.where(scales > 0, scales, torch.ones_like(scales))
    return (w / scales[:, None, None, None]).round().clamp(-127, 127).to(torch.int8), scales


def quantize_graph(graph: Graph, calibration: torch.Tensor, *, mean: float, std: float,
                   pixel_scale: float = 1 / 255) -> QuantizedGraph:
    """Integer parameters for a lowered graph, activation ranges from calibration images.

    Args:
        graph: A lowered graph without blockers.
        calibration: Normalised training images ``(N, C, H, W)`` (never the test set), at
            least :data:`MIN_CALIBRATION_IMAGES`.
        mean: The normalisation's mean (one for all channels).
        std: The normalisation's standard deviation.
        pixel_scale: What a raw pixel is multiplied by before the normalisation (1/255).

    Returns:
        The :class:`QuantizedGraph`.

    Raises:
        ValueError: If the graph has blockers, or there are too few calibration images.
    """
    if graph.blockers:
        raise ValueError("cannot quantize: " + "; ".join(str(b) for b in graph.blockers))
    if calibration.shape[0] < MIN_CALIBRATION_IMAGES:
        raise ValueError(f"calibration needs at least {MIN_CALIBRATION_IMAGES} images, got {calibration.shape[0]}")
    ranges = _ranges(graph, calibration.float())
    pixels = TensorQuant(pixel_scale / std, int(round(mean / pixel_scale)))
    quant: dict[str, TensorQuant] = {"input": pixels}
    readers: dict[str, int] = {}
    for step in graph.steps:
        for name in step.inputs:
            readers[name] = readers.get(name, 0) + 1
    for step in graph.steps:
        quant[step.name] = _output_quant(step, ranges, quant)
    for step in graph.steps:  # a ReLU/ReLU6 right after its producer shares the producer's output range
        source = step.inputs[0]
        fused = step.kind == "relu" or (step.kind == "clip" and step.attrs["low"] == 0)
        producer = next((s for s in graph.steps if s.name == source), None)
        if fused and producer is not None and producer.kind in ("conv", "scale", "add") and readers[source] == 1:
            quant[source] = quant[step.name]
    steps = [_quantize_step(step, quant, graph) for step in graph.steps]
    return QuantizedGraph(graph, pixels, steps, quant)


def _output_quant(step: Step, ranges: dict[str, tuple[float, float]], quant: dict[str, TensorQuant]) -> TensorQuant:
    if step.kind in ("maxpool", "crop"):  # order-keeping: the input's own values
        return quant[step.inputs[0]]
    return _tensor_quant(*ranges[step.name])


def _quantize_step(step: Step, quant: dict[str, TensorQuant], graph: Graph) -> QuantizedStep:
    inp, out = quant[step.inputs[0]], quant[step.name]
    q = QuantizedStep(step, out)
    if step.kind in ("conv", "scale"):
        if step.kind == "conv":
            q.weight, w_scales = _weights(step)
        else:
            w_scales = torch.ones(step.shape[0], dtype=torch.float64)
        channel = step.scale.double()  # type: ignore[union-attr]
        channel = torch.where(channel.abs() > 1e-12, channel, torch.full_like(channel, 1e-12))
        acc_scale = inp.scale * w_scales * channel
        q.bias = (step.bias.double() / acc_scale).round().clamp(-(2 ** 30), 2 ** 30).to(torch.int64)  # type: ignore[union-attr]
        pairs = [multiplier(float(f)) for f in acc_scale / out.scale]
        q.mult = torch.tensor([p[0] for p in pairs], dtype=torch.int64)
        q.shift = torch.tensor([p[1] for p in pairs], dtype=torch.int64)
        return q
    if step.kind == "gap":
        _, height, width = graph.shape_of(step.inputs[0])
        factor = inp.scale / (height * width * out.scale)
    else:
        factor = inp.scale / out.scale
    m, s = multiplier(factor)
    q.mult, q.shift = torch.tensor([m]), torch.tensor([s])
    if step.kind == "clip":
        q.extra = {"low": round(step.attrs["low"] / inp.scale), "high": round(step.attrs["high"] / inp.scale)}
    elif step.kind == "leaky_relu":
        q.extra = {"slope": multiplier(step.attrs["slope"])}
    elif step.kind == "add":
        second = quant[step.inputs[1]]
        q.extra = {"second": multiplier(second.scale / out.scale)}
    return q


def run_int8(model: QuantizedGraph, pixels: torch.Tensor) -> torch.Tensor:
    """Run the quantized graph on raw pixels with integers only (what the C export computes).

    Args:
        model: The quantized graph.
        pixels: ``uint8`` images ``(N, C, H, W)`` (or ``(N, H, W)``), 0..255.

    Returns:
        ``int64`` class scores ``(N, classes)`` in ``uint8`` units (``real = scale * (q - zero)``
        with :attr:`QuantizedGraph.output`).
    """
    if pixels.dim() == 3:
        pixels = pixels[:, None]
    values: dict[str, torch.Tensor] = {"input": pixels.to(torch.int64)}
    for q in model.steps:
        values[q.step.name] = _run_step(q, values, model.quant)
    return values[model.graph.output].reshape(pixels.shape[0], -1)


def _run_step(q: QuantizedStep, values: dict[str, torch.Tensor], quant: dict[str, TensorQuant]) -> torch.Tensor:
    step, a = q.step, q.step.attrs
    x = values[step.inputs[0]]
    zero_in = quant[step.inputs[0]].zero
    if step.kind == "conv":
        fan_in = q.weight[0].numel()  # type: ignore[index]
        exact = torch.float32 if 255 * 127 * fan_in < 2 ** 24 else torch.float64  # every sum an exact integer
        acc = F.conv2d((x - zero_in).to(exact), q.weight.to(exact), None, a["stride"], a["padding"],  # type: ignore[union-attr]
                       a["dilation"], a["groups"]).round().to(torch.int64)
        y = requantize(acc + q.bias[None, :, None, None], q.mult[None, :, None, None], q.shift[None, :, None, None])  # type: ignore[index]
    elif step.kind == "scale":
        acc = (x - zero_in) + q.bias[None, :, None, None]  # type: ignore[index]
        y = requantize(acc, q.mult[None, :, None, None], q.shift[None, :, None, None])
    elif step.kind in ("relu", "clip", "leaky_relu"):
        v = x - zero_in
        if step.kind == "relu":
            v = v.clamp_min(0)
        elif step.kind == "clip":
            v = v.clamp(q.extra["low"], q.extra["high"])
        else:
            m, s = q.extra["slope"]
            v = torch.where(v < 0, requantize(v, m, s), v)
        y = requantize(v, q.mult, q.shift)
    elif step.kind in ("maxpool", "crop"):
        return _window(step, x)
    elif step.kind == "gap":
        y = requantize((x - zero_in).sum((2, 3), keepdim=True), q.mult, q.shift)
    elif step.kind == "add":
        m, s = q.extra["second"]
        second = values[step.inputs[1]] - quant[step.inputs[1]].zero
        y = requantize(x - zero_in, q.mult, q.shift) + requantize(second, m, s)
    else:  # pragma: no cover - lower() makes no other kind
        raise ValueError(f"unknown step kind {step.kind!r}")
    return (y + q.out.zero).clamp(0, 255)


def _window(step: Step, x: torch.Tensor) -> torch.Tensor:
    a = step.attrs
    if step.kind == "crop":
        return x[:, :, a["top"]:a["top"] + step.shape[1], a["left"]:a["left"] + step.shape[2]]
    padded = F.pad(x.double(), [a["padding"][1]] * 2 + [a["padding"][0]] * 2, value=-1.0)  # below any pixel
    return F.max_pool2d(padded, a["kernel"], a["stride"]).to(torch.int64)
