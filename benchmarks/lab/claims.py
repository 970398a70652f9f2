"""Figures typed in prose, each tied to the one results field it comes from.

A figure in the docs is written with its source beside it, so that a reader (and a test)
can find where it came from and a regeneration that changes it cannot go unnoticed:

* in reStructuredText, the ``result`` role: ``:result:`99.52 <final_st8k.json#mean:runs/*/final>```
  (rendered as the bare figure, its source in a tooltip);
* in Markdown (the README), an HTML comment right after it: ``99.52<!-- final_st8k.json#… -->``.

A source is ``FILE#[AGGREGATE:]PATH``. ``FILE`` is a results file's name (found under
``benchmarks/results``), a path under that folder, or a path from the repository's root. ``PATH`` walks the JSON with
``/``-separated keys and list indices (negative ones count from the end); ``*`` takes every
item and ``-3:`` the last three items of a list; ``KEY=VALUE`` picks the one item of a list whose ``KEY`` is
``VALUE`` (``trials/number=45/values/0``). A path with ``*`` or a slice needs an
aggregate: ``mean``, ``median``, ``min`` or ``max``. Under a run (an object with a ``history``), ``final``
stands for its last epoch's test accuracy, ``last3`` for its last three epochs', ``worst3`` for the lowest of them, ``best`` for its highest epoch and ``epochN`` for
epoch *N*'s (counted from 1): ``final_st8k.json#min:runs/*/last3``. The figure must equal the value rounded to the digits
it shows, so changing it by one unit in its last digit fails.

A figure that states an aim rather than a result is written ``:aim:`99.55``` and must be one of
:data:`AIMS`, each with where it was set.
"""

from __future__ import annotations

import fnmatch
import json
import re
import statistics
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from lab.files import RESULTS_DIR

__all__ = ["Figure", "ACCURACY", "AIMS", "AGGREGATES", "figures", "problems", "resolve", "SourceError"]

REPO = Path(__file__).resolve().parents[2]
#: What counts as an accuracy figure in prose: 99.xx or 99.xxx, not part of a longer number.
ACCURACY = re.compile(r"(?<![\d.])99\.\d{2,3}(?![\d])")
AGGREGATES = {"mean": statistics.fmean, "median": statistics.median, "min": min, "max": max}
#: The aims prose may state (``:aim:`FIGURE```), each with where it was set.
AIMS = {"99.55": "the aimed mean final test accuracy of the under-8,000 network (the budget issue's aim of 99.5% and above)"}
_AIM = re.compile(r":aim:`(?P<figure>[^`]+)`")
_LITERAL = re.compile(r"``[^`]+``|(?<!`)`[^`<>]+`(?!`)")
_ROLE = re.compile(r":result:`(?P<figure>[^`<]+?)\s*<(?P<source>[^>`]+)>`")
_COMMENT = re.compile(r"(?P<figure>(?<![\d.])\d+(?:\.\d+)?)<!--\s*(?P<source>[^>]+?)\s*-->")


class SourceError(ValueError):
    """A figure's source names no file, no field, or more than one value without an aggregate."""


@dataclass(frozen=True)
class Figure:
    """One figure in a prose file.

    Args:
        file: The prose file's name, for messages.
        line: Its line (1-based).
        text: The figure as typed (``99.52``).
        source: Its source (``final_st8k.json#…``), or ``None`` when it has none.
    """

    file: str
    line: int
    text: str
    source: str | None

    def where(self) -> str:
        """``file:line figure``, for messages."""
        return f"{self.file}:{self.line} {self.text}"


def figures(text: str, file: str = "<text>") -> list[Figure]:
    """Every accuracy figure in ``text`` and every figure with a source, in order.

    Args:
        text: reStructuredText or Markdown.
        file: Its name, for the figures' messages.

    Returns:
        The figures: tagged ones with their source, bare accuracy figures with ``None``.
    """
    found: list[Figure] = []
    covered: list[tuple[int, int]] = []
    for pattern in (_ROLE, _COMMENT, _AIM):
        for match in pattern.finditer(text):
            source = match.group("source") if pattern is not _AIM else "aim"
            found.append(_figure(text, file, match.start("figure"), match.group("figure").strip(), source))
            covered.append(match.span())
    literals = [m.span() for m in _LITERAL.finditer(text)]  # a file name such as ``…_99.52.ipynb`` is no figure
    for match in ACCURACY.finditer(text):
        if not any(start <= match.start() < end for start, end in covered + literals):
            found.append(_figure(text, file, match.start(), match.group(), None))
    return sorted(found, key=lambda f: (f.line, f.text))


def _figure(text: str, file: str, at: int, figure: str, source: str | None) -> Figure:
    return Figure(file, text.count("\n", 0, at) + 1, figure, None if source is None else source.strip())


def problems(found: list[Figure], results_dir: Path | str = RESULTS_DIR) -> list[str]:
    """What is wrong with the figures: a bare accuracy figure, a source that does not resolve, a wrong figure.

    Args:
        found: Figures from :func:`figures`.
        results_dir: Where results files are looked up by name.

    Returns:
        One message per problem (empty when every figure holds).
    """
    out = []
    for figure in found:
        if figure.source is None:
            out.append(f"{figure.where()}: no source (write it as :result:`{figure.text} <FILE#PATH>`)")
            continue
        if figure.source == "aim":
            if figure.text not in AIMS:
                out.append(f"{figure.where()}: not a declared aim (lab.claims.AIMS: {', '.join(AIMS)})")
            continue
        try:
            value = resolve(figure.source, results_dir)
        except SourceError as error:
            out.append(f"{figure.where()}: {error}")
            continue
        if not matches(figure.text, value):
            out.append(f"{figure.where()}: {figure.source} is {value:.6g}, which rounds to "
                       f"{value:.{_digits(figure.text)}f}")
    return out


def matches(text: str, value: float) -> bool:
    """Whether ``value`` rounds to the figure ``text`` at the digits it shows."""
    digits = _digits(text)
    return abs(value - float(text)) <= 0.5 * 10 ** -digits + 1e-9


def _digits(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def resolve(source: str, results_dir: Path | str = RESULTS_DIR) -> float:
    """The value a figure's source names.

    Args:
        source: ``FILE#[AGGREGATE:]PATH`` (see the module's description).
        results_dir: Where results files are looked up by name.

    Returns:
        The value (the aggregate of the values, where the path names several).

    Raises:
        SourceError: When the file or the field is missing, or the path names several values and
            no aggregate is given.
    """
    file, _, query = source.partition("#")
    if not query:
        raise SourceError(f"source {source!r} has no '#PATH'")
    first = query.split("/")[0]
    aggregate, path = (first.split(":")[0], query[len(first.split(":")[0]) + 1:]) if re.match(r"[a-z]+:", first) else ("", query)
    if aggregate and aggregate not in AGGREGATES:
        raise SourceError(f"unknown aggregate {aggregate!r} in {source!r} (one of {', '.join(AGGREGATES)})")
    data = _load(_find(file, Path(results_dir)))
    values = list(_walk(data, [s for s in path.split("/") if s], source))
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) != len(values) or not numbers:
        raise SourceError(f"{source!r} names no numbers" if not numbers else f"{source!r} names values that are not numbers")
    if not aggregate:
        if len(numbers) != 1 or _has_many(path):
            raise SourceError(f"{source!r} names {len(numbers)} values: give an aggregate (mean:, median:, min:, max:)")
        return float(numbers[0])
    return float(AGGREGATES[aggregate](numbers))


def _has_many(path: str) -> bool:
    return any(part == "*" or re.fullmatch(r"-?\d*:-?\d*", part) or "*" in part or "[" in part
               for part in path.split("/"))


def _find(name: str, results_dir: Path) -> Path:
    for direct in (results_dir / name, REPO / name):
        if "/" in name and direct.is_file():
            return direct
    matches = sorted(results_dir.rglob(name)) if "/" not in name else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise SourceError(f"no results file {name!r}")
    raise SourceError(f"{name!r} names {len(matches)} files: give its path")


@lru_cache(maxsize=None)
def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _run_field(head: str) -> list[str] | None:
    """``final``, ``last3`` and ``epochN`` spelled out as a path under a run."""
    if head == "final":
        return ["history", "epochs", "-1", "test_accuracy"]
    if head == "last3":
        return ["history", "epochs", "-3:", "test_accuracy"]
    match = re.fullmatch(r"epoch(\d+)", head)
    return ["history", "epochs", str(int(match.group(1)) - 1), "test_accuracy"] if match and int(match.group(1)) else None


def _walk(value: Any, parts: list[str], source: str) -> Iterator[Any]:
    if not parts:
        yield value
        return
    head, rest = parts[0], parts[1:]
    at_run = isinstance(value, dict) and "history" in value and head not in value
    if at_run and head in ("worst3", "best"):
        spelled, pick = (_run_field("last3"), min) if head == "worst3" else (["history", "epochs", "*", "test_accuracy"], max)
        yield pick(_walk(value, spelled + rest, source))
        return
    spelled = _run_field(head) if at_run else None
    if spelled:
        yield from _walk(value, spelled + rest, source)
        return
    if isinstance(value, dict) and head not in value and any(c in head for c in "*?["):
        for key in [key for key in value if fnmatch.fnmatchcase(str(key), head)]:
            yield from _walk(value[key], rest, source)
    elif head == "*":
        items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if items is None:
            raise SourceError(f"{source!r}: '*' over a {type(value).__name__}")
        for item in items:
            yield from _walk(item, rest, source)
    elif "=" in head and isinstance(value, list):
        key, _, wanted = head.partition("=")
        found = [item for item in value if isinstance(item, dict) and str(item.get(key)) == wanted]
        if len(found) != 1:
            raise SourceError(f"{source!r}: {len(found)} items with {head!r}")
        yield from _walk(found[0], rest, source)
    elif re.fullmatch(r"-?\d*:-?\d*", head):
        if not isinstance(value, list):
            raise SourceError(f"{source!r}: slice {head!r} over a {type(value).__name__}")
        start, _, stop = head.partition(":")
        for item in value[slice(int(start) if start else None, int(stop) if stop else None)]:
            yield from _walk(item, rest, source)
    elif isinstance(value, dict) and head not in value and any("/" in str(key) for key in value):
        for n in range(2, len(parts) + 1):  # keys with a slash in them ("shared/4"), or a pattern of them
            joined = "/".join(parts[:n])
            keys = [key for key in value if fnmatch.fnmatchcase(str(key), joined)]
            if keys:
                for key in keys:
                    yield from _walk(value[key], parts[n:], source)
                return
        raise SourceError(f"{source!r}: no key {head!r} (keys: {', '.join(list(map(str, value))[:8])})")
    elif isinstance(value, dict):
        if head not in value:
            raise SourceError(f"{source!r}: no key {head!r} (keys: {', '.join(list(map(str, value))[:8])})")
        yield from _walk(value[head], rest, source)
    elif isinstance(value, list):
        try:
            item = value[int(head)]
        except (ValueError, IndexError):
            raise SourceError(f"{source!r}: no item {head!r} in a list of {len(value)}") from None
        yield from _walk(item, rest, source)
    else:
        raise SourceError(f"{source!r}: {head!r} under a {type(value).__name__}")
