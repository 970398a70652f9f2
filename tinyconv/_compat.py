"""Old import paths that still work for one release, with a DeprecationWarning.

The package's layout changed (speed-ups under :mod:`tinyconv.cpu`, blocks under
:mod:`tinyconv.nn`, inspection under :mod:`tinyconv.inspect`...). Importing an old
module path gives a module that forwards every name to the new home and warns once,
saying where the name lives now. All old paths are listed in :data:`MOVED`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

__all__ = ["MOVED", "install"]

MOVED: dict[str, tuple[str, ...]] = {
    "tinyconv.blocks": ("tinyconv.nn.blocks",),
    "tinyconv.net": ("tinyconv.nn.net",),
    "tinyconv.summary": ("tinyconv.inspect.summary",),
    "tinyconv.receptive_field": ("tinyconv.inspect.receptive_field",),
    "tinyconv.fast_dropout": ("tinyconv.cpu.fast_dropout",),
    "tinyconv.split_bias": ("tinyconv.cpu.split_bias",),
    "tinyconv.channels_last": ("tinyconv.cpu.channels_last",),
    "tinyconv.perf": ("tinyconv.cpu.allocator",),
    "tinyconv._modules": ("tinyconv.cpu.swap",),
    "tinyconv._machine": ("tinyconv.results.machine",),
    "tinyconv.zoo.seed": ("tinyconv.zoo.reference",),
    "tinyconv.zoo.budget": ("tinyconv.zoo.funnel",),
    "tinyconv.train.seeding": ("tinyconv.train.rng", "tinyconv.train.device"),
}
"""Old module path → the modules its names live in now."""


class _MovedModule(types.ModuleType):
    """A stand-in for a moved module: attribute lookups go to the new modules."""

    def __init__(self, name: str, targets: tuple[str, ...]) -> None:
        super().__init__(name, f"Deprecated alias of {', '.join(targets)}.")
        self.__targets = targets

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        for target in self.__targets:
            module = importlib.import_module(target)
            if hasattr(module, attribute):
                return getattr(module, attribute)
        raise AttributeError(f"module {self.__name__!r} (now {', '.join(self.__targets)}) has no attribute "
                             f"{attribute!r}")

    def __dir__(self) -> list[str]:
        names: set[str] = set()
        for target in self.__targets:
            names.update(getattr(importlib.import_module(target), "__all__", ()))
        return sorted(names)

    @property
    def __all__(self) -> list[str]:  # type: ignore[override]
        return self.__dir__()


class _CallableMovedModule(_MovedModule):
    """An old module path whose name is also a function at the top of the package.

    ``tinyconv.summary`` was a module and is now the function :func:`tinyconv.summary`;
    the alias stays callable so that both ``from tinyconv import summary; summary(model)``
    and ``from tinyconv.summary import summary`` work, whichever ran first.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, self.__name__.rsplit(".", 1)[-1])(*args, **kwargs)


_CALLABLE = {"tinyconv.summary"}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the old module paths of :data:`MOVED`."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        targets = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} moved to {' and '.join(targets)}; the old path will be removed in the next release",
            DeprecationWarning,
            stacklevel=3,
        )
        return (_CallableMovedModule if spec.name in _CALLABLE else _MovedModule)(spec.name, targets)

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def install() -> None:
    """Put the finder of old paths on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
