"""A trained model as dependency-free C99: int8 weights, integer arithmetic, one static arena.

:func:`to_c` lowers the model (:func:`tinyconv.inspect.lowering.lower`), quantizes it on
training images (:func:`tinyconv.deploy.int8.quantize_graph`) and writes ``<name>.h`` and
``<name>.c``: weights as ``const int8_t`` (flash), biases and rescaling multipliers as
``const int32_t``, every activation in one ``static uint8_t`` arena laid out by
:func:`tinyconv.inspect.lowering.plan_arena` (its size is ``<NAME>_ARENA_BYTES``, the int8
peak that ``summary`` prints), no ``malloc``, nothing beyond ``<stdint.h>``. The header
declares::

    int <name>_predict(const uint8_t pixels[C * H * W]);               /* the class */
    int <name>_scores(const uint8_t pixels[C * H * W], int8_t scores[K]); /* and its scores */

taking raw IDX pixels (0 = background for MNIST): the normalisation is the input's
quantization, so the caller does nothing to them. The C computes exactly what
:func:`tinyconv.deploy.int8.run_int8` computes; the tests compare the two bit for bit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from tinyconv._io import atomic_path
from tinyconv.deploy.int8 import QuantizedGraph, QuantizedStep, quantize_graph

__all__ = ["CExport", "to_c", "write_c", "c_name"]

_KERNELS = {
    "common": r"""
static int32_t tc_requant(int64_t v, int32_t m, int shift)
{
    int64_t t = v * (int64_t)m + ((int64_t)1 << (shift - 1));
    int64_t y = t >= 0 ? (t >> shift) : -((-t + ((int64_t)1 << shift) - 1) >> shift);
    if (y > (1 << 30)) y = 1 << 30;
    if (y < -(1 << 30)) y = -(1 << 30);
    return (int32_t)y;
}

static uint8_t tc_u8(int32_t v)
{
    return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
}
""",
    "conv": r"""
typedef struct {
    int in_c, in_h, in_w, out_c, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw, groups;
    int32_t in_zero, out_zero;
} tc_conv_t;

static void tc_conv(const tc_conv_t *p, const uint8_t *x, uint8_t *y, const int8_t *w, const int32_t *bias,
                    const int32_t *mult, const uint8_t *shift)
{
    int in_per_group = p->in_c / p->groups, out_per_group = p->out_c / p->groups;
    int oc, oy, ox, ic, ky, kx;
    for (oc = 0; oc < p->out_c; ++oc) {
        int first = (oc / out_per_group) * in_per_group;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                int32_t acc = bias[oc];
                for (ic = 0; ic < in_per_group; ++ic) {
                    const uint8_t *plane = x + (first + ic) * p->in_h * p->in_w;
                    const int8_t *k = w + (oc * in_per_group + ic) * p->kh * p->kw;
                    for (ky = 0; ky < p->kh; ++ky) {
                        int iy = oy * p->sh - p->ph + ky * p->dh;
                        if (iy < 0 || iy >= p->in_h) continue;
                        for (kx = 0; kx < p->kw; ++kx) {
                            int ix = ox * p->sw - p->pw + kx * p->dw;
                            if (ix < 0 || ix >= p->in_w) continue;
                            acc += (int32_t)k[ky * p->kw + kx] * ((int32_t)plane[iy * p->in_w + ix] - p->in_zero);
                        }
                    }
                }
                y[(oc * p->out_h + oy) * p->out_w + ox] = tc_u8(p->out_zero + tc_requant(acc, mult[oc], shift[oc]));
            }
        }
    }
}
""",
    "scale": r"""
static void tc_scale(uint8_t *x, int c, int hw, int32_t in_zero, int32_t out_zero, const int32_t *bias,
                     const int32_t *mult, const uint8_t *shift)
{
    int ch, i;
    for (ch = 0; ch < c; ++ch)
        for (i = 0; i < hw; ++i) {
            int32_t v = (int32_t)x[ch * hw + i] - in_zero + bias[ch];
            x[ch * hw + i] = tc_u8(out_zero + tc_requant(v, mult[ch], shift[ch]));
        }
}
""",
    "activation": r"""
/* kind 0: ReLU, 1: clip to [low, high], 2: leaky ReLU (slope_m / 2^slope_s); in place */
static void tc_activation(uint8_t *x, int n, int kind, int32_t in_zero, int32_t out_zero, int32_t m, int s,
                          int32_t low, int32_t high, int32_t slope_m, int slope_s)
{
    int i;
    for (i = 0; i < n; ++i) {
        int32_t v = (int32_t)x[i] - in_zero;
        if (kind == 0 && v < 0) v = 0;
        if (kind == 1) v = v < low ? low : (v > high ? high : v);
        if (kind == 2 && v < 0) v = tc_requant(v, slope_m, slope_s);
        x[i] = tc_u8(out_zero + tc_requant(v, m, s));
    }
}
""",
    "maxpool": r"""
static void tc_maxpool(const uint8_t *x, uint8_t *y, int c, int in_h, int in_w, int out_h, int out_w,
                       int kh, int kw, int sh, int sw, int ph, int pw)
{
    int ch, oy, ox, ky, kx;
    for (ch = 0; ch < c; ++ch)
        for (oy = 0; oy < out_h; ++oy)
            for (ox = 0; ox < out_w; ++ox) {
                int best = 0;
                for (ky = 0; ky < kh; ++ky) {
                    int iy = oy * sh - ph + ky;
                    if (iy < 0 || iy >= in_h) continue;
                    for (kx = 0; kx < kw; ++kx) {
                        int ix = ox * sw - pw + kx;
                        if (ix < 0 || ix >= in_w) continue;
                        if (x[(ch * in_h + iy) * in_w + ix] > best) best = x[(ch * in_h + iy) * in_w + ix];
                    }
                }
                y[(ch * out_h + oy) * out_w + ox] = (uint8_t)best;
            }
}
""",
    "gap": r"""
static void tc_gap(const uint8_t *x, uint8_t *y, int c, int hw, int32_t in_zero, int32_t out_zero, int32_t m, int s)
{
    int ch, i;
    for (ch = 0; ch < c; ++ch) {
        int32_t sum = 0;
        for (i = 0; i < hw; ++i) sum += (int32_t)x[ch * hw + i] - in_zero;
        y[ch] = tc_u8(out_zero + tc_requant(sum, m, s));
    }
}
""",
    "add": r"""
static void tc_add(const uint8_t *a, const uint8_t *b, uint8_t *y, int n, int32_t a_zero, int32_t b_zero,
                   int32_t out_zero, int32_t am, int as, int32_t bm, int bs)
{
    int i;
    for (i = 0; i < n; ++i)
        y[i] = tc_u8(out_zero + tc_requant((int32_t)a[i] - a_zero, am, as)
                     + tc_requant((int32_t)b[i] - b_zero, bm, bs));
}
""",
    "crop": r"""
static void tc_crop(const uint8_t *x, uint8_t *y, int c, int in_h, int in_w, int out_h, int out_w, int top, int left)
{
    int ch, oy;
    for (ch = 0; ch < c; ++ch)
        for (oy = 0; oy < out_h; ++oy)
            memcpy(y + (ch * out_h + oy) * out_w, x + (ch * in_h + oy + top) * in_w + left, (size_t)out_w);
}
""",
}
"""The C of each kind of step (only the kinds a model uses are written: no unused function)."""


@dataclass(frozen=True)
class CExport:
    """What :func:`to_c` wrote.

    Attributes:
        header: The ``.h`` file.
        source: The ``.c`` file.
        name: The C prefix of its functions and macros.
        arena_bytes: The activation arena (``<NAME>_ARENA_BYTES``).
        weight_bytes: Bytes of ``int8`` weights plus ``int32`` biases.
        quantized: The integer model the C computes (:func:`tinyconv.deploy.int8.run_int8` runs it).
    """

    header: Path
    source: Path
    name: str
    arena_bytes: int
    weight_bytes: int
    quantized: QuantizedGraph = field(repr=False)


def c_name(name: str) -> str:
    """A C identifier from a model name: ``"st8k"`` -> ``"st8k"``, ``"My Net"`` -> ``"my_net"``."""
    text = re.sub(r"[^0-9a-zA-Z_]+", "_", name).strip("_").lower() or "model"
    return f"m_{text}" if text[0].isdigit() else text


def to_c(model: nn.Module, folder: str | os.PathLike[str], calibration: torch.Tensor, *,
         name: str = "model", input_size: tuple[int, int, int] = (1, 28, 28), mean: float = 0.1307,
         std: float = 0.3081, contract: Mapping[str, str] | None = None) -> CExport:
    """Write ``model`` as int8 C99 (``<name>.h`` and ``<name>.c`` in ``folder``).

    Args:
        model: The model (unchanged), or a run's exported program.
        folder: Where to write (created if missing).
        calibration: Normalised training images ``(N, C, H, W)`` that set the activation ranges
            (never the test set); at least 100.
        name: The model's name; its C form (:func:`c_name`) prefixes every function and macro.
        input_size: ``(C, H, W)`` of one image.
        mean: The normalisation's mean (the same for every channel).
        std: The normalisation's standard deviation.
        contract: The input contract (:func:`tinyconv.deploy.contract.input_contract`), restated
            in the header's comment.

    Returns:
        The :class:`CExport`.

    Raises:
        NotExportableError: If the model calls an operator the C export has no step for
            (named with its line), before anything is written.
        ValueError: For too few calibration images.
    """
    from tinyconv.inspect.exportable import require_exportable

    graph = require_exportable(model, tuple(input_size), "c")
    quantized = quantize_graph(graph, calibration, mean=mean, std=std)  # type: ignore[arg-type]
    return write_c(quantized, folder, name, contract or {})


def write_c(quantized: QuantizedGraph, folder: str | os.PathLike[str], name: str,
            contract: Mapping[str, str]) -> CExport:
    """Write a quantized graph as ``<name>.h`` and ``<name>.c`` (atomically, both or neither).

    Args:
        quantized: The integer model.
        folder: Where to write.
        name: The model's name.
        contract: Its input contract, for the header's comment.

    Returns:
        The :class:`CExport`.
    """
    from tinyconv.inspect.lowering import plan_arena

    prefix = c_name(name)
    offsets, arena = plan_arena(quantized.graph)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    header, source = folder / f"{prefix}.h", folder / f"{prefix}.c"
    header_text = _header(quantized, prefix, name, arena, contract)
    source_text = _source(quantized, prefix, offsets, arena)
    with atomic_path(header) as tmp_h, atomic_path(source) as tmp_c:
        tmp_h.write_text(header_text)
        tmp_c.write_text(source_text)
    return CExport(header, source, prefix, arena, quantized.graph.weight_bytes("int8"), quantized)


def _header(q: QuantizedGraph, prefix: str, name: str, arena: int, contract: Mapping[str, str]) -> str:
    c, h, w = q.graph.input_shape
    classes = q.graph.shape_of(q.graph.output)[0]
    upper = prefix.upper()
    lines = [f"{k}: {v}" for k, v in contract.items()]
    described = "\n".join(f" *   {line}" for line in lines) or " *   (no contract given)"
    return f"""/* {name}: int8 C99 export by tinyconv. No malloc, no dependency beyond <stdint.h>.
 *
 * Input: {c}x{h}x{w} raw pixels, uint8 0..255 as stored in the IDX files (for MNIST: 0 = background,
 * white digit on black), channel-major. The normalisation (pixel/255 - mean) / std is built in:
 * pass the pixels as they are.
 * Output: the class index 0..{classes - 1}; {prefix}_scores also fills the {classes} int8 scores,
 * real score = {upper}_SCORE_SCALE * (score - {upper}_SCORE_ZERO_POINT) (before any softmax).
 * Contract (as in the ONNX file's metadata):
{described}
 */
#ifndef {upper}_H
#define {upper}_H

#include <stdint.h>

#define {upper}_INPUT_CHANNELS {c}
#define {upper}_INPUT_HEIGHT {h}
#define {upper}_INPUT_WIDTH {w}
#define {upper}_INPUT_BYTES {c * h * w}
#define {upper}_CLASSES {classes}
#define {upper}_ARENA_BYTES {arena}
#define {upper}_SCORE_SCALE {q.output.scale!r}f
#define {upper}_SCORE_ZERO_POINT ({q.output.zero - 128})

int {prefix}_predict(const uint8_t pixels[{upper}_INPUT_BYTES]);
int {prefix}_scores(const uint8_t pixels[{upper}_INPUT_BYTES], int8_t scores[{upper}_CLASSES]);

#endif
"""


def _array(kind: str, name: str, values: torch.Tensor | list[int]) -> str:
    items = [str(int(v)) for v in (values.flatten().tolist() if isinstance(values, torch.Tensor) else values)]
    rows = [", ".join(items[i:i + 24]) for i in range(0, len(items), 24)]
    body = ",\n    ".join(rows)
    return f"static const {kind} {name}[{len(items)}] = {{\n    {body}\n}};\n"


def _source(q: QuantizedGraph, prefix: str, offsets: dict[str, int], arena: int) -> str:
    upper = prefix.upper()
    tables: list[str] = []
    calls: list[str] = []
    weights: dict[str, str] = {}
    for i, qs in enumerate(q.steps):
        tables_i, call = _step_code(q, qs, i, offsets, weights)
        tables += tables_i
        calls.append(call)
    classes = q.graph.shape_of(q.graph.output)[0]
    out = _pointer(q.graph.output, offsets)
    kinds = {"activation" if s.step.kind in ("relu", "clip", "leaky_relu") else s.step.kind for s in q.steps}
    kernels = "\n".join(code for kind, code in _KERNELS.items() if kind == "common" or kind in kinds)
    return f"""/* {prefix}: generated by tinyconv (see {prefix}.h). */
#include <stdint.h>
#include <string.h>

#include "{prefix}.h"

{kernels}
{"".join(tables)}
static uint8_t arena[{upper}_ARENA_BYTES];

static void run(const uint8_t *pixels)
{{
    (void)pixels;
{"".join(calls)}}}

int {prefix}_scores(const uint8_t pixels[{upper}_INPUT_BYTES], int8_t scores[{upper}_CLASSES])
{{
    const uint8_t *out;
    int k, best = 0;
    run(pixels);
    out = {out};
    for (k = 0; k < {classes}; ++k) {{
        if (scores) scores[k] = (int8_t)((int32_t)out[k] - 128);
        if (out[k] > out[best]) best = k;
    }}
    return best;
}}

int {prefix}_predict(const uint8_t pixels[{upper}_INPUT_BYTES])
{{
    return {prefix}_scores(pixels, 0);
}}
"""


def _pointer(name: str, offsets: dict[str, int]) -> str:
    return "pixels" if name == "input" else f"arena + {offsets[name]}"


def _step_code(q: QuantizedGraph, qs: QuantizedStep, i: int, offsets: dict[str, int],
               weights: dict[str, str]) -> tuple[list[str], str]:
    step, a = qs.step, qs.step.attrs
    x, y = _pointer(step.inputs[0], offsets), _pointer(step.name, offsets)
    cin, hin, win = q.graph.shape_of(step.inputs[0])
    cout, hout, wout = step.shape
    zin, zout = q.quant[step.inputs[0]].zero, qs.out.zero
    tables: list[str] = []
    if step.kind in ("conv", "scale"):
        tables += [_array("int32_t", f"b{i}", qs.bias), _array("int32_t", f"m{i}", qs.mult),  # type: ignore[arg-type]
                   _array("uint8_t", f"s{i}", qs.shift)]
    if step.kind == "conv":
        if step.weight_key not in weights:
            weights[step.weight_key] = f"w{len(weights)}"
            tables.append(_array("int8_t", weights[step.weight_key], qs.weight))  # type: ignore[arg-type]
        kh, kw = step.weight.shape[2:]  # type: ignore[union-attr]
        fields = [cin, hin, win, cout, hout, wout, kh, kw, *a["stride"], *a["padding"], *a["dilation"], a["groups"],
                  zin, zout]
        tables.append(f"static const tc_conv_t c{i} = {{{', '.join(str(int(f)) for f in fields)}}};\n")
        return tables, f"    tc_conv(&c{i}, {x}, {y}, {weights[step.weight_key]}, b{i}, m{i}, s{i});\n"
    m, s = int(qs.mult[0]), int(qs.shift[0])
    copy = f"    memcpy({y}, {x}, {cout * hout * wout});\n" if x != y else ""  # in place unless the input is read later
    if step.kind == "scale":
        return tables, copy + f"    tc_scale({y}, {cout}, {hout * wout}, {zin}, {zout}, b{i}, m{i}, s{i});\n"
    if step.kind in ("relu", "clip", "leaky_relu"):
        kind = ("relu", "clip", "leaky_relu").index(step.kind)
        low, high = qs.extra.get("low", 0), qs.extra.get("high", 0)
        sm, ss = qs.extra.get("slope", (0, 1))
        return tables, copy + (f"    tc_activation({y}, {cout * hout * wout}, {kind}, {zin}, {zout}, {m}, {s}, {low}, {high}, "
                        f"{sm}, {ss});\n")
    if step.kind == "maxpool":
        return tables, (f"    tc_maxpool({x}, {y}, {cin}, {hin}, {win}, {hout}, {wout}, {a['kernel'][0]}, "
                        f"{a['kernel'][1]}, {a['stride'][0]}, {a['stride'][1]}, {a['padding'][0]}, {a['padding'][1]});\n")
    if step.kind == "gap":
        return tables, f"    tc_gap({x}, {y}, {cin}, {hin * win}, {zin}, {zout}, {m}, {s});\n"
    if step.kind == "add":
        bm, bs = qs.extra["second"]
        b = _pointer(step.inputs[1], offsets)
        zb = q.quant[step.inputs[1]].zero
        return tables, (f"    tc_add({x}, {b}, {y}, {cout * hout * wout}, {zin}, {zb}, {zout}, {m}, {s}, {bm}, "
                        f"{bs});\n")
    if step.kind == "crop":
        return tables, (f"    tc_crop({x}, {y}, {cin}, {hin}, {win}, {hout}, {wout}, {a['top']}, {a['left']});\n")
    raise ValueError(f"no C for step kind {step.kind!r}")  # pragma: no cover - lower() makes no other kind
