r"""The modality-gap checks at scale (Bangachev et al. 2025, arXiv:2509.18552, Thm 3.6), with certificates.

For N pairs in :math:`\mathbb{R}^d` the dense checks of :mod:`~sigref.constellations.gap` need an
LP with 2N dense rows or an NNLS over all N points; here both are solved on a *working set* of
rows, and every row is then checked with streamed products :math:`U h`, :math:`V h` (float64,
O(chunk d) memory), the most violated rows joining the working set until none is left or the
time budget is spent:

**Homogeneous separability** (:func:`homogeneous_separation`): is there :math:`h` with
:math:`\langle h, U_i \rangle > 0 > \langle h, V_j \rangle` for all :math:`i, j`? The LP

.. math::

    \max_{h, s} \; s \quad \text{s.t.} \quad \langle h, U_i \rangle \ge s, \quad
    \langle h, V_j \rangle \le -s, \quad |h_k| \le 1

(SciPy HiGHS) by constraint generation. Certificates either way: *separable* when some
:math:`h` has :math:`\min(\min_i \langle h, U_i \rangle, -\max_j \langle h, V_j \rangle) > 0`
over every row; *not separable* when the LP optimum on a subset is :math:`s = 0`, with HiGHS's dual
weights :math:`\lambda, \mu \ge 0` (sum 1) and the residual
:math:`\lVert \sum_i \lambda_i U_i - \sum_j \mu_j V_j \rVert` (a zero residual is Farkas' proof that
no :math:`h` exists).

**Thm 3.6 direction** (:func:`gap_direction`): the minimum-norm point :math:`p^*` of
:math:`\operatorname{conv}\{U_i\}` (Prop. 3) by column generation on
:func:`~sigref.constellations.gap.min_norm_point`; :math:`p^*` is optimal for all rows iff
:math:`\langle p^*, U_i \rangle \ge \lVert p^* \rVert^2` for every :math:`i` (KKT). Certificates:
:math:`h = p / \lVert p \rVert` with :math:`\min_i \langle h, U_i \rangle > 0` over every row
proves (7) (optimal or not); :math:`\lVert p \rVert = 0` on a subset puts 0 in
:math:`\operatorname{conv}\{U_i\}`: no :math:`h` satisfies (7). Then (8) is counted,
:math:`|\{j : \langle h, V_j \rangle < 0\}| \ge N - d`, and the sign pattern (24) comes from the
pair summary.

Past ``time_budget_s`` the answer is the certificate found so far, or ``None`` ("undecided") with
the reason.
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
from sigref.types import Array

__all__ = ["GapDirection", "SeparationCheck", "gap_direction", "homogeneous_separation"]


@dataclass(frozen=True)
class SeparationCheck:
    r"""The answer of :func:`homogeneous_separation`: whether :math:`\{U_i\}` and :math:`\{V_j\}` are homogeneously separable.

    A frozen dataclass: the answer, the evidence for it, and the work it took.

    Attributes
    ----------
    separable : bool or None
        True or False with a certificate, None when undecided within the time budget.
    margin : float or None
        :math:`\min(\min_i \langle h, U_i \rangle, -\max_j \langle h, V_j \rangle)` of the unit ``h``
        found, over every row (> 0 certifies separability).
    lp_value : float or None
        The LP optimum :math:`s` (box :math:`|h_k| \le 1`) when ``optimal``.
    optimal : bool
        Whether the LP optimum over all rows was reached.
    h : numpy.ndarray or None
        The unit direction found, shape (d,), host float64.
    farkas_residual : float or None
        For a "not separable" answer, :math:`\lVert \sum_i \lambda_i U_i - \sum_j \mu_j V_j \rVert` for
        the dual weights (sum 1); 0 is Farkas' proof that no :math:`h` exists.
    certificate : str
        What proves the answer.
    method : str
        How it was found (rounds, constraints used).
    reason : str or None
        Why the answer is undecided or not optimal.
    rounds : int
        LP rounds of constraint generation.
    working_set : int
        Rows in the final working set (both sides).

    See Also
    --------
    sigref.constellations.gap.LinearSeparation : The dense LP's answer.

    Examples
    --------
    >>> from sigref.constellations import homogeneous_separation
    >>> from sigref.constellations import cross_polytope, from_code, regular_simplex
    >>> c = from_code(cross_polytope(2).X, 0.3, 0.1)  # U_i = (delta X_i, +c), V_i = (delta X_i, -c)
    >>> X = regular_simplex(4).X  # paired with itself: U_i = V_i
    >>> check = homogeneous_separation(c.U, c.V)
    >>> check.separable, round(check.margin, 6), check.optimal
    (True, 0.547723, True)
    >>> check = homogeneous_separation(X, X)
    >>> check.separable, check.farkas_residual
    (False, 0.0)
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
    r"""The answer of :func:`gap_direction`: the Thm 3.6 direction :math:`h = p^* / \lVert p^* \rVert` and its certificate.

    A frozen dataclass; the fields that depend on :math:`h` are None when no direction was found.

    Attributes
    ----------
    exists : bool or None
        True when some :math:`h` has :math:`\langle h, U_i \rangle > 0` for all :math:`i` (7) (certified
        by the ``h`` found), False when 0 lies in :math:`\operatorname{conv}\{U_i\}`, None when undecided.
    h : numpy.ndarray or None
        The unit direction, shape (d,), host float64.
    min_u : float or None
        :math:`\min_i \langle h, U_i \rangle` over every row.
    n_negative : int or None
        :math:`|\{j : \langle h, V_j \rangle < 0\}|`.
    support : int or None
        Rows of U in the min-norm combination (linearly independent, at most d).
    guaranteed : int or None
        N - ``support``: the count (8) guarantees under the sign pattern (24).
    holds : bool or None
        ``min_u > 0`` and ``n_negative >= N - d``: the conclusion of Thm 3.6.
    optimal : bool
        Whether :math:`p` is the min-norm point of all rows.
    certificate : str
        What proves the answer.
    method : str
        How it was found.
    reason : str or None
        Why the answer is not optimal (time budget).
    rounds : int
        Rounds of column generation.

    See Also
    --------
    sigref.constellations.gap.Separator : The dense certificate.

    Examples
    --------
    >>> from sigref.constellations import gap_direction
    >>> from sigref.constellations import cross_polytope, from_code, regular_simplex
    >>> c = from_code(cross_polytope(2).X, 0.3, 0.1)  # U_i = (delta X_i, +c), V_i = (delta X_i, -c)
    >>> X = regular_simplex(4).X  # paired with itself: U_i = V_i
    >>> g = gap_direction(c.U, c.V)
    >>> g.exists, round(g.min_u, 6), g.n_negative, g.support, g.holds
    (True, 0.547723, 4, 2, True)
    >>> gap_direction(X, X).exists
    False
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


def homogeneous_separation(U: Array, V: Array, *, time_budget_s: float = 60.0, tol: float = 1e-9, chunk_size: int | str | None = "auto",
                           batch: int | None = None) -> SeparationCheck:
    r"""Decide whether some :math:`h` has :math:`\langle h, U_i \rangle > 0 > \langle h, V_j \rangle` for all :math:`i, j`, at scale.

    The LP of :func:`~sigref.constellations.gap.linear_separation`,

    .. math::

        \max_{h, s} \; s \quad \text{s.t.} \quad \langle h, U_i \rangle \ge s, \quad
        \langle h, V_j \rangle \le -s, \quad |h_k| \le 1,

    solved by constraint generation: on a working set of rows (first those with the smallest
    :math:`\langle h_0, U_i \rangle` and largest :math:`\langle h_0, V_j \rangle` for
    :math:`h_0 \propto \bar U - \bar V`), each round checking every row with streamed float64
    products and adding the most violated ones (module docstring). Thm 3.6 of [1]_ is about a
    weaker property; this is the full separability of the two modalities.

    Parameters
    ----------
    U : Array, shape (N, d)
        Embeddings :math:`U_i` as rows, of any array-API namespace.
    V : Array, shape (N, d)
        Their partners :math:`V_i`, of the same namespace.
    time_budget_s : float, optional
        Seconds after which the best certificate so far (or "undecided") is returned (default 60).
    tol : float, optional
        LP optima :math:`s \le` ``tol`` count as not separable (default 1e-9).
    chunk_size : int or "auto" or None, optional
        Rows per streamed slice (default ``"auto"``, see :func:`~sigref.constellations.tiles.row_chunks`).
    batch : int, optional
        Rows of each side joining the working set per round (default :math:`\max(2(d + 1), 256)`).

    Returns
    -------
    SeparationCheck
        The answer, its certificate and the work done.

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries.
    ValueError
        If ``U`` is not 2-D or the shapes differ.
    RuntimeError
        If HiGHS fails to solve an LP.

    See Also
    --------
    gap_direction : The Thm 3.6 direction at scale.
    sigref.constellations.gap.linear_separation : The dense LP.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import homogeneous_separation
    >>> from sigref.constellations import cross_polytope, from_code, regular_simplex
    >>> c = from_code(cross_polytope(2).X, 0.3, 0.1)  # U_i = (delta X_i, +c), V_i = (delta X_i, -c)
    >>> X = regular_simplex(4).X  # paired with itself: U_i = V_i
    >>> homogeneous_separation(c.U, c.V).separable, homogeneous_separation(X, X).separable
    (True, False)
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


def gap_direction(U: Array, V: Array, *, time_budget_s: float = 60.0, chunk_size: int | str | None = "auto",
                  batch: int | None = None) -> GapDirection:
    r"""Compute the Thm 3.6 direction and its certificate at scale.

    The minimum-norm point :math:`p^*` of :math:`\operatorname{conv}\{U_i\}` (Prop. 3 of [1]_) by
    column generation: :func:`~sigref.constellations.gap.min_norm_point` on a working set of rows of
    U, optimal for all rows iff :math:`\langle p, U_i \rangle \ge \lVert p \rVert^2` for every
    :math:`i` (KKT), the violating rows joining the set otherwise. Then :math:`h = p / \lVert p \rVert`,
    :math:`\min_i \langle h, U_i \rangle` over every row certifies (7), and the
    :math:`\langle h, V_j \rangle < 0` are counted for (8).

    Parameters
    ----------
    U : Array, shape (N, d)
        Embeddings :math:`U_i` as rows, of any array-API namespace.
    V : Array, shape (N, d)
        Their partners :math:`V_i`, of the same namespace.
    time_budget_s : float, optional
        Seconds after which the current :math:`p` is used (``optimal`` False; default 60).
    chunk_size : int or "auto" or None, optional
        Rows per streamed slice (default ``"auto"``).
    batch : int, optional
        Rows joining the working set per round (default :math:`\max(2d, 256)`).

    Returns
    -------
    GapDirection
        The direction, its counts and certificate.

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries.
    ValueError
        If ``U`` is not 2-D or the shapes differ.

    See Also
    --------
    sigref.constellations.gap.min_norm_separator : The dense computation.
    homogeneous_separation : Full separability of the two modalities.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import gap_direction
    >>> from sigref.constellations import cross_polytope, from_code, regular_simplex
    >>> c = from_code(cross_polytope(2).X, 0.3, 0.1)  # U_i = (delta X_i, +c), V_i = (delta X_i, -c)
    >>> X = regular_simplex(4).X  # paired with itself: U_i = V_i
    >>> g = gap_direction(c.U, c.V)
    >>> g.holds, g.n_negative, g.guaranteed
    (True, 4, 2)
    """
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
