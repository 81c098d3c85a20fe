"""Facts about the machine for the report's header: platform, CPU, memory, package versions,
NumPy's BLAS and the plugins' extra facts (:func:`_host`), and the load before and after a run
(:func:`_load`), plus the available memory used by the memory guard.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.metadata
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from sigref.bench.registry import _INFO


def _mem_available() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _load() -> dict[str, Any]:
    info: dict[str, Any] = {"time": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    with contextlib.suppress(OSError):
        info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    with contextlib.suppress(OSError, ValueError):
        info["uptime_s"] = float(Path("/proc/uptime").read_text().split()[0])
    if shutil.which("uptime"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            info["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    return info


def _host() -> dict[str, Any]:
    versions: dict[str, str] = {}
    for dist in ("sigref", "sigref-torch", "sigref-cupy", "sigref-numba", "numpy", "numba", "torch", "cupy", "open-clip-torch"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[dist] = importlib.metadata.version(dist)
    host: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "mem_total_bytes": _mem_total(),
        "versions": versions,
        "numpy_config": _blas_name(),
    }
    for name, info in _INFO.items():
        with contextlib.suppress(Exception):
            host[name] = info()
    return host


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def _mem_total() -> int | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return None


def _blas_name() -> str:
    with contextlib.suppress(Exception):
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip()
    return "?"
