"""Reading and writing the IDX format of the MNIST files.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the data. MNIST uses type
``0x08`` (unsigned byte) only, which is all this module handles.
"""

from __future__ import annotations

import os
import struct

import numpy as np

from tinyconv._io import atomic_write_bytes

__all__ = ["IdxFormatError", "encode_idx", "decode_idx", "write_idx", "read_idx"]

_UBYTE = 0x08


class IdxFormatError(ValueError):
    """Bytes that do not form a valid unsigned-byte IDX file."""


def encode_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX bytes.

    Args:
        array: A uint8 array with 1 to 255 dimensions.

    Returns:
        The IDX bytes.

    Raises:
        TypeError: If the array is not uint8.
    """
    if array.dtype != np.uint8:
        raise TypeError(f"IDX encoding supports uint8 arrays only, got {array.dtype}")
    header = struct.pack(">BBBB", 0, 0, _UBYTE, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def decode_idx(data: bytes, *, name: str = "IDX data") -> np.ndarray:
    """Decode IDX bytes into a uint8 array.

    Args:
        data: The file's bytes.
        name: What to call the data in error messages.

    Returns:
        The array (a copy, writable).

    Raises:
        IdxFormatError: If the header is invalid or the size does not match it.
    """
    if len(data) < 4:
        raise IdxFormatError(f"{name}: {len(data)} bytes is too short for an IDX header")
    zero1, zero2, dtype, ndim = struct.unpack(">BBBB", data[:4])
    if zero1 or zero2 or dtype != _UBYTE or ndim == 0:
        raise IdxFormatError(f"{name}: bad IDX magic {data[:4].hex()} (expected 000008nn)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxFormatError(f"{name}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        raise IdxFormatError(f"{name}: {len(data)} bytes, but shape {shape} needs {expected}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file, atomically.

    Args:
        path: Destination.
        array: A uint8 array.
    """
    atomic_write_bytes(path, encode_idx(array))


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file.

    Args:
        path: The file; one ending in ``.gz`` is decompressed as it is read (the way
            MNIST and Fashion-MNIST ship their files).

    Returns:
        The uint8 array.

    Raises:
        IdxFormatError: If the file is not a valid IDX file, or a gzip file is truncated or damaged.
    """
    name = os.fspath(path)
    if not name.endswith(".gz"):
        with open(path, "rb") as handle:
            return decode_idx(handle.read(), name=name)
    import gzip
    import zlib

    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise IdxFormatError(f"{name}: a truncated or damaged gzip file ({error}); download it again") from None
    return decode_idx(data, name=name)
