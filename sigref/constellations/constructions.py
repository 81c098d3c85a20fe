r"""Explicit constellations (Bangachev et al. 2025, arXiv:2509.18552, Constructions 1-3, Thm 3.3, Obs. 1-2).

Every builder checks its own certificate: it measures the realised :math:`(m^*, b^*_{rel})` of
what it built (:func:`sigref.constellations.metrics.margin_and_bias`) and raises
``RuntimeError`` if that differs from the closed form by more than ``1000 eps`` of the dtype.
Infeasible requests (code :math:`\alpha` too large, :math:`(m, b_{rel})` outside the region,
dimension too small) raise ``ValueError``. Outputs follow the namespace, dtype and device of the
input code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from sigref._arrays import check_finite, check_floating, namespace
from sigref.backend import Backend
from sigref.constellations.codes import max_inner_product, regular_simplex
from sigref.constellations.metrics import margin_and_bias
from sigref.types import Array, Scalar

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
    """Embeddings built by a construction, with their certificate.

    For two modalities ``U`` and ``V`` hold the pairs; for k modalities
    (:func:`construction2`) ``X`` holds all of them and ``U``, ``V`` are ``X[0]``, ``X[1]``.

    Attributes
    ----------
    U : Array, shape (N, d)
        The first modality's embeddings :math:`U_i` (unit rows).
    V : Array, shape (N, d)
        Their partners :math:`V_i`.
    m : float
        The closed-form margin of the construction.
    b_rel : float
        The closed-form relative bias of the construction.
    m_star : float
        The measured margin :math:`m^*` (for k modalities, the smallest over all pairs of
        modalities, which share it).
    b_star : float
        The measured optimal relative bias :math:`b^*_{rel}`.
    alpha : float or None
        The largest inner product of the code used, if any.
    X : Array or None
        Shape (k, N, d): every modality of a k-modal construction; None otherwise.

    See Also
    --------
    sigref.constellations.metrics.margin_and_bias : How ``m_star`` and ``b_star`` are measured.

    Examples
    --------
    >>> from sigref.constellations import from_code, hypercube
    >>> c = from_code(hypercube(3).X, 0.1, 0.0)
    >>> c.U.shape, round(c.m_star, 6), round(c.alpha, 6)
    ((8, 4), 0.183333, 0.333333)
    """

    U: Array
    V: Array
    m: float
    b_rel: float
    m_star: float
    b_star: float
    alpha: float | None = None
    X: Array | None = None


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


def construction1(U: Array, V: Array, delta: float, phi: float = 0.0) -> Constellation:
    r"""Apply Construction 1: embed a constellation in two more dimensions with new :math:`(m, b_{rel})`.

    Construction 1 of [1]_ appends two coordinates:

    .. math::

        U'_i = (\delta U_i, \; \phi, \; +c), \qquad V'_i = (\delta V_i, \; \phi, \; -c), \qquad
        c = \sqrt{1 - \delta^2 - \phi^2}.

    Every inner product maps by the same affine map :math:`s \mapsto \delta^2 s + \phi^2 - c^2`, so a
    :math:`(d - 2, m, b_{rel})`-constellation becomes a :math:`(d, m', b'_{rel})`-constellation with

    .. math::

        m' = \delta^2 m, \qquad b'_{rel} = \delta^2 b_{rel} + \phi^2 - (1 - \delta^2 - \phi^2),

    where :math:`(m, b_{rel}) = (m^*, b^*_{rel})` of the base.

    Parameters
    ----------
    U : Array, shape (N, d - 2)
        The base constellation's first modality: unit rows, N >= 2, with :math:`m^* \ge 0`.
    V : Array, shape (N, d - 2)
        Its partners: unit rows of the same shape.
    delta : float
        Scale :math:`\delta \in (0, 1)` of the original coordinates.
    phi : float, optional
        The shared coordinate :math:`\phi \in [0, 1)` (default 0), with :math:`\delta^2 + \phi^2 \le 1`.

    Returns
    -------
    Constellation
        ``U``, ``V`` of shape (N, d), ``m`` = :math:`m'`, ``b_rel`` = :math:`b'_{rel}` and the
        measured values.

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries or are not real floating.
    ValueError
        If ``U`` or ``V`` is not a 2-D array of N >= 2 finite unit rows, their shapes differ,
        ``delta`` or ``phi`` is out of range or :math:`\delta^2 + \phi^2 > 1`, or the base is not a
        constellation (:math:`m^* < 0`).
    RuntimeError
        If the realised :math:`(m^*, b^*_{rel})` misses the closed form by more than 1000 eps.

    See Also
    --------
    from_code : Construction 1 applied to a spherical code, with the parameters of Thm 3.3.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    From the 4-point simplex (:math:`m^* = 2/3`, :math:`b^*_{rel} = 1/3`) with :math:`\delta = 0.8`:

    >>> from sigref.constellations import construction1, regular_simplex
    >>> X = regular_simplex(4).X
    >>> c = construction1(X, X, 0.8)
    >>> c.U.shape, round(c.m, 6), round(c.b_rel, 6)
    ((4, 5), 0.426667, -0.146667)
    >>> round(c.m_star, 6), round(c.b_star, 6)
    (0.426667, -0.146667)
    >>> round(construction1(X, X, 0.8, phi=0.3).b_rel, 6)  # phi raises b_rel only
    0.033333
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


def from_code(X: Array, m: float, b_rel: float, *, d: int | None = None, exact: bool = False) -> Constellation:
    r"""Turn an :math:`\alpha_X`-code into an :math:`(m, b_{rel})`-constellation: the recipe of Thm 3.3.

    In the recipe of Thm 3.3 of [1]_, for an :math:`\alpha_X`-code :math:`X` in :math:`\mathbb{R}^n`, :math:`m > 0`,
    :math:`m + b_{rel} \le 1` and

    .. math::

        \alpha_X \le \alpha(m, b_{rel}) = \frac{1 + b_{rel} - 3m}{1 + b_{rel} + m},

    set :math:`\delta^2 = (1 + m + b_{rel})/2`, :math:`c = \sqrt{1 - \delta^2}` and

    .. math::

        U_i = (\delta X_i, +c), \qquad V_i = (\delta X_i, -c) \in \mathbb{R}^{n+1}.

    Then :math:`s_{ii} = m + b_{rel}` and
    :math:`s_{ij} = \delta^2 \langle X_i, X_j \rangle - c^2 \le b_{rel} - m`. The realised margin is
    :math:`m^* = \delta^2 (1 - \alpha_X)/2 \ge m`, with equality iff :math:`\alpha_X = \alpha(m, b_{rel})`.
    Beyond the line :math:`3m = 1 + b_{rel}`, :math:`\alpha(m, b_{rel}) < 0` and only small
    simplex-like codes qualify (at most :math:`1 - 1/\alpha` points, in line with the cap
    :math:`N \le 4m/(3m - 1 - b_{rel})` of Thm 3.4).

    ``exact=True`` hits :math:`(m^*, b^*_{rel}) = (m, b_{rel})` exactly for any
    :math:`\alpha_X \le \alpha(m, b_{rel})` with the paper's two-parameter form (Construction 1 on
    :math:`U = V = X`), in :math:`\mathbb{R}^{n+2}`:

    .. math::

        \delta^2 = \frac{2m}{1 - \alpha_X}, \qquad
        \phi^2 = \frac{2 b_{rel} + 2 - \delta^2 (3 + \alpha_X)}{4}

    (:math:`\phi = 0` when :math:`\alpha_X = \alpha(m, b_{rel})`, and then one extra coordinate suffices).

    Parameters
    ----------
    X : Array, shape (N, n)
        The code: N >= 2 finite unit rows.
    m : float
        Target margin, > 0.
    b_rel : float
        Target relative bias, :math:`|b_{rel}| \le 1` and :math:`m + b_{rel} \le 1`.
    d : int, optional
        Ambient dimension of the result: the code coordinates are zero-padded to reach it
        (default: n + 1, or n + 2 with ``exact``).
    exact : bool, optional
        Realise :math:`(m, b_{rel})` exactly rather than a margin :math:`\ge m` (default False).

    Returns
    -------
    Constellation
        ``U``, ``V`` of shape (N, d), the realised ``m``, ``b_rel`` (the targets with ``exact``),
        the measured ``m_star``, ``b_star`` and the code's ``alpha``.

    Raises
    ------
    TypeError
        If ``X`` is not an array of an array-API library or not real floating.
    ValueError
        If ``X`` is not a 2-D array of N >= 2 finite unit rows; if ``m`` or ``b_rel`` is not a finite
        real number or :math:`(m, b_{rel})` is infeasible; if the code's :math:`\alpha` exceeds
        :math:`\alpha(m, b_{rel})`; if ``d`` is too small.
    RuntimeError
        If the realised :math:`(m^*, b^*_{rel})` misses the closed form by more than 1000 eps.

    See Also
    --------
    sigref.constellations.bounds.alpha : :math:`\alpha(m, b_{rel})`.
    construction1 : The general two-coordinate construction.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    The cube :math:`\{\pm 1/\sqrt 3\}^3` (:math:`\alpha_X = 1/3`) carries a :math:`(0.1, 0)`-constellation,
    with room to spare; ``exact=True`` spends the room on one more coordinate:

    >>> from sigref.constellations import from_code, hypercube
    >>> X = hypercube(3).X
    >>> c = from_code(X, 0.1, 0.0)
    >>> c.U.shape, round(c.m_star, 6), round(c.b_star, 6)
    ((8, 4), 0.183333, -0.083333)
    >>> c = from_code(X, 0.1, 0.0, exact=True)
    >>> c.U.shape, round(c.m_star, 6), abs(c.b_star) < 1e-12
    ((8, 5), 0.1, True)
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


def construction2(X: Array, k: int, delta: float) -> Constellation:
    r"""Apply Construction 2: one code shared by k modalities.

    Construction 2 of [1]_ gives every modality the same code and a vertex of a simplex of its own:

    .. math::

        U_i^{(j)} = \big(\delta X_i, \; \sqrt{1 - \delta^2}\, w_j\big), \qquad j = 1, \dots, k,

    with :math:`X` an :math:`\alpha`-code in :math:`\mathbb{R}^n` and :math:`w_1, \dots, w_k` the
    unit vertices of a regular simplex in :math:`\mathbb{R}^{k-1}`
    (:math:`\langle w_j, w_l \rangle = -1/(k-1)`). Every pair of modalities is a constellation with the same

    .. math::

        m = \frac{\delta^2 (1 - \alpha)}{2}, \qquad
        b_{rel} = \frac{\delta^2 (1 + \alpha)}{2} - \frac{1 - \delta^2}{k - 1},

    so the multi-modal loss is near 0 on any synchronisation graph.

    Parameters
    ----------
    X : Array, shape (N, n)
        The code: N >= 2 finite unit rows.
    k : int
        Number of modalities, >= 2.
    delta : float
        Scale :math:`\delta \in (0, 1)` of the original coordinates.

    Returns
    -------
    Constellation
        ``X`` of shape (k, N, n + k - 1) with every modality, ``U``, ``V`` its first two, the
        closed-form ``m``, ``b_rel`` and the measured ones.

    Raises
    ------
    TypeError
        If ``X`` is not an array of an array-API library or not real floating.
    ValueError
        If ``X`` is not a 2-D array of N >= 2 finite unit rows, ``k`` is not an integer >= 2 or
        ``delta`` is outside (0, 1).
    RuntimeError
        If some pair of modalities misses the closed form by more than 1000 eps.

    See Also
    --------
    sigref.losses.multimodal_loss : The loss over a synchronisation graph of modalities.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import construction2, cross_polytope
    >>> c = construction2(cross_polytope(2).X, 3, 0.8)  # alpha = 0
    >>> c.X.shape, round(c.m, 6), round(c.b_rel, 6)
    ((3, 4, 4), 0.32, 0.14)
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


def construction3(d: int, *, extra: int = 3, gamma: float | None = None, backend: Backend | None = None) -> Constellation:
    r"""Build a tightness example for the modality-gap theorem (Thm 3.6), a variant of Construction 3.

    The picture of [1]_ (two parallel k-gons and two equatorial pairs in :math:`\mathbb{R}^3`, lifted
    next to simplex vertices for d > 3) could not be decoded exactly; this variant certifies the same
    statement: :math:`N = d - 1 + \text{extra} \ge d + 2` pairs with the sign pattern (24) for which
    **every** :math:`h` with :math:`\langle h, U_i \rangle > 0` for all :math:`i` leaves at least
    :math:`d - 1` of the :math:`V`'s on the non-negative side, so at most :math:`N - d + 1` can be
    negative (Thm 3.6 guarantees :math:`N - d`).

    * Pairs :math:`1, \dots, d - 1`: :math:`U_j = V_j = (w_j, 0)`,
      :math:`w_j = (\sqrt{1 - \gamma^2}\, \omega_j, \gamma)` with :math:`\omega_j` the
      :math:`(d-1)`-point regular simplex in :math:`\mathbb{R}^{d-2}`; pairwise
      :math:`\langle w_i, w_j \rangle = \gamma^2 - (1 - \gamma^2)/(d - 2) < 0` for
      :math:`\gamma^2 < 1/(d - 1)`. Since :math:`V_j = U_j`,
      :math:`\langle h, V_j \rangle = \langle h, U_j \rangle > 0` for every admissible :math:`h`.
    * ``extra`` pairs: :math:`U_e = (a_e, +c)`, :math:`V_e = (a_e, -c)` with
      :math:`a_e = r (\sin\beta_e\, (\omega_1, 0) - \cos\beta_e\, e)`, :math:`\beta_e` spread over
      :math:`[-\beta, \beta]`, :math:`\tan\beta = \gamma / (2 \sqrt{1 - \gamma^2})` (so
      :math:`\langle a_e, w_j \rangle < 0`), and :math:`c^2 = r^2 (1 + \cos\Delta)/2` with
      :math:`\Delta` the smallest angle between the :math:`a_e`, :math:`r^2 + c^2 = 1` (so
      :math:`\langle a_e, a_f \rangle < c^2 < r^2`: :math:`s_{ee} > 0 > s_{ef}`).

    Parameters
    ----------
    d : int
        Dimension, >= 3 (Prop. 5: no configuration with the sign pattern (24) and N >= 4 exists in d = 2).
    extra : int, optional
        Number of extra pairs, >= 3 (default 3), so that N >= d + 2.
    gamma : float, optional
        Height :math:`\gamma` of the simplex pairs, :math:`0 < \gamma^2 < 1/(d - 1)`
        (default :math:`\sqrt{1/(2(d - 1))}`).
    backend : Backend, optional
        Where the result goes (default :func:`sigref.backend.get_backend`).

    Returns
    -------
    Constellation
        ``U``, ``V`` of shape (N, d) with :math:`N = d - 1 + \text{extra}`; ``m``, ``b_rel`` are the
        measured :math:`m^*`, :math:`b^*_{rel}`.

    Raises
    ------
    ValueError
        If ``d``, ``extra`` or ``gamma`` is out of range.
    RuntimeError
        If the certificate fails: the sign pattern (24) does not hold, or no admissible :math:`h` makes
        the extra :math:`V`'s negative.

    See Also
    --------
    sigref.constellations.gap.min_norm_separator : The Thm 3.6 direction and its count.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import construction3, min_norm_separator, sign_pattern_holds
    >>> c = construction3(3)
    >>> c.U.shape, bool(sign_pattern_holds(c.U, c.V))
    ((5, 3), True)
    >>> sep = min_norm_separator(c.U, c.V)
    >>> sep.n_negative, sep.guaranteed, sep.holds  # N - d = 2 guaranteed, N - d + 1 = 3 reached
    (3, 2, True)
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


def adapter(X: Array, delta: float, *, side: str = "locked", k: int = 2, j: int = 0) -> Array:
    r"""Apply the adapters of Observations 1-2 to embeddings.

    The adapters of Observations 1 and 2 of [1]_ append coordinates that shift every inner product
    by one constant:

    .. math::

        A^{\delta}_{locked}(X) = \big(\delta X, +\sqrt{1 - \delta^2}\big), \qquad
        A^{\delta}_{train}(X) = \big(\delta X, -\sqrt{1 - \delta^2}\big),

    and for ``side="modality"`` :math:`A_j(X) = (\delta X, \sqrt{1 - \delta^2}\, w_j)` with
    :math:`w_j` the j-th vertex of the regular k-simplex in :math:`\mathbb{R}^{k-1}`. Unit rows stay
    unit rows.

    Parameters
    ----------
    X : Array, shape (..., d)
        Embeddings as rows, real floating; leading axes are kept.
    delta : float
        Scale :math:`\delta \in (0, 1)` of the original coordinates.
    side : {"locked", "train", "modality"}, optional
        Which adapter (default ``"locked"``).
    k : int, optional
        Number of modalities for ``side="modality"``, >= 2 (default 2).
    j : int, optional
        Index of the modality for ``side="modality"``, 0 <= j < k (default 0).

    Returns
    -------
    Array, shape (..., d + 1) or (..., d + k - 1)
        The adapted embeddings, in the namespace and dtype of ``X``.

    Raises
    ------
    TypeError
        If ``X`` is not an array of an array-API library or not real floating.
    ValueError
        If ``delta`` is outside (0, 1), ``side`` is unknown, or ``k``, ``j`` are invalid.

    See Also
    --------
    observation1_map : The loss parameters that make adapted and plain losses equal.
    observation2_map : The same for k modalities.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations import adapter
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> adapter(X, 0.6).tolist()
    [[0.6, 0.0, 0.8], [0.0, 0.6, 0.8]]
    >>> adapter(X, 0.6, side="train")[:, -1].tolist()
    [-0.8, -0.8]
    """
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


def observation1_map(t: Scalar | Array, b_rel: Scalar | Array, delta: float) -> tuple[Scalar | Array, Scalar | Array]:
    r"""Map the relative-bias loss parameters through the adapters of Observation 1.

    Observation 1 of [1]_:

    .. math::

        L_{RB}\big(\{A_{locked}(U_i)\}, \{A_{train}(V_i)\}; t, b_{rel}\big)
        = L_{RB}\Big(\{U_i\}, \{V_i\}; \delta^2 t, \frac{b_{rel} + 1 - \delta^2}{\delta^2}\Big),

    since every inner product maps as :math:`s \mapsto \delta^2 s - (1 - \delta^2)`.

    Parameters
    ----------
    t : float or Array
        Inverse temperature :math:`t` of the adapted loss.
    b_rel : float or Array
        Relative bias :math:`b_{rel}` of the adapted loss.
    delta : float
        Scale :math:`\delta \in (0, 1)` of the original coordinates.

    Returns
    -------
    t : float or Array
        :math:`\delta^2 t`.
    b_rel : float or Array
        :math:`(b_{rel} + 1 - \delta^2) / \delta^2`.

    Raises
    ------
    ValueError
        If ``delta`` is not a real number in (0, 1).

    See Also
    --------
    observation1_inverse : The inverse map.
    adapter : The adapters.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import adapter, observation1_map
    >>> from sigref.losses import relative_bias_loss
    >>> from sigref.sampling import uniform_sphere
    >>> U, V = uniform_sphere(0, (5, 3)), uniform_sphere(1, (5, 3))
    >>> A, B = adapter(U, 0.6, side="locked"), adapter(V, 0.6, side="train")
    >>> t, b_rel = observation1_map(10.0, 0.2, 0.6)
    >>> round(t, 6), round(b_rel, 6)
    (3.6, 2.333333)
    >>> print(f"{float(relative_bias_loss(A, B, 10.0, 0.2)):.6f}", f"{float(relative_bias_loss(U, V, t, b_rel)):.6f}")
    8.324764 8.324764
    """
    delta = _unit_interval("delta", delta, open_low=True)
    d2 = delta**2
    return d2 * t, (b_rel + 1 - d2) / d2


def observation1_inverse(t: Scalar | Array, b_rel: Scalar | Array, delta: float) -> tuple[Scalar | Array, Scalar | Array]:
    r"""Invert :func:`observation1_map`: the adapted-loss parameters that give a plain :math:`(t, b_{rel})`.

    .. math::

        (t, b_{rel}) \mapsto \Big(\frac{t}{\delta^2}, \; \delta^2 b_{rel} - (1 - \delta^2)\Big),

    how adapter runs are started from a plain run's parameters.

    Parameters
    ----------
    t : float or Array
        Inverse temperature of the plain loss.
    b_rel : float or Array
        Relative bias of the plain loss.
    delta : float
        Scale :math:`\delta \in (0, 1)` of the original coordinates.

    Returns
    -------
    t : float or Array
        :math:`t / \delta^2`.
    b_rel : float or Array
        :math:`\delta^2 b_{rel} - (1 - \delta^2)`.

    Raises
    ------
    ValueError
        If ``delta`` is not a real number in (0, 1).

    See Also
    --------
    observation1_map : The forward map.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import observation1_inverse, observation1_map
    >>> t, b_rel = observation1_inverse(*observation1_map(10.0, 0.2, 0.6), 0.6)
    >>> round(t, 6), round(b_rel, 6)
    (10.0, 0.2)
    """
    delta = _unit_interval("delta", delta, open_low=True)
    d2 = delta**2
    return t / d2, d2 * b_rel - (1 - d2)


def observation2_map(t: Scalar | Array, b_rel: Scalar | Array, delta: float, k: int) -> tuple[Scalar | Array, Scalar | Array]:
    r"""Map the relative-bias loss parameters through the k-modality adapters of Observation 2.

    By Observation 2 of [1]_, with the adapters :math:`A_j` of :func:`adapter` (``side="modality"``), the graph loss of the
    adapted embeddings at :math:`(t, b_{rel})` equals the un-adapted one at

    .. math::

        \Big(\delta^2 t, \; \frac{b_{rel} + (1 - \delta^2)/(k - 1)}{\delta^2}\Big),

    since :math:`\langle w_j, w_l \rangle = -1/(k-1)` for :math:`j \ne l`.

    Parameters
    ----------
    t : float or Array
        Inverse temperature :math:`t` of the adapted loss.
    b_rel : float or Array
        Relative bias :math:`b_{rel}` of the adapted loss.
    delta : float
        Scale :math:`\delta \in (0, 1)` of the original coordinates.
    k : int
        Number of modalities, >= 2.

    Returns
    -------
    t : float or Array
        :math:`\delta^2 t`.
    b_rel : float or Array
        :math:`(b_{rel} + (1 - \delta^2)/(k - 1)) / \delta^2`.

    Raises
    ------
    ValueError
        If ``delta`` is not a real number in (0, 1) or ``k`` is not an integer >= 2.

    See Also
    --------
    sigref.losses.multimodal_loss : The graph loss.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations import adapter, observation2_map
    >>> from sigref.losses import multimodal_loss
    >>> from sigref.sampling import uniform_sphere
    >>> X = uniform_sphere(0, (3, 5, 3))  # k = 3 modalities of 5 points
    >>> XA = np.stack([adapter(X[j], 0.6, side="modality", k=3, j=j) for j in range(3)])
    >>> t, b_rel = observation2_map(10.0, 0.2, 0.6, 3)
    >>> print(f"{float(multimodal_loss(XA, 10.0, b_rel=0.2)):.6f}", f"{float(multimodal_loss(X, t, b_rel=b_rel)):.6f}")
    18.095943 18.095943
    """
    delta = _unit_interval("delta", delta, open_low=True)
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    d2 = delta**2
    return d2 * t, (b_rel + (1 - d2) / (k - 1)) / d2
