r"""Golden cases of the CCEM module and the experiments of Lee, Chang and Sohn (arXiv:2402.12613).

They pin the thresholds :math:`T_\mathrm{etf}(N)` and :math:`T_\mathrm{anti}(N)`, the optimal
CCEM on an :math:`(N, t, b)` grid with :math:`b = t` and :math:`b \ne t` (kept away from the regime
boundaries so that float32 agrees), CCEM vectors, the reduced objective :math:`F` and
:math:`F'`, the closed-form losses, and short fixed-step runs of Fig. 2 (free embeddings) and
Fig. 3 (a ReLU MLP encoder).
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

from sigref import ccem
from sigref.golden import Case


def _threshold_inputs() -> dict[str, np.ndarray]:
    return {"N": np.array([4.0, 5.0, 8.0, 10.0, 16.0, 32.0, 64.0, 1000.0, 1.0e6])}


def _thresholds(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    return {"T_etf": ccem.etf_threshold(a["N"]), "T_anti": ccem.antipodal_threshold(a["N"])}


def _grid_inputs() -> dict[str, np.ndarray]:
    """(N, t, b) with t = b and b != t, kept away from the regime boundaries (so float32 agrees)."""
    Ns = np.array([3.0, 4.0, 5.0, 8.0, 16.0, 64.0, 1000.0, 1.0e6])
    ts = np.array([0.25, 1.0, 2.5, 6.0])
    N, t, kind = (x.ravel() for x in np.meshgrid(Ns, ts, np.arange(4), indexing="ij"))
    b = np.choose(kind, [t, np.full_like(t, -1.0), np.full_like(t, 0.5), t + 2.0])
    log_m = np.log((N - 2) / 2)
    etf_margin = log_m + np.logaddexp(0, t - b) - np.logaddexp(0, b + t / (N - 1))
    anti_margin = t + b - log_m
    keep = (np.abs(etf_margin) > 1e-2) & (np.abs(anti_margin) > 1e-2)
    return {"N": N[keep], "t": t[keep], "b": b[keep]}


def _optimum(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    xp = array_api_compat.array_namespace(a["t"])
    r = ccem.delta_star(a["N"], a["t"], a["b"])
    return {
        "s": r.s,
        "a": r.a,
        "c": r.c,
        "loss": r.loss,
        "theta": 2.0 * xp.atan(r.delta),  # the angle between u_i and v_i: finite at delta = inf
        "etf": xp.astype(r.etf, r.s.dtype),
        "antipodal": xp.astype(r.antipodal, r.s.dtype),
    }


def _vector_inputs() -> dict[str, np.ndarray]:
    return {"delta": np.array([0.0, 0.3, 1.0, 2.5, math.inf])}


def _vectors(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    U, V = ccem.ccem(6, a["delta"], 7, backend=backend)
    return {"U": U, "V": V, "etf": ccem.simplex_etf(9, 8, backend=backend)}


def _objective_inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2402)
    n = 40
    return {
        "a": np.concatenate([[-1.0, 1.0], rng.uniform(-1, 1, n - 2)]),
        "N": rng.integers(3, 200, n).astype(np.float64),
        "t": rng.uniform(0.1, 8.0, n),
        "b": rng.uniform(-3.0, 8.0, n),
    }


def _objective(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    return {
        "F": ccem.reduced_loss(a["a"], a["N"], a["t"], a["b"]),
        "dF": ccem.reduced_loss_derivative(a["a"], a["N"], a["t"], a["b"]),
        "L_etf": ccem.etf_loss(a["N"], a["t"], a["b"]),
        "L_anti": ccem.antipodal_loss(a["N"], a["t"], a["b"]),
        "infonce_etf": ccem.infonce_etf_loss(a["N"], a["t"]),
    }


def _run_inputs() -> dict[str, np.ndarray]:
    return {"t": np.array([0.3, 0.8, 2.0])}


def _fig2_short(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    from sigref.experiments import lee2024

    res = lee2024.free_embeddings(6, backend.to_numpy(a["t"]), (6, 3), steps=30, backend=backend)
    return {k: backend.asarray(res[k]) for k in ("U", "V", "s", "loss")}


def _fig3_short(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    from sigref.experiments import lee2024

    res = lee2024.mlp_train(5, backend.to_numpy(a["t"]), steps=20, backend=backend)
    return {k: backend.asarray(res[k]) for k in ("s", "mean_cos", "loss")}


CASES = [
    Case("lee2024_thresholds", "T_etf(N) = (N-1)/N log(N-3) and T_anti(N) = 1/2 log((N-2)/2)", _threshold_inputs,
         _thresholds, "exact"),
    Case("lee2024_delta_star", "optimal CCEM (s*, a*, c*, L*, 2 atan delta*, regime) on an (N, t, b) grid, b = t and b != t",
         _grid_inputs, _optimum,
         {"s": "solver", "a": "solver", "c": "solver", "loss": "solver", "theta": "solver", "etf": "exact",
          "antipodal": "exact"}),
    Case("lee2024_ccem_vectors", "CCEM pairs (N = 6, d = 7) for delta in {0, .3, 1, 2.5, inf} and a 9-vector ETF in R^8",
         _vector_inputs, _vectors, "exact"),
    Case("lee2024_reduced_objective", "F(a), F'(a), closed-form ETF/antipodal losses and InfoNCE at the ETF",
         _objective_inputs, _objective, "reduction"),
    Case("lee2024_fig2_short", "30 projected-GD steps of Fig. 2 (N = 6, d = 6 and 3, three t = b)", _run_inputs,
         _fig2_short, "trajectory"),
    Case("lee2024_fig3_short", "20 SGD steps of the Fig. 3 ReLU-MLP encoder (N = d = 5, three t = b)", _run_inputs,
         _fig3_short, "trajectory"),
]
