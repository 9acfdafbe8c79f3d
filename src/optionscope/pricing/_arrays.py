"""Broadcast keyword inputs into the flat arrays that the numba kernels loop over."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

ArrayLike = npt.ArrayLike


def as_float(value: ArrayLike) -> FloatArray:
    """Return ``value`` as a float64 array (no copy when it already is one)."""
    return np.asarray(value, dtype=np.float64)


def as_flag(value: ArrayLike) -> BoolArray:
    """Return a boolean array from bools or 0/1 integers; refuse strings such as ``"c"``.

    Raises:
        TypeError: When the values are neither boolean nor integer (a contract error, not a
            bad element).
    """
    array = np.asarray(value)
    if array.dtype != np.bool_ and not np.issubdtype(array.dtype, np.integer):
        msg = f"is_call must be bool or 0/1 integers, got dtype {array.dtype}"
        raise TypeError(msg)
    return array.astype(np.bool_, copy=False)


def flatten_broadcast(
    arrays: Sequence[npt.NDArray[Any]],
) -> tuple[tuple[int, ...], list[npt.NDArray[Any]]]:
    """Return the broadcast shape and each input as a C-contiguous 1-D array.

    An input with a single element stays length 1 (the kernels read it with stride 0), so
    broadcasting scalars costs no memory; any other input is expanded to the full size.

    Raises:
        ValueError: When the shapes do not broadcast (a contract error).
    """
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    flat: list[npt.NDArray[Any]] = []
    for a in arrays:
        if a.size == 1:
            flat.append(np.ascontiguousarray(a).reshape(1))
        elif a.shape == shape:
            flat.append(np.ascontiguousarray(a).reshape(-1))
        else:
            flat.append(np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1))
    return shape, flat
