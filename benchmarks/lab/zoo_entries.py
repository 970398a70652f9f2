"""Adding a searched network to the zoo's ``searched.json`` (the lab's step after a search).

The zoo registers every entry of that file on import; ``benchmarks/tests/test_searched.py``
holds each entry to the study it came from.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tinyconv._io import atomic_write_bytes
from tinyconv.zoo.searched import SPECS_FILE, searched_entry

__all__ = ["add_searched_entry"]


def add_searched_entry(spec: dict[str, Any], description: str,
                       path: str | os.PathLike[str] = SPECS_FILE) -> dict[str, Any]:
    """Write an exported spec into ``searched.json`` (atomically), replacing an entry of its name.

    The zoo registers it on the next import; the tests hold it to the study it came from.

    Args:
        spec: A spec written by ``tinyconv search --export``.
        description: One line for ``tinyconv models``.
        path: The file (default: the zoo's own).

    Returns:
        The new entry (see :func:`searched_entry`).

    Raises:
        ValueError: As :func:`searched_entry`.
    """
    path = Path(path)
    entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    entries[spec["name"]] = new = searched_entry(spec, description)
    atomic_write_bytes(path, (json.dumps(dict(sorted(entries.items())), indent=1) + "\n").encode())
    return new
