"""The ``jax`` backend spec: CPU (and GPU/TPU where jaxlib has them) devices, float32/float64.

float64 needs JAX's 64-bit mode (``jax_enable_x64``): without it ``jnp.asarray(x, dtype=float64)``
silently gives float32. Importing this module (the registry does, on first use of the backend)
turns it on, so that both dtypes of the test matrix mean what they say; float32 arrays stay
float32. Set ``JAX_ENABLE_X64=0`` in the environment before the first import to keep JAX's
32-bit default (the backend then offers float32 only and a float64 request is an error).

:data:`JAX` is the :class:`sigref.backend.BackendSpec` that the entry point ``jax`` of the group
``sigref.backends`` names: devices ``"cpu"`` and, where jaxlib has them, ``"gpu"``, ``"gpu:i"``,
``"tpu"``, ``"tpu:i"``; ``to_numpy`` is ``jax.device_get``; ``synchronize`` waits for the device's
queue (JAX dispatches asynchronously).

Examples
--------
>>> from sigref.backend import backend_spec, get_backend
>>> from sigref_jax.backend import JAX
>>> backend_spec("jax") is JAX
True
>>> JAX.devices()[0], JAX.has_autograd
('cpu', True)
>>> backend = get_backend("jax", device="cpu", dtype="float64")
>>> x = backend.asarray([0.5, 2.0])
>>> str(x.dtype), backend.to_numpy(x * 2).tolist()
('float64', [1.0, 4.0])
"""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np

from sigref.backend import BackendSpec, BackendUnavailable

__all__ = ["JAX"]

if os.environ.get("JAX_ENABLE_X64", "1").strip().lower() not in ("0", "false"):
    jax.config.update("jax_enable_x64", True)


def _check() -> None:
    if not jax.config.jax_enable_x64:
        raise BackendUnavailable("JAX runs in 32-bit mode (JAX_ENABLE_X64=0); sigref's jax backend needs jax_enable_x64 for float64")


def _devices() -> list[str]:
    names = ["cpu"]
    for platform in ("gpu", "tpu"):
        try:
            found = jax.devices(platform)
        except RuntimeError:  # no such backend in this jaxlib
            continue
        names += [platform] + [f"{platform}:{d.id}" for d in found]
    return names


def _device(name: str) -> Any:
    platform, _, index = name.partition(":")
    devices = jax.devices(platform)
    if not index:
        return devices[0]
    for d in devices:
        if d.id == int(index):
            return d
    raise ValueError(f"no JAX device {name!r}")


def _to_numpy(x: Any) -> np.ndarray:
    return np.asarray(jax.device_get(x))


def _synchronize(device: Any) -> None:
    # JAX dispatches asynchronously; an empty computation on the device waits for the queue there
    jax.device_put(0.0, device).block_until_ready()


#: The ``jax`` backend: CPU (GPU, TPU) devices, float32 and float64, ``has_autograd=True``.
JAX = BackendSpec(
    name="jax",
    module="jax.numpy",
    check=_check,
    devices=_devices,
    device=_device,
    to_numpy=_to_numpy,
    synchronize=_synchronize,
    has_autograd=True,  # jax.grad traces through the array-API kernels
)
