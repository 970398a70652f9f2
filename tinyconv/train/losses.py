"""Training losses for models that output log-probabilities."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["smoothed_nll", "training_loss"]


def smoothed_nll(epsilon: float) -> Callable[..., torch.Tensor]:
    """Negative log-likelihood against targets smoothed towards the uniform distribution.

    The loss is ``(1 - epsilon) * nll + epsilon * mean over classes of -log p``, the same
    as ``nn.CrossEntropyLoss(label_smoothing=epsilon)`` on logits.

    Args:
        epsilon: Weight of the uniform target, in ``[0, 1)``.

    Returns:
        ``loss(log_probs, target, reduction="mean")``.

    Raises:
        ValueError: If ``epsilon`` is out of range.

    Example:
        >>> log_probs = torch.log_softmax(torch.tensor([[2.0, 0.0, -1.0]]), dim=1)
        >>> target = torch.tensor([0])
        >>> bool(torch.isclose(smoothed_nll(0.1)(log_probs, target),
        ...                    F.cross_entropy(log_probs, target, label_smoothing=0.1)))
        True
    """
    if not 0 <= epsilon < 1:
        raise ValueError(f"epsilon must be in [0, 1), got {epsilon!r}")

    def loss(log_probs: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        nll = F.nll_loss(log_probs, target, reduction=reduction)
        uniform = -log_probs.mean(dim=1)
        uniform = uniform.mean() if reduction == "mean" else uniform.sum() if reduction == "sum" else uniform
        return (1 - epsilon) * nll + epsilon * uniform

    return loss


def training_loss(label_smoothing: float = 0.0) -> Callable[..., torch.Tensor]:
    """The training loss of a recipe: plain NLL, or :func:`smoothed_nll` when smoothing.

    Args:
        label_smoothing: The recipe's ``label_smoothing``.

    Returns:
        ``F.nll_loss`` for 0 (so that unsmoothed runs are bit-for-bit the same), else
        the smoothed loss.
    """
    return F.nll_loss if label_smoothing == 0 else smoothed_nll(label_smoothing)
