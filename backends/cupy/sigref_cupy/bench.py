"""CuPy's memory probe for ``sigref bench`` (imported by ``sigref.bench.load_plugins``).

CuPy's memory pool reports the bytes in use but keeps no high-water mark, so the probe routes
allocations through a thin allocator that records the pool's peak usage. Not exercised on the
CPU-only development machine.
"""

from __future__ import annotations

from typing import Any

import cupy

from sigref import bench as _bench


class PoolPeakProbe:
    """Peak of the default memory pool's used bytes during a call, above the usage before it."""

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
        cupy.cuda.Device().synchronize()
        self._base = self._peak = self.pool.used_bytes()

    def peak(self) -> int:
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
