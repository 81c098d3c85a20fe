"""The ``cupy`` backend spec. Importable without CuPy: availability is checked on demand."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from sigref.backend import BackendSpec, BackendUnavailable


def _cupy() -> Any:
    try:
        return importlib.import_module("cupy")
    except ImportError as exc:
        raise BackendUnavailable(f"cupy is not installed ({exc}); pip install 'sigref-cupy[cuda13]'") from exc


def _check() -> None:
    cp = _cupy()
    try:
        count = cp.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken
        raise BackendUnavailable(f"no CUDA device ({exc})") from exc
    if count == 0:
        raise BackendUnavailable("no CUDA device")


def _devices() -> list[str]:
    return [f"cuda:{i}" for i in range(_cupy().cuda.runtime.getDeviceCount())]


def _device(name: str) -> Any:
    return _cupy().cuda.Device(int(name.split(":")[1]))


def _to_numpy(x: Any) -> np.ndarray:
    return _cupy().asnumpy(x)


def _synchronize(device: Any) -> None:
    _cupy().cuda.Device(device.id).synchronize()


CUPY = BackendSpec(
    name="cupy",
    module="cupy",
    check=_check,
    devices=_devices,
    device=_device,
    to_numpy=_to_numpy,
    synchronize=_synchronize,
)
