"""Swapping a model's submodules in place, shared by the training-time replacements."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

__all__ = ["Replaced", "replace_modules", "put_back"]


Replaced = list[tuple[nn.Module, str, nn.Module]]
"""``(parent, attribute name, the module that was there)`` for every replacement, in order."""


def replace_modules(model: nn.Module, replacement: Callable[[nn.Module], nn.Module | None],
                    record: Replaced | None = None) -> int:
    """Replace submodules of ``model`` in place.

    Args:
        model: The model.
        replacement: Called with every submodule; returns its replacement, or ``None``
            to keep it.
        record: A list to append ``(parent, name, original)`` to for every replacement,
            so that :func:`put_back` can undo them.

    Returns:
        How many submodules were replaced.
    """
    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            new = replacement(child)
            if new is not None:
                setattr(parent, name, new)
                replaced += 1
                if record is not None:
                    record.append((parent, name, child))
    return replaced


def put_back(record: Replaced) -> None:
    """Undo :func:`replace_modules`: every original module back in its place, last replacement first.

    The originals hold the very same parameter and buffer objects as their replacements
    (every tinyconv speed-up shares them), so they carry what was trained; each takes the
    training/evaluation mode its replacement had.

    Args:
        record: The list :func:`replace_modules` filled.
    """
    for parent, name, original in reversed(record):
        current = getattr(parent, name)
        setattr(parent, name, original)
        original.train(current.training)
    record.clear()
