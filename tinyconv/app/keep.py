"""What makes a run folder self-contained: the trained program and a copy of the model's source.

A run folder keeps, besides its checkpoint and record,

- ``model.pt2``: :func:`torch.export`'s program of the trained model (the evaluated
  weights, batch size free), written when training ends by
  :func:`tinyconv.deploy.program.save_program`. It runs without the code that defined the
  network — a network built in a notebook included — and is read back without unpickling
  anything (:func:`~tinyconv.deploy.program.load_program`);
- ``source/<file>.py``: a copy of the Python file the model came from (a ``file.py:Net``
  or ``package.module:Net`` reference), with its SHA-256 in ``history.json``, so an edited
  or moved file no longer breaks the run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

from tinyconv._io import atomic_path, relative_if_under_cwd
from tinyconv.app.refs import ModelRef

__all__ = ["PROGRAM", "SOURCE_DIR", "keep_source", "sha256_of", "source_file", "relative_if_under_cwd"]

PROGRAM = "model.pt2"
"""The trained model's exported program, in the run folder."""

SOURCE_DIR = "source"
"""Where the run folder keeps a copy of the model's source file."""


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file, as hex.

    Args:
        path: The file.

    Returns:
        64 hex digits.
    """
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def source_file(ref: ModelRef | None) -> Path | None:
    """The Python file a reference builds its model from (``None`` for zoo names, specs and objects).

    Args:
        ref: The run's model reference.

    Returns:
        The file, when there is one and it exists.
    """
    if ref is None or ref.kind not in ("file", "import"):
        return None
    where = ref.target.rpartition(":")[0]
    if ref.kind == "file":
        path = Path(where)
        return path if path.is_file() else None
    try:
        spec = importlib.util.find_spec(where)
    except (ImportError, ValueError):
        return None
    origin = spec.origin if spec is not None else None
    return Path(origin) if origin and origin.endswith(".py") else None


def keep_source(ref: ModelRef | None, out_dir: Path) -> dict[str, Any] | None:
    """Copy the model's source file into the run folder and describe it for ``history.json``.

    Args:
        ref: The run's model reference.
        out_dir: The run folder.

    Returns:
        ``{"copy", "sha256", "path"}`` (``path``: where it was, relative to the current folder when
        under it), or ``None`` when the model has no source file.
    """
    path = source_file(ref)
    if path is None:
        return None
    copy = out_dir / SOURCE_DIR / path.name
    copy.parent.mkdir(exist_ok=True)
    with atomic_path(copy) as tmp:
        shutil.copyfile(path, tmp)
    return {"copy": f"{SOURCE_DIR}/{path.name}", "sha256": sha256_of(copy), "path": relative_if_under_cwd(path)}
