"""Which device a run uses."""

from __future__ import annotations

import torch

__all__ = ["pick_device"]


def pick_device(name: str | None = None) -> torch.device:
    """Return the requested device, or CUDA when available and the CPU otherwise.

    Args:
        name: ``"cpu"``, ``"cuda"``, ``"cuda:1"``..., or ``None``/``"auto"`` to choose.

    Returns:
        The device.

    Raises:
        ValueError: If the name is not a device, or CUDA is requested but not available.
    """
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}: expected cpu, cuda, cuda:N, mps or auto") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested, but CUDA is not available here")
    return device
