"""``sigref analyze``: the constellation geometry of a user's own paired embeddings (arXiv 2509.18552).

For unit-norm rows U_i, V_i (row i of U pairs with row i of V) it reports the margin m* and the
optimal relative bias b*_rel in the exact (min/max), robust percentile (P5/P95) and mean forms of
the paper's Tables 5-6, xi (Appendix E), the sigmoid loss at a given (t, b), retrieval accuracy and
the approximate-retrieval tolerance (eps < m*), homogeneous separability of the two modalities
(Thm 3.6 and an exact LP) and where (m*, b*_rel) sits in the feasible region (Thm 3.4), with the
capacity exponents and finite-d bounds at that point (Thms 3.3, 3.5). It forms N x N similarity
matrices, so it is meant for N up to a few thousand pairs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from sigref.backend import Backend, get_backend
from sigref.constellations import bounds, gap, metrics, region

__all__ = ["analyze", "format_report", "load_pair"]

UNIT_TOL = 1e-3


def load_pair(u_path: str | Path, v_path: str | Path, *, normalize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Load two ``.npy`` files as float64 (N, d) arrays and validate them (see :func:`check_pair`)."""
    arrays = []
    for name, p in (("U", u_path), ("V", v_path)):
        p = Path(p)
        if not p.exists():
            raise FileNotFoundError(f"{name}: no such file {p}")
        try:
            a = np.load(p, allow_pickle=False)
        except ValueError as exc:
            raise ValueError(f"{name} ({p}) is not a plain numeric .npy array: {exc}") from exc
        arrays.append(a)
    return check_pair(arrays[0], arrays[1], normalize=normalize)


def check_pair(U: Any, V: Any, *, normalize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Host float64 copies of U, V after the checks: numeric, 2-D, paired shapes, N >= 2, finite, unit rows
    (or scaled to unit rows with ``normalize=True``; zero rows are an error either way)."""
    out = []
    for name, a in (("U", U), ("V", V)):
        a = np.asarray(a)
        if a.dtype.kind not in "fiu":
            raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
        if a.ndim != 2:
            raise ValueError(f"{name} must be a 2-D array (N pairs, d dimensions), got shape {a.shape}")
        a = a.astype(np.float64)
        if not np.all(np.isfinite(a)):
            bad = int(np.sum(~np.all(np.isfinite(a), axis=1)))
            raise ValueError(f"{name} contains NaN or infinity (in {bad} row(s))")
        out.append(a)
    U, V = out
    if U.shape != V.shape:
        raise ValueError(
            f"U and V must be paired embeddings of the same shape (row i of U pairs with row i of V); "
            f"got U {U.shape} and V {V.shape}"
        )
    if U.shape[0] < 2:
        raise ValueError(f"need at least N = 2 pairs, got {U.shape[0]}")
    for name, a in (("U", U), ("V", V)):
        norms = np.linalg.norm(a, axis=1)
        if np.any(norms == 0):
            raise ValueError(f"{name} has {int(np.sum(norms == 0))} zero row(s); they have no direction on the sphere")
        dev = float(np.max(np.abs(norms - 1)))
        if dev > UNIT_TOL and not normalize:
            raise ValueError(
                f"the rows of {name} are not unit vectors (max | ||row|| - 1 | = {dev:.3g}); the theory is about "
                "embeddings on the sphere: pass --normalize (normalize=True) to scale every row to norm 1"
            )
    return U / np.linalg.norm(U, axis=1, keepdims=True), V / np.linalg.norm(V, axis=1, keepdims=True)


def analyze(U: Any, V: Any, *, t: float | None = None, b: float | None = None, b_rel: float | None = None,
            normalize: bool = False, backend: Backend | None = None) -> dict[str, Any]:
    """Report (a dict of plain Python values) on paired embeddings U, V of shape (N, d); see the module docstring.

    ``t`` with ``b`` (or ``b_rel``) evaluates the sigmoid loss, logits t <U_i, V_j> - b.
    """
    from sigref.losses import sigmoid_loss

    Uh, Vh = check_pair(U, V, normalize=normalize)
    backend = backend or get_backend()
    Ub, Vb = backend.asarray(Uh), backend.asarray(Vh)
    n, d = Uh.shape
    rep: dict[str, Any] = {"N": n, "d": d, "backend": f"{backend.name} ({backend.dtype_name})"}
    for form in metrics.FORMS:
        m, bb = metrics.margin_and_bias(Ub, Vb, form=form)
        rep[f"m_{form}"], rep[f"b_rel_{form}"] = float(m), float(bb)
    m_star, b_star = rep["m_minmax"], rep["b_rel_minmax"]
    rep["is_constellation"] = m_star >= 0
    rep["xi"] = float(metrics.xi(Ub, Vb))
    rep["xi_unsquared"] = float(metrics.xi(Ub, Vb, "unsquared"))
    u2v, v2u = metrics.retrieval_accuracy(Ub, Vb)
    rep["retrieval_u2v"], rep["retrieval_v2u"] = float(u2v), float(v2u)
    rep["retrieval_tolerance"] = max(m_star, 0.0)

    if t is not None:
        if not (isinstance(t, (int, float)) and t > 0 and math.isfinite(t)):
            raise ValueError(f"t must be a finite number > 0, got {t!r}")
        if (b is None) == (b_rel is None):
            raise ValueError("give exactly one of b (bias) and b_rel (relative bias) together with t")
        bias = float(b) if b is not None else float(t) * float(b_rel)
        rep["t"], rep["b"], rep["b_over_t"] = float(t), bias, bias / float(t)
        for red in ("sum", "per_anchor", "mean"):
            rep[f"loss_{red}"] = float(sigmoid_loss(Ub, Vb, float(t), bias, reduction=red))
        if rep["loss_sum"] < math.log(2.0):
            rep["certified_m"], rep["certified_b_rel"] = metrics.certified_constellation(rep["loss_sum"], float(t), bias)
    elif b is not None or b_rel is not None:
        raise ValueError("b / b_rel need t as well")

    lp = gap.linear_separation(Uh, Vh)
    rep["separable"], rep["separation_margin"] = lp.separable, lp.margin
    rep["sign_pattern_24"] = bool(gap.sign_pattern_holds(Ub, Vb))
    try:
        sep = gap.min_norm_separator(Uh, Vh)
        rep["thm36_min_h_u"], rep["thm36_v_negative"], rep["thm36_support"] = sep.min_u, sep.n_negative, int(sep.support.size)
    except ValueError:
        rep["thm36_min_h_u"] = None

    rep["region"] = _region(m_star, b_star, n, d)
    return rep


def _region(m: float, b: float, n: int, d: int) -> dict[str, Any]:
    info: dict[str, Any] = {}
    if m < 0:
        info["where"] = "not a constellation (m* < 0): some non-matching pair is more similar than some matching pair"
        return info
    b = max(-1.0, min(1.0, b))
    info["in_region_for_N"] = bool(region.in_feasible_region(m, b, N=n))
    info["in_asymptotic_region"] = bool(region.in_feasible_region(m, b))
    info["modality_gap_region"] = bool(region.in_modality_gap_region(m, b))
    info["n_cap"] = region.n_cap(m, b)
    if info["in_asymptotic_region"] and m > 0:
        info["alpha"] = bounds.alpha(m, b)
        info["E_lower_nats"], info["E_upper_nats"] = bounds.exponent_lower(m, b), bounds.exponent_upper(m, b)
        if d >= 3:
            info["log_N_lower_d"], info["log_N_upper_d"] = bounds.log_n_lower(d, m, b), bounds.log_n_upper(d, m, b)
        info["where"] = "inside the region where exponentially many pairs fit (m + b < 1, 3m < 1 + b)"
    elif abs(3 * m - 1 - b) <= 1e-9:
        info["where"] = ("on the boundary 3m = 1 + b_rel (alpha = 0): both capacity exponents vanish, N grows "
                         "subexponentially in d (e.g. 2(d-1) for the cross-polytope construction)")
    else:
        info["where"] = "outside the asymptotic region: the number of pairs is capped (Thm 3.4)"
    return info


def format_report(rep: dict[str, Any]) -> str:
    """Human-readable text of :func:`analyze`'s report."""
    f = lambda v: "n/a" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v))
    lines = [f"paired embeddings: N = {rep['N']} pairs in d = {rep['d']}  [{rep['backend']}]", "",
             "margin and relative bias (arXiv 2509.18552, Sec. 2; Tables 5-6):",
             f"  exact (min/max)      m* = {f(rep['m_minmax']):>10}   b*_rel = {f(rep['b_rel_minmax'])}",
             f"  robust (P5 / P95)    m  = {f(rep['m_percentile']):>10}   b_rel  = {f(rep['b_rel_percentile'])}",
             f"  means                m  = {f(rep['m_mean']):>10}   b_rel  = {f(rep['b_rel_mean'])}",
             f"  constellation: {'yes' if rep['is_constellation'] else 'no'}"
             + (f" (every b_rel in [{f(rep['b_rel_minmax'] - rep['m_minmax'])}, {f(rep['b_rel_minmax'] + rep['m_minmax'])}]"
                " gives margin >= 0)" if rep["is_constellation"] else ""),
             "", f"xi = {f(rep['xi'])}   (unsquared variant {f(rep['xi_unsquared'])}; 0 iff all U_i - V_i are equal)",
             "", f"retrieval: U->V {100 * rep['retrieval_u2v']:.2f}%, V->U {100 * rep['retrieval_v2u']:.2f}% top-1"]
    if rep["is_constellation"]:
        lines.append(f"  stays perfect under any score error eps < m* = {f(rep['retrieval_tolerance'])} (Cor. 1)")
    if "t" in rep:
        lines += ["", f"sigmoid loss at t = {f(rep['t'])}, b = {f(rep['b'])} (threshold b/t = {f(rep['b_over_t'])}):",
                  f"  sum {f(rep['loss_sum'])}   per-anchor {f(rep['loss_per_anchor'])}   N^2-mean {f(rep['loss_mean'])}"]
        if "certified_m" in rep:
            lines.append(f"  loss < log 2 certifies an ({f(rep['certified_m'])}, {f(rep['certified_b_rel'])})-constellation (Thm 3.1)")
    lines += ["", "modality gap (Thm 3.6):",
              f"  linearly separable through the origin: {'yes' if rep['separable'] else 'no'}"
              f" (LP margin {f(rep['separation_margin'])})",
              f"  sign pattern s_ii > 0 > s_ij: {'yes' if rep['sign_pattern_24'] else 'no'}"]
    if rep.get("thm36_min_h_u") is not None:
        lines.append(f"  min-norm direction h: min <h,U_i> = {f(rep['thm36_min_h_u'])}, "
                     f"{rep['thm36_v_negative']} of {rep['N']} V's on the negative side (support {rep['thm36_support']})")
    else:
        lines.append("  no open half-space contains every U_i")
    reg = rep["region"]
    lines += ["", f"feasible region (Thm 3.4): {reg['where']}"]
    if "n_cap" in reg:
        lines.append(f"  satisfies (5) for N = {rep['N']}: {reg['in_region_for_N']}; modality-gap region m > |b|: "
                     f"{reg['modality_gap_region']}; cap on N: {f(reg['n_cap'])}")
    if "alpha" in reg:
        lines.append(f"  alpha = {f(reg['alpha'])}; capacity exponent in [{f(reg['E_lower_nats'])}, {f(reg['E_upper_nats'])}] "
                     "nats/dim (Thms 3.3, 3.5)")
        if "log_N_lower_d" in reg:
            lines.append(f"  in d = {rep['d']}: log N_max in [{f(reg['log_N_lower_d'])}, {f(reg['log_N_upper_d'])}]"
                         f" (you have log N = {math.log(rep['N']):.4g})")
    return "\n".join(lines)
