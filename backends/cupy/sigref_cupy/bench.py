"""CuPy's memory probe for ``sigref bench`` (imported by ``sigref.bench.load_plugins``).

CuPy's memory pool reports the bytes in use but keeps no high-water mark, so the probe
(:class:`PoolPeakProbe`) routes allocations through a thin allocator that records the pool's
peak usage. Importing the module registers the probe and host facts (CuPy's version, the GPUs'
names) for the ``cupy`` backend. It imports CuPy, so it is not imported, nor its examples run, on
the CPU-only development machine.
"""

from __future__ import annotations

from typing import Any

import cupy

from sigref import bench as _bench

__all__ = ["PoolPeakProbe"]


class PoolPeakProbe:
    """Peak of the default memory pool's used bytes during a call, above the usage before it.

    Creating one installs its allocator with ``cupy.cuda.set_allocator`` (every later CuPy
    allocation of the process goes through it); :meth:`reset` before the call, :meth:`peak` after.

    Attributes
    ----------
    method : str
        How the peak is measured, for the report.
    pool : cupy.cuda.MemoryPool
        CuPy's default memory pool.

    Examples
    --------
    Not run here (it needs CuPy and a CUDA GPU):

    >>> import cupy  # doctest: +SKIP
    >>> from sigref_cupy.bench import PoolPeakProbe  # doctest: +SKIP
    >>> probe = PoolPeakProbe()  # doctest: +SKIP
    >>> probe.reset()  # doctest: +SKIP
    >>> x = cupy.empty(2**20, dtype=cupy.float32)  # doctest: +SKIP
    >>> probe.peak()  # doctest: +SKIP
    4194304
    """

    method = "cupy default memory pool, peak used_bytes via an allocator hook"

    def __init__(self) -> None:
        self.pool = cupy.get_default_memory_pool()
        self._base = 0
        self._peak = 0
        cupy.cuda.set_allocator(self._malloc)

    def _malloc(self, size: int) -> Any:
        memory = self.pool.malloc(size)
        self._peak = max(self._peak, self.pool.used_bytes())
        return memory

    def reset(self) -> None:
        """Wait for the current device, then start a new peak at the pool's used bytes now."""
        cupy.cuda.Device().synchronize()
        self._base = self._peak = self.pool.used_bytes()

    def peak(self) -> int:
        """Wait for the current device; the peak used bytes since :meth:`reset`, above the level then.

        Returns
        -------
        int
            Bytes, non-negative.
        """
        cupy.cuda.Device().synchronize()
        return max(0, self._peak - self._base)


def _probe(backend: Any) -> PoolPeakProbe | None:
    return PoolPeakProbe() if backend.name == "cupy" else None


def _info() -> dict[str, Any]:
    count = cupy.cuda.runtime.getDeviceCount()
    names = [cupy.cuda.runtime.getDeviceProperties(i)["name"].decode() for i in range(count)]
    return {"cupy": cupy.__version__, "gpus": names}


_bench.register_memory_probe("cupy", _probe)
_bench.register_info("cupy", _info)
