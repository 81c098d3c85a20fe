"""Host allocator tuning for sigref's own processes (the ``sigref`` command, the benchmark's timing runs).

NumPy and torch CPU allocate every temporary afresh. With glibc's default policy, freed blocks
at the top of the heap are trimmed and large blocks are mmapped, so each new temporary starts
with page faults; in virtual machines these dominate small kernels (Bangachev's E1 runs about
2x slower). :func:`retain_freed_memory` asks glibc to keep freed memory for reuse. It changes no
result, only where temporaries come from, and is a no-op on other C libraries.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["retain_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 * 2**20  # glibc's ceiling for M_MMAP_THRESHOLD on 64-bit systems


def retain_freed_memory() -> bool:
    """Keep freed heap memory for reuse and mmap only blocks above 32 MiB.

    Sets glibc's ``M_MMAP_THRESHOLD`` to 32 MiB (its ceiling on 64-bit systems) and
    ``M_TRIM_THRESHOLD`` to 1 GiB through ``mallopt``, for the whole process. Results do not
    change; only where temporaries come from.

    Returns
    -------
    bool
        True if both settings were applied; False on other C libraries, or when the C library
        cannot be loaded.

    Examples
    --------
    >>> from sigref.hostmem import retain_freed_memory
    >>> isinstance(retain_freed_memory(), bool)  # True on glibc
    True
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX) and mallopt(_M_TRIM_THRESHOLD, 2**30))
