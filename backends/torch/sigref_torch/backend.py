"""The ``torch`` backend spec: CPU and CUDA devices, float32/float64, autograd."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sigref.backend import BackendSpec


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


TORCH = BackendSpec(
    name="torch",
    module="torch",
    devices=_devices,
    device=torch.device,
    to_numpy=_to_numpy,
    synchronize=_synchronize,
    has_autograd=True,
)
