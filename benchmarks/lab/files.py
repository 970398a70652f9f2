"""Writing and reading results files: JSON with the command and the machine, Markdown beside it.

Every benchmark writes its raw results through :func:`write_results`, so that each file
says how it was made (``command``) and where (``machine``), and both the JSON and its
Markdown table are replaced atomically: an interrupted run never leaves half a file.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tinyconv._io import atomic_write_bytes, atomic_write_json
from tinyconv.machine import machine_info

__all__ = ["RESULTS_DIR", "command_line", "write_results", "read_results", "add_runs", "rewrite_markdown"]

RESULTS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
"""Where a source checkout keeps its committed results (absent from an installed wheel)."""


def command_line(script: str | os.PathLike[str], argv: Sequence[str] | None = None) -> str:
    """The command that reproduces a run, as one would type it from the repository root.

    Args:
        script: The script's path (``__file__``).
        argv: Its arguments; ``None`` means ``sys.argv[1:]``.

    Returns:
        E.g. ``"python benchmarks/final_recipes.py --model tc8k"``.
    """
    path = Path(script).resolve()
    try:
        shown = path.relative_to(RESULTS_DIR.parents[1])
    except ValueError:
        shown = Path(path.name)
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["python", str(shown), *map(shlex.quote, args)])


def write_results(
    path: str | os.PathLike[str],
    data: dict[str, Any],
    *,
    command: str,
    markdown: Callable[[dict[str, Any]], str] | None = None,
) -> dict[str, Any]:
    """Write a results JSON (and its Markdown table) atomically, with command and machine.

    Args:
        path: The ``.json`` file.
        data: The results; ``command`` and ``machine`` are added (an existing
            ``machine`` is kept, e.g. when resuming on the machine that began the run).
        command: The command that produced them (see :func:`command_line`).
        markdown: Renders ``data`` as Markdown, written beside as ``.md``; ``None`` for none.

    Returns:
        The data as written.
    """
    data = {"command": command, "machine": data.get("machine") or machine_info(),
            **{k: v for k, v in data.items() if k not in ("command", "machine")}}
    atomic_write_json(path, data)
    if markdown is not None:
        atomic_write_bytes(Path(path).with_suffix(".md"), markdown(data).encode("utf-8"))
    return data


def read_results(name: str | os.PathLike[str], folder: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """Read a results file, or ``None`` if it is not there.

    Args:
        name: File name (or path) of the JSON.
        folder: Where to look; ``None`` means :data:`RESULTS_DIR`.

    Returns:
        The parsed JSON, or ``None``.
    """
    path = Path(folder or RESULTS_DIR) / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _settings(data: dict[str, Any]) -> dict[str, Any]:
    """What must agree between processes adding runs to one file: all but the runs and who ran them.

    A recipe is compared as a :class:`~tinyconv.recipe.Recipe`, so a setting added to recipes
    after the file was written (at its default) does not make the same recipe look different.
    """
    settings = {k: v for k, v in data.items() if k not in ("runs", "command", "commands", "machine")}
    if isinstance(settings.get("recipe"), dict):
        settings["recipe"] = read_recipe(settings["recipe"])
    return settings


OLD_SPEED_SWITCHES = ("fast_dropout", "split_bias", "channels_last")
"""Recipe fields of files written before the speed switches moved to ``CpuOptions`` (dropped when read)."""


def read_recipe(data: dict[str, Any]) -> Any:
    """The :class:`~tinyconv.recipe.Recipe` a results file records, also one written with the old speed switches.

    Args:
        data: The file's recipe settings.

    Returns:
        The recipe.
    """
    from tinyconv.recipe import Recipe

    return Recipe.from_dict({k: v for k, v in data.items() if k not in OLD_SPEED_SWITCHES})


def add_runs(
    path: str | os.PathLike[str],
    data: dict[str, Any],
    *,
    command: str,
    markdown: Callable[[dict[str, Any]], str] | None = None,
) -> dict[str, Any]:
    """Write results whose ``runs`` (by seed) may come from several processes at once.

    Under a file lock, the runs already in the file (written by another process with the
    same settings) are kept beside this process's, and every command that added runs is
    listed in ``commands``; then the file is written with :func:`write_results`.

    Args:
        path: The ``.json`` file.
        data: The results with a ``runs`` dict; everything but ``runs`` must equal what
            the file holds, if it exists.
        command: This process's command.
        markdown: As for :func:`write_results`.

    Returns:
        The data as written.

    Raises:
        ValueError: If the file holds results made with other settings.
    """
    from tinyconv._io import file_lock

    with file_lock(str(path) + ".lock"):
        previous = read_results(Path(path).name, Path(path).parent)
        commands = [command]
        if previous is not None:
            mine, theirs = _settings(data), _settings(previous)
            if mine != theirs:
                raise ValueError(f"{path} holds results made with other settings; write elsewhere (--out)")
            commands = list(dict.fromkeys([*previous.get("commands", [previous["command"]]), command]))
            data = {**data, "runs": {**previous["runs"], **data["runs"]}, "machine": previous["machine"]}
        return write_results(path, {**data, "commands": commands}, command=command, markdown=markdown)


def rewrite_markdown(path: str | os.PathLike[str], markdown: Callable[[dict[str, Any]], str],
                     settings: dict[str, Any] | None = None) -> None:
    """Render a results file's Markdown again from its JSON (after the renderer changed).

    Args:
        path: The ``.json`` file.
        markdown: The renderer.
        settings: Top-level keys to set in the JSON first (how its runs are read, e.g. the
            reference of a paired comparison; never the runs themselves).

    Raises:
        FileNotFoundError: If there is no such file.
        ValueError: If ``settings`` would replace the runs.
    """
    data = read_results(Path(path).name, Path(path).parent)
    if data is None:
        raise FileNotFoundError(f"no results file at {path}")
    if settings:
        if "runs" in settings:
            raise ValueError("rewrite_markdown sets how runs are read, not the runs")
        data = {**data, **settings}
        atomic_write_json(Path(path), data)
    atomic_write_bytes(Path(path).with_suffix(".md"), markdown(data).encode("utf-8"))
