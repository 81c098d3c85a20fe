"""Explicit constellations (Bangachev et al. 2025, arXiv 2509.18552, Constructions 1-3, Thm 3.3, Obs. 1-2).

Every builder checks its own certificate: it measures the realised (m*, b*_rel) of what it built
(:func:`sigref.constellations.metrics.margin_and_bias`) and raises ``RuntimeError`` if that
differs from the closed form by more than ``1000 eps`` of the dtype. Infeasible requests
(code alpha too large, (m, b_rel) outside the region, dimension too small) raise ``ValueError``.
Outputs follow the namespace, dtype and device of the input code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from sigref._arrays import check_finite, check_floating, namespace
from sigref.constellations.codes import max_inner_product, regular_simplex
from sigref.constellations.metrics import margin_and_bias

__all__ = [
    "Constellation",
    "adapter",
    "construction1",
    "construction2",
    "construction3",
    "from_code",
    "observation1_inverse",
    "observation1_map",
    "observation2_map",
]


@dataclass(frozen=True)
class Constellation:
    """Built embeddings with their certificate.

    ``U``, ``V`` (N, d) for two modalities; for k modalities ``X`` (k, N, d) and ``U``/``V`` are
    ``X[0]``/``X[1]``. ``m``, ``b_rel``: the closed-form margin and relative bias of the
    construction; ``m_star``, ``b_star``: measured (for k modalities, over all pairs of modalities,
    which share them). ``alpha``: the max inner product of the code used (if any).
    """

    U: Any
    V: Any
    m: float
    b_rel: float
    m_star: float
    b_star: float
    alpha: float | None = None
    X: Any = None


def _tol(x: Any) -> float:
    xp = array_api_compat.array_namespace(x)
    return 1000.0 * float(xp.finfo(x.dtype).eps)


def _certify(name: str, U: Any, V: Any, m: float, b: float, **extra: Any) -> Constellation:
    m_star, b_star = (float(v) for v in margin_and_bias(U, V))
    tol = _tol(U)
    if abs(m_star - m) > tol or abs(b_star - b) > tol:
        raise RuntimeError(
            f"{name}: certificate failed: realised (m*, b*_rel) = ({m_star!r}, {b_star!r}) but the construction "
            f"promises ({m!r}, {b!r}) (tolerance {tol:.1e})"
        )
    return Constellation(U=U, V=V, m=m, b_rel=b, m_star=m_star, b_star=b_star, **extra)


def _check_code(X: Any, name: str = "X") -> Any:
    xp = namespace(**{name: X})
    check_floating(xp, name, X)
    check_finite(xp, name, X)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"{name} must be a code of shape (N, n) with N >= 2, got {tuple(X.shape)}")
    norms = xp.linalg.vector_norm(X, axis=-1)
    if not bool(xp.all(xp.abs(norms - 1) <= _tol(X))):
        raise ValueError(f"the rows of {name} must be unit vectors (points of a spherical code)")
    return xp


def _unit_interval(name: str, v: Any, *, open_low: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{name} must be a real number, got {v!r}")
    v = float(v)
    if not (0 < v < 1 if open_low else 0 <= v < 1):
        raise ValueError(f"{name} must lie in {'(0, 1)' if open_low else '[0, 1)'}, got {v}")
    return v


def _host_simplex(k: int) -> np.ndarray:
    from sigref.backend import get_backend

    return np.asarray(regular_simplex(k, backend=get_backend("numpy")).X)


def _col(xp: Any, like: Any, value: float) -> Any:
    return xp.full((like.shape[0], 1), value, dtype=like.dtype, device=array_api_compat.device(like))


def construction1(U: Any, V: Any, delta: float, phi: float = 0.0) -> Constellation:
    """Construction 1: U'_i = (delta U_i, phi, +c), V'_i = (delta V_i, phi, -c), c = sqrt(1 - delta^2 - phi^2).

    From a (d-2, m, b_rel)-constellation this is a (d, m', b'_rel)-constellation with
    m' = delta^2 m and b'_rel = delta^2 b_rel + phi^2 - (1 - delta^2 - phi^2)
    (all inner products map by the same affine map s -> delta^2 s + phi^2 - c^2).
    Requires delta in (0, 1), phi in [0, 1) and delta^2 + phi^2 <= 1; the base must be a constellation (m* >= 0).
    """
    xp = namespace(U=U, V=V)
    _check_code(U, "U")
    _check_code(V, "V")
    if tuple(U.shape) != tuple(V.shape):
        raise ValueError(f"U and V must be paired (same shape), got {tuple(U.shape)} and {tuple(V.shape)}")
    delta = _unit_interval("delta", delta, open_low=True)
    phi = _unit_interval("phi", phi)
    c2 = 1.0 - delta**2 - phi**2
    if c2 < 0:
        raise ValueError(f"delta^2 + phi^2 must be <= 1, got {delta**2 + phi**2}")
    m0, b0 = (float(v) for v in margin_and_bias(U, V))
    if m0 < 0:
        raise ValueError(f"the base (U, V) is not a constellation (m* = {m0:.4g} < 0)")
    c = math.sqrt(c2)
    U2 = xp.concat([delta * U, _col(xp, U, phi), _col(xp, U, c)], axis=1)
    V2 = xp.concat([delta * V, _col(xp, V, phi), _col(xp, V, -c)], axis=1)
    return _certify("construction1", U2, V2, delta**2 * m0, delta**2 * b0 + phi**2 - c2)


def from_code(X: Any, m: float, b_rel: float, *, d: int | None = None, exact: bool = False) -> Constellation:
    """Thm 3.3 recipe: an alpha_X-code X in R^{n} -> an (m, b_rel)-constellation in R^{n+1}.

    Needs m > 0, m + b_rel <= 1 and alpha_X <= alpha(m, b_rel); beyond the line 3m = 1 + b_rel,
    alpha(m, b_rel) < 0 and only small simplex-like codes qualify.

    delta^2 = (1 + m + b_rel)/2, c = sqrt(1 - delta^2), U_i = (delta X_i, +c), V_i = (delta X_i, -c).
    Then s_ii = m + b_rel and s_ij = delta^2 <X_i, X_j> - c^2 <= b_rel - m, whenever
    alpha_X <= alpha(m, b_rel) = (1 + b_rel - 3m)/(1 + b_rel + m). The realised margin is
    m* = delta^2 (1 - alpha_X)/2 >= m (equality iff alpha_X = alpha(m, b_rel)).

    ``exact=True`` hits (m*, b*_rel) = (m, b_rel) exactly for any alpha_X <= alpha(m, b_rel) with the
    paper's two-parameter form (Construction 1 on U = V = X): delta^2 = 2m/(1 - alpha_X),
    phi^2 = (2 b_rel + 2 - delta^2 (3 + alpha_X))/4, in R^{n+2} (phi = 0 when alpha_X = alpha).
    ``d`` (optional) zero-pads the code coordinates to reach that ambient dimension.
    """
    xp = _check_code(X)
    for name, v in (("m", m), ("b_rel", b_rel)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{name} must be a real number, got {v!r}")
    m, b_rel = float(m), float(b_rel)
    if not (m > 0 and abs(b_rel) <= 1 and m + b_rel <= 1 + 1e-15):
        raise ValueError(
            f"(m, b_rel) = ({m}, {b_rel}) is infeasible: need m > 0, |b_rel| <= 1 and m + b_rel <= 1 (Thm 3.4)"
        )
    # alpha(m, b_rel) of Thm 3.3; negative beyond 3m = 1 + b_rel, where only codes of at most
    # 1 - 1/alpha points (simplex-like) qualify, in line with the cap N <= 4m/(3m - 1 - b_rel)
    target = (1 + b_rel - 3 * m) / (1 + b_rel + m)
    a_x = float(max_inner_product(X))
    tol = _tol(X)
    if a_x > target + tol:
        raise ValueError(
            f"the code's alpha = {a_x:.6g} exceeds alpha(m, b_rel) = {target:.6g}: it cannot carry an "
            f"({m}, {b_rel})-constellation (use a sparser code or a smaller margin)"
        )
    n = X.shape[1]
    extra = 2 if exact and a_x < target - tol else 1
    if d is not None:
        if isinstance(d, bool) or not isinstance(d, int) or d < n + extra:
            raise ValueError(f"d is too small: this code in R^{n} needs d >= {n + extra}, got {d!r}")
        X = xp.concat([X, xp.zeros((X.shape[0], d - extra - n), dtype=X.dtype, device=array_api_compat.device(X))], axis=1)
    if extra == 2:
        delta2 = 2 * m / (1 - a_x)
        phi2 = max(0.0, (2 * b_rel + 2 - delta2 * (3 + a_x)) / 4)
        c = math.sqrt(max(0.0, 1 - delta2 - phi2))
        U = xp.concat([math.sqrt(delta2) * X, _col(xp, X, math.sqrt(phi2)), _col(xp, X, c)], axis=1)
        V = xp.concat([math.sqrt(delta2) * X, _col(xp, X, math.sqrt(phi2)), _col(xp, X, -c)], axis=1)
        return _certify("from_code(exact)", U, V, m, b_rel, alpha=a_x)
    delta2 = (1 + m + b_rel) / 2
    c = math.sqrt(max(0.0, 1 - delta2))
    U = xp.concat([math.sqrt(delta2) * X, _col(xp, X, c)], axis=1)
    V = xp.concat([math.sqrt(delta2) * X, _col(xp, X, -c)], axis=1)
    m_real = delta2 * (1 - a_x) / 2
    return _certify("from_code", U, V, m_real, (m + b_rel + delta2 * (1 + a_x) - 1) / 2, alpha=a_x)


def construction2(X: Any, k: int, delta: float) -> Constellation:
    """Construction 2 (k modalities): U_i^(j) = (delta X_i, sqrt(1 - delta^2) w_j), j = 1..k,

    with X an alpha-code in R^n and w_1..w_k the unit vertices of a regular simplex in R^{k-1}
    (<w_j, w_l> = -1/(k-1)). Every pair of modalities is a constellation with the same
    m = delta^2 (1 - alpha)/2 and b_rel = delta^2 (1 + alpha)/2 - (1 - delta^2)/(k - 1),
    so the multi-modal loss is ~0 on any synchronisation graph. Returns ``X`` of shape (k, N, n + k - 1).
    """
    xp = _check_code(X)
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ValueError(f"k (number of modalities) must be an integer >= 2, got {k!r}")
    delta = _unit_interval("delta", delta, open_low=True)
    a_x = float(max_inner_product(X))
    n_pts = X.shape[0]
    dev = array_api_compat.device(X)
    W = xp.asarray(_host_simplex(k), dtype=X.dtype, device=dev)
    tail = math.sqrt(1 - delta**2) * W  # (k, k-1)
    mods = [xp.concat([delta * X, xp.broadcast_to(tail[j:j + 1, :], (n_pts, k - 1))], axis=1) for j in range(k)]
    Xk = xp.stack(mods, axis=0)
    m = delta**2 * (1 - a_x) / 2
    b = delta**2 * (1 + a_x) / 2 - (1 - delta**2) / (k - 1)
    iu = [(j1, j2) for j1 in range(k) for j2 in range(j1 + 1, k)]
    A = xp.stack([mods[j1] for j1, _ in iu], axis=0)
    B = xp.stack([mods[j2] for _, j2 in iu], axis=0)
    ms, bs = margin_and_bias(A, B)
    ms_h = np.asarray([float(ms[i]) for i in range(len(iu))])
    bs_h = np.asarray([float(bs[i]) for i in range(len(iu))])
    tol = _tol(X)
    if np.max(np.abs(ms_h - m)) > tol or np.max(np.abs(bs_h - b)) > tol:
        raise RuntimeError(f"construction2: certificate failed: pairwise m* {ms_h}, b* {bs_h}, promised ({m}, {b})")
    return Constellation(U=mods[0], V=mods[1], m=m, b_rel=b, m_star=float(ms_h.min()), b_star=float(bs_h[0]), alpha=a_x, X=Xk)


def construction3(d: int, *, extra: int = 3, gamma: float | None = None, backend: Any = None) -> Constellation:
    """Tightness example for the modality-gap theorem (Thm 3.6), an explicit variant of Construction 3.

    The paper's picture (two parallel k-gons and two equatorial pairs in R^3, lifted next to simplex
    vertices for d > 3) could not be decoded exactly; this variant certifies the same statement:
    N = d - 1 + extra >= d + 2 pairs with the sign pattern (24) for which **every** h with
    <h, U_i> > 0 for all i leaves at least d - 1 of the V's on the non-negative side, so at most
    N - d + 1 can be negative (Thm 3.6 guarantees N - d).

    * pairs 1..d-1: U_j = V_j = (w_j, 0), w_j = (sqrt(1 - gamma^2) omega_j, gamma) with omega_j the
      (d-1)-point regular simplex in R^{d-2}; pairwise <w_i, w_j> = gamma^2 - (1 - gamma^2)/(d - 2) < 0
      for gamma^2 < 1/(d - 1). Since V_j = U_j, <h, V_j> = <h, U_j> > 0 for every admissible h.
    * ``extra`` pairs: U_e = (a_e, +c), V_e = (a_e, -c) with a_e = r(sin(beta_e) (omega_1, 0) - cos(beta_e) e),
      beta_e spread over [-beta, beta], tan(beta) = gamma / (2 sqrt(1 - gamma^2)) (so <a_e, w_j> < 0),
      and c^2 = r^2 (1 + cos(Delta))/2 with Delta the smallest angle between the a_e, r^2 + c^2 = 1
      (so <a_e, a_f> < c^2 < r^2: s_ee > 0 > s_ef).
    Returns U, V of shape (N, d) on ``backend`` (default registry backend).
    """
    from sigref.backend import get_backend
    from sigref.constellations.gap import linear_separation, sign_pattern_holds

    if isinstance(d, bool) or not isinstance(d, int) or d < 3:
        raise ValueError(f"d must be an integer >= 3 (Prop. 5: no (24) configuration with N >= 4 in d = 2), got {d!r}")
    if isinstance(extra, bool) or not isinstance(extra, int) or extra < 3:
        raise ValueError(f"extra must be an integer >= 3 (so that N >= d + 2), got {extra!r}")
    gamma = math.sqrt(1.0 / (2 * (d - 1))) if gamma is None else float(gamma)
    if not 0 < gamma**2 < 1.0 / (d - 1):
        raise ValueError(f"gamma must satisfy 0 < gamma^2 < 1/(d-1) = {1 / (d - 1):.4g}, got {gamma}")
    omega = _host_simplex(d - 1)
    w = np.concatenate([math.sqrt(1 - gamma**2) * omega, np.full((d - 1, 1), gamma)], axis=1)  # (d-1, d-1)
    beta = math.atan(gamma / (2 * math.sqrt(1 - gamma**2)))
    betas = np.linspace(-beta, beta, extra)
    gap_angle = betas[1] - betas[0]
    r2 = 2.0 / (3.0 + math.cos(gap_angle))
    c = math.sqrt(1 - r2)
    e = np.zeros(d - 1)
    e[-1] = 1.0
    o1 = np.concatenate([omega[0], [0.0]])
    A = math.sqrt(r2) * (np.sin(betas)[:, None] * o1[None, :] - np.cos(betas)[:, None] * e[None, :])
    U = np.concatenate([np.concatenate([w, np.zeros((d - 1, 1))], axis=1), np.concatenate([A, np.full((extra, 1), c)], axis=1)])
    V = np.concatenate([np.concatenate([w, np.zeros((d - 1, 1))], axis=1), np.concatenate([A, np.full((extra, 1), -c)], axis=1)])
    backend = backend or get_backend()
    Ub, Vb = backend.asarray(U), backend.asarray(V)
    if not bool(sign_pattern_holds(Ub, Vb)):
        raise RuntimeError("construction3: certificate failed: the sign pattern (24) does not hold")
    # the extras can all be negative at once: an admissible h with exactly N - d + 1 negatives exists
    # rows -U_j on the negative side just restate <h, U_j> > 0 (keeps the LP's paired shapes)
    lp = linear_separation(U, np.concatenate([-U[: d - 1], V[d - 1:]]))
    if not lp.separable:
        raise RuntimeError("construction3: certificate failed: no admissible h makes the extra V's negative")
    m_star, b_star = (float(v) for v in margin_and_bias(Ub, Vb))
    return Constellation(U=Ub, V=Vb, m=m_star, b_rel=b_star, m_star=m_star, b_star=b_star)


def adapter(X: Any, delta: float, *, side: str = "locked", k: int = 2, j: int = 0) -> Any:
    """Adapters of Observations 1-2: A^delta_locked(X) = (delta X, +sqrt(1 - delta^2)),
    A^delta_train(X) = (delta X, -sqrt(1 - delta^2)); ``side="modality"``: A_j(X) = (delta X, sqrt(1 - delta^2) w_j)
    with w_j the j-th vertex of the regular k-simplex in R^{k-1}. Batched over leading axes of X."""
    xp = namespace(X=X)
    check_floating(xp, "X", X)
    delta = _unit_interval("delta", delta, open_low=True)
    c = math.sqrt(1 - delta**2)
    dev = array_api_compat.device(X)
    if side in ("locked", "train"):
        tail = xp.full((*X.shape[:-1], 1), c if side == "locked" else -c, dtype=X.dtype, device=dev)
    elif side == "modality":
        if isinstance(k, bool) or not isinstance(k, int) or k < 2 or not (isinstance(j, int) and 0 <= j < k):
            raise ValueError(f"need integers k >= 2 and 0 <= j < k, got k={k!r}, j={j!r}")
        w = xp.asarray(_host_simplex(k)[j] * c, dtype=X.dtype, device=dev)
        tail = xp.broadcast_to(w, (*X.shape[:-1], k - 1))
    else:
        raise ValueError(f"side must be 'locked', 'train' or 'modality', got {side!r}")
    return xp.concat([delta * X, tail], axis=-1)


def observation1_map(t: Any, b_rel: Any, delta: float) -> tuple[Any, Any]:
    """Obs. 1: L_RB({A_locked(U_i)}, {A_train(V_i)}; t, b_rel) = L_RB({U_i}, {V_i}; delta^2 t, (b_rel + 1 - delta^2)/delta^2)."""
    delta = _unit_interval("delta", delta, open_low=True)
    d2 = delta**2
    return d2 * t, (b_rel + 1 - d2) / d2


def observation1_inverse(t: Any, b_rel: Any, delta: float) -> tuple[Any, Any]:
    """Inverse of :func:`observation1_map`: (t / delta^2, delta^2 b_rel - (1 - delta^2)) (how adapter runs are started)."""
    delta = _unit_interval("delta", delta, open_low=True)
    d2 = delta**2
    return t / d2, d2 * b_rel - (1 - d2)


def observation2_map(t: Any, b_rel: Any, delta: float, k: int) -> tuple[Any, Any]:
    """Obs. 2 (k modalities, adapters A_j): the graph loss at (t, b_rel) equals the un-adapted one at
    (delta^2 t, (b_rel + (1 - delta^2)/(k - 1)) / delta^2)."""
    delta = _unit_interval("delta", delta, open_low=True)
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    d2 = delta**2
    return d2 * t, (b_rel + (1 - d2) / (k - 1)) / d2
