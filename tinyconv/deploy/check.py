"""The exported C checked on the host: against its integer reference (bit for bit) and against PyTorch."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tinyconv.deploy.c import CExport
from tinyconv.deploy.int8 import run_int8

__all__ = ["CCheck", "check_c", "raw_pixels"]


@dataclass(frozen=True)
class CCheck:
    """The C export on test images.

    Attributes:
        path: The ``.c`` file.
        images: How many images.
        correct_c: Correct predictions of the compiled C, or ``None`` when no compiler was found.
        correct_reference: Correct predictions of the integer reference (:func:`~tinyconv.deploy.int8.run_int8`).
        correct_torch: Correct predictions of the PyTorch model (fp32).
        bit_exact: Images whose C scores equal the reference's, every one of them (``None`` without a compiler).
        same_as_torch: Images the C (or, without a compiler, the reference) classifies as PyTorch does.
    """

    path: str
    images: int
    correct_c: int | None
    correct_reference: int
    correct_torch: int
    bit_exact: int | None
    same_as_torch: int

    def describe(self) -> str:
        """Two lines for the export's output."""
        n = self.images
        if self.correct_c is None:
            return (f"  {self.path}: no C compiler found (cc): the integer reference scores "
                    f"{100 * self.correct_reference / n:.2f}% vs PyTorch {100 * self.correct_torch / n:.2f}% "
                    f"on {n:,} test images; build and check it where a compiler is")
        return (f"  {self.path}: built with cc -std=c99 -Wall -Wextra -Werror -O2; {n:,} test images, C "
                f"{100 * self.correct_c / n:.2f}% vs PyTorch {100 * self.correct_torch / n:.2f}%, same prediction "
                f"for {self.same_as_torch:,}; scores equal to the integer reference for {self.bit_exact:,}")


def raw_pixels(images: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """Normalised images back to their ``uint8`` pixels (``round((x * std + mean) * 255)``)."""
    return ((images.double() * std + mean) * 255).round().clamp(0, 255).to(torch.uint8)


def check_c(export: CExport, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, mean: float,
            std: float) -> CCheck:
    """Build the C on this machine and compare it with its integer reference and with PyTorch.

    Args:
        export: What :func:`tinyconv.deploy.c.to_c` wrote.
        model: The PyTorch model it came from.
        images: Normalised test images ``(N, C, H, W)``.
        labels: Their classes.
        mean: The normalisation's mean (to recover the raw pixels the C takes).
        std: Its standard deviation.

    Returns:
        The :class:`CCheck`.
    """
    from tinyconv.cpu.plain import plain_copy
    from tinyconv.deploy.cbuild import compile_host

    pixels = raw_pixels(images, mean, std)
    reference = torch.cat([run_int8(export.quantized, pixels[i:i + 1000]) for i in range(0, len(pixels), 1000)])
    plain = plain_copy(model)
    with torch.no_grad():
        torch_says = torch.cat([plain(images[i:i + 1000]).argmax(1) for i in range(0, len(images), 1000)])
    truth = labels.numpy()
    reference_says = reference.argmax(1).numpy()
    correct_torch = int((torch_says.numpy() == truth).sum())
    if shutil.which("cc") is None:
        return CCheck(str(export.source), len(truth), None, int((reference_says == truth).sum()), correct_torch,
                      None, int((reference_says == torch_says.numpy()).sum()))
    with tempfile.TemporaryDirectory(prefix="tinyconv-c-") as build:
        classes, scores = compile_host(export, build).run(pixels.numpy())
    exact = int((scores.astype(np.int64) == reference.numpy() - 128).all(1).sum())
    return CCheck(str(export.source), len(truth), int((classes == truth).sum()), int((reference_says == truth).sum()),
                  correct_torch, exact, int((classes == torch_says.numpy()).sum()))
