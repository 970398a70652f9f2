"""Argument checks shared by every constructor, so messages read the same everywhere.

Each helper takes the argument's ``name`` (used in the message) and its ``value``,
returns the value when it passes, and otherwise names the offending argument and repeats
the bad value, raising ``TypeError`` for a value of the wrong type and ``ValueError``
for a value of the right type that is out of range.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["positive_int", "non_negative_int", "choice", "probability", "positive_fraction", "flag", "article",
           "explain_unknown_keywords"]


def _is_int(value: Any) -> bool:
    # bool is an int subclass, but True channels is always a mistake.
    return isinstance(value, int) and not isinstance(value, bool)


def _int_at_least(name: str, value: Any, low: int, words: str) -> int:
    if not _is_int(value):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if value < low:
        raise ValueError(f"{name} must be a {words} int, got {value!r}")
    return value


def positive_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int ≥ 1 (``TypeError`` for a non-int, ``ValueError`` below 1)."""
    return _int_at_least(name, value, 1, "positive")


def non_negative_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int ≥ 0: :func:`positive_int` with 0 allowed."""
    return _int_at_least(name, value, 0, "non-negative")


def choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices`` (``ValueError`` listing them otherwise)."""
    options = tuple(choices)
    if value not in options:
        listed = ", ".join(repr(option) for option in options)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}")
    return value


def probability(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a real number in ``[0, 1)``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a float in [0, 1), got {value!r} ({type(value).__name__})")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return float(value)


def positive_number(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a real number above 0 (``ValueError`` otherwise, naming it)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def positive_fraction(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a real number in ``(0, 1]`` (``TypeError`` for a non-number,
    ``ValueError`` out of range)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number in (0, 1], got {value!r} ({type(value).__name__})")
    if not 0 < value <= 1:
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")
    return float(value)


def flag(name: str, value: Any) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (``TypeError`` otherwise)."""
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

    import difflib

    known = [f.name for f in dataclasses.fields(obj)]
    unknown = sorted(set(changes) - set(known))
    if unknown:
        hints = [f"{name} (did you mean {close[0]}?)" if (close := difflib.get_close_matches(name, known, n=1))
                 else name for name in unknown]
        raise TypeError(f"unknown {what}: {', '.join(hints)}")
    return dataclasses.replace(obj, **changes)


def article(word: str) -> str:
    """``"an"`` before a vowel, else ``"a"``: ``f"{article(kind)} {kind}"`` reads "an int", "a tuple"."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def explain_unknown_keywords(related: Callable[[], Iterable[str]], label: str, how: str) -> Callable[[F], F]:
    """Decorate a function so an unknown keyword gets "did you mean", among its own and related names.

    Args:
        related: Names that belong elsewhere (e.g. the recipe's settings), looked up on error only.
        label: What a related name is: ``"recipe setting"``.
        how: How to pass a related name, with ``{name}`` in it: ``"recipe={{'{name}': ...}}"``.

    Returns:
        The decorator; the function's signature and docs are kept.
    """
    import functools
    import inspect

    def decorate(function: F) -> F:
        parameters = inspect.signature(function).parameters

        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            unknown = [key for key in kwargs if key not in parameters]
            if unknown:
                raise TypeError(_unknown_keyword(function.__name__, unknown[0], list(parameters), list(related()),
                                                 label, how))
            return function(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


def _unknown_keyword(function: str, name: str, own: list[str], related: list[str], label: str, how: str) -> str:
    import difflib

    text = f"{function}() has no argument {name!r}"
    close_own = difflib.get_close_matches(name, own, n=1)
    close_related = difflib.get_close_matches(name, related, n=1)
    if name in related:
        return f"{text}: {name} is a {label}; pass it as {how.format(name=name)}"
    if close_own:
        return f"{text}; did you mean {close_own[0]!r}?"
    if close_related:
        return f"{text}; did you mean the {label} {close_related[0]!r}? Pass it as {how.format(name=close_related[0])}"
    return f"{text}; it takes: {', '.join(own)}"
