"""A pickle reader that reconstructs numpy arrays and nothing else.

Third-party pickles can run arbitrary code when loaded with :func:`pickle.load`.
:func:`load_numpy_pickle` uses an unpickler whose ``find_class`` admits only the
few numpy names needed to rebuild ``ndarray`` objects, ``_codecs.encode`` (how
protocol-2 pickles written by Python 3 spell bytes), and the plain containers
pickle builds without any class lookup: tuples, lists, dicts, numbers, strings.
Anything else — ``os.system``, ``builtins.eval``, any other class — is refused
before it is called.
"""

from __future__ import annotations

import io
import pickle
from typing import IO, Any

import numpy as np

__all__ = ["UnsafePickleError", "NumpyOnlyUnpickler", "load_numpy_pickle"]


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for a global that is not on the numpy allow-list."""


def _reconstruct() -> Any:
    try:
        from numpy._core.multiarray import _reconstruct as rebuild  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct as rebuild
    return rebuild


def _codecs_encode() -> Any:
    import _codecs

    return _codecs.encode


_ALLOWED = {
    # Python 3 writes bytes in protocol-2 pickles as _codecs.encode(text, "latin1").
    ("_codecs", "encode"): _codecs_encode,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that resolves only numpy's array-reconstruction globals."""

    def find_class(self, module: str, name: str) -> Any:
        """Resolve an allowed global or refuse.

        Args:
            module: The global's module.
            name: The global's name.

        Returns:
            The allowed object.

        Raises:
            UnsafePickleError: For any global not on the allow-list.
        """
        factory = _ALLOWED.get((module, name))
        if factory is None:
            raise UnsafePickleError(f"refusing to load {module}.{name}: only numpy arrays are allowed")
        return factory()


def load_numpy_pickle(source: bytes | IO[bytes]) -> Any:
    """Load a pickle that may contain only numpy arrays and plain containers.

    Object arrays are refused as well, since their elements would be arbitrary objects.

    Args:
        source: The pickle's bytes or a binary file.

    Returns:
        The unpickled object.

    Raises:
        UnsafePickleError: If the pickle references anything but numpy's array
            reconstruction, or contains an object array.
    """
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    obj = NumpyOnlyUnpickler(stream, encoding="latin1").load()
    _refuse_object_arrays(obj)
    return obj


def _refuse_object_arrays(obj: Any) -> None:
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise UnsafePickleError("refusing an object array: only numeric arrays are allowed")
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            _refuse_object_arrays(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            _refuse_object_arrays(item)
