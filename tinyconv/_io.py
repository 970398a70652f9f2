"""File helpers: atomic writes and an inter-process lock.

Every file tinyconv writes (dataset files, checkpoints, histories, plots) goes
through :func:`atomic_path`, so an interruption leaves either the old file or the
complete new one, never a partial file that a later run would trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_json", "file_lock", "file_digest", "relative_if_under_cwd"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it over ``path``.

    The temporary file lives in the same folder (so the rename is atomic) and is
    removed if the block raises.

    Args:
        path: The final path. Its folder is created if missing.

    Yields:
        The temporary path to write to.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a plain open would honour the umask
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    """The process's umask (reading it means setting it; it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically.

    Args:
        path: The destination.
        data: The bytes to write.
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically.

    Args:
        path: The destination.
        obj: A JSON-serialisable object.
    """
    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if missing) for the block.

    Two processes that fetch into the same folder take turns instead of interleaving.
    On platforms without ``fcntl`` the lock is a no-op (the writes stay atomic).

    Args:
        path: The lock file.

    Yields:
        Nothing; the lock is held until the block ends.
    """
    lock = Path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(lock, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def file_digest(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """Return the hex digest of a file, read in chunks.

    Args:
        path: The file.
        algorithm: A :mod:`hashlib` name: ``"sha256"`` or ``"md5"`` (the MNIST files' published sums).

    Returns:
        The hex digest.
    """
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def relative_if_under_cwd(path: str | os.PathLike[str]) -> str:
    """``path`` relative to the current folder when it lies under it, else absolute.

    Args:
        path: A file path.

    Returns:
        The path as text.
    """
    absolute = Path(path).resolve()
    try:
        return str(absolute.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(absolute)
