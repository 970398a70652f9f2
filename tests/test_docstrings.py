"""Every public name has a docstring (the API reference is generated from them)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import tinyconv

MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages(tinyconv.__path__, "tinyconv.") if not name.rsplit(".", 1)[-1].startswith("_")
)


@pytest.mark.parametrize("module_name", MODULES)
def test_public_names_have_docstrings(module_name):
    module = importlib.import_module(module_name)
    assert module.__doc__, f"{module_name} has no module docstring"
    assert hasattr(module, "__all__"), f"{module_name} has no __all__"
    missing = []
    for name in module.__all__:
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if not inspect.getdoc(obj):
            missing.append(name)
        if inspect.isclass(obj) and obj.__module__ == module_name:
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not (inspect.isfunction(member) or isinstance(member, property)):
                    continue
                if not (member.__doc__ or "").strip():
                    missing.append(f"{name}.{attr}")
    assert not missing, f"{module_name}: no docstring for {', '.join(missing)}"
