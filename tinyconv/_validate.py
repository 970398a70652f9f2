"""Argument checks shared by every constructor, so messages read the same everywhere.

Each helper names the offending argument and repeats the bad value, raising
``TypeError`` for a value of the wrong type and ``ValueError`` for a value of the
right type that is out of range.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["positive_int", "non_negative_int", "choice", "probability", "flag"]


def _is_int(value: Any) -> bool:
    # bool is an int subclass, but True channels is always a mistake.
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int ≥ 1.

    Args:
        name: The argument's name, used in the error message.
        value: The value to check.

    Returns:
        The value unchanged.

    Raises:
        TypeError: If ``value`` is not an int.
        ValueError: If ``value`` is less than 1.
    """
    if not _is_int(value):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def non_negative_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int ≥ 0.

    Args:
        name: The argument's name, used in the error message.
        value: The value to check.

    Returns:
        The value unchanged.

    Raises:
        TypeError: If ``value`` is not an int.
        ValueError: If ``value`` is negative.
    """
    if not _is_int(value):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value


def choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``.

    Args:
        name: The argument's name, used in the error message.
        value: The value to check.
        choices: The accepted values.

    Returns:
        The value unchanged.

    Raises:
        ValueError: If ``value`` is not among ``choices``.
    """
    options = tuple(choices)
    if value not in options:
        listed = ", ".join(repr(option) for option in options)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}")
    return value


def probability(name: str, value: Any) -> float:
    """Return ``value`` as a float if it lies in ``[0, 1)``.

    Args:
        name: The argument's name, used in the error message.
        value: The value to check.

    Returns:
        The value as a float.

    Raises:
        TypeError: If ``value`` is not a real number.
        ValueError: If ``value`` is outside ``[0, 1)``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a float in [0, 1), got {value!r} ({type(value).__name__})")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return float(value)


def flag(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool.

    Args:
        name: The argument's name, used in the error message.
        value: The value to check.

    Returns:
        The value unchanged.

    Raises:
        TypeError: If ``value`` is not a bool.
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return value


def replace_known(obj: Any, what: str, changes: dict[str, Any]) -> Any:
    """A copy of a frozen dataclass with some fields replaced, refusing unknown names.

    Args:
        obj: The dataclass instance.
        what: How the error names the fields, e.g. ``"recipe settings"``.
        changes: Field names and new values.

    Returns:
        The copy (validated again by its ``__post_init__``).

    Raises:
        TypeError: For names that are not fields, all listed.
    """
    import dataclasses

    unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(obj)})
    if unknown:
        raise TypeError(f"unknown {what}: {', '.join(unknown)}")
    return dataclasses.replace(obj, **changes)
