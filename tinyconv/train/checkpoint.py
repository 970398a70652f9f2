"""Checkpoints: everything needed to continue a run, written atomically, loaded safely.

A checkpoint holds the model, optimizer and scheduler states, the completed epoch,
the history, and the random-number states (PyTorch's global generator and the
training batches' generator), so that a resumed run continues exactly as an
uninterrupted one would on the CPU. It contains only tensors and plain Python
values and is loaded with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tinyconv._io import atomic_path

__all__ = ["CheckpointMismatchError", "save_checkpoint", "load_checkpoint", "check_state_matches"]

FORMAT = 1


class CheckpointMismatchError(ValueError):
    """A checkpoint's weights do not fit the model they are loaded into."""


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Save a checkpoint dict atomically (temporary file, then rename).

    Args:
        path: Destination file.
        state: Tensors and plain values only.
    """
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` (no arbitrary code runs).

    Args:
        path: The checkpoint file.
        map_location: Where to put the tensors.

    Returns:
        The checkpoint dict.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file is not a tinyconv checkpoint.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no checkpoint at {file}")
    try:
        state = torch.load(file, map_location=map_location, weights_only=True)
    except Exception as error:  # truncated, garbage, or a pickle that is not weights only
        raise ValueError(f"{file} is not a tinyconv checkpoint or is damaged "
                         f"({type(error).__name__})") from error
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{file} is not a tinyconv checkpoint (format {FORMAT})")
    return state


def check_state_matches(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> None:
    """Check that a state dict has exactly the model's keys and shapes.

    Args:
        model: The model to load into.
        state_dict: The saved weights.

    Raises:
        CheckpointMismatchError: Naming missing, unexpected and mis-shaped entries.
    """
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    shapes = [
        f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state_dict and tuple(own[k].shape) != tuple(state_dict[k].shape)
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:5])}{' ...' if len(unexpected) > 5 else ''}")
        if shapes:
            parts.append("shape mismatch " + "; ".join(shapes[:5]))
        raise CheckpointMismatchError(
            "the checkpoint was saved from a different architecture: " + " | ".join(parts)
        )
