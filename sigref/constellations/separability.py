"""The modality-gap checks at scale (Bangachev et al. 2025, arXiv 2509.18552, Thm 3.6), with certificates.

For N pairs in R^d the dense checks of :mod:`~sigref.constellations.gap` need an LP with 2N dense rows
or an NNLS over all N points; here both are solved on a *working set* of rows, and every row is then
checked with streamed products U h, V h (float64, O(chunk d) memory), the most violated rows joining
the working set until none is left or the time budget is spent:

**Homogeneous separability** (:func:`homogeneous_separation`): is there h with <h, U_i> > 0 > <h, V_j>
for all i, j? The LP max s s.t. <h, U_i> >= s, <h, V_j> <= -s, |h_k| <= 1 (SciPy HiGHS) by
constraint generation. Certificates either way: *separable* when some h has
min(min_i <h, U_i>, -max_j <h, V_j>) > 0 over every row; *not separable* when the LP optimum on a
subset is s = 0, with HiGHS's dual weights lambda, mu >= 0 (sum 1) and the residual
||sum lambda_i U_i - sum mu_j V_j|| (a zero residual is Farkas' proof that no h exists).

**Thm 3.6 direction** (:func:`gap_direction`): the minimum-norm point p* of conv{U_i} (Prop. 3) by
column generation on :func:`~sigref.constellations.gap.min_norm_point`; p* is optimal for all rows
iff <p*, U_i> >= ||p*||^2 for every i (KKT). Certificates: h = p/||p|| with min_i <h, U_i> > 0 over
every row proves (7) (optimal or not); ||p|| = 0 on a subset puts 0 in conv{U_i}: no h satisfies (7).
Then (8) is counted, #{j : <h, V_j> < 0} >= N - d, and the sign pattern (24) comes from the pair summary.

Past ``time_budget_s`` the answer is the certificate found so far, or ``None`` ("undecided") with the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from sigref._arrays import namespace, to_host
from sigref.constellations.gap import min_norm_point, separation_lp
from sigref.constellations.tiles import row_chunks

__all__ = ["GapDirection", "SeparationCheck", "gap_direction", "homogeneous_separation"]


@dataclass(frozen=True)
class SeparationCheck:
    """Homogeneous separability of {U_i} from {V_j}: ``separable`` True/False, or None (undecided).

    ``margin``: min(min_i <h, U_i>, -max_j <h, V_j>) of the unit ``h`` found, over every row (> 0 certifies);
    ``lp_value``: the LP optimum s (box |h_k| <= 1) when ``optimal``; ``farkas_residual``: of a "not separable"
    answer, ||sum lambda_i U_i - sum mu_j V_j|| for the dual weights (sum 1); ``certificate``, ``method``, ``reason``:
    what proves the answer, how it was found, why it is undecided; ``rounds``, ``working_set``: the work done.
    """

    separable: bool | None
    margin: float | None
    lp_value: float | None
    optimal: bool
    h: np.ndarray | None
    farkas_residual: float | None
    certificate: str
    method: str
    reason: str | None
    rounds: int
    working_set: int


@dataclass(frozen=True)
class GapDirection:
    """The Thm 3.6 direction h = p*/||p*||: ``exists`` (some h has <h, U_i> > 0 for all i, (7)), or None.

    ``min_u`` = min_i <h, U_i>; ``n_negative`` = #{j : <h, V_j> < 0}; ``support``: rows of U in the
    min-norm combination (at most d); ``guaranteed`` = N - support (the count (8) guarantees under (24));
    ``holds``: min_u > 0 and n_negative >= N - d; ``optimal``: p is the min-norm point of all rows.
    """

    exists: bool | None
    h: np.ndarray | None
    min_u: float | None
    n_negative: int | None
    support: int | None
    guaranteed: int | None
    holds: bool | None
    optimal: bool
    certificate: str
    method: str
    reason: str | None
    rounds: int


def _project(X: Any, h: np.ndarray, chunk_size: Any) -> np.ndarray:
    """X h in float64 (host array of shape (N,)), one row slice at a time."""
    xp = array_api_compat.array_namespace(X)
    hd = xp.asarray(h, dtype=xp.float64, device=array_api_compat.device(X))
    return np.concatenate([to_host(Xb @ hd) for _, Xb in row_chunks(X, chunk_size)])


def _rows(X: Any, idx: np.ndarray) -> np.ndarray:
    xp = array_api_compat.array_namespace(X)
    return to_host(xp.take(X, xp.asarray(np.sort(idx), dtype=xp.int64, device=array_api_compat.device(X)), axis=0))


def _mean(X: Any, chunk_size: Any) -> np.ndarray:
    xp = array_api_compat.array_namespace(X)
    return sum(to_host(xp.sum(Xb, axis=0)) for _, Xb in row_chunks(X, chunk_size)) / X.shape[0]


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    if norm == 0.0:
        v = np.zeros_like(v)
        v[0], norm = 1.0, 1.0
    return v / norm


def _grow(work: np.ndarray, violation: np.ndarray, batch: int) -> np.ndarray:
    """``work`` plus the (at most ``batch``) rows of largest positive ``violation`` not yet in it."""
    fresh = np.setdiff1d(np.flatnonzero(violation > 0), work, assume_unique=False)
    if fresh.size > batch:
        fresh = fresh[np.argpartition(-violation[fresh], batch - 1)[:batch]]
    return np.union1d(work, fresh)


def _check(U: Any, V: Any) -> tuple[int, int]:
    namespace(U=U, V=V)
    if U.ndim != 2 or tuple(U.shape) != tuple(V.shape):
        raise ValueError(f"U and V must be paired arrays of one shape (N, d), got U {tuple(U.shape)} and V {tuple(V.shape)}")
    return U.shape


def homogeneous_separation(U: Any, V: Any, *, time_budget_s: float = 60.0, tol: float = 1e-9, chunk_size: Any = "auto",
                           batch: int | None = None) -> SeparationCheck:
    """Whether some h has <h, U_i> > 0 > <h, V_j> for all i, j (module docstring), for U, V of shape (N, d) on any namespace.

    ``batch``: rows of each side joining the working set per round (default max(2(d + 1), 256)).
    """
    n, d = _check(U, V)
    batch = batch or max(2 * (d + 1), 256)
    start = time.perf_counter()
    h = _unit(_mean(U, chunk_size) - _mean(V, chunk_size))
    mu, mv = _project(U, h, chunk_size), _project(V, h, chunk_size)
    wu = np.argsort(mu, kind="stable")[:batch]
    wv = np.argsort(-mv, kind="stable")[:batch]
    best: tuple[float, np.ndarray] | None = None
    rounds = 0
    while True:
        rounds += 1
        Uw, Vw = _rows(U, wu), _rows(V, wv)
        hw, s, res = separation_lp(Uw, Vw)
        method = (f"HiGHS LP by constraint generation: {rounds} round(s), {wu.size + wv.size} of {2 * n} constraints, "
                  "every row checked in float64")
        if s <= tol:
            y = np.abs(np.asarray(res.ineqlin.marginals))
            lam, mu_w = y[: wu.size], y[wu.size :]
            total = float(y.sum()) or 1.0
            residual = float(np.linalg.norm(lam @ Uw - mu_w @ Vw)) / total
            cert = (f"LP optimum s = {s:.3g} on {wu.size} U and {wv.size} V rows; dual weights (sum 1) combine them to "
                    f"||sum lambda_i U_i - sum mu_j V_j|| = {residual:.2e} (Farkas: 0 means no h exists)")
            return SeparationCheck(False, None, s, True, None, residual, cert, method, None, rounds, wu.size + wv.size)
        scale = float(np.linalg.norm(hw))
        unit = hw / scale
        mu, mv = _project(U, unit, chunk_size), _project(V, unit, chunk_size)
        margin = float(min(mu.min(), -mv.max()))
        if margin > 0 and (best is None or margin > best[0]):
            best = (margin, unit)
        slack = tol * max(1.0, s)
        vu, vv = s - scale * mu - slack, scale * mv + s - slack  # > 0: the row violates the working-set optimum
        if vu.max() <= 0 and vv.max() <= 0:
            return SeparationCheck(margin > 0, margin, s, True, unit, None,
                                   f"h verified on all {2 * n} rows: min(min <h,U_i>, -max <h,V_j>) = {margin:.6g}",
                                   method, None, rounds, wu.size + wv.size)
        if time.perf_counter() - start > time_budget_s:
            reason = f"time budget of {time_budget_s:g} s spent before the LP optimum was reached"
            if best is not None:
                return SeparationCheck(True, best[0], None, False, best[1], None,
                                       f"h verified on all {2 * n} rows with margin {best[0]:.6g} (not the LP optimum)",
                                       method, reason, rounds, wu.size + wv.size)
            return SeparationCheck(None, None, None, False, None, None, "none", method, reason, rounds, wu.size + wv.size)
        wu, wv = _grow(wu, vu, batch), _grow(wv, vv, batch)


def gap_direction(U: Any, V: Any, *, time_budget_s: float = 60.0, chunk_size: Any = "auto", batch: int | None = None) -> GapDirection:
    """The Thm 3.6 direction and its certificate (module docstring), for U, V of shape (N, d) on any namespace."""
    n, d = _check(U, V)
    batch = batch or max(2 * d, 256)
    start = time.perf_counter()
    mu = _project(U, _unit(_mean(U, chunk_size)), chunk_size)
    work = np.argsort(mu, kind="stable")[:batch]
    scale = 1.0
    rounds = 0
    while True:
        rounds += 1
        Uw = _rows(U, work)
        scale = max(scale, float(np.linalg.norm(Uw, axis=1).max()))
        p, lam = min_norm_point(Uw)
        norm = float(np.linalg.norm(p))
        method = f"min-norm point by column generation (SciPy NNLS): {rounds} round(s), {work.size} of {n} rows of U"
        if norm <= 1e-9 * scale:
            cert = (f"a convex combination of {int(np.sum(lam > 0))} rows of U has norm {norm:.2e}: 0 lies in conv{{U_i}}, "
                    "no h has <h, U_i> > 0 for all i")
            return GapDirection(False, None, None, None, None, None, False, True, cert, method, None, rounds)
        mu = _project(U, p, chunk_size)
        optimal = bool(mu.min() >= norm * norm * (1 - 1e-9))
        late = time.perf_counter() - start > time_budget_s
        if optimal or late:
            break
        work = _grow(work, norm * norm - mu, batch)
    h = p / norm
    min_u = float(mu.min()) / norm
    n_neg = int(np.sum(_project(V, h, chunk_size) < 0))
    support = int(np.sum(lam > 0))
    exists = True if min_u > 0 else None
    cert = (f"h verified on all {n} rows of U: min <h, U_i> = {min_u:.6g}" if min_u > 0 else "none")
    reason = None if optimal else f"time budget of {time_budget_s:g} s spent before the min-norm point was reached"
    return GapDirection(exists, h, min_u, n_neg, support, n - support, bool(min_u > 0 and n_neg >= n - d), optimal, cert,
                        method, reason, rounds)
