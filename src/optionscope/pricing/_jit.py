"""Typed wrappers around ``numba.njit`` so kernels keep their signatures under mypy.

Every kernel is compiled lazily on its first call and cached on disk (``cache=True``,
in ``__pycache__`` beside the module, or ``NUMBA_CACHE_DIR``), so importing
``optionscope.pricing`` compiles nothing. numba checks a cached kernel against the source
file that defines it, not against the kernels it calls: after editing one private kernel
module, delete the ``*.nbi``/``*.nbc`` files in ``src/optionscope/pricing/__pycache__``.
"""

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

import numba

PARALLEL_MIN_SIZE = 50_000
"""Arrays at least this long run on all cores; shorter ones on the calling thread, since
waking a thread team costs 20 µs to 2 ms per call (measured with numba's OpenMP layer on a
shared 2-core machine), more than the work itself below ~50k options."""

PARALLEL_CHUNK_SIZE = 8_192
"""Iterations handed to a thread at a time, so a thread slowed by other processes does not
hold back the others (numba schedules ``prange`` statically unless a chunk size is set)."""

_P = ParamSpec("_P")
_R = TypeVar("_R")


def scalar_kernel(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Compile a scalar helper with ``numba.njit(cache=True, nogil=True)``."""
    return cast("Callable[_P, _R]", numba.njit(cache=True, nogil=True)(func))


def parallel_kernel(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Compile an array loop with ``numba.njit(parallel=True, cache=True, nogil=True)``."""
    return cast("Callable[_P, _R]", numba.njit(cache=True, nogil=True, parallel=True)(func))


def run_kernel(
    serial: Callable[..., None], parallel: Callable[..., None], size: int, *args: Any
) -> None:
    """Run ``parallel`` (dynamic chunks on all cores) for large inputs, else ``serial``."""
    if size >= PARALLEL_MIN_SIZE:
        with numba.parallel_chunksize(PARALLEL_CHUNK_SIZE):
            parallel(*args)
    else:
        serial(*args)
