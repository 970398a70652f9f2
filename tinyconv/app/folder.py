"""A run folder with one writer: locked for the whole run, removed again when a run it made is refused.

A run folder is what a user keeps, so two trainings must never share one: :func:`locked`
holds an OS lock (``fcntl.flock`` on ``.lock`` in the folder) for the whole run. The lock
dies with the process — a run killed with SIGKILL leaves no stale lock — and a second
writer is refused at once, naming the folder and the process that holds it. A folder the
run created is removed again if the run is refused before its first epoch is saved.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = ["RunFolderBusyError", "RunInterrupted", "locked", "remove_unused", "interrupted"]

LOCK_FILE = ".lock"
"""The lock file inside a run folder (it holds the writer's process id)."""


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C (or SIGTERM at the command line); the message says what its folder kept."""


def interrupted(folder: Path, epochs: int) -> RunInterrupted:
    """The one line an interrupted run ends with: what was saved, and how to go on.

    Args:
        folder: The run folder.
        epochs: The epochs the run was to train.

    Returns:
        The exception to raise.
    """
    import json

    try:
        done = len(json.loads((folder / "history.json").read_text(encoding="utf-8"))["epochs"])
    except (OSError, ValueError, KeyError):
        done = 0
    if done == 0:
        return RunInterrupted(f"nothing was saved (no epoch had ended) in {folder}")
    return RunInterrupted(f"epoch {done} of {epochs} saved in {folder}; continue it with resume=True (--resume)")


class RunFolderBusyError(ValueError):
    """Another training is writing into the run folder; the message names it and the holding process."""


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="utf-8").strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid else "another process"


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[bool]:
    """Hold the run folder's lock for a run; create the folder if it is not there.

    Args:
        folder: The run folder.

    Yields:
        Whether this run created the folder.

    Raises:
        RunFolderBusyError: If another process holds the lock (nothing is touched).
        ValueError: If the folder is a file or cannot be written.
    """
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"run folder {folder} is a file")
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run
    except OSError as error:
        raise ValueError(f"cannot write to the run folder {folder}: {error.strerror or error}") from None
    try:
        _lock(handle, folder)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield created
    finally:
        handle.close()  # closing releases the lock


def _lock(handle, folder: Path) -> None:
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock (documented)
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(folder / LOCK_FILE)
        handle.close()
        raise RunFolderBusyError(f"{folder} is being written by {holder}, another training: wait for it to end, "
                                 "or train into another folder") from None


def remove_unused(folder: Path, created: bool) -> None:
    """Remove a folder this run created when nothing of a run was saved in it (a refused run).

    Args:
        folder: The run folder.
        created: Whether this run created it.
    """
    if created and not (folder / "checkpoint.pt").exists():
        shutil.rmtree(folder, ignore_errors=True)
