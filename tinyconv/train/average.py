"""An exponential moving average of a model's weights, evaluated in place of the model.

Late in training, SGD's weights still wander from batch to batch, and so does the test
accuracy from epoch to epoch. Averaging the weights over the last few hundred steps
gives a model that sits nearer the middle of where SGD wanders: its accuracy is
usually as high and steadier from epoch to epoch. :class:`WeightAverage` keeps that
average in a copy of the model, updated after every optimizer step; the training
model itself is never changed, so a run with an average trains exactly as one without.

Batch-norm running statistics (floating-point buffers) are averaged the same way;
integer buffers such as ``num_batches_tracked`` are copied. An average of running
statistics is not the statistics of the averaged weights, though:
:meth:`WeightAverage.refresh_batch_norm` (a recipe's ``ema_bn_images``) measures those
on training images before the average is evaluated.

Example:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Linear(2, 1)
    >>> average = WeightAverage(model, decay=0.9)
    >>> with torch.no_grad():
    ...     _ = model.weight.add_(1.0)
    >>> average.update(model)
    >>> average
    WeightAverage(decay=0.9, warmup=True)
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

__all__ = ["WeightAverage", "refresh_batch_norm"]

REFRESH_BATCH = 512
"""Images per forward pass when batch-norm statistics are measured again."""


@torch.no_grad()
def refresh_batch_norm(model: nn.Module, images: torch.Tensor, batch_size: int = REFRESH_BATCH) -> None:
    """Measure ``model``'s batch-norm running statistics again, on ``images``.

    Every batch norm's running mean becomes the mean over ``images`` and its running
    variance the batches' variances averaged, each batch weighted by its size (the
    statistics reset first); every other layer runs in evaluation mode, so dropout drops
    nothing. Each layer's mode and momentum are put back
    after, and no random number is drawn.

    Args:
        model: The model (changed in place).
        images: ``(N, C, H, W)`` images, as the model's training batches give them.
        batch_size: Images per forward pass.

    Raises:
        ValueError: If ``images`` is empty or ``batch_size`` is not positive.
    """
    if images.ndim == 0 or images.shape[0] == 0:
        raise ValueError("refresh_batch_norm needs at least one image")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        return
    modes = {m: m.training for m in model.modules()}
    momenta = {m: m.momentum for m in norms}
    try:
        model.eval()
        for norm in norms:
            norm.reset_running_stats()
            norm.train()
        for start in range(0, images.shape[0], batch_size):
            batch = images[start : start + batch_size]
            for norm in norms:  # a running mean over images: this batch's share of those seen so far
                norm.momentum = batch.shape[0] / (start + batch.shape[0])
            model(batch)
    finally:
        for module, training in modes.items():
            module.train(training)
        for norm, momentum in momenta.items():
            norm.momentum = momentum


class WeightAverage:
    """Exponential moving average of a model's parameters and floating-point buffers.

    After update ``n`` (counting from 1) the average moves towards the model by
    ``1 - d`` with ``d = decay``, or with warm-up ``d = min(decay, (1 + n) / (10 + n))``
    so that the first updates are not dominated by the random initial weights.

    Args:
        model: The model to average (copied; the copy is :attr:`module`).
        decay: Weight of the old average at each update, in ``(0, 1)``; ``0.999`` means
            a half-life of about 700 steps.
        warmup: Use a smaller decay for the first updates.

    Raises:
        ValueError: If ``decay`` is not a number in ``(0, 1)``.
        TypeError: If ``model`` is not an ``nn.Module``.
    """

    def __init__(self, model: nn.Module, decay: float, *, warmup: bool = True) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be a number in (0, 1), got {decay!r}")
        self.decay = float(decay)
        self.warmup = bool(warmup)
        self.updates = 0
        self.module = copy.deepcopy(model)
        for parameter in self.module.parameters():
            parameter.requires_grad_(False)

    def __repr__(self) -> str:
        return f"WeightAverage(decay={self.decay}, warmup={self.warmup})"

    def current_decay(self) -> float:
        """The decay the next update will use.

        Returns:
            ``decay``, or the smaller warm-up decay early on.
        """
        n = self.updates + 1
        return min(self.decay, (1 + n) / (10 + n)) if self.warmup else self.decay

    def _pairs(self, model: nn.Module) -> tuple[list[torch.Tensor], list[torch.Tensor], list[tuple]]:
        mine = dict(self.module.named_parameters()) | dict(self.module.named_buffers())
        theirs = dict(model.named_parameters()) | dict(model.named_buffers())
        if mine.keys() != theirs.keys():
            raise ValueError("the model does not have the averaged model's parameters and buffers")
        floats_avg, floats_model, copies = [], [], []
        for name, tensor in mine.items():
            if tensor.shape != theirs[name].shape:
                raise ValueError(f"{name} has shape {tuple(theirs[name].shape)}, expected {tuple(tensor.shape)}")
            if tensor.is_floating_point():
                floats_avg.append(tensor)
                floats_model.append(theirs[name].detach())
            else:
                copies.append((tensor, theirs[name]))
        return floats_avg, floats_model, copies

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model``'s current weights.

        Args:
            model: The model being trained (same architecture as :attr:`module`).

        Raises:
            ValueError: If ``model``'s parameters and buffers do not match.
        """
        weight = 1.0 - self.current_decay()
        floats_avg, floats_model, copies = self._pairs(model)
        if floats_avg:
            torch._foreach_lerp_(floats_avg, floats_model, weight)
        for mine, theirs in copies:
            mine.copy_(theirs)
        self.updates += 1

    def refresh_batch_norm(self, images: torch.Tensor) -> None:
        """Measure the average's batch-norm statistics on ``images`` (see :func:`refresh_batch_norm`).

        Args:
            images: Training images, as the training batches give them.
        """
        refresh_batch_norm(self.module, images)

    def state_dict(self) -> dict[str, Any]:
        """Return the averaged weights and the update count, for checkpoints.

        Returns:
            ``{"module": ..., "updates": ..., "decay": ..., "warmup": ...}``.
        """
        return {"module": self.module.state_dict(), "updates": self.updates, "decay": self.decay,
                "warmup": self.warmup}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict` output.

        Args:
            state: The saved state.

        Raises:
            ValueError: If the saved decay or warm-up differs from this average's.
        """
        if float(state["decay"]) != self.decay or bool(state["warmup"]) != self.warmup:
            raise ValueError(
                f"the saved average has decay={state['decay']}, warmup={state['warmup']}; "
                f"this one has decay={self.decay}, warmup={self.warmup}"
            )
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
