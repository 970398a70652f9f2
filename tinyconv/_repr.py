"""Short, readable ``repr`` and notebook HTML for result objects, from one helper.

A notebook cell that ends in a result shows its ``repr`` (or its ``_repr_html_``): a
summary, a run, a history or a data set should read in a few rounded lines, not as a
dump of every row, tensor or 16-digit float.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

import torch

__all__ = ["short_repr", "brief", "html_table", "html_block"]


def brief(value: Any) -> str:
    """One value, short: floats to 4 significant digits, tensors as ``tensor(uint8 [60000, 1, 28, 28])``."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 1000 else str(value)
    if isinstance(value, torch.Tensor):
        return f"tensor({str(value.dtype).removeprefix('torch.')} {list(value.shape)})"
    if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(brief(v) for v in value[:4])
        return f"[{inner}{', ...' if len(value) > 4 else ''}] ({len(value)})" if len(value) > 4 else f"[{inner}]"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def short_repr(obj: Any, fields: Iterable[tuple[str, Any]]) -> str:
    """``Name(a=1, b=0.1235, images=tensor(uint8 [64, 1, 28, 28]))``, wrapped at 100 columns.

    Args:
        obj: The object (its class name leads).
        fields: ``(name, value)`` pairs to show, in order.

    Returns:
        The text.
    """
    parts = [f"{name}={brief(value)}" for name, value in fields]
    head = f"{type(obj).__name__}("
    one_line = head + ", ".join(parts) + ")"
    if len(one_line) <= 100:
        return one_line
    return head + "\n" + ",\n".join("    " + part for part in parts) + ",\n)"


def html_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, highlight: Iterable[int] = (),
               numeric: Iterable[int] = ()) -> str:
    """An HTML ``<table>`` (escaped), right-aligned numeric columns, highlighted rows.

    Args:
        headers: Column titles.
        rows: Cells (turned to text).
        highlight: Indices of rows to mark (bold, a warm background).
        numeric: Indices of columns to right-align.

    Returns:
        The HTML.
    """
    marked, right = set(highlight), set(numeric)

    def cell(tag: str, i: int, value: Any) -> str:
        style = ' style="text-align:right"' if i in right else ' style="text-align:left"'
        return f"<{tag}{style}>{html.escape(str(value))}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = []
    for n, row in enumerate(rows):
        style = ' style="font-weight:bold;background:#fde7e7"' if n in marked else ""
        body.append(f"<tr{style}>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>")
    return f'<table class="tinyconv"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def html_block(title: str, body: str, lines: Iterable[str] = ()) -> str:
    """A titled block: a heading, the body (HTML), and plain lines (escaped) after it."""
    after = "".join(f"<div>{html.escape(line)}</div>" for line in lines)
    return f'<div class="tinyconv"><strong>{html.escape(title)}</strong>{body}{after}</div>'
