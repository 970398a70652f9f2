"""Every CPU speed-up and its switch, in one options object.

:class:`CpuOptions` has one boolean field per speed-up, all on by default. None of
them changes what is computed, only how fast (results differ at most by floating-point
rounding), so they live here and not in a :class:`~tinyconv.recipe.Recipe`.
:func:`apply` swaps a model's modules as the options ask; :func:`tune_process`
applies the process-wide ones. The command line offers one ``--FLAG`` per field to
switch it off, derived from the field's metadata, and the throughput benchmark measures
each field as a lever of its own.

Adding a speed-up: write its module under ``tinyconv/cpu/`` and add one field here with
``flag``, ``help`` and either ``swap`` (the ``"module:function"`` path of a function that
changes a model in place and returns how many modules it replaced) or ``process=True`` (applied by
:func:`tune_process`) — the CLI, :func:`~tinyconv.app.run.train_net` and
``benchmarks/throughput.py`` pick it up from the field.

Example:
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.1))
    >>> apply(model, CpuOptions(channels_last=False))
    {'fast_dropout': 1, 'split_bias': 1}
    >>> CpuOptions.off()
    CpuOptions(tune_malloc=False, fast_dropout=False, split_bias=False, channels_last=False, channels_last_eval=False)
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from tinyconv import _validate

if TYPE_CHECKING:  # PyTorch is imported when a model is changed, not to read the switches
    import torch
    from torch import nn

__all__ = ["CpuOptions", "apply", "tune_process", "switches"]


def _switch(flag: str, help: str, *, swap: str | None = None,
            process: bool = False, cpu_only: bool = True, eval_only: bool = False) -> Any:
    meta = {"flag": flag, "help": help, "swap": swap, "process": process, "cpu_only": cpu_only,
            "eval_only": eval_only}
    return field(default=True, metadata=meta)


@dataclass(frozen=True)
class CpuOptions:
    """Which CPU speed-ups a run uses (all on by default).

    Attributes:
        tune_malloc: Fix glibc malloc's mmap and trim thresholds so that activation
            buffers stay in the heap (:func:`~tinyconv.cpu.allocator.tune_malloc`);
            process-wide and not undoable.
        fast_dropout: Train with :class:`~tinyconv.cpu.fast_dropout.FastDropout` in place
            of every ``nn.Dropout``.
        split_bias: Train with :class:`~tinyconv.cpu.split_bias.SplitBiasConv2d` in place
            of every ``nn.Conv2d`` with a bias (CPU only).
        channels_last: Train in the ``channels_last`` memory format with batch norms that
            suit it (:func:`~tinyconv.cpu.channels_last.use_channels_last`; CPU only).
        channels_last_eval: Evaluate a ``channels_last`` copy of the model (CPU only).
    """

    tune_malloc: bool = _switch("--no-malloc-tuning", "keep glibc malloc's default thresholds", process=True)
    fast_dropout: bool = _switch("--torch-dropout", "train with torch's nn.Dropout instead of tinyconv's "
                                 "FastDropout", swap="tinyconv.cpu.fast_dropout:use_fast_dropout", cpu_only=False)
    split_bias: bool = _switch("--torch-conv", "train with torch's nn.Conv2d instead of tinyconv's "
                               "SplitBiasConv2d (CPU only)", swap="tinyconv.cpu.split_bias:use_split_bias")
    channels_last: bool = _switch("--contiguous", "train in the contiguous (NCHW) memory format instead of "
                                  "channels_last (CPU only)", swap="tinyconv.cpu.channels_last:use_channels_last")
    channels_last_eval: bool = _switch("--contiguous-eval", "evaluate the model as it is instead of a "
                                       "channels_last copy (CPU only)", eval_only=True)

    def __post_init__(self) -> None:
        for f in fields(self):
            if not isinstance(getattr(self, f.name), bool):
                raise ValueError(f"{f.name} must be True or False, got {getattr(self, f.name)!r}")

    @classmethod
    def off(cls) -> CpuOptions:
        """Every speed-up switched off: plain PyTorch.

        Returns:
            The options.
        """
        return cls(**{f.name: False for f in fields(cls)})

    def with_changes(self, **changes: bool) -> CpuOptions:
        """The same switches but the ones named, e.g. ``CpuOptions().with_changes(channels_last=False)``.

        Raises:
            TypeError: For a name that is not a switch (all such names are listed).
        """
        return _validate.replace_known(self, "CPU options", changes)

    def to_dict(self) -> dict[str, bool]:
        """The switches as a plain dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def evaluates_channels_last(self, device: torch.device | str) -> bool:
        """Whether evaluation on ``device`` runs a ``channels_last`` copy of the model."""
        return self.channels_last_eval and _on_cpu(device)


def _on_cpu(device: torch.device | str) -> bool:
    import torch

    return torch.device(device).type == "cpu"


def _resolve(path: str) -> Any:
    """``"package.module:function"`` → the function."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def switches() -> list[tuple[str, dict[str, Any]]]:
    """The speed-up fields with their metadata, in declaration order.

    Returns:
        ``[(field name, {"flag", "help", "swap", "process", "cpu_only", "eval_only"}), ...]``;
        ``swap`` is the ``"module:function"`` path of the function that changes a model.
    """
    return [(f.name, dict(f.metadata)) for f in fields(CpuOptions)]


def apply(model: nn.Module, options: CpuOptions | None = None, device: torch.device | str = "cpu") -> dict[str, int]:
    """Swap a model's modules for the speed-ups the options switch on.

    Args:
        model: The model, changed in place (parameters and state dict stay the same).
        options: The switches; ``None`` means the defaults (all on).
        device: Where the model trains: CPU-only speed-ups are skipped elsewhere.

    Returns:
        ``{field name: modules replaced}`` for every swap that ran.
    """
    options = options or CpuOptions()
    on_cpu = _on_cpu(device)
    done: dict[str, int] = {}
    for name, meta in switches():
        if meta["swap"] is not None and getattr(options, name) and (on_cpu or not meta["cpu_only"]):
            done[name] = _resolve(meta["swap"])(model)
    return done


def tune_process(options: CpuOptions | None = None, threads: int | None = None) -> dict[str, object]:
    """Apply the process-wide speed-ups and report what is in force.

    Args:
        options: The switches; ``None`` means the defaults.
        threads: Intra-op threads; ``None`` keeps PyTorch's choice.

    Returns:
        ``{"malloc_tuned": bool, "threads": int}``.
    """
    import torch

    from tinyconv.cpu.allocator import tune_cpu

    options = options or CpuOptions()
    if options.tune_malloc:
        return tune_cpu(threads)
    if threads is not None:
        torch.set_num_threads(threads)
    return {"malloc_tuned": False, "threads": torch.get_num_threads()}
