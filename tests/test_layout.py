"""The package's layout rules, checked on the source: short functions, one-way imports, no path hacks."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
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


LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("tinyconv", "tinyconv._validate", "tinyconv._io", "tinyconv._lazy", "tinyconv.names",
                    "tinyconv.machine")),
    ("definitions", ("tinyconv.nn", "tinyconv.budget", "tinyconv.exercise", "tinyconv.recipe")),
    ("tools", ("tinyconv.inspect", "tinyconv.data", "tinyconv.cpu")),
    ("catalogue", ("tinyconv.zoo",)),
    ("training", ("tinyconv.train",)),
    ("uses", ("tinyconv.deploy",)),
    ("application", ("tinyconv.app", "tinyconv.testing")),
    ("search", ("tinyconv.search",)),
    ("command line", ("tinyconv.cli", "tinyconv.__main__")),
]
"""The package's layers, lowest first: a module may import its own layer and the ones before it,
never one after it (lazy imports inside functions included, no exceptions)."""


SEPARATE: dict[str, tuple[str, ...]] = {"tinyconv.train": ("tinyconv.zoo",)}
"""Lower layers a layer must not import all the same: training takes objects, never names."""


def layer_of(module: str) -> int:
    """The index in :data:`LAYERS` of a ``tinyconv`` module (the longest matching prefix)."""
    best, found = -1, None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), index
    if found is None:
        raise AssertionError(f"{module} is in no layer of tests/test_layout.py: add it to LAYERS")
    return found


def module_name(path: Path) -> str:
    """``tinyconv/train/loop.py`` → ``tinyconv.train.loop``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, importer: str = "tinyconv.__init__") -> set[str]:
    """Every ``tinyconv`` module a source imports, anywhere in it (``from tinyconv import x`` as ``tinyconv.x``
    when ``x`` is a module or package; relative imports resolved against ``importer``, the file's dotted path,
    ``__init__`` included)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = importer.split(".")[: len(importer.split(".")) - node.level]
                base = ".".join(package + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                is_module = (ROOT / Path(*candidate.split("."))).is_dir() or \
                    (ROOT / Path(*candidate.split("."))).with_suffix(".py").is_file()
                found.add(candidate if is_module else base)
    return {name for name in found if name == "tinyconv" or name.startswith("tinyconv.")}


def upward_imports(folder: Path = PACKAGE) -> list[str]:
    """``"importer (layer) imports imported (layer)"`` for every import of a later layer."""
    bad = []
    for path in sorted(folder.rglob("*.py")):
        importer = module_name(path)
        own = layer_of(importer)
        dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for imported in sorted(imports_of(path.read_text(encoding="utf-8"), dotted)):
            if layer_of(imported) > own:
                bad.append(f"{importer} ({LAYERS[own][0]}) imports {imported} ({LAYERS[layer_of(imported)][0]})")
            bad += [f"{importer} imports {imported}, which {owner} must not"
                    for owner, banned in SEPARATE.items() if _within(importer, owner)
                    for ban in banned if _within(imported, ban)]
    return bad


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_every_import_goes_down_the_layers():
    bad = upward_imports()
    assert not bad, "upward imports: " + "; ".join(bad)


def test_an_upward_import_is_caught_even_inside_a_function():
    source = "def f():\n    from tinyconv.app.run import train_net\n    return train_net\n"
    assert imports_of(source) == {"tinyconv.app.run"}
    assert layer_of("tinyconv.app.run") > layer_of("tinyconv.train.loop")
    assert layer_of("tinyconv.train") > layer_of("tinyconv.zoo.registry")
    assert imports_of("from tinyconv import _validate, __version__\n") == {"tinyconv._validate", "tinyconv"}
    assert imports_of("from ..zoo import registry\n", "tinyconv.train.loop") == {"tinyconv.zoo.registry"}
    assert imports_of("from .loop import run_epochs\n", "tinyconv.train.__init__") == {"tinyconv.train.loop"}


def test_every_module_of_the_package_has_a_layer():
    for path in PACKAGE.rglob("*.py"):
        layer_of(module_name(path))


def test_importing_training_does_not_load_the_zoo_or_the_application():
    code = "import sys, tinyconv.train; print(sorted(m for m in sys.modules if m.startswith(('tinyconv.zoo', 'tinyconv.app'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_importing_tinyconv_leaves_the_import_system_alone():
    code = "import sys; before = list(sys.meta_path); import tinyconv; print(sys.meta_path == before)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "True"


def test_the_loop_takes_at_most_eight_parameters():
    from tinyconv.train.loop import run_epochs

    assert len(inspect.signature(run_epochs).parameters) <= 8


def test_there_is_one_trainer_one_constructor_and_one_data_entry():
    import tinyconv
    import tinyconv.data
    import tinyconv.train
    import tinyconv.train.run
    import tinyconv.zoo

    assert tinyconv.train_net.__module__ == "tinyconv.app.run"
    trainers = [name for module in (tinyconv.train, tinyconv.train.run, tinyconv.data, tinyconv.zoo)
                for name in module.__all__ if name.startswith(("train", "fit")) and name != "training_loss"]
    assert trainers == ["train_epoch"], trainers  # a loop's building block, not a trainer
    for gone in ("fit", "train_model", "recipe_loaders"):
        assert not hasattr(tinyconv.train, gone) and not hasattr(tinyconv.train.run, gone), gone
    loaders = [name for module in (tinyconv.data, tinyconv.train.run) for name in module.__all__ if "loaders" in name]
    assert loaders == ["make_loaders"], loaders
    assert "resolve_model" not in tinyconv.app.__all__ and "load_weights" not in tinyconv.zoo.__all__


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


USER_CODE_LOADER = PACKAGE / "app" / "refs.py"
"""The one module that touches ``sys.path``: it puts the *user's* folder on the import path while
their ``mynet.py:Net`` or ``mypkg.models:Net`` loads, as ``python -m`` does; tinyconv's own imports never
rely on it."""


def test_no_sys_path_manipulation_in_the_package_or_the_benchmarks():
    for folder in (PACKAGE, ROOT / "benchmarks"):
        for path in folder.rglob("*.py"):
            if path != USER_CODE_LOADER:
                assert "sys.path" not in path.read_text(encoding="utf-8"), path


def test_loading_user_code_leaves_the_import_path_as_it_was(tmp_path, monkeypatch):
    from tinyconv.app.refs import parse_model_ref

    (tmp_path / "netfile.py").write_text("from torch import nn\nNet = nn.Linear(2, 2)\n")
    monkeypatch.chdir(tmp_path)
    before = list(sys.path)
    parse_model_ref("netfile.py:Net").build()
    parse_model_ref("netfile:Net").build()
    assert sys.path == before


def test_benchmarks_use_the_public_api_only():
    for path in (ROOT / "benchmarks").glob("*.py"):  # the scripts; lab/ is their tooling, as tests/ is
        private = {m for m in _imports(path) if m.startswith("tinyconv") and any(p.startswith("_") for p in m.split("."))}
        assert not private, f"{path.relative_to(ROOT)} imports private modules {sorted(private)}"


def test_the_old_speed_up_modules_and_the_compatibility_shims_are_gone():
    for old in ("fast_dropout.py", "split_bias.py", "channels_last.py", "perf.py", "zoo/budget.py", "_compat.py",
                "results", "train/recipe.py"):
        assert not (PACKAGE / old).exists(), old


def test_the_version_is_the_changelogs_newest():
    import re

    import tinyconv

    newest = re.search(r"^## (\d+\.\d+\.\d+)", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M).group(1)
    assert tinyconv.__version__.split(".dev")[0] == newest
