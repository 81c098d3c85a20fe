"""The modality gap (Bangachev et al. 2025, arXiv 2509.18552, Thm 3.6) and homogeneous separability.

**Thm 3.6.** Let N >= d + 2, s_ii > 0 for all i and s_ij < 0 for all i != j (the sign pattern (24),
implied by m > |b_rel|). Then some h in S^{d-1} has <h, U_i> > 0 for all i (7) and <h, V_j> < 0 for
at least N - d indices j (8).

**Algorithm** (Prop. 3 + Caratheodory): p* = the minimum-norm point of conv{U_i}. It is nonzero
exactly when the U_i lie in a common open half-space, and then h = p*/||p*|| has
<h, U_i> >= ||p*|| > 0 for all i (optimality of p*). Write p* = sum_{i in S} lambda_i U_i with
lambda > 0 and the U_i, i in S, linearly independent (so |S| <= d; a Caratheodory reduction
removes dependent ones). For k outside S, <h, V_k> = sum_S lambda_i <U_i, V_k> / ||p*|| < 0 under
(24): at least N - |S| >= N - d of the V's are on the negative side.

p* is found on the host with SciPy's NNLS (min ||sum_i lambda_i U_i||^2 + w^2 (sum lambda - 1)^2,
lambda >= 0, w large), polished by the exact active-set normal equations. Full homogeneous
separability of all U from all V is an exact linear program (SciPy HiGHS). Both run per batch
element on the host in float64; the results are moved back to the inputs' namespace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linprog, nnls

from sigref._arrays import check_finite, check_floating, namespace, to_host

__all__ = [
    "LinearSeparation",
    "Separator",
    "linear_separation",
    "min_norm_point",
    "min_norm_separator",
    "separation_lp",
    "sign_pattern_holds",
    "wendel_hemisphere_probability",
]


def _host_pair(U: Any, V: Any | None) -> tuple[np.ndarray, np.ndarray | None]:
    arrays = {"U": U} if V is None else {"U": U, "V": V}
    xp = namespace(**arrays)
    for name, a in arrays.items():
        check_floating(xp, name, a)
        check_finite(xp, name, a)
    if U.ndim != 2:
        raise ValueError(f"U must have shape (N, d) (loop over batches on the caller's side), got {tuple(U.shape)}")
    if V is not None and tuple(V.shape) != tuple(U.shape):
        raise ValueError(f"U and V must be paired, same shape (N, d); got U {tuple(U.shape)}, V {tuple(V.shape)}")
    return to_host(U), (None if V is None else to_host(V))


def sign_pattern_holds(U: Any, V: Any) -> Any:
    """The sign pattern (24): s_ii > 0 for all i and s_ij < 0 for all i != j (boolean of batch shape)."""
    from sigref.constellations.metrics import pair_statistics

    pos, neg = pair_statistics(U, V)
    xp = namespace(U=U)
    return xp.logical_and(pos > 0, neg < 0)


def min_norm_point(U: Any) -> tuple[np.ndarray, np.ndarray]:
    """(p*, lambda): the minimum-norm point p* = sum_i lambda_i U_i of conv{U_i} (host float64).

    NNLS on [U^T; w 1^T] lambda ~ [0; w] gives the simplex constraint with weight w; the support is
    then re-solved exactly (KKT on the active face) and reduced to linearly independent vectors.
    """
    Uh, _ = _host_pair(U, None)
    n, d = Uh.shape
    w = 1e4 * (1.0 + float(np.abs(Uh).max()))
    A = np.concatenate([Uh.T, np.full((1, n), w)], axis=0)
    rhs = np.concatenate([np.zeros(d), [w]])
    lam, _ = nnls(A, rhs, maxiter=50 * (n + d))
    lam = np.clip(lam, 0.0, None)
    lam /= lam.sum()
    lam = _polish(Uh, lam)
    lam = _caratheodory(Uh, lam)
    return lam @ Uh, lam


def _polish(Uh: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Exact min-norm point on the face spanned by the support: min ||U_S^T l||^2 s.t. 1^T l = 1 (KKT system)."""
    S = np.flatnonzero(lam > 1e-12 * lam.max())
    G = Uh[S] @ Uh[S].T
    k = S.size
    K = np.block([[2 * G, np.ones((k, 1))], [np.ones((1, k)), np.zeros((1, 1))]])
    sol, *_ = np.linalg.lstsq(K, np.concatenate([np.zeros(k), [1.0]]), rcond=None)
    if np.all(sol[:k] > 0):
        out = np.zeros_like(lam)
        out[S] = sol[:k]
        return out
    return lam


def _caratheodory(Uh: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Keep p = sum lambda_i U_i while dropping terms until the support vectors are linearly independent."""
    lam = lam.copy()
    while True:
        S = np.flatnonzero(lam > 0)
        if S.size == 0:
            return lam
        _, sv, vt = np.linalg.svd(Uh[S].T, full_matrices=True)
        rank = int(np.sum(sv > 1e-10 * sv[0])) if sv.size else 0
        if rank == S.size:
            return lam
        mu = vt[-1]  # sum_S mu_i U_i = 0
        if mu.max() <= 0:
            mu = -mu
        pos = mu > 0
        ratios = np.where(pos, lam[S] / np.where(pos, mu, 1.0), np.inf)
        i0 = int(np.argmin(ratios))
        new = lam[S] - ratios[i0] * mu
        new[i0] = 0.0
        lam[S] = np.clip(new, 0.0, None)


@dataclass(frozen=True)
class Separator:
    """Certificate of Thm 3.6 for one configuration.

    h : unit direction (host float64, shape (d,)); weights : lambda >= 0 with p* = sum lambda_i U_i
    (a convex combination, rescaled to a conic one by the Caratheodory reduction when that was needed);
    support : indices with lambda_i > 0 (linearly independent, at most d);
    min_u : min_i <h, U_i> (> 0 certifies (7)); n_negative : #{j : <h, V_j> < 0};
    guaranteed : N - |support| (the count (8) guarantees under (24)); sign_pattern : whether (24) holds;
    holds : min_u > 0 and n_negative >= N - d.
    """

    h: np.ndarray
    weights: np.ndarray
    support: np.ndarray
    min_u: float
    n_negative: int
    guaranteed: int
    sign_pattern: bool
    holds: bool


def min_norm_separator(U: Any, V: Any) -> Separator:
    """The Thm 3.6 separator h = p*/||p*|| with its certificate (single configuration, shape (N, d)).

    Raises ValueError when 0 lies in conv{U_i} (no open half-space contains every U_i; then no h satisfies (7)).
    """
    Uh, Vh = _host_pair(U, V)
    n, d = Uh.shape
    p, lam = min_norm_point(Uh)
    norm = float(np.linalg.norm(p))
    scale = float(np.linalg.norm(Uh, axis=1).max())
    if norm <= 1e-9 * scale:
        raise ValueError(
            f"0 lies in the convex hull of the U_i (min-norm point has norm {norm:.2e}): "
            "no open half-space contains all of them, so there is no modality-gap direction h"
        )
    h = p / norm
    su = Uh @ h
    sv = Vh @ h
    S = np.flatnonzero(lam > 0)
    sign = bool(np.all(np.sum(Uh * Vh, axis=1) > 0) and np.all((Uh @ Vh.T)[~np.eye(n, dtype=bool)] < 0))
    n_neg = int(np.sum(sv < 0))
    return Separator(h=h, weights=lam, support=S, min_u=float(su.min()), n_negative=n_neg, guaranteed=n - S.size,
                     sign_pattern=sign, holds=bool(su.min() > 0 and n_neg >= n - d))


@dataclass(frozen=True)
class LinearSeparation:
    """Exact LP result: ``separable`` iff some h has <h, U_i> > 0 > <h, V_j> for all i, j.

    h maximises the margin s = min(min_i <h, U_i>, -max_j <h, V_j>) over the box |h_k| <= 1;
    ``margin`` is that s for the unit vector h/||h|| (> 0 iff separable).
    """

    separable: bool
    h: np.ndarray
    margin: float


def linear_separation(U: Any, V: Any, *, tol: float = 1e-9) -> LinearSeparation:
    """Homogeneous linear separability of {U_i} from {V_j} by the LP
    max s  s.t.  <h, U_i> >= s,  <h, V_j> <= -s,  -1 <= h_k <= 1,  s <= 1  (scipy.optimize.linprog, HiGHS).
    """
    Uh, Vh = _host_pair(U, V)
    h, s, _ = separation_lp(Uh, Vh)
    hn = float(np.linalg.norm(h))
    if s <= tol or hn == 0.0:
        return LinearSeparation(False, h, s)
    h = h / hn
    margin = float(min((Uh @ h).min(), -(Vh @ h).max()))
    return LinearSeparation(margin > 0, h, margin)


def separation_lp(Uh: np.ndarray, Vh: np.ndarray) -> tuple[np.ndarray, float, Any]:
    """The LP of :func:`linear_separation` on host float64 rows Uh (n_u, d), Vh (n_v, d) (any counts):
    (h, s, the ``scipy.optimize.OptimizeResult``, whose ``ineqlin.marginals`` are the dual weights)."""
    n_u, d = Uh.shape
    c = np.zeros(d + 1)
    c[-1] = -1.0
    A = np.concatenate([np.concatenate([-Uh, np.ones((n_u, 1))], axis=1), np.concatenate([Vh, np.ones((Vh.shape[0], 1))], axis=1)])
    res = linprog(c, A_ub=A, b_ub=np.zeros(A.shape[0]), bounds=[(-1.0, 1.0)] * d + [(None, 1.0)], method="highs")
    if res.status != 0:
        raise RuntimeError(f"separability LP failed: {res.message}")
    return res.x[:d], float(res.x[-1]), res


def wendel_hemisphere_probability(N: int, d: int) -> float:
    """Wendel (1962): P(N i.i.d. uniform points on S^{d-1} lie in a common open hemisphere)
    = 2^{-(N-1)} sum_{k=0}^{d-1} C(N-1, k). E.g. N = 99, d = 10: 5.51e-18."""
    for name, v in (("N", N), ("d", d)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    total = sum(math.comb(N - 1, k) for k in range(min(d, N)))
    return math.ldexp(float(total), -(N - 1)) if total < 2**1000 else math.exp(math.log(total) - (N - 1) * math.log(2))
