"""Where the user's own code is: the frame of a traceback (or a traced call) in their file.

An error raised inside a user's network (its import, ``__init__`` or ``forward``) is
reported at their line, not at tinyconv's or PyTorch's: :func:`user_frame` finds the
last frame of a traceback that lies in none of them, following the chain of causes
(tinyconv re-raises some errors with more words, ``from`` the original).
"""

from __future__ import annotations

import sysconfig
import traceback
from dataclasses import dataclass
from pathlib import Path

__all__ = ["UserFrame", "is_user_file", "user_frame"]

_OWN = str(Path(__file__).resolve().parent)
_INSTALLED = tuple(
    str(Path(p).resolve()) for key in ("stdlib", "platstdlib", "purelib", "platlib")
    if (p := sysconfig.get_paths().get(key))
)


@dataclass(frozen=True)
class UserFrame:
    """A line of the user's code in a traceback.

    Attributes:
        filename: The file as Python saw it.
        line: The line number.
        function: The function the line is in.
        exception: The exception (of the chain) whose traceback holds the frame.
    """

    filename: str
    line: int
    function: str
    exception: BaseException

    def where(self) -> str:
        """``mynet.py:12`` (relative to the current folder when under it)."""
        from tinyconv._io import relative_if_under_cwd

        return f"{relative_if_under_cwd(self.filename)}:{self.line}"


def is_user_file(filename: str) -> bool:
    """Whether ``filename`` is the user's: not tinyconv, not Python's or an installed package's, not generated.

    Args:
        filename: A frame's file name.

    Returns:
        ``True`` for a file of the user's.
    """
    if not filename or filename.startswith("<"):
        return False
    resolved = str(Path(filename).resolve())
    if resolved.startswith((_OWN + "/", *(p + "/" for p in _INSTALLED))):
        return False
    return "site-packages" not in resolved and "dist-packages" not in resolved


def user_frame(error: BaseException) -> UserFrame | None:
    """The last frame in the user's own files of the error's traceback, or of its causes'.

    The exception nearest the origin that has such a frame wins: for an error tinyconv
    re-raised ``from`` the user's, the user's own.

    Args:
        error: The exception.

    Returns:
        The frame, or ``None`` when no frame of the chain is the user's.
    """
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    for exception in reversed(chain):
        frames = [f for f in traceback.extract_tb(exception.__traceback__) if is_user_file(f.filename)]
        if frames:
            last = frames[-1]
            return UserFrame(last.filename, last.lineno or 0, last.name, exception)
    return None
