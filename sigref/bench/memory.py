"""The memory instruments of the worker: the resident set's high-water mark (:class:`RssProbe`,
Linux ``clear_refs``), the ``tracemalloc`` peak of NumPy rows (:class:`TracemallocProbe`), the
choice of probe per backend (plugins register device probes) and glibc's ``mallopt`` setting that
makes the resident set follow the live arrays.
"""

from __future__ import annotations

import ctypes
import gc
import resource
import tracemalloc
from typing import Any

from sigref.bench.registry import _MEMORY_PROBES, BACKEND_KEYS


def _proc_status() -> dict[str, int]:
    values: dict[str, int] = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmHWM:", "VmRSS:")):
                key, rest = line.split(":", 1)
                values[key] = int(rest.split()[0]) * 1024
    return values


class RssProbe:
    """Growth of the resident set's high-water mark during a call (Linux ``clear_refs``)."""

    method = "rss-hwm"

    def __init__(self) -> None:
        self._base = 0
        self._fallback = False

    def reset(self) -> None:
        gc.collect()
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self._base = _proc_status()["VmRSS"]
        except OSError:
            self._fallback = True
            self.method = "ru_maxrss (lower bound: high-water mark cannot be reset)"
            self._base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def peak(self) -> int:
        if self._fallback:
            return max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self._base)
        return max(0, _proc_status()["VmHWM"] - self._base)


class TracemallocProbe:
    """Peak of the Python-tracked allocations (NumPy reports its data buffers) during a call."""

    method = "tracemalloc"

    def reset(self) -> None:
        gc.collect()
        tracemalloc.start()
        tracemalloc.reset_peak()
        self._base = tracemalloc.get_traced_memory()[0]

    def peak(self) -> int:
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return max(0, peak - self._base)


def _probe_for(key: str, backend: Any) -> Any:
    library, _, gpu = BACKEND_KEYS.get(key, (key, None, False))
    factory = _MEMORY_PROBES.get(library)
    probe = factory(backend) if factory else None
    if probe is None and not gpu:
        probe = RssProbe()
    return probe


def _limit_malloc() -> str:
    """Make glibc hand blocks >= 1 MiB straight back to the system, so RSS tracks live arrays."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(-3, 1 << 20) == 1  # M_MMAP_THRESHOLD (also disables its dynamic growth)
        return "mmap_threshold=1MiB" if ok else "mallopt refused"
    except OSError:
        return "not glibc"
