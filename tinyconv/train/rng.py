"""Random seeds: one call seeds every generator a run uses."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import torch

__all__ = ["seed_everything", "restored_rng"]


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


@contextlib.contextmanager
def restored_rng() -> Iterator[None]:
    """Put Python's, NumPy's and PyTorch's global generators (CPU and initialised CUDA devices) back afterwards.

    What a run seeds inside stays inside: the caller's random stream goes on as if the
    run had not happened.

    Example:
        >>> import torch
        >>> before = torch.get_rng_state()
        >>> with restored_rng():
        ...     seed_everything(123)
        ...     _ = torch.rand(3)
        >>> torch.equal(torch.get_rng_state(), before)
        True
    """
    python, numpy_state, cpu = random.getstate(), np.random.get_state(), torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    try:
        yield
    finally:
        random.setstate(python)
        np.random.set_state(numpy_state)
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)
