"""Model references: one way to name a network everywhere, from Python and the command line.

A reference is one of

- a zoo name: ``st8k``;
- an import path: ``mypkg.models:Net`` (the current folder is on the import path, as
  with ``python -m``);
- a file and an attribute in it: ``path/to/mynet.py:Net``;
- a spec file written by ``tinyconv search --export``: ``mine.json``.

The attribute may be an ``nn.Module`` instance, a module class or a function; classes and
functions are called with the reference's keyword arguments (none by default). A
:class:`ModelRef` is stored in every checkpoint tinyconv writes, so that a run can be
resumed, evaluated and exported without the Python session that made it.

Example:
    >>> ref = parse_model_ref("st8k")
    >>> ref.kind, ref.label
    ('zoo', 'st8k')
    >>> ModelRef.from_dict(ref.to_dict()) == ref
    True
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from torch import nn

from tinyconv._validate import article

from tinyconv.zoo import UnknownModelError, get_model, get_model_info
from tinyconv.zoo.spec import SpecError, StageNetSpec

__all__ = ["ModelRef", "ModelRefError", "parse_model_ref"]

HINT = "give a zoo name (tinyconv models), pkg.module:Attr, path/to/file.py:Attr or a spec .json"


class ModelRefError(ValueError):
    """A model reference names nothing that builds an ``nn.Module``; the message is one line with a hint."""


@dataclass(frozen=True)
class ModelRef:
    """How to rebuild a model: what kind of reference, its target, and keyword arguments.

    Attributes:
        kind: ``"zoo"``, ``"import"`` (``pkg.module:attr``), ``"file"`` (``file.py:attr``)
            or ``"spec"`` (a search spec file).
        target: The zoo name, import path, ``file.py:attr`` (the file's absolute path) or spec path.
        kwargs: Keyword arguments for the builder.

    Raises:
        ModelRefError: For an unknown ``kind``.
    """

    kind: Literal["zoo", "import", "file", "spec"]
    target: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in ("zoo", "import", "file", "spec"):
            raise ModelRefError(f"kind must be one of 'zoo', 'import', 'file', 'spec'; got {self.kind!r}")

    @property
    def label(self) -> str:
        """A short name for run folders and summaries: the zoo name, the attribute, or the spec's name."""
        if self.kind == "zoo":
            return self.target
        if self.kind == "spec":
            return Path(self.target).stem
        return self.target.rpartition(":")[2].rpartition(".")[2]

    def build(self) -> nn.Module:
        """Build the model.

        Returns:
            A new model (or, for an import path naming an instance, that instance).

        Raises:
            ModelRefError: If the reference does not resolve to an ``nn.Module``.
        """
        if self.kind == "zoo":
            return get_model(self.target, **self.kwargs)
        if self.kind == "spec":
            return _load_spec(self.target).build()
        return _call(_import_attribute(self), self)

    def to_dict(self) -> dict[str, Any]:
        """The reference as a checkpoint stores it.

        Returns:
            ``{"kind", "target", "kwargs"}``.
        """
        return {"kind": self.kind, "target": self.target, "kwargs": dict(self.kwargs)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelRef:
        """Read a reference written by :meth:`to_dict`.

        Args:
            data: ``{"kind", "target", "kwargs"}``.

        Returns:
            The reference.

        Raises:
            ModelRefError: If ``data`` is not a reference.
        """
        if not isinstance(data, dict) or not {"kind", "target"} <= set(data):
            raise ModelRefError(f"not a model reference: {data!r}")
        return cls(data["kind"], data["target"], dict(data.get("kwargs") or {}))


def parse_model_ref(text: str | os.PathLike[str], **kwargs: Any) -> ModelRef:
    """Read a reference as a user types it (see the module's list).

    Args:
        text: ``st8k``, ``pkg.module:Attr``, ``path/to/file.py:Attr`` or ``spec.json``.
        **kwargs: Keyword arguments for the builder.

    Returns:
        The reference (not built yet; file paths made absolute).

    Raises:
        ModelRefError: If ``text`` is none of the four forms, or names a file that does not exist.
    """
    text = os.fspath(text)
    if text.endswith(".json"):
        if not Path(text).is_file():
            raise ModelRefError(f"no spec file {text}; {HINT}")
        return ModelRef("spec", str(Path(text).resolve()), kwargs)
    if ":" in text:
        where, _, attribute = text.rpartition(":")
        if not where or not attribute:
            raise ModelRefError(f"{text!r} needs something on both sides of the colon; {HINT}")
        if where.endswith(".py"):
            if not Path(where).is_file():
                raise ModelRefError(f"no file {where} (in {Path.cwd()}); {HINT}")
            return ModelRef("file", f"{Path(where).resolve()}:{attribute}", kwargs)
        return ModelRef("import", text, kwargs)
    if text.endswith(".py"):
        if not Path(text).is_file():
            raise ModelRefError(f"no file {text} (in {Path.cwd()}); {HINT}")
        names = _defined_names(Path(text))
        example = next((n for n in names if n[:1].isupper()), names[0] if names else "Net")
        listed = f" (it defines {', '.join(names)})" if names else ""
        raise ModelRefError(f"{text} is a file: name the model in it after a colon, e.g. {text}:{example}{listed}")
    try:
        get_model_info(text)
    except UnknownModelError as error:
        raise ModelRefError(f"{error}; {HINT}") from None
    return ModelRef("zoo", text, kwargs)


def _defined_names(path: Path) -> list[str]:
    """The classes and functions a Python file defines at its top level (read, not run)."""
    import ast

    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    return [node.name for node in tree.body
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and not node.name.startswith("_")]


def _load_spec(path: str) -> StageNetSpec:
    try:
        return StageNetSpec.load(path)
    except (OSError, SpecError) as error:
        raise ModelRefError(f"{error}; {HINT}") from None


def _import_attribute(ref: ModelRef) -> Any:
    """The object an import path or a file reference names."""
    where, _, attribute = ref.target.rpartition(":")
    shown = where if ref.kind == "import" else Path(where).name
    try:
        module = _import_file(Path(where)) if ref.kind == "file" else _import_module(where)
    except ModuleNotFoundError as error:
        if error.name is None or not where.startswith(error.name):
            raise  # an import inside the user's module: their line says which
        raise ModelRefError(f"cannot import {where!r}: no module {error.name!r} (the current folder and the "
                            f"installed packages were searched); {HINT}") from None
    except SyntaxError as error:
        raise ModelRefError(f"cannot load {shown}: SyntaxError at line {error.lineno}: {error.msg}") from None
    obj: Any = module
    done: list[str] = []
    for part in attribute.split("."):
        if not hasattr(obj, part):
            owner = ".".join([shown, *done]) if done else shown
            raise ModelRefError(f"{owner} has no {part!r}{_suggest(part, obj)}") from None
        obj = getattr(obj, part)
        done.append(part)
    return obj


def _suggest(name: str, obj: Any) -> str:
    """``; did you mean 'Net'? It has: Net, helper`` from the public classes and functions ``obj`` holds."""
    import difflib
    import inspect

    names = sorted(n for n, v in vars(obj).items()
                   if not n.startswith("_") and (inspect.isclass(v) or inspect.isfunction(v) or isinstance(v, nn.Module))
                   and getattr(v, "__module__", getattr(obj, "__name__", None)) == getattr(obj, "__name__", None)) \
        if hasattr(obj, "__dict__") else []
    close = difflib.get_close_matches(name, names, n=1)
    text = f"; did you mean {close[0]!r}?" if close else ""
    return text + (f" It has: {', '.join(names)}" if names else "")


def _import_module(name: str) -> Any:
    """Import a module with the current folder on the import path, as ``python -m`` has it."""
    here = os.getcwd()
    added = here not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        return importlib.import_module(name)
    finally:
        if added:
            sys.path.remove(here)


def _import_file(path: Path) -> Any:
    """Import a Python file as a module of its own (its folder on the import path while it loads)."""
    path = path.resolve()  # one module per file and content: a relative path or an edited file is not a cache hit
    digest = hashlib.sha1(str(path).encode() + b"\0" + path.read_bytes()).hexdigest()[:12]
    name = f"tinyconv_user_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    finally:
        sys.path.remove(folder)
    return module


def _call(obj: Any, ref: ModelRef) -> nn.Module:
    """The model an attribute gives: itself if a module, else the result of calling it."""
    import inspect

    shown = ref.label
    if not isinstance(obj, nn.Module) and callable(obj):
        try:
            inspect.signature(obj).bind(**ref.kwargs)
        except TypeError as error:  # the call itself does not fit; an error inside the user's __init__ is theirs
            raise ModelRefError(f"{shown} cannot be called with {ref.kwargs or 'no arguments'} ({error}); name a "
                                "model, a module class or a function that builds one with no arguments") from None
        except ValueError:  # a builtin without a signature: call it and see
            pass
        obj = obj(**ref.kwargs)
    if not isinstance(obj, nn.Module):
        kind = type(obj).__name__
        raise ModelRefError(f"{shown} gave {article(kind)} {kind}, not a torch.nn.Module: name a model, a module "
                            "class or a function that returns one")
    return obj

