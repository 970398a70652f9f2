"""Memory a device needs to run a model: weight bytes, and peak activation memory.

**Weights** (flash): every trainable parameter, 4 bytes in fp32 and 1 byte in int8
(per-channel scales and zero points, a few bytes per channel, are left out; folding
BatchNorm into the convolutions before deployment removes its parameters).

**Activations** (RAM), for one image, when the layers run one after the other: while a
layer runs, its input and its output must both be in memory, and so must every tensor
produced earlier that a later layer still reads (a skip connection, say). A tensor is
counted from the layer that produces it until the last layer that reads it; one that no
later layer reads as its input (consumed by code between layers, as in ``x + skip``) is
counted until the end, so the figure is never too low. Views (``Flatten``) and in-place
layers share their input's memory and add nothing. The **peak** is the largest such sum
over the layers; at int8 every element is 1 byte instead of 4.

Example:
    >>> from torch import nn
    >>> import torch
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten())
    >>> live = live_elements(*_trace(model, torch.zeros(1, 1, 8, 8)))
    >>> live  # conv: 64 in + 256 out; ReLU: 256 + 256; Flatten: a view of the ReLU's output
    [320, 512, 256]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["live_elements", "BYTES_PER_ELEMENT"]

BYTES_PER_ELEMENT = {"fp32": 4, "int8": 1}
"""Bytes of one weight or activation element by deployment precision."""


def _key(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


def _size(t: torch.Tensor) -> int:
    return t.untyped_storage().nbytes() // t.element_size()


def live_elements(calls: Sequence[tuple[str, nn.Module, torch.Tensor, torch.Tensor]], probe: torch.Tensor) -> list[int]:
    """Activation elements alive while each layer runs (batch of one), by the rule above.

    Args:
        calls: ``(name, module, input, output)`` of every leaf layer call, in order,
            with the tensors still referenced (so no storage was reused).
        probe: The model's input.

    Returns:
        One count per call.
    """
    born = {_key(probe): -1}
    sizes = {_key(probe): _size(probe)}
    last_use: dict[int, int] = {}
    for i, (_, _, x, y) in enumerate(calls):
        if _key(x) not in born:  # made by code between layers: counted from here on
            born[_key(x)], sizes[_key(x)] = i, _size(x)
        last_use[_key(x)] = i
        if _key(y) not in born:
            born[_key(y)], sizes[_key(y)] = i, _size(y)
    end = len(calls)
    final = _key(calls[-1][3]) if calls else None
    # A tensor no later layer reads (the output, or one read by code between layers) stays to the end.
    alive_until = {k: end if k == final or k not in last_use else last_use[k] for k in born}
    return [sum(sizes[k] for k in born if born[k] <= i <= alive_until[k]) for i in range(len(calls))]


def _trace(model: nn.Module, probe: torch.Tensor) -> tuple[list[tuple[str, nn.Module, Any, Any]], torch.Tensor]:
    """Leaf calls of a model on ``probe`` (for the example and the tests)."""
    calls: list[tuple[str, nn.Module, Any, Any]] = []
    names = {m: n for n, m in model.named_modules()}
    hooks = [m.register_forward_hook(lambda m, i, o: calls.append((names[m], m, i[0], o)))
             for m in model.modules() if not list(m.children())]
    with torch.no_grad():
        model.eval()(probe)
    for h in hooks:
        h.remove()
    return calls, probe
