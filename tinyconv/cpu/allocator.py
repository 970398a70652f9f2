"""CPU performance settings for small-model training.

Tiny convolutional networks on a CPU are limited less by arithmetic than by memory
management and per-operation overhead. :func:`tune_cpu` applies the settings that
``benchmarks/throughput.py`` measured to help on such machines:

- **glibc malloc**: with its default *adaptive* mmap threshold, the allocator returns
  large activation buffers to the kernel after every step and faults them back in
  on the next, millions of page faults per epoch. Fixing the mmap threshold and the
  trim threshold (``mallopt``) keeps those buffers in the heap.
- **threads**: one intra-op thread per physical core (PyTorch's default) unless told
  otherwise.

Nothing here changes results: only where memory comes from and how many threads run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import torch

__all__ = ["tune_malloc", "untune_malloc", "tune_cpu", "GLIBC_DEFAULT_THRESHOLD"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_applied = False


def tune_malloc(mmap_threshold: int = 1 << 30, trim_threshold: int = 1 << 30) -> bool:
    """Fix glibc's mmap and trim thresholds so freed buffers stay in the heap.

    Safe to call more than once; a no-op (returning False) where glibc's ``mallopt`` is
    not available (macOS, Windows, musl).

    Args:
        mmap_threshold: Allocations at least this large use ``mmap``.
        trim_threshold: Free memory at the top of the heap kept before trimming.

    Returns:
        Whether the settings were applied.
    """
    global _applied
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = bool(mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))) and bool(
        mallopt(_M_TRIM_THRESHOLD, int(trim_threshold))
    )
    _applied = _applied or ok
    return ok


def tune_cpu(threads: int | None = None) -> dict[str, object]:
    """Apply the CPU settings that help small-model training, and report them.

    Args:
        threads: Intra-op threads; ``None`` keeps PyTorch's choice.

    Returns:
        What is in force: ``{"malloc_tuned": bool, "threads": int}``.
    """
    tuned = tune_malloc()
    if threads is not None:
        torch.set_num_threads(threads)
    return {"malloc_tuned": tuned or _applied, "threads": torch.get_num_threads()}


GLIBC_DEFAULT_THRESHOLD = 128 * 1024
"""glibc's documented starting value of both the mmap and the trim threshold (128 KiB)."""


def untune_malloc() -> bool:
    """Set glibc's mmap and trim thresholds back to their default values (128 KiB).

    glibc adjusts the mmap threshold by itself until a program sets it; once set, that
    adjustment stays off, so this restores the values, not the self-adjustment.

    Returns:
        Whether the settings were applied (False where ``mallopt`` is not available).
    """
    global _applied
    undone = tune_malloc(GLIBC_DEFAULT_THRESHOLD, GLIBC_DEFAULT_THRESHOLD)
    _applied = False
    return undone
