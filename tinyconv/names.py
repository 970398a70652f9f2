"""The names the library accepts for augmentations, schedules and data pipelines.

One place for each list, importable without PyTorch, so that the command line can offer
them (``tinyconv train --help``) in a fraction of a second; the modules that implement
them (:mod:`tinyconv.data.augment`, :mod:`tinyconv.train.schedulers`,
:mod:`tinyconv.data.pipeline`) re-export these same objects.
"""

from __future__ import annotations

__all__ = ["AUGMENTATIONS", "SCHEDULERS", "PIPELINES"]

AUGMENTATIONS = {
    "none": "no augmentation",
    "rotate": "the seed's RandomRotation(±7°, fill=1)",
    "affine": "rotation ±7°, shift up to 10%, zoom 0.9–1.1 (bilinear)",
    "custom": "rotation ±degrees, shift up to translate, zoom 1 ± scale (bilinear), strengths given",
}
"""Augmentation recipe names and what they do."""

SCHEDULERS = {
    "none": "constant learning rate",
    "step": "StepLR: multiply by gamma (0.1) every step_size (6) epochs",
    "onecycle": "OneCycleLR: warm up to max_lr, then anneal, stepped every batch",
    "plateau": "ReduceLROnPlateau(patience=2, factor=0.1) on a monitored loss",
}
"""Scheduler names and what they do."""

PIPELINES = ("tensor", "classic")
"""Pipeline names: in-memory tensors, or the classic DataLoader."""
