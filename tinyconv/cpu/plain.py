"""A model as plain PyTorch layers, ready to leave PyTorch: speed-ups undone, BatchNorm folded.

Training may swap in tinyconv's CPU speed-up modules (:mod:`tinyconv.cpu`); an exported
graph must hold standard operators only, so :func:`plain_copy` swaps each back to the
PyTorch layer it replaces (same parameters), writes the GAP head's einops layers as
``AdaptiveAvgPool2d(1)`` and ``Flatten(1)`` (a static graph: no shape arithmetic), and returns the model in the contiguous
memory format and evaluation mode. :func:`fold_batchnorm` folds every BatchNorm that
directly follows a convolution into it (as the deployed model computes it).
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from tinyconv.cpu.swap import replace_modules

__all__ = ["plain_copy", "fold_batchnorm"]


def _plain_twin(module: nn.Module) -> nn.Module | None:
    """The PyTorch layer a tinyconv speed-up module stands for, or ``None``."""
    from tinyconv.cpu.channels_last import ChannelsLastBatchNorm2d
    from tinyconv.cpu.fast_dropout import FastDropout
    from tinyconv.cpu.split_bias import SplitBiasConv2d

    if isinstance(module, FastDropout):
        return nn.Dropout(module.p)
    if isinstance(module, SplitBiasConv2d):
        conv = nn.Conv2d(module.in_channels, module.out_channels, module.kernel_size, module.stride,
                         module.padding, module.dilation, module.groups, module.bias is not None,
                         module.padding_mode)
        conv.weight, conv.bias = module.weight, module.bias
        return conv
    from tinyconv.nn.blocks import GlobalAvgPool2d

    if isinstance(module, GlobalAvgPool2d):  # einops' shape arithmetic would become Shape/Gather nodes
        return nn.AdaptiveAvgPool2d(1)
    if _is_flatten_of_1x1(module):
        return nn.Flatten(1)
    if isinstance(module, ChannelsLastBatchNorm2d):
        norm = nn.BatchNorm2d(module.num_features, module.eps, module.momentum, module.affine,
                              module.track_running_stats)
        norm.load_state_dict(module.state_dict())
        return norm
    return None


def _is_flatten_of_1x1(module: nn.Module) -> bool:
    """Whether ``module`` is the GAP head's einops ``Rearrange('b c 1 1 -> b c')``."""
    from einops.layers.torch import Rearrange

    return isinstance(module, Rearrange) and " ".join(module.pattern.split()) == "b c 1 1 -> b c"


def plain_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in plain PyTorch layers, contiguous, in evaluation mode.

    Args:
        model: The model (unchanged).

    Returns:
        The copy.
    """
    copied = copy.deepcopy(model)
    replace_modules(copied, _plain_twin)
    copied = copied.to(memory_format=torch.contiguous_format)
    for p in copied.parameters():
        p.data = p.data.contiguous()
    return copied.eval()


def fold_batchnorm(model: nn.Module) -> int:
    """Fold every ``BatchNorm2d`` that directly follows a ``Conv2d`` (siblings in order) into it.

    The BatchNorm becomes ``nn.Identity``; the convolution computes what both did in
    evaluation mode. BatchNorms after an activation (the seed's order) stay.

    Args:
        model: The model in evaluation mode, changed in place.

    Returns:
        How many BatchNorms were folded.
    """
    folded = 0
    for parent in model.modules():
        names = list(parent._modules)
        for first, second in zip(names, names[1:]):
            conv, norm = parent._modules[first], parent._modules[second]
            if type(conv) is nn.Conv2d and type(norm) is nn.BatchNorm2d:
                parent._modules[first] = fuse_conv_bn_eval(conv.eval(), norm.eval())
                parent._modules[second] = nn.Identity()
                folded += 1
    return folded
