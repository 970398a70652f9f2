"""The package's layout rules, checked on the source: short functions, one-way imports, no path hacks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tinyconv"
MAX_LINES = 60


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef, source: list[str]) -> int:
    """Lines of a function without its docstring, blank lines and comment-only lines."""
    skip: set[int] = set()
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        skip.update(range(first.lineno, first.end_lineno + 1))
    lines = range(node.lineno, node.end_lineno + 1)
    return sum(1 for n in lines if n not in skip and source[n - 1].strip() and not source[n - 1].strip().startswith("#"))


def function_lengths(folder: Path = PACKAGE) -> list[tuple[int, str]]:
    """``(code lines, "path:function")`` of every function in the package, longest first."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        source = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(source))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((_code_lines(node, source), f"{path.relative_to(ROOT)}:{node.name}"))
    return sorted(found, reverse=True)


def test_no_function_is_longer_than_60_lines_of_code():
    long = [f"{where} ({n} lines)" for n, where in function_lengths() if n > MAX_LINES]
    assert not long, "split these functions: " + ", ".join(long)


def test_the_length_count_skips_the_docstring_and_counts_the_code():
    source = 'def f():\n    """Doc.\n\n    More.\n    """\n    # note\n    a = 1\n\n    return a\n'
    node = ast.parse(source).body[0]
    assert _code_lines(node, source.splitlines()) == 3  # def line, assignment, return


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("part", ["nn", "inspect", "budget.py"])
def test_model_building_and_inspection_know_nothing_of_training_or_speed_ups(part):
    target = PACKAGE / part
    files = [target] if target.is_file() else sorted(target.rglob("*.py"))
    for path in files:
        bad = {m for m in _imports(path) if m.startswith(("tinyconv.cpu", "tinyconv.train", "tinyconv.search"))}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_no_sys_path_manipulation_in_the_package_or_the_benchmarks():
    for folder in (PACKAGE, ROOT / "benchmarks"):
        for path in folder.rglob("*.py"):
            assert "sys.path" not in path.read_text(encoding="utf-8"), path


def test_benchmarks_use_the_public_api_only():
    for path in (ROOT / "benchmarks").rglob("*.py"):
        private = {m for m in _imports(path) if m.startswith("tinyconv") and any(p.startswith("_") for p in m.split("."))}
        assert not private, f"{path.relative_to(ROOT)} imports private modules {sorted(private)}"


def test_the_old_speed_up_modules_are_gone():
    for old in ("fast_dropout.py", "split_bias.py", "channels_last.py", "perf.py", "zoo/budget.py"):
        assert not (PACKAGE / old).exists(), old
