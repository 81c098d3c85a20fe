"""The ``torch`` backend spec: CPU and CUDA devices, float32/float64, autograd.

:data:`TORCH` is the :class:`sigref.backend.BackendSpec` that the entry point ``torch`` of the group
``sigref.backends`` names. Its devices are ``"cpu"`` and, where CUDA is available, ``"cuda"`` and
``"cuda:i"`` for every GPU; ``to_numpy`` detaches and copies to the host, ``synchronize`` waits for
the CUDA stream of a CUDA device (a no-op on the CPU).

Examples
--------
>>> from sigref.backend import backend_spec, get_backend
>>> from sigref_torch.backend import TORCH
>>> backend_spec("torch") is TORCH
True
>>> TORCH.devices()[0], TORCH.has_autograd
('cpu', True)
>>> backend = get_backend("torch", device="cpu", dtype="float64")
>>> x = backend.asarray([0.5, 2.0])
>>> x.dtype, backend.to_numpy(x * 2).tolist()
(torch.float64, [1.0, 4.0])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sigref.backend import BackendSpec

__all__ = ["TORCH"]


def _devices() -> list[str]:
    names = ["cpu"]
    if torch.cuda.is_available():
        names += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return names


def _to_numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy()


def _synchronize(device: Any) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


#: The ``torch`` backend: CPU and CUDA devices, float32 and float64, ``has_autograd=True``.
TORCH = BackendSpec(
    name="torch",
    module="torch",
    devices=_devices,
    device=torch.device,
    to_numpy=_to_numpy,
    synchronize=_synchronize,
    has_autograd=True,
)
