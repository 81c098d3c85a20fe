r"""Golden cases of the conformance suite (``sigref conform``, :mod:`sigref.conform`).

Each case holds :math:`K` configurations :math:`(U_k, V_k, t_k, b_k)` in the papers' convention
:math:`z_{ij} = t \langle u_i, v_j \rangle - b` and, for every :math:`\gamma` in
:data:`GAMMAS`, the per-anchor sigmoid loss of SigLIP (Zhai et al., arXiv:2303.15343)

.. math::

    L = \frac{1}{N} \sum_{i,j} w(q_{ij}) \operatorname{softplus}(q_{ij}),
    \qquad q_{ii} = -z_{ii}, \quad q_{ij} = z_{ij} \ (i \ne j),

with :math:`w = 1` at :math:`\gamma = 0` and MSCL's :math:`w = (1 - \sigma(y z))^{\gamma}`
otherwise (:math:`y = +1` on positives, :math:`-1` on negatives), and its gradients in
:math:`U`, :math:`V`, :math:`t`, :math:`\log t` and :math:`b`, stored as ``gamma<g>_value``,
``gamma<g>_grad_U``, ... (:data:`OUTPUTS`). A conformance run calls the implementation under test
once per configuration with :math:`(N, d)` rows; the case in :data:`BATCH_CASES` is passed whole,
with its leading batch axes.

Examples
--------
>>> from sigref.golden.cases.conform import CASES, GAMMAS
>>> [case.name for case in CASES][:3], GAMMAS
(['conform_n2', 'conform_init', 'conform_trained'], (0.0, 0.5, 1.0))
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sigref import losses
from sigref.golden.case import Case
from sigref.sampling import rng_from, uniform_sphere

__all__ = ["BATCH_CASES", "CASES", "GAMMAS", "OUTPUTS"]

#: The loss variants pinned: 0: the plain loss; 1: MSCL's default confidence penalty; 0.5: on its cosine schedule's way to 0,
#: where (1 - sigma)^gamma written by subtraction has an infinite derivative once sigma rounds to 1
GAMMAS = (0.0, 0.5, 1.0)
#: The outputs stored per gamma (prefixed ``gamma<g>_``): the value and the gradients in the
#: papers' parameters.
OUTPUTS = ("value", "grad_U", "grad_V", "grad_t", "grad_log_t", "grad_b")
#: The cases passed whole, with their leading batch axes, to implementations that declare them.
BATCH_CASES = frozenset({"conform_batch_axes"})


def _pairs(seed: int, shape: tuple[int, ...], noise: float | None) -> dict[str, np.ndarray]:
    """Unit rows U and V; V_i independent of U_i (``noise`` None: the pairs at initialisation) or
    V_i = normalise(U_i + noise * g_i) (trained pairs: positives more similar than negatives)."""
    U = uniform_sphere(seed, shape)
    if noise is None:
        return {"U": U, "V": uniform_sphere(seed + 1, shape)}
    V = U + noise * rng_from(seed + 1).standard_normal(shape)
    return {"U": U, "V": V / np.linalg.norm(V, axis=-1, keepdims=True)}


def _configs(seed: int, n: int, d: int, tb: list[tuple[float, float]], noise: float | None = None) -> Any:
    def inputs() -> dict[str, np.ndarray]:
        t, b = (np.array(x, dtype=np.float64) for x in zip(*tb))
        return _pairs(seed, (len(tb), n, d), noise) | {"t": t, "b": b}

    return inputs


def _batch_inputs() -> dict[str, np.ndarray]:
    t = np.array([[1.0, 10.0, 100.0], [5.0, 30.0, 1.0e3]])
    b = np.array([[0.0, 10.0, 12.0], [5.0, -3.0, 900.0]])
    return _pairs(31, (2, 3, 10, 4), 1.0) | {"t": t, "b": b}


def _compute(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for gamma in GAMMAS:
        res = losses.sigmoid_loss_and_grad(a["U"], a["V"], a["t"], a["b"], reduction="per_anchor", gamma=gamma)
        out[f"gamma{gamma:g}_value"] = res.value
        out |= {f"gamma{gamma:g}_grad_{k}": res.grad[k] for k in ("U", "V", "t", "log_t", "b")}
    return out


def _tolerance(output: str) -> str:
    return "reduction" if output.endswith("_value") else "gradient"


def _case(name: str, what: str, inputs: Any) -> Case:
    return Case(name=name, what=what, inputs=inputs, compute=_compute, tolerance=_tolerance)


#: The conformance cases, from N = 2 to N = 2400 rows.
CASES = [
    _case("conform_n2", "conformance: N = 2 (one negative per anchor), t <= 10",
          _configs(11, 2, 3, [(1.0, 0.0), (10.0, 10.0), (5.0, 5.0), (0.5, -2.0)])),
    _case("conform_init", "conformance: N = 24 at initialisation (SigLIP t = b = 10, MSCL t = b = 5, b = log(N - 1), t = 1)",
          _configs(13, 24, 8, [(1.0, 0.0), (10.0, 10.0), (5.0, 5.0), (10.0, math.log(23.0)), (0.5, -2.0)])),
    _case("conform_trained", "conformance: N = 24 trained pairs, t = 50 and 100 (open_clip's clamp), b in [-5, 20]",
          _configs(17, 24, 8, [(100.0, 12.0), (100.0, -5.0), (50.0, 20.0)], noise=0.5)),
    _case("conform_extreme", "conformance: extreme logits, t up to 1e4 and |b| up to 1e4 (checked in float32 too)",
          _configs(19, 12, 6, [(1.0e4, 0.0), (1.0e4, 1.0e4), (1.0e4, -1.0e4), (300.0, -150.0), (1.0, 1.0e4), (1.0, -1.0e4)])),
    _case("conform_uneven", "conformance: N = 37 (prime: an uneven last block for every chunk size)",
          _configs(23, 37, 5, [(10.0, 10.0), (20.0, 5.0)], noise=1.0)),
    _case("conform_large", "conformance: N = 2400 (uneven against chunks of 64 .. 2048 rows, and split over 2 .. 8 ranks)",
          _configs(29, 2400, 4, [(10.0, 10.0)], noise=1.0)),
    _case("conform_batch_axes", "conformance: leading batch axes (2, 3) of N = 10 pairs, t and b of shape (2, 3), passed in one call",
          _batch_inputs),
]
