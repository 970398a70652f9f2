"""Suggest a results source for every bare accuracy figure in a prose file (a maintainer's tool).

For each figure without a source, lists the fields and aggregates of the results files the
paragraph (or, failing that, its section) cites that round to it, the likeliest first. With
``--apply`` it writes the first suggestion in place, as the ``result`` role (reStructuredText)
or an HTML comment (Markdown): read the diff before committing it.

    python benchmarks/suggest_sources.py docs/research_log.rst
    python benchmarks/suggest_sources.py docs/research_log.rst --apply
"""

from __future__ import annotations

import argparse
import re
import statistics
from pathlib import Path

from lab.claims import ACCURACY, _find, _load, matches
from lab.files import RESULTS_DIR

CITED = re.compile(r"([\w.-]+\.json)")
SEED = re.compile(r"seeds?\s+(\d+)")


def leaves(value, path=()):
    """Every numeric leaf of a JSON value, with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, path + (str(key),))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, path + (index,))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path, float(value)


def _lengths(data, path):
    """The length of the list each integer segment of ``path`` indexes."""
    out, value = {}, data
    for i, part in enumerate(path):
        if isinstance(part, int):
            out[i] = len(value)
        value = value[part]
    return out


def _short(source: str) -> str:
    """A path under a run written with the ``final``/``last3``/``epochN`` names of :mod:`lab.claims`."""
    source = re.sub(r"history/epochs/-1/test_accuracy$", "final", source)
    source = re.sub(r"history/epochs/-3:/test_accuracy$", "last3", source)
    return re.sub(r"history/epochs/(\d+)/test_accuracy$", lambda m: f"epoch{int(m.group(1)) + 1}", source)


def candidates(data):
    """``{source path: value}`` for every leaf and for mean/min/max over its starred variants."""
    concrete, groups = {}, {}
    for path, value in leaves(data):
        lengths = _lengths(data, path)
        text = ["-1" if isinstance(p, int) and p == lengths[i] - 1 else str(p) for i, p in enumerate(path)]
        concrete["/".join(text)] = value
        variable = [i for i, p in enumerate(path) if isinstance(p, int) or str(p).isdigit() or str(p).startswith("seed")]
        for i in variable:
            for j in [None, *[k for k in variable if k > i]]:
                for star_i in (["*", "-3:"] if isinstance(path[i], int) else ["*"]):
                    parts = list(text)
                    parts[i] = star_i
                    if j is not None:
                        parts[j] = "*"
                    groups.setdefault("/".join(parts), []).append(value)
    out = {_short(k): v for k, v in concrete.items()}
    for pattern, values in groups.items():
        pattern = _short(pattern)
        if len(values) > 1:
            out["mean:" + pattern] = statistics.fmean(values)
            out["min:" + pattern] = min(values)
            out["max:" + pattern] = max(values)
    return out


def _rank(source: str, near: str, order: int) -> tuple:
    seeds = SEED.findall(near)
    score = order
    if re.search(r"(test_accuracy|final|last3|epoch\d+)$", source) and "raw_test" not in source:
        score -= 3
    if source.endswith(("final", "last3")):
        score -= 2
    if re.search(r"epoch1[345]$", source):
        score -= 1
    if seeds and re.search(rf"/(seed)?{seeds[-1]}/", source):
        score -= 3
    aggregate = source.split(":")[0] if re.match(r"[a-z]+:", source) else ""
    if aggregate == "mean" and re.search(r"mean|average", near[-60:]):
        score -= 6
    if aggregate in ("min", "max") and re.search(r"between|worst|lowest|highest|best|above|from", near[-60:]):
        score -= 5
    if aggregate and not re.search(r"mean|average|between|worst|lowest|highest|best|above|below", near[-60:]):
        score += 4
    return (score, len(source))


def ALL_CITED(text: str) -> list[str]:  # noqa: N802 - read as a constant of the text
    """Every results file the text cites, the final runs first."""
    return sorted(dict.fromkeys(CITED.findall(text)), key=lambda n: (not n.startswith("final"), n))


def suggest(text: str) -> list[tuple[re.Match, list[str]]]:
    """For each bare figure of ``text``: its match and the suggested sources, likeliest first."""
    out = []
    paragraphs = [(m.start(), m.end()) for m in re.finditer(r"(?s).+?(?:\n\s*\n|\Z)", text)]
    tagged = [m.span() for m in re.finditer(r":result:`[^`]+`|\d+(?:\.\d+)?<!--[^>]*-->", text)]
    for match in ACCURACY.finditer(text):
        if any(a <= match.start() < b for a, b in tagged):
            continue
        start, end = next((a, b) for a, b in paragraphs if a <= match.start() < b)
        files = CITED.findall(text[start:end])
        back = start
        while not files and back > 0:
            back = text.rfind("\n\n", 0, back - 1)
            files = CITED.findall(text[max(back, 0):start])
            if re.search(r"\n[=\-~^]{4,}\n", text[max(back, 0):start]):
                break
        near = text[max(start, match.start() - 120): match.end()]
        found = []
        before = CITED.findall(text[start:match.start()])
        files = list(dict.fromkeys([*reversed(before), *files, *ALL_CITED(text)]))
        for order, name in enumerate(files):
            try:
                data = _load(_find(name, Path(RESULTS_DIR)))
            except Exception:  # noqa: BLE001 - a cited file that is not a results file
                continue
            for source, value in candidates(data).items():
                if matches(match.group(), value):
                    found.append((_rank(source, near, order), f"{name}#{source}"))
        out.append((match, [source for _, source in sorted(found)]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--apply", action="store_true", help="write the first suggestion for each figure")
    args = parser.parse_args()
    text = args.file.read_text(encoding="utf-8")
    markdown = args.file.suffix == ".md"
    edits = []
    for match, found in suggest(text):
        line = text.count("\n", 0, match.start()) + 1
        print(f"{args.file.name}:{line} {match.group()}: {found[0] if found else 'NO SOURCE FOUND'}"
              + (f"  (+{len(found) - 1} more)" if len(found) > 1 else ""))
        if found:
            edits.append((match, found[0]))
    if args.apply:
        for match, source in reversed(edits):
            figure = match.group()
            tagged = f"{figure}<!-- {source} -->" if markdown else f":result:`{figure} <{source}>`"
            text = text[: match.start()] + tagged + text[match.end():]
        args.file.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
