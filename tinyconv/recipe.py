"""Training recipes: every setting of a run that changes its results, as one object.

What only changes speed is not here but in :class:`tinyconv.cpu.options.CpuOptions`.
Named recipes are registered in the zoo's registry (:func:`tinyconv.zoo.get_recipe`).
This module is a leaf: it imports only the torch-free name lists and the argument
checks, so the zoo can name recipes without importing the training code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from tinyconv import _validate
from tinyconv.names import AUGMENTATIONS, PIPELINES, SCHEDULERS

__all__ = ["Recipe"]


@dataclass(frozen=True)
class Recipe:
    """The settings of a training run.

    Attributes:
        epochs: Number of epochs.
        batch_size: Training batch size.
        optimizer: ``"sgd"`` (with momentum) or ``"adam"``.
        lr: Learning rate (OneCycleLR's peak when ``scheduler="onecycle"``).
        momentum: SGD momentum.
        weight_decay: L2 weight decay.
        nesterov: Whether SGD uses Nesterov momentum.
        scheduler: A name from :data:`~tinyconv.names.SCHEDULERS`.
        step_size: StepLR period in epochs.
        gamma: StepLR factor.
        patience: ReduceLROnPlateau patience.
        factor: ReduceLROnPlateau factor.
        pct_start: OneCycleLR warm-up fraction.
        onecycle_start: OneCycleLR's first learning rate as a fraction of its peak
            (PyTorch's default, 1/25, is 0.04).
        onecycle_anneal: ``"cos"`` (PyTorch's default) or ``"linear"``: the shape of the
            OneCycleLR's rise and fall.
        plateau_metric: What ReduceLROnPlateau monitors: ``"test_loss"`` (the evaluation
            set's loss) or ``"train_loss"``.
        augment: A name from :data:`~tinyconv.names.AUGMENTATIONS`.
        pipeline: ``"tensor"`` or ``"classic"``.
        ema_decay: Decay of a :class:`~tinyconv.train.average.WeightAverage` of the
            weights, updated after every step and evaluated in place of the training
            weights; ``0`` means no average.
        ema_bn_images: How many training images (the first ones, unaugmented) measure the
            average's batch-norm statistics again before every evaluation (``0``: the
            averaged statistics are kept). Needs ``ema_decay`` above 0 and the ``"tensor"``
            pipeline.
        norm_lr_scale: The learning-rate multiplier of the normalisation layers' weights
            and biases (batch norms' scale and shift): they train at ``lr × norm_lr_scale``
            under the same schedule, the other parameters at ``lr`` (1, the default: one
            learning rate for all).
        label_smoothing: Weight of the uniform target mixed into the training loss
            (``0``: plain negative log-likelihood). Evaluation losses are never smoothed.
        aug_degrees: Rotation range of ``augment="custom"``.
        aug_translate: Shift range of ``augment="custom"``, a fraction of the image size.
        aug_scale: Zoom range of ``augment="custom"``: factors in ``[1 - s, 1 + s]``.
        aug_probability: The chance that ``augment="custom"`` transforms an image; the
            others train unchanged (1, the default: every image).
        unaugmented_epochs: How many of the last epochs train on the images as they are,
            the augmentation switched off (``0``, the default: every epoch is augmented).
            Needs the ``"tensor"`` pipeline.

    Raises:
        ValueError: If a setting is out of range or an unknown name.
    """

    epochs: int = 15
    batch_size: int = 128
    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    nesterov: bool = False
    scheduler: Literal["none", "step", "onecycle", "plateau"] = "none"
    step_size: int = 6
    gamma: float = 0.1
    patience: int = 2
    factor: float = 0.1
    pct_start: float = 0.2
    onecycle_anneal: Literal["cos", "linear"] = "cos"
    onecycle_start: float = 0.04
    plateau_metric: Literal["test_loss", "train_loss"] = "test_loss"
    augment: Literal["none", "rotate", "affine", "custom"] = "none"
    pipeline: Literal["tensor", "classic"] = "tensor"
    ema_decay: float = 0.0
    ema_bn_images: int = 0
    norm_lr_scale: float = 1.0
    label_smoothing: float = 0.0
    aug_degrees: float = 0.0
    aug_translate: float = 0.0
    aug_scale: float = 0.0
    aug_probability: float = 1.0
    unaugmented_epochs: int = 0

    def __post_init__(self) -> None:
        _validate.positive_int("epochs", self.epochs)
        _validate.positive_int("batch_size", self.batch_size)
        _validate.choice("optimizer", self.optimizer, ("sgd", "adam"))
        _validate.choice("scheduler", self.scheduler, SCHEDULERS)
        _validate.choice("augment", self.augment, AUGMENTATIONS)
        _validate.choice("pipeline", self.pipeline, PIPELINES)
        _validate.choice("plateau_metric", self.plateau_metric, ("test_loss", "train_loss"))
        _validate.choice("onecycle_anneal", self.onecycle_anneal, ("cos", "linear"))
        _check_range("onecycle_start", self.onecycle_start, 0, 1, closed=True)
        if self.onecycle_start == 0:
            raise ValueError("onecycle_start must be above 0 (OneCycleLR divides the peak by it), got 0")
        _validate.flag("nesterov", self.nesterov)
        _validate.probability("ema_decay", self.ema_decay)
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        _validate.positive_number("norm_lr_scale", self.norm_lr_scale)
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be non-negative, got {self.weight_decay!r}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing!r}")
        if self.augment == "custom":
            _check_range("aug_degrees", self.aug_degrees, 0, 180, closed=True)
            _check_range("aug_translate", self.aug_translate, 0, 1)
            _check_range("aug_scale", self.aug_scale, 0, 1)
            _validate.positive_fraction("aug_probability", self.aug_probability)
        _check_unaugmented(self.unaugmented_epochs, self.epochs, self.pipeline)
        _check_bn_images(self.ema_bn_images, self.ema_decay, self.pipeline)

    def augments_epoch(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` (counted from 1) trains on augmented images.

        Args:
            epoch: The epoch, from 1 to :attr:`epochs`.

        Returns:
            ``False`` for the last :attr:`unaugmented_epochs` epochs and when the recipe
            has no augmentation, ``True`` otherwise.
        """
        return self.augment != "none" and epoch <= self.epochs - self.unaugmented_epochs

    def augment_options(self) -> dict[str, float]:
        """The strengths of a ``"custom"`` augmentation, as :func:`~tinyconv.data.pipeline.make_loaders` takes them.

        Returns:
            ``{"degrees": ..., "translate": ..., "scale": ...}``, and ``"probability"``
            when it is below 1.
        """
        options = {"degrees": self.aug_degrees, "translate": self.aug_translate, "scale": self.aug_scale}
        return options if self.aug_probability == 1 else {**options, "probability": self.aug_probability}

    def loader_settings(self) -> dict[str, Any]:
        """What the recipe asks of the batches, as :func:`~tinyconv.data.pipeline.make_loaders` takes it.

        Returns:
            ``{"batch_size", "augment", "augment_options", "pipeline"}``.
        """
        return {"batch_size": self.batch_size, "augment": self.augment, "augment_options": self.augment_options(),
                "pipeline": self.pipeline}

    def with_overrides(self, **overrides: Any) -> Recipe:
        """Return a copy with some settings replaced; ``None`` values are ignored.

        Args:
            **overrides: Settings to replace.

        Returns:
            The new recipe.

        Raises:
            TypeError: For a name that is not a setting.
        """
        return _validate.replace_known(self, "recipe settings", {k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        """Read a recipe written by :meth:`to_dict`.

        Args:
            data: The settings.

        Returns:
            The recipe.

        Raises:
            TypeError: For a name that is not a setting (all such names are listed).
            ValueError: If a setting is out of range.
        """
        return _validate.replace_known(cls(), "recipe settings", dict(data))

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a plain dict.

        Returns:
            The settings.
        """
        return asdict(self)



def _check_unaugmented(unaugmented: object, epochs: int, pipeline: str) -> None:
    """Refuse an ``unaugmented_epochs`` that is not a whole number in ``[0, epochs]`` or needs the classic pipeline."""
    _check_whole("unaugmented_epochs", unaugmented, f"from 0 to epochs ({epochs})", high=epochs)
    _check_tensor_pipeline("unaugmented_epochs", unaugmented, pipeline,
                           "the classic pipeline's augmentation is fixed in its dataset")


def _check_bn_images(images: object, decay: float, pipeline: str) -> None:
    """Refuse an ``ema_bn_images`` that is not a whole number of 0 or more, has no average to measure or needs the classic pipeline."""
    _check_whole("ema_bn_images", images, "of 0 or more")
    if images and not decay:
        raise ValueError(f"ema_bn_images={images} measures the weight average's batch norms: set ema_decay above 0")
    _check_tensor_pipeline("ema_bn_images", images, pipeline, "the classic pipeline's batches do not hold their images")


def _check_whole(name: str, value: object, span: str, *, high: int | None = None) -> None:
    """Refuse a ``value`` that is not a whole number from 0 (to ``high``), naming it and the ``span`` it must be in."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (high is not None and value > high):
        raise ValueError(f"{name} must be a whole number {span}, got {value!r}")


def _check_tensor_pipeline(name: str, value: object, pipeline: str, why: str) -> None:
    """Refuse a setting ``name`` that is on (``value`` not 0) with a pipeline other than ``"tensor"``."""
    if value and pipeline != "tensor":
        raise ValueError(f"{name} needs pipeline='tensor' ({why}), got pipeline={pipeline!r}")


def _check_range(name: str, value: object, low: float, high: float, *, closed: bool = False) -> None:
    """Refuse a number outside ``[low, high)`` (``[low, high]`` when ``closed``), naming it."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not (low <= value <= high if closed else low <= value < high):  # type: ignore[operator]
        interval = f"[{low}, {high}]" if closed else f"[{low}, {high})"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
