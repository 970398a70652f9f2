"""A trained model as a program: :func:`torch.export`'s graph and weights, runnable without its source.

:func:`save_program` writes ``model.pt2`` (batch size free, evaluation mode);
:func:`load_program` reads it back without unpickling anything — every tensor file in the
archive is first checked to load with ``weights_only=True``, so ``torch.export.load`` never
falls back to plain unpickling — as an :class:`ExportedModel`, which evaluates, predicts and
exports to ONNX (:func:`tinyconv.deploy.onnx.to_onnx` checks its operators).
"""

from __future__ import annotations

import copy
import io
import os
import warnings
import zipfile
from pathlib import Path

import torch
from torch import nn

from tinyconv._io import atomic_path

__all__ = ["ExportedModel", "UnsafeProgramError", "save_program", "load_program"]


class UnsafeProgramError(ValueError):
    """A ``model.pt2`` holds something that would need unpickling to load; it is not loaded."""


class ExportedModel(nn.Module):
    """A trained model read from its exported program: evaluation only.

    Args:
        program: The program's module (``torch.export.load(path).module()``).

    Raises:
        RuntimeError: From ``train()``: an exported program is evaluation only.
    """

    def __init__(self, program: torch.fx.GraphModule) -> None:
        super().__init__()
        self.program = program
        self.training = False

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Log-probabilities for a batch of normalised images.

        Args:
            images: ``(B, C, H, W)``.

        Returns:
            ``(B, classes)``.
        """
        return self.program(images)

    def train(self, mode: bool = True) -> ExportedModel:
        """Evaluation mode only (``eval()`` works; ``train()`` raises).

        Args:
            mode: ``False`` (what ``eval()`` passes).

        Returns:
            The model.

        Raises:
            RuntimeError: If ``mode`` is true.
        """
        if mode:
            raise RuntimeError("a model read from model.pt2 runs in evaluation mode only; train the network "
                               "from its source (or its run's copy of it) to train further")
        return self


def save_program(model: nn.Module, path: Path, input_size: tuple[int, ...]) -> str | None:
    """Export the trained model's program to ``path`` (atomically), on the CPU, in eval mode.

    Args:
        model: The trained model (left as it was: a CPU copy is exported).
        path: The ``model.pt2`` to write.
        input_size: ``(C, H, W)`` of one image.

    Returns:
        ``None`` when written, else why the model could not be exported (one line).
    """
    plain = copy.deepcopy(model).cpu().eval()
    example = torch.zeros(2, *input_size)
    batch = torch.export.Dim("batch", min=1, max=1 << 16)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.export(plain, (example,), dynamic_shapes=({0: batch},))
    except Exception as error:  # noqa: BLE001 - any export failure leaves the run as it was, with the reason
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
    buffer = io.BytesIO()  # torch.export wants a .pt2 name or a buffer; the file is then written atomically
    torch.export.save(program, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return None


def load_program(path: str | os.PathLike[str]) -> ExportedModel:
    """The model a ``model.pt2`` holds, in eval mode, without unpickling anything.

    Args:
        path: The ``model.pt2``.

    Returns:
        The trained model, in evaluation mode (it cannot be trained further).

    Raises:
        FileNotFoundError: If there is no such file.
        UnsafeProgramError: If a tensor file in it does not load with ``weights_only=True``.
    """
    path = Path(path)
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(".pt"):
                try:
                    torch.load(io.BytesIO(archive.read(name)), weights_only=True)
                except Exception as error:  # noqa: BLE001 - refused, not unpickled
                    raise UnsafeProgramError(f"{path}: {name} does not load with weights_only=True "
                                             f"({type(error).__name__}); not loaded") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ExportedModel(torch.export.load(path).module())
