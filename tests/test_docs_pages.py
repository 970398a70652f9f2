"""What a reader sees fits the page: the README's length and paragraphs, the gallery's code width.

The docs show code in a column about 88 characters wide at 1280 px (Furo); longer lines
scroll sideways, which the gallery's readers met on every example before these checks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def _paragraphs(markdown: str) -> list[list[str]]:
    """Runs of prose lines outside code fences, tables and lists, split at blank lines."""
    paragraphs, current, fenced = [], [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        prose = line.strip() and not fenced and not line.lstrip().startswith(("|", "- ", "#", "<!--", "!["))
        if prose:
            current.append(line)
        elif current:
            paragraphs.append(current)
            current = []
    return paragraphs + ([current] if current else [])


def test_the_readme_is_a_short_page_of_short_paragraphs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    longest = max(_paragraphs(text), key=len)
    assert len(longest) <= 6, longest


def test_the_paragraph_count_sees_a_long_paragraph():
    assert max(len(p) for p in _paragraphs("a\n" * 7 + "\nb\n")) == 7


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_gallery_code_fits_the_page(path):
    source = path.read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(source), clean=False) or ""
    body = source.split('"""', 2)[-1] if docstring else source  # the docstring renders as prose
    long = [line for line in body.splitlines() if len(line) > 88]
    assert not long, long


def test_the_pages_speak_of_the_project_only():
    """No working-session numbers or machine paths in what users read (date an entry or name the release)."""
    import re

    root = Path(__file__).resolve().parents[1]
    for path in [root / "README.md", root / "CHANGELOG.md", *sorted((root / "docs").glob("*.rst"))]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bsession[ -]\d+", text, re.I), path.name
        assert "/root/" not in text and "/work/" not in text, path.name
