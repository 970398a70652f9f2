"""Random seeds: one call seeds every generator a run uses."""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["seed_everything"]


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
