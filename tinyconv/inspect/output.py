"""What a model's ``forward`` returns, checked once for every command that runs it.

tinyconv's commands (``summary``, ``budget``, ``train``) need one tensor of class scores
per image. :func:`probe_output` runs the model on a small input without changing it and
refuses, in one line that says what to do, a ``forward`` that returns a tuple, a list,
a dict or anything else; an error raised inside ``forward`` is re-raised as a
``ValueError`` *from* the original, so the command line can still point at the user's line
(:mod:`tinyconv._usercode`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tinyconv._validate import article

__all__ = ["ModelOutputError", "describe_output", "require_tensor", "probe_output"]


class ModelOutputError(ValueError):
    """A model's ``forward`` returns something other than one tensor."""


def describe_output(value: Any) -> str:
    """A short description of a forward's result: ``a tuple of 2 (tensor [2, 10], tensor [2, 10])``.

    Args:
        value: What ``forward`` returned.

    Returns:
        One phrase.
    """
    if isinstance(value, torch.Tensor):
        return f"a tensor {list(value.shape)}"
    if isinstance(value, (tuple, list)):
        parts = ", ".join(describe_output(v).removeprefix("a ") for v in value[:4])
        more = ", ..." if len(value) > 4 else ""
        return f"{article(type(value).__name__)} {type(value).__name__} of {len(value)} ({parts}{more})"
    if isinstance(value, dict):
        keys = ", ".join(repr(k) for k in list(value)[:4])
        return f"a dict with keys {keys}{', ...' if len(value) > 4 else ''}"
    kind = type(value).__name__
    return f"{article(kind)} {kind}"


def require_tensor(value: Any, name: str = "the model") -> torch.Tensor:
    """Return ``value`` if it is a tensor; refuse anything else in one line.

    Args:
        value: What ``forward`` returned.
        name: The model as the message names it.

    Returns:
        The tensor.

    Raises:
        ModelOutputError: For a tuple, list, dict or other non-tensor.
    """
    if isinstance(value, torch.Tensor):
        return value
    advice = (" (return only the scores, e.g. the first element, from forward)"
              if isinstance(value, (tuple, list)) else
              " (return only the scores from forward)" if isinstance(value, dict) else "")
    raise ModelOutputError(f"{name}'s forward returns {describe_output(value)}: tinyconv needs one tensor of class "
                           f"scores, shape (N, classes){advice}")


def probe_output(model: nn.Module, input_size: tuple[int, ...], *, batch: int = 2, device: Any = None,
                 name: str | None = None, data_fixed: bool = False) -> torch.Tensor:
    """Run ``model`` once on ``batch`` random images of ``input_size`` in eval mode, without changing it.

    The input comes from a generator of its own (the global random state is untouched),
    gradients are off, and every module's training flag is restored.

    Args:
        model: The model.
        input_size: ``(C, H, W)`` of one image.
        batch: How many images.
        device: Where the input goes; ``None``: the model's parameters' device.
        name: The model as messages name it (default: its class name).
        data_fixed: The input size is the data's (training): a channel mismatch is the model's
            to fix, not the input size's.

    Returns:
        The output tensor.

    Raises:
        ValueError: If the model fails on the input (the message has the model's error, and the
            original is the ``__cause__``), with a hint when the channels look wrong.
        ModelOutputError: If ``forward`` does not return one tensor.
    """
    label = name or type(model).__name__
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else "cpu"
    images = torch.randn(batch, *input_size, generator=torch.Generator().manual_seed(0)).to(device)
    flags = {module: module.training for module in model.modules()}
    model.eval()
    try:
        with torch.no_grad():
            out = model(images)
    except Exception as error:
        raise ValueError(f"{label} does not take {tuple(input_size)} images: {type(error).__name__}: "
                         f"{str(error).splitlines()[0] if str(error) else ''}{channel_hint(model, input_size, data_fixed)}") from error
    finally:
        for module, flag in flags.items():
            module.training = flag
    return require_tensor(out, label)


def channel_hint(model: nn.Module, input_size: tuple[int, ...], data_fixed: bool = False) -> str:
    """``; its first convolution takes 3 channel(s), the input has 1: pass input_size=(3, 28, 28)`` when they disagree.

    Args:
        model: The model.
        input_size: ``(C, H, W)`` it was given.
        data_fixed: The size is the data's: the advice is to build the model for it instead.

    Returns:
        The hint, or ``""`` when the first convolution takes the input's channels (or there is none).
    """
    first = next((m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Conv1d, nn.Conv3d))), None)
    if first is None or not input_size or first.in_channels == input_size[0]:
        return ""
    said = f"; its first convolution takes {first.in_channels} channel(s), the input has {input_size[0]}"
    if data_fixed:
        return f"{said}: the data's images have {input_size[0]}, so build the model with in_channels={input_size[0]}"
    wanted = (first.in_channels, *input_size[1:])
    return f"{said}: pass input_size={wanted} (--input-size {' '.join(map(str, wanted))})"
