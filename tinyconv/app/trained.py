"""A finished run read back: its trained model rebuilt from the checkpoint, evaluated on the test set.

Every checkpoint :func:`~tinyconv.app.run.train_net` writes records the model's
reference (:class:`~tinyconv.app.refs.ModelRef`), so :func:`load_trained` rebuilds the
network and loads the weights that were evaluated (the weight average when the recipe
kept one). A run trained from a Python object has no reference; loading it says so in
one line and names the Python call that exports the object instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tinyconv.app.refs import ModelRef
from tinyconv.data.batches import TensorBatches, normalise
from tinyconv.data.mnist import load_mnist
from tinyconv.data.sources import ImageData, idx_folder
from tinyconv.train.checkpoint import CheckpointMismatchError, check_state_matches, load_checkpoint
from tinyconv.train.loop import EvalResult, evaluate
from tinyconv.zoo import UnknownModelError

__all__ = ["UnbuildableCheckpointError", "load_trained", "run_images", "evaluate_on_test", "evaluate_trained"]


class UnbuildableCheckpointError(ValueError):
    """A checkpoint holds weights tinyconv cannot put back into a network (no way to rebuild it)."""


def _reference(meta: dict[str, Any], source: str) -> ModelRef:
    """The checkpoint's model reference (a zoo name for runs written before references existed)."""
    if meta.get("model_ref") is not None:
        return ModelRef.from_dict(meta["model_ref"])
    name = meta.get("model")
    if "model_ref" in meta or not isinstance(name, str):
        raise UnbuildableCheckpointError(
            f"{source}: the run trained {name or 'a model'!r} from a Python object tinyconv cannot rebuild; "
            "export it where you built it: tinyconv.deploy.to_onnx(model, 'model.onnx')")
    return ModelRef("zoo", name)


def load_trained(source: str | os.PathLike[str]) -> tuple[nn.Module, dict[str, Any]]:
    """The trained model of a run: its weight average when it kept one, else its final weights.

    Shipped weights load through the one constructor instead:
    ``tinyconv.zoo.get_model("st8k", weights="mnist")``.

    Args:
        source: A run folder (holding ``checkpoint.pt``) or a checkpoint file.

    Returns:
        ``(model, meta)``, the model in eval mode; ``meta`` is the run's history metadata.

    Raises:
        FileNotFoundError: If there is no checkpoint there.
        ValueError: If the file is not a tinyconv checkpoint or is damaged.
        UnbuildableCheckpointError: If the checkpoint says no way to rebuild its model, or
            the rebuilt model does not take its weights.
    """
    path = Path(source)
    state = load_checkpoint(path / "checkpoint.pt" if path.is_dir() else path)
    meta = state.get("history", {}).get("meta", {})
    try:
        model = _reference(meta, str(source)).build()
    except UnknownModelError:
        raise UnbuildableCheckpointError(f"{source}: the checkpoint names {meta.get('model')!r}, which is not in "
                                         "the zoo, and holds no other way to rebuild it") from None
    trained = state["average"]["module"] if state.get("average") else state["model"]
    try:
        check_state_matches(model, trained)
    except CheckpointMismatchError:
        raise UnbuildableCheckpointError(f"{source}: {meta.get('model')!r} as built today does not take the "
                                         "checkpoint's weights (its code changed since the run)") from None
    model.load_state_dict({k: v.contiguous() for k, v in trained.items()})
    return model.eval(), meta


def run_images(meta: dict[str, Any], root: str | os.PathLike[str] | None = None,
               data: ImageData | str | os.PathLike[str] | None = None, *, train: bool = False,
               limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The images a run's model was made for, normalised the way it trained: MNIST's, or ``data``'s.

    Args:
        meta: The run's metadata (``meta["data"]`` says what it trained on).
        root: MNIST root.
        data: The run's data when it was not MNIST (an :class:`ImageData` or an IDX folder).
        train: The training split instead of the test split.
        limit: At most this many images.

    Returns:
        ``(normalised images, labels)``.

    Raises:
        ValueError: If the run trained on other data and ``data`` is not given.
    """
    described = meta.get("data") or {"name": "MNIST"}
    if data is None:
        if described.get("name", "MNIST") != "MNIST":
            raise ValueError(f"the run trained on {described['name']!r}, not MNIST: give its data (--data DIR)")
        images, labels = load_mnist(root, train=train)
        return normalise(images[:limit]), labels[:limit]
    source = idx_folder(data) if isinstance(data, (str, os.PathLike)) else data
    images, labels = (source.train_images, source.train_labels) if train else (source.test_images, source.test_labels)
    mean, std = (described["mean"], described["std"]) if "mean" in described else source.statistics()
    return source.normalised(images[:limit], mean, std), labels[:limit]


def evaluate_on_test(model: nn.Module, meta: dict[str, Any] | None = None,
                     root: str | os.PathLike[str] | None = None, *,
                     data: ImageData | str | os.PathLike[str] | None = None, batch_size: int = 1000) -> EvalResult:
    """Test accuracy of a trained model on the test images it was made for (CPU, fp32).

    Args:
        model: The model, e.g. ``get_model("st8k", weights="mnist")`` or from :func:`load_trained`.
        meta: What it trained on (a run's metadata, or shipped weights' ``to_dict()``);
            ``None`` means MNIST.
        root: MNIST root (see :func:`~tinyconv.data.mnist.default_root`).
        data: The model's data when it was not MNIST (an ``ImageData`` or an IDX folder).
        batch_size: Evaluation batch size (the result does not depend on it).

    Returns:
        The result: ``correct`` of ``total`` images.

    Raises:
        As :func:`run_images`.
    """
    images, labels = run_images(meta or {}, root, data)
    return evaluate(model, TensorBatches(images, labels, batch_size, shuffle=False))


def evaluate_trained(source: str | os.PathLike[str], root: str | os.PathLike[str] | None = None, *,
                     data: ImageData | str | os.PathLike[str] | None = None,
                     batch_size: int = 1000) -> tuple[EvalResult, dict[str, Any]]:
    """Test accuracy of a run's trained model on its test images (CPU, fp32).

    Args:
        source: A run folder or its checkpoint.
        root: MNIST root (see :func:`~tinyconv.data.mnist.default_root`).
        data: The run's data when it was not MNIST (an ``ImageData`` or an IDX folder).
        batch_size: Evaluation batch size (the result does not depend on it).

    Returns:
        ``(result, meta)``; ``result.correct`` of ``result.total`` images.

    Raises:
        As :func:`load_trained` and :func:`run_images`.
    """
    model, meta = load_trained(source)
    return evaluate_on_test(model, meta, root, data=data, batch_size=batch_size), meta
