"""Trained weights shipped with tinyconv: safetensors files in the package, checked before use.

Each entry of ``weights/weights.json`` (package data beside the files) describes one
trained state of one zoo model: the dataset, the test accuracy with its count of correct
images, the recipe, seed, command and machine of the run it was taken from, the file's
SHA-256 and the normalisation the weights expect. :func:`get_weights` returns it as a
:class:`Weights`; ``get_model(name, weights="mnist")`` (or ``st8k(weights="mnist")``) builds
the model and loads it. The files hold tensors only (safetensors: no pickle), and a file
whose hash does not match its entry is refused before it is read.

Example:
    >>> "st8k" in [w.model for w in list_weights()]
    True
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tinyconv._io import file_digest
from tinyconv.data.batches import raw_image_transform

__all__ = ["Weights", "WeightsError", "UnknownWeightsError", "list_weights", "get_weights"]

_FOLDER = "weights"
_INDEX = "weights.json"


class WeightsError(ValueError):
    """Shipped weights cannot be used: a damaged file, or weights for another architecture."""


class UnknownWeightsError(WeightsError):
    """No weights of that name for that model; the message lists what there is."""


@dataclass(frozen=True)
class Weights:
    """One trained state of one zoo model, as shipped in the package.

    Attributes:
        model: The zoo name the weights belong to.
        tag: The weights' name (``"mnist"``).
        file: The safetensors file's name in the package's ``zoo/weights/`` folder.
        sha256: The file's SHA-256, checked before it is read.
        dataset: What the model was trained on.
        test_correct: Test images classified correctly by these weights.
        test_total: Test images evaluated.
        evaluated_with: How the count was made (device, precision, memory format, batch).
        params: The model's trainable parameters.
        macs: Multiply-accumulates per image.
        recipe: The recipe's name.
        seed: The run's seed.
        command: The command that made the run.
        machine: The machine it ran on.
        mean: The normalisation mean the weights expect (pixels in [0, 1]).
        std: The normalisation standard deviation.
    """

    model: str
    tag: str
    file: str
    sha256: str
    dataset: str
    test_correct: int
    test_total: int
    evaluated_with: str
    params: int
    macs: int
    recipe: str
    seed: int
    command: str
    machine: str
    mean: float
    std: float

    @property
    def test_accuracy(self) -> float:
        """Test accuracy in percent."""
        return 100.0 * self.test_correct / self.test_total

    @property
    def path(self) -> Path:
        """Where the file is in the installed package."""
        return Path(str(resources.files("tinyconv.zoo").joinpath(_FOLDER, self.file)))

    def transforms(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """The preprocessing the weights expect, for raw images.

        Returns:
            A function from ``uint8`` images, ``(N, 28, 28)`` or ``(N, 1, 28, 28)`` with
            white digits on black as in MNIST, to normalised ``float32 (N, 1, 28, 28)``; one
            ``(28, 28)`` image becomes a batch of one, ``(1, 1, 28, 28)``, ready for the model.
        """
        return raw_image_transform(self.mean, self.std)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Read the weights, after checking the file's hash.

        Returns:
            The state dict.

        Raises:
            WeightsError: If the file is missing or its SHA-256 is not the recorded one.
        """
        from safetensors.torch import load_file

        path = self.path
        if not path.is_file():
            raise WeightsError(f"the weights file {self.file} of {self.model} is missing from the package")
        digest = file_digest(path)
        if digest != self.sha256:
            raise WeightsError(f"{self.file}: SHA-256 {digest[:12]}… is not the recorded {self.sha256[:12]}…; "
                               "the file is damaged or was replaced, reinstall tinyconv")
        return load_file(str(path))

    def to_dict(self) -> dict[str, Any]:
        """The entry as ``weights.json`` holds it.

        Returns:
            Every field.
        """
        return dict(self.__dict__)


def _index() -> dict[tuple[str, str], Weights]:
    text = resources.files("tinyconv.zoo").joinpath(_FOLDER, _INDEX).read_text(encoding="utf-8")
    return {(e["model"], e["tag"]): Weights(**e) for e in json.loads(text)}


def list_weights(model: str | None = None) -> list[Weights]:
    """The shipped weights, of every model or of one.

    Args:
        model: A zoo name; ``None`` means all.

    Returns:
        The entries, by model then tag.
    """
    return [w for key, w in sorted(_index().items()) if model is None or w.model == model]


def get_weights(model: str, tag: str = "mnist") -> Weights:
    """The shipped weights of a model.

    Args:
        model: A zoo name.
        tag: The weights' name.

    Returns:
        The :class:`Weights`.

    Raises:
        UnknownWeightsError: If there are none of that name for that model.
    """
    index = _index()
    if (model, tag) in index:
        return index[(model, tag)]
    shipped = sorted(f"{m}:{t}" for m, t in index)
    close = difflib.get_close_matches(f"{model}:{tag}", shipped, n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise UnknownWeightsError(f"no weights {tag!r} for {model!r}{hint} shipped: {', '.join(shipped) or 'none'}")


def load_into(model: nn.Module, weights: Weights) -> nn.Module:
    """Load shipped weights into a built model, refusing another architecture by name.

    What :func:`tinyconv.zoo.get_model` calls for ``weights=...``, the one way to get a zoo
    model with its shipped weights; not exported.

    Args:
        model: The built model.
        weights: The weights.

    Returns:
        The model, in eval mode.

    Raises:
        WeightsError: If the file is damaged, or the model's layers do not match the weights'.
    """
    state = weights.state_dict()
    own = model.state_dict()
    if set(own) != set(state) or any(own[k].shape != state[k].shape for k in own):
        raise WeightsError(f"the {weights.tag!r} weights of {weights.model} ({weights.params:,} parameters) do not fit "
                           f"this {type(model).__name__} ({sum(p.numel() for p in model.parameters()):,} "
                           "parameters): load them into the model they were trained for")
    model.load_state_dict(state)
    return model.eval()
