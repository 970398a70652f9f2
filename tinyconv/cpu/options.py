"""Every CPU speed-up and its switch, in one options object.

:class:`CpuOptions` has one boolean field per speed-up: the model swaps are on by
default, the process-wide malloc tuning is off unless asked for. None of them changes
what is computed, only how fast (results differ at most by floating-point rounding),
so they live here and not in a :class:`~tinyconv.recipe.Recipe`. Training uses
:func:`applied`, which swaps a model's modules for one run and puts its own back
after; :func:`apply` swaps for good; :func:`tune_process` tunes a whole worker process. The command line offers one ``--FLAG`` per field to
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
    >>> with applied(model, CpuOptions(channels_last=False)) as swapped:
    ...     print(swapped, type(model[2]).__name__)
    {'fast_dropout': 1, 'split_bias': 1} FastDropout
    >>> type(model[2]).__name__  # the model's own layer again
    'Dropout'
    >>> CpuOptions.off()
    CpuOptions(tune_malloc=False, fast_dropout=False, split_bias=False, channels_last=False, channels_last_eval=False)
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from tinyconv import _validate

if TYPE_CHECKING:  # PyTorch is imported when a model is changed, not to read the switches
    import torch
    from torch import nn

    from tinyconv.cpu.swap import Replaced

__all__ = ["MEASURED_ON", "CpuOptions", "apply", "applied", "tune_process", "switches"]


MEASURED_ON = "CPU (AMD EPYC and Intel Xeon, 2 cores; benchmarks/throughput.py)"
"""Where every speed-up here was measured to help; none has been measured on a GPU."""


def _switch(flag: str, help: str, *, swap: str | None = None, process: bool = False,
            eval_only: bool = False, default: bool = True) -> Any:
    meta = {"flag": flag, "help": help, "swap": swap, "process": process, "cpu_only": True,
            "eval_only": eval_only, "measured_on": MEASURED_ON}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class CpuOptions:
    """Which CPU speed-ups a run uses: every model swap on by default, process tuning off.

    Each was measured on :data:`MEASURED_ON` and applies on a CPU only: on CUDA or MPS a
    run trains the plain PyTorch layers. Training applies them for the run alone
    (:func:`applied`) and undoes them after, however the run ends.

    Attributes:
        tune_malloc: Fix glibc malloc's mmap and trim thresholds so that activation
            buffers stay in the heap (:func:`~tinyconv.cpu.allocator.tune_malloc`).
            Process-wide, so off unless asked for (``tinyconv train`` asks); a run that
            turns it on sets glibc's default values back when it ends.
        fast_dropout: Train with :class:`~tinyconv.cpu.fast_dropout.FastDropout` in place
            of every ``nn.Dropout``.
        split_bias: Train with :class:`~tinyconv.cpu.split_bias.SplitBiasConv2d` in place
            of every ``nn.Conv2d`` with a bias (CPU only).
        channels_last: Train in the ``channels_last`` memory format with batch norms that
            suit it (:func:`~tinyconv.cpu.channels_last.use_channels_last`; CPU only).
        channels_last_eval: Evaluate a ``channels_last`` copy of the model (CPU only).
    """

    tune_malloc: bool = _switch("--no-malloc-tuning", "keep glibc malloc's default thresholds", process=True,
                                default=False)
    fast_dropout: bool = _switch("--torch-dropout", "train with torch's nn.Dropout instead of tinyconv's "
                                 "FastDropout (CPU only)", swap="tinyconv.cpu.fast_dropout:use_fast_dropout")
    split_bias: bool = _switch("--torch-conv", "train with torch's nn.Conv2d instead of tinyconv's "
                               "SplitBiasConv2d (CPU only)", swap="tinyconv.cpu.split_bias:use_split_bias")
    channels_last: bool = _switch("--contiguous", "train in the contiguous (NCHW) memory format instead of "
                                  "channels_last (CPU only)", swap="tinyconv.cpu.channels_last:use_channels_last")
    channels_last_eval: bool = _switch("--contiguous-eval", "evaluate the model as it is instead of a "
                                       "channels_last copy (CPU only)", eval_only=True)

    def __post_init__(self) -> None:
        for f in fields(self):
            _validate.flag(f.name, getattr(self, f.name))

    @classmethod
    def all(cls) -> CpuOptions:
        """Every speed-up on, process tuning included: what ``tinyconv train`` uses.

        Returns:
            The options.
        """
        return cls(**{f.name: True for f in fields(cls)})

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
        ``[(field name, {"flag", "help", "swap", "process", "cpu_only", "eval_only", "measured_on"}), ...]``;
        ``swap`` is the ``"module:function"`` path of the function that changes a model.
    """
    return [(f.name, dict(f.metadata)) for f in fields(CpuOptions)]


def apply(model: nn.Module, options: CpuOptions | None = None, device: torch.device | str = "cpu",
          record: Replaced | None = None) -> dict[str, int]:
    """Swap a model's modules for the speed-ups the options switch on (for good; see :func:`applied`).

    Args:
        model: The model, changed in place (parameters and state dict stay the same).
        options: The switches; ``None`` means the defaults (every swap on).
        device: Where the model trains: nothing is swapped off the CPU.
        record: Where to note each replacement, for :func:`~tinyconv.cpu.swap.put_back`.

    Returns:
        ``{field name: modules replaced}`` for every swap that ran.
    """
    options = options or CpuOptions()
    on_cpu = _on_cpu(device)
    done: dict[str, int] = {}
    for name, meta in switches():
        if meta["swap"] is not None and getattr(options, name) and (on_cpu or not meta["cpu_only"]):
            done[name] = _resolve(meta["swap"])(model, record)
    return done


@contextmanager
def applied(model: nn.Module, options: CpuOptions | None = None,
            device: torch.device | str = "cpu") -> Iterator[dict[str, int]]:
    """The speed-ups for one run, undone when it ends (normally, by an error or by Ctrl-C).

    Inside, the model trains with the swapped modules (and, with ``tune_malloc``, glibc's
    thresholds fixed); after, it holds its own module objects again — same types,
    ``repr`` and ``state_dict`` keys, carrying the trained values, which the swapped
    modules shared — its 4-D parameters are back in the memory format they had, and the
    malloc thresholds are glibc's defaults.

    Args:
        model: The model.
        options: The switches; ``None`` means the defaults.
        device: Where the model trains: off the CPU nothing is applied.

    Yields:
        ``{field name: modules replaced}``, as :func:`apply` returns it.
    """
    from tinyconv.cpu.allocator import tune_malloc, untune_malloc
    from tinyconv.cpu.swap import put_back

    options = options or CpuOptions()
    record: Replaced = []
    formats = [(p, p.is_contiguous()) for p in model.parameters() if p.dim() == 4]
    tuned = options.tune_malloc and _on_cpu(device) and tune_malloc()
    try:
        yield apply(model, options, device, record)
    finally:
        put_back(record)
        for param, contiguous in formats:
            if contiguous and not param.is_contiguous():
                param.data = param.data.contiguous()
        if tuned:
            untune_malloc()


def tune_process(options: CpuOptions | None = None, threads: int | None = None) -> dict[str, object]:
    """Apply the process-wide speed-ups for good and report what is in force (for a worker process).

    Args:
        options: The switches; ``None`` means every one (:meth:`CpuOptions.all`).
        threads: Intra-op threads; ``None`` keeps PyTorch's choice.

    Returns:
        ``{"malloc_tuned": bool, "threads": int}``.
    """
    import torch

    from tinyconv.cpu.allocator import tune_cpu

    options = options or CpuOptions.all()
    if options.tune_malloc:
        return tune_cpu(threads)
    if threads is not None:
        torch.set_num_threads(threads)
    return {"malloc_tuned": False, "threads": torch.get_num_threads()}
