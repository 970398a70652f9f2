"""The ``result`` and ``aim`` roles: figures in prose that name where they come from.

``:result:`99.52 <final_st8k.json#mean:runs/*/final>``` renders as ``99.52`` with its source
as a tooltip; ``:aim:`99.55``` renders a stated aim. The lab's test (``benchmarks/tests/
test_claims.py``, through :mod:`lab.claims`) checks every figure against its source.
"""

from __future__ import annotations

import re

from docutils import nodes

_TITLED = re.compile(r"^(?P<figure>.+?)\s*<(?P<source>[^>]+)>$", re.S)


def result_role(name, rawtext, text, lineno, inliner, options=None, content=None):  # noqa: ARG001 - docutils' signature
    """Render ``FIGURE <SOURCE>`` as the figure, with the source as its title."""
    match = _TITLED.match(text)
    if not match:
        message = inliner.reporter.error(f"result role needs 'FIGURE <SOURCE>', got {text!r}", line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    source = match.group("source").strip()
    return [nodes.abbreviation(rawtext, match.group("figure"), explanation=f"from benchmarks/results: {source}")], []


def aim_role(name, rawtext, text, lineno, inliner, options=None, content=None):  # noqa: ARG001 - docutils' signature
    """Render a stated aim (not a result)."""
    return [nodes.abbreviation(rawtext, text, explanation="an aim, not a measured result")], []


def setup(app):
    """Register both roles."""
    app.add_role("result", result_role)
    app.add_role("aim", aim_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
