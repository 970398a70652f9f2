"""Swapping a model's submodules in place, shared by the training-time replacements."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

__all__ = ["replace_modules"]


def replace_modules(model: nn.Module, replacement: Callable[[nn.Module], nn.Module | None]) -> int:
    """Replace submodules of ``model`` in place.

    Args:
        model: The model.
        replacement: Called with every submodule; returns its replacement, or ``None``
            to keep it.

    Returns:
        How many submodules were replaced.
    """
    replaced = 0
    for parent in model.modules():
        for name, child in parent.named_children():
            new = replacement(child)
            if new is not None:
                setattr(parent, name, new)
                replaced += 1
    return replaced
