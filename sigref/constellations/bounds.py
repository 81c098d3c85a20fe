"""Capacity bounds for (d, m, b_rel)-constellations (Bangachev et al. 2025, arXiv 2509.18552, Thms 3.3, 3.5).

With alpha(m, b_rel) = (1 + b_rel - 3m) / (1 + b_rel + m) in [0, 1) inside the region
(m + b_rel <= 1, 3m <= 1 + b_rel, m > 0), the largest number N_MRB(d, m, b_rel) of pairs satisfies

    E_lower = -1/2 log(1 - alpha^2)  <=  liminf (1/d) log N_MRB  <=  -1/2 log(1 - alpha) = E_upper

(Shannon 1959 / Wyner 1968 through Thm 3.3; Thm 3.5). The gap is 1/2 log(1 + alpha).

Finite-d forms (exact, not asymptotic), returned as **log N** so they stay finite for d ~ 1e5:

* lower: a maximal alpha-code in S^{d-2} (R^{d-1}) has N >= 1 / Gamma_{d-1}(alpha), and Thm 3.3
  turns it into a constellation in R^d, so log N_MRB >= -log Gamma_{d-1}(alpha);
* upper (rigorous form of the Thm 3.5 proof): for every delta^2 in ((1 - 3m + b)/2, (1 + m + b)/2],
  N_MRB <= max(1, 4m / (2 delta^2 - 1 + 3m - b)) / Gamma_d(delta sqrt(2 / (1 + m + b))),
  minimised over delta numerically.

Gamma_n(x) = P[H_1 > x] for H uniform on S^{n-1} = 1/2 I_{1-x^2}((n-1)/2, 1/2) for x >= 0.
These are host-side scalar functions (SciPy special functions), vectorised over NumPy inputs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize, special

__all__ = [
    "alpha",
    "exponent_gap",
    "exponent_lower",
    "exponent_upper",
    "log_cap",
    "log_n_lower",
    "log_n_upper",
]

_LN2 = math.log(2.0)


def _check_mb(m: float, b_rel: float, *, allow_zero_m: bool = True) -> tuple[float, float]:
    for name, v in (("m", m), ("b_rel", b_rel)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite real number, got {v!r}")
    m, b_rel = float(m), float(b_rel)
    if m < 0 or (m == 0 and not allow_zero_m):
        raise ValueError(f"m must be {'>=' if allow_zero_m else '>'} 0, got {m}")
    tol = 1e-12
    if m + b_rel > 1 + tol or 3 * m > 1 + b_rel + tol:
        raise ValueError(
            f"(m, b_rel) = ({m}, {b_rel}) lies outside the feasible region m + b_rel <= 1, 3m <= 1 + b_rel (Thm 3.4); "
            "there the number of pairs is bounded by sigref.constellations.region.n_cap"
        )
    return m, b_rel


def _base(base: Any) -> float:
    if base in ("e", "nats", math.e):
        return 1.0
    if base in (2, "2", "bits"):
        return _LN2
    raise ValueError(f"base must be 'e'/'nats' or 2/'bits', got {base!r}")


def alpha(m: float, b_rel: float) -> float:
    """alpha(m, b_rel) = (1 + b_rel - 3m) / (1 + b_rel + m) (Thm 3.3): an alpha-code gives an (m, b_rel)-constellation."""
    m, b_rel = _check_mb(m, b_rel)
    if 1 + b_rel + m <= 0:
        raise ValueError(f"alpha is undefined at 1 + b_rel + m = 0 (the degenerate point (0, -1)), got ({m}, {b_rel})")
    return max(0.0, (1 + b_rel - 3 * m) / (1 + b_rel + m))


def exponent_lower(m: float, b_rel: float, base: Any = "e") -> float:
    """E_lower = -1/2 log(1 - alpha^2) per dimension (Shannon-Wyner via Thm 3.3), in nats or bits."""
    a = alpha(m, b_rel)
    return -0.5 * math.log1p(-a * a) / _base(base)


def exponent_upper(m: float, b_rel: float, base: Any = "e") -> float:
    """E_upper = -1/2 log(1 - alpha) = 1/2 log((1 + b_rel + m) / (4m)) per dimension (Thm 3.5)."""
    a = alpha(m, b_rel)
    return -0.5 * math.log1p(-a) / _base(base)


def exponent_gap(m: float, b_rel: float, base: Any = "e") -> float:
    """E_upper - E_lower = 1/2 log(1 + alpha) in [0, 1/2 log 2]."""
    return 0.5 * math.log1p(alpha(m, b_rel)) / _base(base)


def _log_upper_tail(n: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log Gamma_n(x) for 0 <= x <= 1, accurate where Gamma underflows (large n)."""
    a = (n - 1) / 2.0
    y = (1.0 - x) * (1.0 + x)  # 1 - x^2 without cancellation near x = 1
    with np.errstate(divide="ignore", under="ignore"):
        direct = special.betainc(a, 0.5, y)
        out = np.log(0.5 * direct)
    small = ~(direct > 1e-200) & (y > 0)
    if np.any(small):
        out[small] = _log_betainc_series(a[small], y[small]) - _LN2
    out[y <= 0] = -np.inf
    return out


def _log_betainc_series(a: np.ndarray, y: np.ndarray, b: float = 0.5) -> np.ndarray:
    """log I_y(a, b) = a log y + b log(1 - y) - log(a B(a, b)) + log 2F1(a + b, 1; a + 1; y) (DLMF 8.17.8).

    The hypergeometric terms have ratio y (a + b + k) / (a + 1 + k) < y (b < 1): a positive,
    geometrically convergent series, summed (vectorised) until no term changes any total.
    Used only where I_y underflows, i.e. a log(1/y) > ~460, so y is bounded away from 1.
    """
    total = np.ones_like(y)
    term = np.ones_like(y)
    for k in range(1_000_000):
        term = term * y * (a + b + k) / (a + 1 + k)
        total = total + term
        if np.all(term < 1e-17 * total):
            break
    return a * np.log(y) + b * np.log1p(-y) - np.log(a) - special.betaln(a, b) + np.log(total)


def log_cap(n: Any, x: Any) -> Any:
    """log Gamma_n(x), Gamma_n(x) = P[H_1 > x] for H uniform on S^{n-1} (n >= 2, -1 <= x <= 1).

    Gamma_n(x) = 1/2 I_{1-x^2}((n-1)/2, 1/2) for x >= 0 and 1 - Gamma_n(-x) for x < 0. Accurate in log
    space: finite (and relatively accurate) for n up to 1e8 where Gamma itself underflows.
    Known values: Gamma_10(0.5) = 0.0586534015, Gamma_3(0.5) = 0.25, Gamma_2(0) = 0.5.
    """
    n_a = np.asarray(n, dtype=np.float64)
    x_a = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(n_a)) or np.any(n_a < 2) or np.any(n_a != np.round(n_a)):
        raise ValueError(f"n (sphere S^(n-1) in R^n) must be an integer >= 2, got {n!r}")
    if not np.all(np.isfinite(x_a)) or np.any(np.abs(x_a) > 1):
        raise ValueError(f"x must lie in [-1, 1], got {x!r}")
    n_b, x_b = np.broadcast_arrays(n_a, x_a)
    n_f, x_f = n_b.ravel().copy(), x_b.ravel().copy()
    out = _log_upper_tail(n_f, np.abs(x_f))
    neg = x_f < 0
    out[neg] = np.log1p(-np.exp(out[neg]))
    out = out.reshape(n_b.shape)
    return float(out) if out.ndim == 0 else out


def _check_d(d: Any, minimum: int) -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < minimum:
        raise ValueError(f"d must be an integer >= {minimum}, got {d!r}")
    return int(d)


def log_n_lower(d: int, m: float, b_rel: float) -> float:
    """log of the finite-d lower bound N_MRB(d, m, b_rel) >= 1/Gamma_{d-1}(alpha(m, b_rel)) (d >= 3).

    Gilbert-Varshamov: a maximal alpha-code in S^{d-2} has N Gamma_{d-1}(alpha) >= 1 (its caps cover the
    sphere); Thm 3.3 (one extra coordinate, delta^2 = (1 + m + b)/2) makes it a constellation in R^d.
    """
    d = _check_d(d, 3)
    m, b_rel = _check_mb(m, b_rel)
    if m + b_rel >= 1 - 1e-15:
        # alpha = 1 - 2m: U_i = V_i = a (1 - 2m)-code in R^d itself (no extra coordinate needed)
        return max(0.0, -log_cap(d, 1 - 2 * m)) if m > 0 else math.inf
    if m == 0:
        return math.inf
    return max(0.0, -log_cap(d - 1, alpha(m, b_rel)))


def log_n_upper(d: int, m: float, b_rel: float) -> float:
    """log of the finite-d upper bound, min over delta of
    log max(1, 4m / (2 delta^2 - 1 + 3m - b)) - log Gamma_d(delta sqrt(2 / (1 + m + b))) (d >= 2, m > 0).

    Rigorous form of the Thm 3.5 proof: for H uniform on S^{d-1}, E|{i : <H, c_i> >= delta}| >= N Gamma_d(.)
    with c_i = (U_i + V_i)/2, and every such subset has N'(2 delta^2 - 1 + 3m - b) <= 4m.
    m = 0 gives +inf (no bound: N is unbounded as m -> 0).
    """
    d = _check_d(d, 2)
    m, b_rel = _check_mb(m, b_rel)
    if m == 0:
        return math.inf
    s = 1 + m + b_rel
    lo, hi = (1 - 3 * m + b_rel) / 2, s / 2  # delta^2 range; hi - lo = 2m > 0

    def objective(u: Any) -> Any:
        # u in (0, 1]: delta^2 = lo + u (hi - lo)
        dd = lo + np.asarray(u, dtype=np.float64) * (hi - lo)
        cnt = np.maximum(0.0, np.log(4 * m / (2 * dd - 1 + 3 * m - b_rel)))
        x = np.minimum(1.0, np.sqrt(np.maximum(dd, 0.0) * 2 / s))
        return cnt - log_cap(d, x)

    grid = np.concatenate([np.geomspace(1e-9, 1e-2, 40), np.linspace(0.01, 1.0, 100)])
    vals = objective(grid)
    k = int(np.argmin(vals))
    lo_u, hi_u = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    best = float(vals[k])
    res = optimize.minimize_scalar(lambda u: float(objective(u)), bounds=(lo_u, hi_u), method="bounded",
                                   options={"xatol": 1e-10 * hi_u})
    if res.success and res.fun < best:
        best = float(res.fun)
    return best
