r"""The modality gap (Bangachev et al. 2025, arXiv:2509.18552, Thm 3.6) and homogeneous separability.

**Thm 3.6.** Let :math:`N \ge d + 2`, :math:`s_{ii} > 0` for all :math:`i` and :math:`s_{ij} < 0`
for all :math:`i \ne j` (the sign pattern (24), implied by :math:`m > |b_{rel}|`). Then some
:math:`h \in S^{d-1}` has

.. math::

    \langle h, U_i \rangle > 0 \;\; \text{for all } i \quad (7), \qquad
    \langle h, V_j \rangle < 0 \;\; \text{for at least } N - d \text{ indices } j \quad (8).

**Algorithm** (Prop. 3 and Caratheodory): :math:`p^*` is the minimum-norm point of
:math:`\operatorname{conv}\{U_i\}`. It is nonzero exactly when the :math:`U_i` lie in a common open
half-space, and then :math:`h = p^* / \lVert p^* \rVert` has
:math:`\langle h, U_i \rangle \ge \lVert p^* \rVert > 0` for all :math:`i` (optimality of
:math:`p^*`). Write :math:`p^* = \sum_{i \in S} \lambda_i U_i` with :math:`\lambda > 0` and the
:math:`U_i`, :math:`i \in S`, linearly independent (so :math:`|S| \le d`; a Caratheodory reduction
removes dependent ones). For :math:`k \notin S`,

.. math::

    \langle h, V_k \rangle = \frac{1}{\lVert p^* \rVert} \sum_{i \in S} \lambda_i \langle U_i, V_k \rangle < 0

under (24): at least :math:`N - |S| \ge N - d` of the :math:`V`'s are on the negative side.

:math:`p^*` is found on the host with SciPy's NNLS
(:math:`\min \lVert \sum_i \lambda_i U_i \rVert^2 + w^2 (\sum_i \lambda_i - 1)^2`,
:math:`\lambda \ge 0`, :math:`w` large), polished by the exact active-set normal equations. Full
homogeneous separability of all :math:`U` from all :math:`V` is an exact linear program (SciPy
HiGHS). Both run on the host in float64, one configuration at a time (loop over batches on the
caller's side).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linprog, nnls

from sigref._arrays import check_finite, check_floating, namespace, to_host
from sigref.types import Array

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


def sign_pattern_holds(U: Array, V: Array) -> Array:
    r"""Test the sign pattern (24) of Thm 3.6.

    The hypothesis of Thm 3.6 of [1]_:

    .. math::

        s_{ii} > 0 \;\; \text{for all } i, \qquad s_{ij} < 0 \;\; \text{for all } i \ne j,

    which every :math:`(m, b_{rel})`-constellation with :math:`m > |b_{rel}|` has.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Embeddings :math:`U_i` as rows, real floating, N >= 2.
    V : Array, shape (..., N, d)
        Their partners :math:`V_i`: the same shape, library and dtype.

    Returns
    -------
    Array, shape (...)
        Boolean, one per batch index.

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries or are not real floating arrays.
    ValueError
        If their shapes differ or have fewer than two axes, if N < 2, or if they hold NaN or infinity.

    See Also
    --------
    sigref.constellations.region.in_modality_gap_region : The :math:`(m, b_{rel})` that imply it.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    The simplex has negative negatives; the cross-polytope's orthogonal pairs are 0:

    >>> from sigref.constellations import cross_polytope, regular_simplex, sign_pattern_holds
    >>> X, Y = regular_simplex(4).X, cross_polytope(2).X
    >>> bool(sign_pattern_holds(X, X)), bool(sign_pattern_holds(Y, Y))
    (True, False)
    """
    from sigref.constellations.metrics import pair_statistics

    pos, neg = pair_statistics(U, V)
    xp = namespace(U=U)
    return xp.logical_and(pos > 0, neg < 0)


def min_norm_point(U: Array) -> tuple[np.ndarray, np.ndarray]:
    r"""Find the minimum-norm point :math:`p^*` of the convex hull of the :math:`U_i` (Proposition 3).

    The point of Proposition 3 of [1]_:

    .. math::

        p^* = \operatorname*{arg\,min}_{p \in \operatorname{conv}\{U_i\}} \lVert p \rVert
            = \sum_i \lambda_i U_i, \qquad \lambda \ge 0, \; \sum_i \lambda_i = 1.

    NNLS on :math:`[U^\top; w \mathbf{1}^\top] \lambda \approx [0; w]` imposes the simplex constraint
    with a large weight :math:`w`; the support is then re-solved exactly (KKT system on the active
    face) and reduced by Caratheodory's theorem until its vectors are linearly independent (the
    weights then sum to 1 up to that reduction, which keeps :math:`p^*`). Host float64.

    Parameters
    ----------
    U : Array, shape (N, d)
        The points as rows, real floating and finite.

    Returns
    -------
    p : numpy.ndarray, shape (d,)
        The minimum-norm point :math:`p^*`.
    weights : numpy.ndarray, shape (N,)
        :math:`\lambda \ge 0` with :math:`p^* = \sum_i \lambda_i U_i`, supported on linearly
        independent rows.

    Raises
    ------
    TypeError
        If ``U`` is not an array of an array-API library or not real floating.
    ValueError
        If ``U`` holds NaN or infinity or is not 2-D.

    See Also
    --------
    min_norm_separator : The Thm 3.6 direction made from it.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations import min_norm_point
    >>> p, weights = min_norm_point(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    >>> [round(float(x), 6) for x in p], [round(float(w), 6) for w in weights]
    ([0.5, 0.5], [0.5, 0.5, 0.0])
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
    r"""The certificate of Thm 3.6 for one configuration, made by :func:`min_norm_separator`.

    A frozen dataclass: the direction, the convex combination behind it, and the counts that
    check (7) and (8) of [1]_.

    Attributes
    ----------
    h : numpy.ndarray, shape (d,)
        The unit direction :math:`h = p^* / \lVert p^* \rVert` (host float64).
    weights : numpy.ndarray, shape (N,)
        :math:`\lambda \ge 0` with :math:`p^* = \sum_i \lambda_i U_i`: a convex combination, rescaled
        to a conic one by the Caratheodory reduction when that was needed.
    support : numpy.ndarray of int, shape (k,)
        The indices with :math:`\lambda_i > 0`: linearly independent rows, :math:`k \le d`.
    min_u : float
        :math:`\min_i \langle h, U_i \rangle` (> 0 certifies (7)).
    n_negative : int
        :math:`|\{j : \langle h, V_j \rangle < 0\}|`.
    guaranteed : int
        N - k: the count (8) guarantees under the sign pattern (24).
    sign_pattern : bool
        Whether (24) holds.
    holds : bool
        ``min_u > 0`` and ``n_negative >= N - d``: the conclusion of Thm 3.6.

    See Also
    --------
    sigref.constellations.separability.GapDirection : The same certificate computed at scale.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import cross_polytope, from_code
    >>> c = from_code(cross_polytope(2).X, 0.3, 0.1)  # U_i = (delta X_i, +c), V_i = (delta X_i, -c)
    >>> from sigref.constellations import min_norm_separator
    >>> sep = min_norm_separator(c.U, c.V)
    >>> sep.support.tolist(), sep.n_negative, sep.guaranteed, sep.holds
    ([0, 2], 4, 2, True)
    """

    h: np.ndarray
    weights: np.ndarray
    support: np.ndarray
    min_u: float
    n_negative: int
    guaranteed: int
    sign_pattern: bool
    holds: bool


def min_norm_separator(U: Array, V: Array) -> Separator:
    r"""Compute the Thm 3.6 direction :math:`h = p^* / \lVert p^* \rVert` with its certificate (one configuration).

    With :math:`p^*` from :func:`min_norm_point`, :math:`h` satisfies
    :math:`\langle h, U_i \rangle \ge \lVert p^* \rVert > 0` for all :math:`i` (7), and under the
    sign pattern (24) :math:`\langle h, V_k \rangle < 0` for every :math:`k` outside the support of
    :math:`p^*`, so for at least :math:`N - d` indices (8) [1]_.

    Parameters
    ----------
    U : Array, shape (N, d)
        Embeddings :math:`U_i` as rows, real floating.
    V : Array, shape (N, d)
        Their partners :math:`V_i`: the same shape, library and dtype.

    Returns
    -------
    Separator
        The direction, the weights and support of :math:`p^*`, and the counts.

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries or are not real floating arrays.
    ValueError
        If they hold NaN or infinity, ``U`` is not 2-D, or the shapes differ. Also when 0 lies in :math:`\operatorname{conv}\{U_i\}`: no open
        half-space contains every :math:`U_i`, so no :math:`h` satisfies (7).

    See Also
    --------
    sigref.constellations.separability.gap_direction : The same for large N, with a time budget.
    linear_separation : Whether every :math:`V_j` can be put on the negative side.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import cross_polytope, from_code
    >>> c = from_code(cross_polytope(2).X, 0.3, 0.1)  # U_i = (delta X_i, +c), V_i = (delta X_i, -c)
    >>> from sigref.constellations import min_norm_separator
    >>> sep = min_norm_separator(c.U, c.V)
    >>> round(float(sep.h[-1]), 6), round(sep.min_u, 6), sep.holds  # h = e_3
    (1.0, 0.547723, True)

    The simplex paired with itself has 0 in the hull of its points:

    >>> from sigref.constellations import regular_simplex
    >>> X = regular_simplex(4).X
    >>> try:
    ...     min_norm_separator(X, X)
    ... except ValueError:
    ...     print("no open half-space holds every U_i")
    no open half-space holds every U_i
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
    r"""The exact LP answer to homogeneous separability, made by :func:`linear_separation`.

    ``separable`` iff some :math:`h` has :math:`\langle h, U_i \rangle > 0 > \langle h, V_j \rangle`
    for all :math:`i, j`. The LP's :math:`h` maximises
    :math:`s = \min(\min_i \langle h, U_i \rangle, -\max_j \langle h, V_j \rangle)` over the box
    :math:`|h_k| \le 1`.

    Attributes
    ----------
    separable : bool
        Whether the margin of the unit :math:`h` is > 0.
    h : numpy.ndarray, shape (d,)
        The separating direction, normalised to a unit vector when the LP optimum is > ``tol``
        (else the LP's raw solution).
    margin : float
        :math:`s` of the unit :math:`h` (> 0 iff separable); the LP optimum itself when that is
        <= ``tol``.

    See Also
    --------
    sigref.constellations.separability.SeparationCheck : The same question at scale, with certificates.

    Examples
    --------
    >>> from sigref.constellations import cross_polytope, from_code
    >>> c = from_code(cross_polytope(2).X, 0.3, 0.1)  # U_i = (delta X_i, +c), V_i = (delta X_i, -c)
    >>> from sigref.constellations import linear_separation
    >>> sep = linear_separation(c.U, c.V)
    >>> sep.separable, round(sep.margin, 6)
    (True, 0.547723)
    """

    separable: bool
    h: np.ndarray
    margin: float


def linear_separation(U: Array, V: Array, *, tol: float = 1e-9) -> LinearSeparation:
    r"""Decide whether a hyperplane through the origin separates :math:`\{U_i\}` from :math:`\{V_j\}`.

    The linear program (SciPy ``linprog``, HiGHS)

    .. math::

        \max_{h, s} \; s \quad \text{s.t.} \quad \langle h, U_i \rangle \ge s, \quad
        \langle h, V_j \rangle \le -s, \quad -1 \le h_k \le 1, \quad s \le 1;

    the sets are separable iff its optimum is > 0, and the result reports the margin of the unit
    vector :math:`h / \lVert h \rVert`. Host float64.

    Parameters
    ----------
    U : Array, shape (N, d)
        Embeddings :math:`U_i` as rows, real floating.
    V : Array, shape (N, d)
        Their partners :math:`V_i`: the same shape, library and dtype.
    tol : float, optional
        LP optima :math:`s \le` ``tol`` count as not separable (default 1e-9).

    Returns
    -------
    LinearSeparation
        ``separable``, the direction ``h`` and its ``margin``.

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries or are not real floating arrays.
    ValueError
        If they hold NaN or infinity, ``U`` is not 2-D, or the shapes differ.
    RuntimeError
        If HiGHS fails to solve the LP.

    See Also
    --------
    separation_lp : The LP itself, on host arrays of any sizes.
    sigref.constellations.separability.homogeneous_separation : The same for large N.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import cross_polytope, from_code
    >>> c = from_code(cross_polytope(2).X, 0.3, 0.1)  # U_i = (delta X_i, +c), V_i = (delta X_i, -c)
    >>> from sigref.constellations import linear_separation, regular_simplex
    >>> linear_separation(c.U, c.V).separable
    True
    >>> X = regular_simplex(4).X
    >>> linear_separation(X, X).separable  # U_i = V_i: no hyperplane separates them
    False
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
    r"""Solve the separability LP of :func:`linear_separation` on host arrays.

    .. math::

        \max_{h, s} \; s \quad \text{s.t.} \quad \langle h, U_i \rangle \ge s, \quad
        \langle h, V_j \rangle \le -s, \quad -1 \le h_k \le 1, \quad s \le 1,

    for any numbers of rows of the two sides (constraint generation solves it on subsets).

    Parameters
    ----------
    Uh : numpy.ndarray, shape (n_u, d)
        Host float64 rows to put on the positive side.
    Vh : numpy.ndarray, shape (n_v, d)
        Host float64 rows to put on the negative side.

    Returns
    -------
    h : numpy.ndarray, shape (d,)
        The optimal direction (in the box, not normalised).
    s : float
        The optimum.
    result : scipy.optimize.OptimizeResult
        HiGHS's result; ``result.ineqlin.marginals`` are the dual weights of the ``n_u + n_v``
        constraints (the U rows first), non-positive.

    Raises
    ------
    RuntimeError
        If HiGHS fails to solve the LP.

    See Also
    --------
    linear_separation : The same on paired arrays, with the unit margin.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations.gap import separation_lp
    >>> h, s, result = separation_lp(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0], [-1.0, 0.0]]))
    >>> [round(float(x), 6) for x in h], round(s, 6)
    ([1.0, -1.0], 1.0)
    """
    n_u, d = Uh.shape
    c = np.zeros(d + 1)
    c[-1] = -1.0
    A = np.concatenate([np.concatenate([-Uh, np.ones((n_u, 1))], axis=1), np.concatenate([Vh, np.ones((Vh.shape[0], 1))], axis=1)])
    res = linprog(c, A_ub=A, b_ub=np.zeros(A.shape[0]), bounds=[(-1.0, 1.0)] * d + [(None, 1.0)], method="highs")
    if res.status != 0:
        raise RuntimeError(f"separability LP failed: {res.message}")
    return res.x[:d], float(res.x[-1]), res


def wendel_hemisphere_probability(N: int, d: int) -> float:
    r"""Compute Wendel's probability that N random points on :math:`S^{d-1}` lie in a common open hemisphere.

    For N i.i.d. points uniform on :math:`S^{d-1}` (Wendel 1962 [2]_),

    .. math::

        P = 2^{-(N-1)} \sum_{k=0}^{d-1} \binom{N - 1}{k},

    which is 1 for :math:`N \le d` and tiny for :math:`N \gg d`: random embeddings almost never admit
    the direction :math:`h` of (7), while every configuration with the sign pattern (24) and
    :math:`N \ge d + 2` does (Thm 3.6 of [1]_).

    Parameters
    ----------
    N : int
        Number of points, >= 1.
    d : int
        Dimension of the ambient space, >= 1.

    Returns
    -------
    float
        The probability.

    Raises
    ------
    ValueError
        If ``N`` or ``d`` is not an integer >= 1.

    See Also
    --------
    min_norm_separator : The direction :math:`h` of (7), when it exists.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552
    .. [2] J. G. Wendel, "A Problem in Geometric Probability", Mathematica Scandinavica 11 (1962),
       pp. 109-111.

    Examples
    --------
    >>> from sigref.constellations import wendel_hemisphere_probability
    >>> print(f"{wendel_hemisphere_probability(99, 10):.3g}")
    5.51e-18
    >>> wendel_hemisphere_probability(3, 3), wendel_hemisphere_probability(4, 2)
    (1.0, 0.5)
    """
    for name, v in (("N", N), ("d", d)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    total = sum(math.comb(N - 1, k) for k in range(min(d, N)))
    return math.ldexp(float(total), -(N - 1)) if total < 2**1000 else math.exp(math.log(total) - (N - 1) * math.log(2))
