"""CPU speed-ups for training tiny networks, and the one options object that switches them.

Every speed-up here changes how fast a model trains, never what it computes (results
differ at most by floating-point rounding): allocator tuning
(:mod:`~tinyconv.cpu.allocator`), element dropout from fewer random numbers
(:mod:`~tinyconv.cpu.fast_dropout`), convolutions with a separately added bias
(:mod:`~tinyconv.cpu.split_bias`) and ``channels_last`` training with batch norms that
suit it (:mod:`~tinyconv.cpu.channels_last`). :class:`~tinyconv.cpu.options.CpuOptions`
holds one switch per speed-up; :func:`~tinyconv.cpu.options.applied` applies them to a model for
one run and puts the model's own layers back after.
"""

from tinyconv._lazy import lazy_exports

_EXPORTS = {
    "CpuOptions": "tinyconv.cpu.options",
    "apply": "tinyconv.cpu.options",
    "applied": "tinyconv.cpu.options",
    "switches": "tinyconv.cpu.options",
    "tune_process": "tinyconv.cpu.options",
    "tune_cpu": "tinyconv.cpu.allocator",
    "tune_malloc": "tinyconv.cpu.allocator",
    "untune_malloc": "tinyconv.cpu.allocator",
    "ChannelsLastBatchNorm2d": "tinyconv.cpu.channels_last",
    "use_channels_last": "tinyconv.cpu.channels_last",
    "FastDropout": "tinyconv.cpu.fast_dropout",
    "use_fast_dropout": "tinyconv.cpu.fast_dropout",
    "SplitBiasConv2d": "tinyconv.cpu.split_bias",
    "use_split_bias": "tinyconv.cpu.split_bias",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = list(_EXPORTS)
