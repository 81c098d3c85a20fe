r"""Golden cases of Bangachev, Bresler, Noman and Polyanskiy (arXiv:2509.18552).

They pin the constellation metrics (margin, relative bias, the forms of :math:`\xi`, retrieval),
the constructions (the recipe of Thm. 3.3, Constructions 1-3 and the maps of Obs. 1-2 on explicit
codes), the capacity bounds for :math:`d` up to :math:`10^5`, the modality-gap separator of
Thm. 3.6 with LP separability, and short fixed-step training runs of the experiments E1-E4.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sigref.backend import get_backend
from sigref.constellations import bounds, codes, constructions, gap, metrics
from sigref.golden import Case
from sigref.sampling import uniform_sphere

_HOST = get_backend("numpy", dtype="float64")


def _metrics_inputs() -> dict[str, np.ndarray]:
    U = uniform_sphere(11, (4, 12, 6))
    V = U + 0.8 * uniform_sphere(12, (4, 12, 6))
    return {"U": U, "V": V / np.linalg.norm(V, axis=-1, keepdims=True)}


def _metrics(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    xp = backend.xp
    out = {}
    for form in metrics.FORMS:
        m, b = metrics.margin_and_bias(a["U"], a["V"], form=form)
        out[f"{form}_m"], out[f"{form}_b"] = m, b
    for form in metrics.XI_FORMS:
        out[f"xi_{form}"] = metrics.xi(a["U"], a["V"], form)
    u2v, v2u = metrics.retrieval_accuracy(a["U"], a["V"])
    out["retrieval_u2v"], out["retrieval_v2u"] = u2v, v2u
    lo, hi = metrics.admissible_bias_interval(a["U"], a["V"], 0.05)
    out["interval_lo"], out["interval_hi"] = lo, hi
    out["similarities"] = metrics.similarities(a["U"], a["V"])
    out["is_constellation"] = xp.astype(metrics.is_constellation(a["U"], a["V"], 0.0, 0.5), a["U"].dtype)
    return out


def _constructions_inputs() -> dict[str, np.ndarray]:
    return {
        "cross9": np.asarray(codes.cross_polytope(9, backend=_HOST).X),
        "cube6": np.asarray(codes.hypercube(6, backend=_HOST).X),
        "cube7": np.asarray(codes.hypercube(7, backend=_HOST).X),
        "simplex10": np.asarray(codes.regular_simplex(10, backend=_HOST).X),
    }


def _constructions(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, (code, m, b, exact) in {
        "cross_third": ("cross9", 1 / 3, 0.0, False), "cross_pos": ("cross9", 0.4333333333333333, 0.3, False),
        "cube_exact": ("cube6", 0.05, 0.2, True), "simplex": ("simplex10", 0.5, 0.3, False),
    }.items():
        c = constructions.from_code(a[code], m, b, exact=exact)
        out |= {f"{name}_U": c.U, f"{name}_V": c.V, f"{name}_mb": backend.asarray(np.array([c.m_star, c.b_star]))}
    c1 = constructions.construction1(a["cube6"], a["cube6"], 0.9, 0.3)
    out |= {"c1_U": c1.U, "c1_V": c1.V, "c1_mb": backend.asarray(np.array([c1.m_star, c1.b_star]))}
    c2 = constructions.construction2(a["cube7"], 4, 0.8)
    out |= {"c2_X": c2.X, "c2_mb": backend.asarray(np.array([c2.m_star, c2.b_star]))}
    c3 = constructions.construction3(5, backend=backend)
    out |= {"c3_U": c3.U, "c3_V": c3.V}
    out["obs1_map"] = backend.asarray(np.array(constructions.observation1_map(12.0, 0.35, 0.7)))
    out["obs2_map"] = backend.asarray(np.array(constructions.observation2_map(12.0, 0.35, 0.7, 4)))
    return out


_GRID = np.array([[0.1, 0.0], [0.05, 0.0], [0.2, 0.3], [0.3, 0.0], [0.0627, 0.0322], [0.0695, 0.068], [0.0101, 0.0282],
                  [1 / 3, 0.0], [0.02, -0.9]])
_DIMS = np.array([3.0, 10.0, 100.0, 1000.0, 100000.0])


def _bounds_inputs() -> dict[str, np.ndarray]:
    return {"mb": _GRID, "dims": _DIMS, "cap_x": np.array([0.0, 0.1, 0.5, 0.9, -0.3])}


def _bounds(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    mb = backend.to_numpy(a["mb"]).astype(np.float64)
    dims = [int(round(float(v))) for v in backend.to_numpy(a["dims"])]
    cap_x = backend.to_numpy(a["cap_x"]).astype(np.float64)
    # bounds are host-side float64 functions of the inputs; inputs are rounded to the backend dtype first
    rows = {"alpha": [], "e_lower": [], "e_upper": [], "e_lower_bits": [], "e_upper_bits": []}
    lower, upper = [], []
    for m, b in mb:
        m, b = float(m), float(b)
        if 3 * m > 1 + b:  # rounding of the boundary point (1/3, 0) in float32
            m = (1 + b) / 3
        rows["alpha"].append(bounds.alpha(m, b))
        rows["e_lower"].append(bounds.exponent_lower(m, b))
        rows["e_upper"].append(bounds.exponent_upper(m, b))
        rows["e_lower_bits"].append(bounds.exponent_lower(m, b, base=2))
        rows["e_upper_bits"].append(bounds.exponent_upper(m, b, base=2))
        lower.append([bounds.log_n_lower(d, m, b) for d in dims])
        upper.append([bounds.log_n_upper(d, m, b) for d in dims])
    out = {k: backend.asarray(np.array(v)) for k, v in rows.items()}
    out["log_n_lower"] = backend.asarray(np.array(lower))
    out["log_n_upper"] = backend.asarray(np.array(upper))
    out["log_cap"] = backend.asarray(np.array([[bounds.log_cap(n, x) for x in cap_x] for n in (2, 3, 10, 100, 10**5)]))
    return out


def _gap_inputs() -> dict[str, np.ndarray]:
    c = constructions.from_code(codes.cross_polytope(6, backend=_HOST).X, 0.3, 0.05)
    Q, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((7, 7)))
    return {"U": np.asarray(c.U) @ Q, "V": np.asarray(c.V) @ Q}


def _gap(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    sep = gap.min_norm_separator(a["U"], a["V"])
    p, _ = gap.min_norm_point(a["U"])
    lp = gap.linear_separation(a["U"], a["V"])
    return {
        "h": backend.asarray(sep.h),
        "p_norm": backend.asarray(np.array(np.linalg.norm(p))),
        # counts of V's on the negative side are degenerate here (<h, V_j> = 0 exactly in exact arithmetic)
        "flags": backend.asarray(np.array([float(sep.holds), float(lp.separable)])),
        "min_u": backend.asarray(np.array(sep.min_u)),
        "sign_pattern": backend.xp.astype(gap.sign_pattern_holds(a["U"], a["V"]), a["U"].dtype),
    }


def _training_inputs() -> dict[str, np.ndarray]:
    return {"X2": np.stack([np.broadcast_to(uniform_sphere(50 + j, (16, 5)), (4, 16, 5)) for j in range(2)]),
            "X3": np.stack([np.broadcast_to(uniform_sphere(60 + j, (16, 5)), (2, 16, 5)) for j in range(3)])}


def _training(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    from sigref.experiments.bangachev2025 import RunSpec, train

    specs = [RunSpec("fixed", "fixed", 20.0, 0.0), RunSpec("bias", "bias", 10.0, -2.0),
             RunSpec("rel", "rel", 10.0, 0.2), RunSpec("rel_fixed", "rel_fixed", 10.0, 0.5)]
    out = {}
    for locked in (0, 1):
        res = train(backend.to_numpy(a["X2"]), specs, backend=backend, steps=30, locked=locked, record_every=10)
        pre = f"locked{locked}_"
        out |= {pre + "X": backend.asarray(res.X), pre + "loss": backend.asarray(res.loss),
                pre + "t": backend.asarray(res.t), pre + "b_over_t": backend.asarray(res.b_over_t),
                pre + "xi": backend.asarray(res.xi)}
    res = train(backend.to_numpy(a["X3"]), specs[1:3], backend=backend, steps=30, record_every=10)
    out |= {"k3_X": backend.asarray(res.X), "k3_loss": backend.asarray(res.loss), "k3_t": backend.asarray(res.t)}
    return out


CASES: list[Case] = [
    Case("bangachev2025_metrics", "m*, b*_rel (min/max, percentile, mean), xi (4 forms), retrieval, admissible interval",
         _metrics_inputs, _metrics, tolerance="reduction"),
    Case("bangachev2025_constructions", "Thm 3.3 recipe, Constructions 1-3, Obs. 1-2 maps on explicit codes",
         _constructions_inputs, _constructions, tolerance="exact"),
    Case("bangachev2025_bounds", "alpha, exponents (nats, bits), finite-d log N bounds for d up to 1e5, log Gamma_n",
         _bounds_inputs, _bounds, tolerance={"alpha": "exact", "e_lower": "exact", "e_upper": "exact",
                                             "e_lower_bits": "exact", "e_upper_bits": "exact", "log_cap": "exact",
                                             "log_n_lower": "exact", "log_n_upper": "solver"}),
    Case("bangachev2025_gap", "Thm 3.6 min-norm separator and LP separability of a rotated constellation",
         _gap_inputs, _gap, tolerance="solver"),
    Case("bangachev2025_training", "30 Adam steps of the E1-E4 parameterisations (fixed, bias, rel, frozen b_rel), "
         "locked and free U, and k = 3 modalities", _training_inputs, _training, tolerance="trajectory"),
]
