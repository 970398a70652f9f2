"""CPU speed-ups for training tiny networks, and the one options object that switches them.

Every speed-up here changes how fast a model trains, never what it computes (results
differ at most by floating-point rounding): allocator tuning
(:mod:`~tinyconv.cpu.allocator`), element dropout from fewer random numbers
(:mod:`~tinyconv.cpu.fast_dropout`), convolutions with a separately added bias
(:mod:`~tinyconv.cpu.split_bias`) and ``channels_last`` training with batch norms that
suit it (:mod:`~tinyconv.cpu.channels_last`). :class:`~tinyconv.cpu.options.CpuOptions`
holds one switch per speed-up; :func:`~tinyconv.cpu.options.apply` applies them to a model.
"""

from tinyconv.cpu.allocator import tune_cpu, tune_malloc
from tinyconv.cpu.channels_last import ChannelsLastBatchNorm2d, use_channels_last
from tinyconv.cpu.fast_dropout import FastDropout, fast_dropout, use_fast_dropout
from tinyconv.cpu.options import CpuOptions, apply, switches, tune_process
from tinyconv.cpu.split_bias import SplitBiasConv2d, use_split_bias

__all__ = [
    "CpuOptions",
    "apply",
    "switches",
    "tune_process",
    "tune_cpu",
    "tune_malloc",
    "ChannelsLastBatchNorm2d",
    "use_channels_last",
    "FastDropout",
    "fast_dropout",
    "use_fast_dropout",
    "SplitBiasConv2d",
    "use_split_bias",
]
