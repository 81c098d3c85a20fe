"""The ``cupy`` backend spec. Importable without CuPy: availability is checked on demand.

:data:`CUPY` is the :class:`sigref.backend.BackendSpec` that the entry point ``cupy`` of the group
``sigref.backends`` names. Its ``check`` raises :class:`sigref.backend.BackendUnavailable` with the
reason where CuPy is not installed or no CUDA device is found (so the registry reports the backend
as unavailable instead of failing); its devices are ``"cuda:0"``, ``"cuda:1"``, ... for every GPU,
``to_numpy`` is ``cupy.asnumpy`` and ``synchronize`` waits for the device.

Examples
--------
Without a GPU, what the plugin registers:

>>> from sigref.backend import backend_spec
>>> from sigref_cupy.backend import CUPY
>>> backend_spec("cupy") is CUPY
True
>>> CUPY.name, CUPY.module, CUPY.has_autograd
('cupy', 'cupy', False)

On a machine with CuPy and a CUDA GPU (not run here: the development machine has no GPU):

>>> from sigref.backend import get_backend
>>> backend = get_backend("cupy", dtype="float32")  # doctest: +SKIP
>>> backend.device  # doctest: +SKIP
<CUDA Device 0>
>>> backend.to_numpy(backend.asarray([1.0, 2.0]) * 2).tolist()  # doctest: +SKIP
[2.0, 4.0]
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from sigref.backend import BackendSpec, BackendUnavailable

__all__ = ["CUPY"]


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


#: The ``cupy`` backend: CUDA devices ``cuda:i``, float32 and float64, no autograd.
CUPY = BackendSpec(
    name="cupy",
    module="cupy",
    check=_check,
    devices=_devices,
    device=_device,
    to_numpy=_to_numpy,
    synchronize=_synchronize,
)
