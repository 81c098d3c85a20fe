"""Array-API optimisers for the synthetic experiments: sphere projection, SGD and Adam.

All state is plain arrays of the parameters' namespace, updated functionally, with leading
batch axes allowed everywhere so that a grid of runs trains as one computation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import array_api_compat

__all__ = ["Adam", "project_to_sphere"]


def project_to_sphere(X: Any) -> Any:
    """Rows of ``X`` (last axis) scaled to unit Euclidean norm: the projection onto S^{d-1}."""
    xp = array_api_compat.array_namespace(X)
    return X / xp.linalg.vector_norm(X, axis=-1, keepdims=True)


@dataclass
class Adam:
    """Adam (Kingma & Ba, arXiv 1412.6980) over a dict of named arrays, as ``torch.optim.Adam``.

    ``step(params, grads)`` returns the updated parameters; moments live on the instance.
    ``lr`` may be a float or a dict of per-parameter learning rates.
    """

    lr: float | dict[str, float] = 1e-2
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        self.t = 0
        self.m: dict[str, Any] = {}
        self.v: dict[str, Any] = {}

    def step(self, params: dict[str, Any], grads: dict[str, Any]) -> dict[str, Any]:
        self.t += 1
        c1 = 1.0 - self.beta1**self.t
        c2 = 1.0 - self.beta2**self.t
        out = dict(params)
        for name, g in grads.items():
            xp = array_api_compat.array_namespace(g)
            m = self.m.get(name, xp.zeros_like(g))
            v = self.v.get(name, xp.zeros_like(g))
            m = self.beta1 * m + (1.0 - self.beta1) * g
            v = self.beta2 * v + (1.0 - self.beta2) * (g * g)
            self.m[name], self.v[name] = m, v
            lr = self.lr[name] if isinstance(self.lr, dict) else self.lr
            out[name] = params[name] - lr * (m / c1) / (xp.sqrt(v / c2) + self.eps)
        return out
