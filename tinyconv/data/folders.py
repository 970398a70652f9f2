"""Data folders as users have them on disk: IDX files (plain or ``.gz``), torchvision's ``raw`` layout, class folders.

:func:`data_folder` is what ``--data DIR`` and ``train_net(data="DIR")`` read. It accepts

- the four IDX files in the folder, uncompressed or as ``.gz`` (the way MNIST and
  Fashion-MNIST ship them; decompressed while read, the same checks after);
- torchvision's layout, found from its root: ``DIR/raw/`` or ``DIR/<Name>/raw/``
  (``torchvision.datasets.FashionMNIST(root=DIR, download=True)`` writes ``DIR/FashionMNIST/raw``);
- class folders in the ``ImageFolder`` style: ``DIR/train/<class>/*.png`` and
  ``DIR/test/<class>/*.png`` (PNG or JPEG; the classes are the sorted subfolder names of
  ``train``, the same ones in ``test``). Grayscale images give one channel, colour ones three.

Every problem is one line naming the file or folder: a missing file, a truncated gzip, a
class in ``test`` that ``train`` lacks, images of two sizes, a file that is not an image.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from tinyconv.data.idx import read_idx
from tinyconv.data.sources import IDX_FILES, DataError, ImageData

__all__ = ["data_folder", "idx_files", "class_folders", "images_in", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
"""The image files a folder contributes (by suffix, any case)."""


def idx_files(folder: Path) -> dict[str, Path] | None:
    """The four IDX files of a folder (or of its torchvision ``raw`` subfolder), plain or ``.gz``; ``None`` if none is there.

    Args:
        folder: The folder.

    Returns:
        The file for each of :data:`~tinyconv.data.sources.IDX_FILES`' keys, or ``None``
        when the folder holds none of them.

    Raises:
        DataError: When some but not all of the four files are there.
    """
    for place in [folder, folder / "raw", *sorted(p / "raw" for p in folder.iterdir() if p.is_dir())]:
        if not place.is_dir():
            continue
        found = {key: _one_of(place, name) for key, name in IDX_FILES.items()}
        if any(found.values()):
            missing = [IDX_FILES[key] for key, path in found.items() if path is None]
            if missing:
                raise DataError(f"{place} has no {', '.join(missing)} (nor .gz): an IDX folder holds "
                                f"{', '.join(IDX_FILES.values())}, plain or gzipped")
            return found  # type: ignore[return-value]
    return None


def _one_of(place: Path, name: str) -> Path | None:
    for candidate in (place / name, place / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def class_folders(folder: Path, name: str | None = None) -> ImageData:
    """Read ``train/<class>/*`` and ``test/<class>/*`` image files into one :class:`ImageData`.

    Args:
        folder: The folder holding ``train`` and ``test``.
        name: What the data is; ``None``: the folder's name.

    Returns:
        The data: ``uint8 (N, C, H, W)``, one channel when every image is grayscale, else three.

    Raises:
        DataError: For a missing split, a class of ``test`` that ``train`` lacks, an empty class,
            images of two sizes, or a file that is not an image.
    """
    splits = {split: folder / split for split in ("train", "test")}
    for split, path in splits.items():
        if not path.is_dir():
            raise DataError(f"{folder} has no {split}/ folder: a class folder holds train/<class>/ and test/<class>/ "
                            f"of {', '.join(IMAGE_SUFFIXES)} files (or give the four IDX files)")
    classes = sorted(p.name for p in splits["train"].iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"{splits['train']} has no class subfolders (train/<class>/image.png)")
    extra = sorted({p.name for p in splits["test"].iterdir() if p.is_dir()} - set(classes))
    if extra:
        raise DataError(f"{splits['test']} has classes that train/ lacks: {', '.join(extra)}")
    files = {split: [(path, index) for index, label in enumerate(classes) for path in images_in(splits[split] / label)]
             for split in splits}
    for split, listed in files.items():
        if not listed:
            raise DataError(f"{splits[split]} holds no image ({', '.join(IMAGE_SUFFIXES)})")
    empty = [label for label in classes if not images_in(splits["train"] / label)]
    if empty:
        raise DataError(f"{splits['train']} has classes without images: {', '.join(empty)}")
    colour = any(_is_colour(path) for listed in files.values() for path, _ in listed)
    arrays = {split: _read_images(listed, colour) for split, listed in files.items()}
    return ImageData(arrays["train"][0], arrays["train"][1], arrays["test"][0], arrays["test"][1],
                     name=name or folder.resolve().name)


def images_in(folder: Path) -> list[Path]:
    """The image files directly in ``folder`` (see :data:`IMAGE_SUFFIXES`), sorted; none if it is not a folder."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _open(path: Path):  # noqa: ANN202 - a PIL image
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(f"{path} is not an image PIL can read ({type(error).__name__})") from None
    return image


def _is_colour(path: Path) -> bool:
    return _open(path).mode not in ("L", "1", "I;16", "I", "LA")


def _read_images(listed: list[tuple[Path, int]], colour: bool) -> tuple[torch.Tensor, torch.Tensor]:
    images, size, first = [], None, None
    for path, _ in listed:
        image = _open(path).convert("RGB" if colour else "L")
        if size is None:
            size, first = image.size, path
        elif image.size != size:
            raise DataError(f"images of two sizes: {first} is {size[0]}x{size[1]}, {path} is "
                            f"{image.size[0]}x{image.size[1]}; resize them to one size")
        array = np.asarray(image, dtype=np.uint8)
        images.append(array.transpose(2, 0, 1) if colour else array[None])
    labels = torch.tensor([label for _, label in listed], dtype=torch.int64)
    return torch.from_numpy(np.stack(images)), labels


def data_folder(path: str | os.PathLike[str], name: str | None = None) -> ImageData:
    """Read a data folder in any of the layouts of the module's list.

    Args:
        path: The folder.
        name: What the data is; ``None``: the folder's name (for torchvision's layout, the dataset's).

    Returns:
        The data.

    Raises:
        DataError: For a folder that is none of the layouts, or one whose files do not fit together.
        tinyconv.data.idx.IdxFormatError: For a truncated, damaged or non-IDX file.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"no folder {folder}: --data takes a folder of the four IDX files (plain or .gz), "
                        "torchvision's root (<Name>/raw), or train/<class>/ and test/<class>/ image folders")
    found = idx_files(folder)
    if found is not None:
        arrays = {key: torch.from_numpy(read_idx(file).copy()) for key, file in found.items()}
        where = found["train_images"].parent
        label = name or (where.parent.name if where.name == "raw" else where.resolve().name)
        return _checked(ImageData(**arrays, name=label))
    if (folder / "train").is_dir() or (folder / "test").is_dir():
        return _checked(class_folders(folder, name))
    raise DataError(f"{folder} holds neither the four IDX files ({', '.join(IDX_FILES.values())}, plain or .gz; "
                    "also under raw/ or <Name>/raw/) nor train/<class>/ and test/<class>/ image folders")


def _checked(data: ImageData) -> ImageData:
    """Refuse test labels the training labels never use (a classifier cannot learn them)."""
    unseen = sorted(set(data.test_labels.unique().tolist()) - set(data.train_labels.unique().tolist()))
    if unseen:
        shown = ", ".join(map(str, unseen[:5])) + (", ..." if len(unseen) > 5 else "")
        raise DataError(f"{data.name}: test labels {shown} never occur in the training labels (out of their range "
                        f"0-{int(data.train_labels.max())}): the files do not belong together")
    return data
