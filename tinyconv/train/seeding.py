"""Seeds and devices."""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["seed_everything", "pick_device"]


def seed_everything(seed: int, *, deterministic: bool = False) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators (CPU and CUDA).

    Args:
        seed: The seed.
        deterministic: Also make cuDNN choose deterministic convolution algorithms
            (``cudnn.deterministic = True``, ``cudnn.benchmark = False``); slower on a
            GPU, no effect on the CPU.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def pick_device(name: str | None = None) -> torch.device:
    """Return the requested device, or CUDA when available and the CPU otherwise.

    Args:
        name: ``"cpu"``, ``"cuda"``, ``"cuda:1"``..., or ``None``/``"auto"`` to choose.

    Returns:
        The device.

    Raises:
        ValueError: If CUDA is requested but not available.
    """
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested, but CUDA is not available here")
    return device
