r"""Margin, relative bias and xi of paired embeddings (Bangachev et al. 2025, arXiv:2509.18552).

Notation: :math:`U_i, V_i \in S^{d-1}`, :math:`s_{ij} = \langle U_i, V_j \rangle`, :math:`i, j \in [N]`.
A family is an :math:`(m, b_{rel})`-constellation (paper Sec. 2, eq. (2)) when

.. math::

    s_{ii} \ge b_{rel} + m \quad \text{for all } i, \qquad
    s_{ij} \le b_{rel} - m \quad \text{for all } i \ne j.

The largest margin a configuration admits, and the only relative bias reaching it, are

.. math::

    m^* = \frac{1}{2} \Big( \min_i s_{ii} - \max_{i \ne j} s_{ij} \Big), \qquad
    b^*_{rel} = \frac{1}{2} \Big( \min_i s_{ii} + \max_{i \ne j} s_{ij} \Big).

Real models are summarised with robust forms (paper Tables 5, 6): the q-th percentile of the
positives and the (100 - q)-th of the negatives (q = 5), or the two means, in place of min and max.

Every function accepts leading batch axes ``(..., N, d)`` and follows the namespace of its inputs.
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

from sigref._arrays import check_finite, check_floating, namespace, param
from sigref.types import Array, Scalar

__all__ = [
    "FORMS",
    "XI_FORMS",
    "admissible_bias_interval",
    "batch_retrieval_fraction",
    "certified_constellation",
    "effective_relative_bias",
    "is_constellation",
    "margin",
    "margin_and_bias",
    "optimal_relative_bias",
    "pair_statistics",
    "retrieval_accuracy",
    "retrieval_is_robust",
    "similarities",
    "xi",
]

#: The forms of the margin and relative bias: ``"minmax"`` (exact), ``"percentile"`` and ``"mean"`` (robust).
FORMS = ("minmax", "percentile", "mean")
#: The forms of :func:`xi`: three equal expressions of xi and the different ``"unsquared"`` quantity.
XI_FORMS = ("mean_norm", "centered", "pairwise", "unsquared")

def _check_pair(U: Any, V: Any) -> Any:
    xp = namespace(U=U, V=V)
    check_floating(xp, "U", U)
    check_floating(xp, "V", V)
    if U.ndim < 2 or tuple(U.shape) != tuple(V.shape):
        raise ValueError(
            f"U and V must be paired arrays of the same shape (..., N, d), got U {tuple(U.shape)} and V {tuple(V.shape)}"
        )
    if U.shape[-2] < 2:
        raise ValueError(f"a constellation needs N >= 2 pairs (there are no negatives otherwise), got N = {U.shape[-2]}")
    check_finite(xp, "U", U)
    check_finite(xp, "V", V)
    return xp


def similarities(U: Array, V: Array) -> Array:
    r"""Compute the similarity matrix :math:`S = U V^\top` of paired embeddings.

    .. math::

        S_{ij} = s_{ij} = \langle U_i, V_j \rangle, \qquad i, j \in [N];

    the diagonal holds the positives :math:`s_{ii}`, the off-diagonal entries the negatives [1]_.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Embeddings :math:`U_i` of the first modality as rows, real floating, N >= 2.
    V : Array, shape (..., N, d)
        Their partners :math:`V_i`: the same shape, library and dtype.

    Returns
    -------
    Array, shape (..., N, N)
        :math:`S` in the namespace and dtype of the inputs.

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries or are not real floating arrays.
    ValueError
        If their shapes differ or have fewer than two axes, if N < 2, or if they hold NaN or infinity.

    See Also
    --------
    sigref.constellations.tiles.scan : The same matrix one tile at a time, for large N.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import cross_polytope, similarities
    >>> X = cross_polytope(2).X  # e_1, e_2, -e_1, -e_2
    >>> similarities(X, X).tolist()
    [[1.0, 0.0, -1.0, 0.0], [0.0, 1.0, 0.0, -1.0], [-1.0, 0.0, 1.0, 0.0], [0.0, -1.0, 0.0, 1.0]]
    """
    xp = _check_pair(U, V)
    return U @ xp.matrix_transpose(V)


def _split(xp: Any, S: Any) -> tuple[Any, Any]:
    """Positives s_ii ``(..., N)`` and negatives s_ij, i != j ``(..., N(N-1))`` of a similarity matrix."""
    n = S.shape[-1]
    dev = array_api_compat.device(S)
    flat = xp.reshape(S, (*S.shape[:-2], n * n))
    diag_idx = xp.asarray(np.arange(n) * (n + 1), dtype=xp.int64, device=dev)
    off_idx = xp.asarray(np.flatnonzero(~np.eye(n, dtype=bool)), dtype=xp.int64, device=dev)
    return xp.take(flat, diag_idx, axis=flat.ndim - 1), xp.take(flat, off_idx, axis=flat.ndim - 1)


def _percentile(xp: Any, x: Any, p: float) -> Any:
    """P_p along the last axis: ``numpy.percentile``'s linear method in the dtype of ``x``
    (:mod:`sigref.constellations.percentiles` holds the definition)."""
    from sigref.constellations.percentiles import percentile_indexes

    k, k1, gamma = percentile_indexes(x.shape[-1], p)
    srt = xp.sort(x, axis=x.ndim - 1)
    lo, hi = srt[..., k], srt[..., k1]
    diff = hi - lo
    return hi - diff * (1 - gamma) if gamma >= 0.5 else lo + diff * gamma


def pair_statistics(U: Array, V: Array, form: str = "minmax", q: float = 5.0) -> tuple[Array, Array]:
    r"""Summarise the positives and the negatives of a configuration by one statistic each.

    The pair :math:`(P, Q)` of the chosen form [1]_:

    .. math::

        \texttt{"minmax"}: &\quad P = \min_i s_{ii}, \quad Q = \max_{i \ne j} s_{ij}, \\
        \texttt{"percentile"}: &\quad P = P_q(\{s_{ii}\}), \quad Q = P_{100-q}(\{s_{ij}\}_{i \ne j}), \\
        \texttt{"mean"}: &\quad P = \frac{1}{N} \sum_i s_{ii}, \quad Q = \frac{1}{N(N-1)} \sum_{i \ne j} s_{ij}.

    The percentiles follow ``numpy.percentile`` (linear method) in the dtype of the inputs,
    as in the paper's Tables 5-6 (q = 5).

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Embeddings :math:`U_i` as rows, real floating, N >= 2.
    V : Array, shape (..., N, d)
        Their partners :math:`V_i`: the same shape, library and dtype.
    form : {"minmax", "percentile", "mean"}, optional
        The statistic (default ``"minmax"``, the exact one); see :data:`FORMS`.
    q : float, optional
        Percentile of the positives for ``form="percentile"``, in [0, 50] (default 5); the
        negatives use :math:`100 - q`.

    Returns
    -------
    P : Array, shape (...)
        The statistic of the positives :math:`s_{ii}`.
    Q : Array, shape (...)
        The statistic of the negatives :math:`s_{ij}`, :math:`i \ne j`.

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries or are not real floating arrays.
    ValueError
        If their shapes differ or have fewer than two axes, if N < 2, if they hold NaN or
        infinity, if ``form`` is not one of :data:`FORMS`, or if ``q`` is outside [0, 50].

    See Also
    --------
    margin_and_bias : The margin and relative bias made of these statistics.
    sigref.constellations.streaming.pair_summary : All three forms in passes over tiles, for large N.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    The regular simplex of 4 points has :math:`s_{ii} = 1` and :math:`s_{ij} = -1/3`:

    >>> from sigref.constellations import pair_statistics, regular_simplex
    >>> X = regular_simplex(4).X
    >>> [round(float(s), 6) for s in pair_statistics(X, X)]
    [1.0, -0.333333]
    >>> [round(float(s), 6) for s in pair_statistics(X, X, "mean")]
    [1.0, -0.333333]
    """
    xp = _check_pair(U, V)
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    if not 0.0 <= q <= 50.0:
        raise ValueError(f"q (percentile of the positives) must be in [0, 50], got {q!r}")
    pos, neg = _split(xp, U @ xp.matrix_transpose(V))
    if form == "minmax":
        return xp.min(pos, axis=-1), xp.max(neg, axis=-1)
    if form == "mean":
        return xp.mean(pos, axis=-1), xp.mean(neg, axis=-1)
    return _percentile(xp, pos, q), _percentile(xp, neg, 100.0 - q)


def margin_and_bias(U: Array, V: Array, form: str = "minmax", q: float = 5.0) -> tuple[Array, Array]:
    r"""Compute the margin :math:`m^*` and the optimal relative bias :math:`b^*_{rel}` of a configuration.

    With :math:`(P, Q)` from :func:`pair_statistics`,

    .. math::

        m^* = \frac{P - Q}{2}, \qquad b^*_{rel} = \frac{P + Q}{2}.

    With ``form="minmax"`` these are the exact margin and optimal relative bias of Sec. 2 of [1]_:
    :math:`(U, V)` is an :math:`(m, b_{rel})`-constellation for some :math:`b_{rel}` iff
    :math:`m \le m^*`, and at :math:`m = m^*` only for :math:`b_{rel} = b^*_{rel}`;
    :math:`m^* < 0` means the configuration is not a constellation. The ``"percentile"`` and
    ``"mean"`` forms are the robust summaries of the paper's Tables 5-6.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Embeddings :math:`U_i` as rows, real floating, N >= 2 (unit rows in the paper's setting;
        the norms are not checked).
    V : Array, shape (..., N, d)
        Their partners :math:`V_i`: the same shape, library and dtype.
    form : {"minmax", "percentile", "mean"}, optional
        The statistic (default ``"minmax"``); see :data:`FORMS`.
    q : float, optional
        Percentile of the positives for ``form="percentile"``, in [0, 50] (default 5).

    Returns
    -------
    m : Array, shape (...)
        The margin :math:`m^*` (or its robust form).
    b_rel : Array, shape (...)
        The relative bias :math:`b^*_{rel}` (or its robust form).

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries or are not real floating arrays.
    ValueError
        If their shapes differ or have fewer than two axes, if N < 2, if they hold NaN or
        infinity, if ``form`` is not one of :data:`FORMS`, or if ``q`` is outside [0, 50].

    See Also
    --------
    margin : The first of the two.
    optimal_relative_bias : The second of the two.
    sigref.constellations.region.simplex_point : The closed form for the regular simplex.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    The regular N-simplex (:math:`U = V`) has :math:`m^* = N / (2(N - 1))` and
    :math:`b^*_{rel} = (N - 2) / (2(N - 1))`:

    >>> from sigref.constellations import margin_and_bias, regular_simplex, simplex_point
    >>> X = regular_simplex(4).X
    >>> [round(float(v), 6) for v in margin_and_bias(X, X)]
    [0.666667, 0.333333]
    >>> [round(v, 6) for v in simplex_point(4)]
    [0.666667, 0.333333]
    """
    pos, neg = pair_statistics(U, V, form, q)
    return (pos - neg) / 2, (pos + neg) / 2


def margin(U: Array, V: Array, form: str = "minmax", q: float = 5.0) -> Array:
    r"""Compute the margin :math:`m^*` of a configuration (or its robust form).

    .. math::

        m^* = \frac{1}{2} \Big( \min_i s_{ii} - \max_{i \ne j} s_{ij} \Big),

    the largest :math:`m` for which :math:`(U, V)` is an :math:`(m, b_{rel})`-constellation [1]_;
    the first output of :func:`margin_and_bias`.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Embeddings :math:`U_i` as rows, real floating, N >= 2.
    V : Array, shape (..., N, d)
        Their partners :math:`V_i`: the same shape, library and dtype.
    form : {"minmax", "percentile", "mean"}, optional
        The statistic (default ``"minmax"``); see :func:`pair_statistics`.
    q : float, optional
        Percentile of the positives for ``form="percentile"``, in [0, 50] (default 5).

    Returns
    -------
    Array, shape (...)
        :math:`m^*` for each batch index; negative when the configuration is no constellation.

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries or are not real floating arrays.
    ValueError
        If their shapes differ or have fewer than two axes, if N < 2, if they hold NaN or
        infinity, or if ``form`` or ``q`` is invalid.

    See Also
    --------
    margin_and_bias : The margin with the optimal relative bias.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    A batch of two configurations: the 4-point simplex paired with itself, and with its
    antipodes (every positive -1, every negative 1/3):

    >>> import numpy as np
    >>> from sigref.constellations import margin, regular_simplex
    >>> X = regular_simplex(4).X
    >>> U, V = np.stack([X, X]), np.stack([X, -X])
    >>> [round(float(m), 6) for m in margin(U, V)]
    [0.666667, -0.666667]
    """
    return margin_and_bias(U, V, form, q)[0]


def optimal_relative_bias(U: Array, V: Array, form: str = "minmax", q: float = 5.0) -> Array:
    r"""Compute the optimal relative bias :math:`b^*_{rel}` of a configuration (or its robust form).

    .. math::

        b^*_{rel} = \frac{1}{2} \Big( \min_i s_{ii} + \max_{i \ne j} s_{ij} \Big),

    the midpoint between the smallest positive and the largest negative, the only relative bias
    at which the margin :math:`m^*` is reached [1]_; the second output of :func:`margin_and_bias`.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Embeddings :math:`U_i` as rows, real floating, N >= 2.
    V : Array, shape (..., N, d)
        Their partners :math:`V_i`: the same shape, library and dtype.
    form : {"minmax", "percentile", "mean"}, optional
        The statistic (default ``"minmax"``); see :func:`pair_statistics`.
    q : float, optional
        Percentile of the positives for ``form="percentile"``, in [0, 50] (default 5).

    Returns
    -------
    Array, shape (...)
        :math:`b^*_{rel}` for each batch index.

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries or are not real floating arrays.
    ValueError
        If their shapes differ or have fewer than two axes, if N < 2, if they hold NaN or
        infinity, or if ``form`` or ``q`` is invalid.

    See Also
    --------
    margin_and_bias : The relative bias with the margin.
    effective_relative_bias : The threshold b/t of a loss parameterisation, to compare with.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    The cross-polytope :math:`\{\pm e_1, \pm e_2\}` paired with itself: :math:`s_{ii} = 1`, the
    largest negative is 0:

    >>> from sigref.constellations import cross_polytope, optimal_relative_bias
    >>> X = cross_polytope(2).X
    >>> round(float(optimal_relative_bias(X, X)), 6)
    0.5
    """
    return margin_and_bias(U, V, form, q)[1]


def is_constellation(U: Array, V: Array, m: Scalar | Array, b_rel: Scalar | Array, *, atol: float = 0.0) -> Array:
    r"""Test whether :math:`(U, V)` is an :math:`(m, b_{rel})`-constellation (equation (2)).

    By eq. (2) of [1]_: true where, up to the tolerance :math:`\epsilon` = ``atol``,

    .. math::

        s_{ii} \ge b_{rel} + m - \epsilon \quad \text{for all } i, \qquad
        s_{ij} \le b_{rel} - m + \epsilon \quad \text{for all } i \ne j,

    with :math:`m \ge 0`.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Embeddings :math:`U_i` as rows, real floating, N >= 2.
    V : Array, shape (..., N, d)
        Their partners :math:`V_i`: the same shape, library and dtype.
    m : float or Array
        Margin :math:`m \ge 0`: a number or an array of the batch shape.
    b_rel : float or Array
        Relative bias :math:`b_{rel}`: a number or an array of the batch shape.
    atol : float, optional
        Tolerance :math:`\epsilon` granted to both inequalities (default 0).

    Returns
    -------
    Array, shape (...)
        Boolean, one per batch index.

    Raises
    ------
    TypeError
        If the arrays come from different array libraries, ``U``, ``V`` or an array ``m``,
        ``b_rel`` is not real floating, or ``m`` or ``b_rel`` is a bool.
    ValueError
        If the shapes of ``U`` and ``V`` differ or have fewer than two axes, if N < 2, if an input
        holds NaN or infinity, or if ``m`` < 0.

    See Also
    --------
    admissible_bias_interval : Every :math:`b_{rel}` that works at a given margin.
    margin_and_bias : The largest margin and its relative bias.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    The 4-point simplex (:math:`m^* = 2/3`, :math:`b^*_{rel} = 1/3`):

    >>> from sigref.constellations import is_constellation, regular_simplex
    >>> X = regular_simplex(4).X
    >>> bool(is_constellation(X, X, 0.5, 0.3)), bool(is_constellation(X, X, 0.7, 0.3))
    (True, False)
    """
    xp = _check_pair(U, V)
    m_arr = param(xp, "m", m, U, nonnegative=True)
    b_arr = param(xp, "b_rel", b_rel, U)
    pos, neg = pair_statistics(U, V)
    return xp.logical_and(pos >= b_arr + m_arr - atol, neg <= b_arr - m_arr + atol)


def admissible_bias_interval(U: Array, V: Array, m: Scalar | Array) -> tuple[Array, Array]:
    r"""Find every relative bias that makes :math:`(U, V)` an :math:`(m, b_{rel})`-constellation.

    The interval

    .. math::

        [\mathrm{lo}, \mathrm{hi}] = \Big[ \max_{i \ne j} s_{ij} + m, \; \min_i s_{ii} - m \Big]

    holds exactly the :math:`b_{rel}` of eq. (2) of [1]_ at margin :math:`m`. It is empty
    (lo > hi) exactly when :math:`m > m^*`, and the single point :math:`b^*_{rel}` at
    :math:`m = m^*`.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Embeddings :math:`U_i` as rows, real floating, N >= 2.
    V : Array, shape (..., N, d)
        Their partners :math:`V_i`: the same shape, library and dtype.
    m : float or Array
        Margin :math:`m \ge 0`: a number or an array of the batch shape.

    Returns
    -------
    lo : Array, shape (...)
        :math:`\max_{i \ne j} s_{ij} + m`.
    hi : Array, shape (...)
        :math:`\min_i s_{ii} - m`.

    Raises
    ------
    TypeError
        If the arrays come from different array libraries, ``U``, ``V`` or an array ``m`` is not
        real floating, or ``m`` is a bool.
    ValueError
        If the shapes of ``U`` and ``V`` differ or have fewer than two axes, if N < 2, if an input
        holds NaN or infinity, or if ``m`` < 0.

    See Also
    --------
    is_constellation : The test at one :math:`(m, b_{rel})`.
    sigref.constellations.streaming.PairSummary.admissible_bias_interval : The same from a streamed summary.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import admissible_bias_interval, regular_simplex
    >>> X = regular_simplex(4).X
    >>> [round(float(v), 6) for v in admissible_bias_interval(X, X, 0.5)]
    [0.166667, 0.5]
    >>> [round(float(v), 6) for v in admissible_bias_interval(X, X, 2 / 3)]  # m = m*: one point
    [0.333333, 0.333333]
    """
    xp = _check_pair(U, V)
    m_arr = param(xp, "m", m, U, nonnegative=True)
    pos, neg = pair_statistics(U, V)
    return neg + m_arr, pos - m_arr


def effective_relative_bias(t: Scalar | Array, b: Scalar | Array | None = None, *, b_rel: Scalar | Array | None = None) -> Scalar | Array:
    r"""Compute the decision threshold :math:`b / t` of a loss parameterisation.

    With logits :math:`t s_{ij} - b`, a pair counts as matching when :math:`s_{ij} > b / t`; in
    the relative-bias parameterisation (Def. 1 of [1]_, logits :math:`t (s_{ij} - b_{rel})`)
    the threshold is :math:`b_{rel}` itself. It is the quantity to compare with the optimal
    relative bias :math:`b^*_{rel}` of a configuration.

    Parameters
    ----------
    t : float or Array
        Inverse temperature :math:`t > 0`: a number or a floating array.
    b : float or Array, optional
        Bias :math:`b`. Give exactly one of ``b`` and ``b_rel``.
    b_rel : float or Array, optional
        Relative bias :math:`b_{rel}` (keyword only).

    Returns
    -------
    float or Array
        :math:`b / t` or :math:`b_{rel}`: a Python value for a number ``t``, else an array of the
        namespace of ``t`` (broadcast against it).

    Raises
    ------
    TypeError
        If both or neither of ``b`` and ``b_rel`` are given; if an array ``t`` is not real
        floating, or ``b`` or ``b_rel`` with an array ``t`` is a bool or a non-floating array.
    ValueError
        If ``t`` is not a finite number > 0, or an array ``b``, ``b_rel`` holds NaN or infinity.

    See Also
    --------
    optimal_relative_bias : The relative bias a configuration calls for.
    sigref.losses.relative_bias_loss : The loss in the relative-bias parameterisation.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    SigLIP's initialisation t = 10, b = 10 (``logit_bias = -10``) puts the threshold at 1:

    >>> import numpy as np
    >>> from sigref.constellations import effective_relative_bias
    >>> effective_relative_bias(10.0, 10.0)
    1.0
    >>> effective_relative_bias(10.0, b_rel=0.3)
    0.3
    >>> effective_relative_bias(np.array([1.0, 10.0]), 2.0).tolist()
    [2.0, 0.2]
    """
    if (b is None) == (b_rel is None):
        raise TypeError("give exactly one of b (bias) and b_rel (relative bias)")
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        if t <= 0 or not math.isfinite(t):
            raise ValueError(f"t must be a finite number > 0, got {t!r}")
        if b_rel is not None:
            return b_rel
        return b / t
    xp = array_api_compat.array_namespace(t)
    t_arr = param(xp, "t", t, t, positive=True)
    if b_rel is not None:
        return param(xp, "b_rel", b_rel, t_arr) + xp.zeros_like(t_arr)
    return param(xp, "b", b, t_arr) / t_arr


def xi(U: Array, V: Array, form: str = "centered") -> Array:
    r"""Compute :math:`\xi`, the spread of the differences :math:`x_i = U_i - V_i` (Appendix E).

    The quantity of Appendix E of [1]_:

    .. math::

        \xi = \frac{1}{N} \sum_{i=1}^{N} \lVert x_i \rVert^2 - \lVert \bar x \rVert^2
            = \frac{1}{N} \sum_{i=1}^{N} \lVert x_i - \bar x \rVert^2
            = \frac{1}{2 N^2} \sum_{i, j} \lVert x_i - x_j \rVert^2,
        \qquad \bar x = \frac{1}{N} \sum_i x_i.

    :math:`\xi = 0` iff all :math:`U_i - V_i` are equal, i.e. one shift maps every :math:`U_i`
    to its partner (Cor. 2). The three expressions are the forms ``"mean_norm"``,
    ``"centered"`` (the default: no cancellation, never negative) and ``"pairwise"`` (through
    the Gram matrix of the :math:`x_i`). ``"unsquared"`` is a different quantity, the one the
    paper's repository (its XiExperiment) plots:
    :math:`\frac{1}{N} \sum_i \lVert x_i \rVert - \lVert \bar x \rVert`.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Embeddings :math:`U_i` as rows, real floating, N >= 2.
    V : Array, shape (..., N, d)
        Their partners :math:`V_i`: the same shape, library and dtype.
    form : {"centered", "mean_norm", "pairwise", "unsquared"}, optional
        Which expression to evaluate (default ``"centered"``); see :data:`XI_FORMS`.

    Returns
    -------
    Array, shape (...)
        :math:`\xi` (or the unsquared variant) for each batch index.

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries or are not real floating arrays.
    ValueError
        If their shapes differ or have fewer than two axes, if N < 2, if they hold NaN or
        infinity, or if ``form`` is not one of :data:`XI_FORMS`.

    See Also
    --------
    sigref.constellations.streaming.pair_summary : :math:`\xi` in float64 passes, for large N.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    A shifted copy has :math:`\xi = 0`; the antipodes of the cross-polytope have
    :math:`x_i = 2 X_i` with mean 0, so :math:`\xi = 4`:

    >>> from sigref.constellations import cross_polytope, xi
    >>> X = cross_polytope(2).X
    >>> float(xi(X, X + 0.5)), float(xi(X, -X))
    (0.0, 4.0)

    The three forms of xi agree; the unsquared variant is another number:

    >>> from sigref.sampling import uniform_sphere
    >>> U, V = uniform_sphere(0, (6, 3)), uniform_sphere(1, (6, 3))
    >>> [round(float(xi(U, V, f)), 6) for f in ("mean_norm", "centered", "pairwise", "unsquared")]
    [1.76397, 1.76397, 1.76397, 0.727992]
    """
    xp = _check_pair(U, V)
    if form not in XI_FORMS:
        raise ValueError(f"form must be one of {XI_FORMS}, got {form!r}")
    x = U - V
    n = x.shape[-2]
    x_bar = xp.mean(x, axis=-2)
    if form == "mean_norm":
        return xp.mean(xp.sum(x * x, axis=-1), axis=-1) - xp.sum(x_bar * x_bar, axis=-1)
    if form == "centered":
        c = x - x_bar[..., None, :]
        return xp.mean(xp.sum(c * c, axis=-1), axis=-1)
    if form == "unsquared":
        return xp.mean(xp.linalg.vector_norm(x, axis=-1), axis=-1) - xp.linalg.vector_norm(x_bar, axis=-1)
    G = x @ xp.matrix_transpose(x)
    g = xp.sum(x * x, axis=-1)
    dist2 = g[..., :, None] + g[..., None, :] - 2 * G
    return xp.sum(dist2, axis=(-2, -1)) / (2 * n * n)


def retrieval_accuracy(U: Array, V: Array) -> tuple[Array, Array]:
    r"""Compute the top-1 retrieval accuracy of paired embeddings in both directions.

    The fractions of anchors whose nearest neighbour is their partner,

    .. math::

        \frac{1}{N} \Big| \Big\{ i : s_{ii} > \max_{j \ne i} s_{ij} \Big\} \Big| \; (U \to V),
        \qquad
        \frac{1}{N} \Big| \Big\{ i : s_{ii} > \max_{j \ne i} s_{ji} \Big\} \Big| \; (V \to U).

    Ties count as failures: a tie is not a unique nearest neighbour (Cor. 1 of [1]_). Every
    constellation with :math:`m^* > 0` retrieves perfectly both ways.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Embeddings :math:`U_i` as rows, real floating, N >= 2.
    V : Array, shape (..., N, d)
        Their partners :math:`V_i`: the same shape, library and dtype.

    Returns
    -------
    u2v : Array, shape (...)
        Fraction of :math:`U_i` whose nearest :math:`V_j` is :math:`V_i`, in the dtype of the inputs.
    v2u : Array, shape (...)
        Fraction of :math:`V_i` whose nearest :math:`U_j` is :math:`U_i`.

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries or are not real floating arrays.
    ValueError
        If their shapes differ or have fewer than two axes, if N < 2, or if they hold NaN or infinity.

    See Also
    --------
    retrieval_is_robust : Whether retrieval survives score errors up to a tolerance.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    Pairs 2 and 3 share :math:`V_2 = V_3`: each ties in one direction or both.

    >>> import numpy as np
    >>> from sigref.constellations import retrieval_accuracy
    >>> U = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    >>> V = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> [round(float(a), 6) for a in retrieval_accuracy(U, V)]
    [0.333333, 0.666667]
    """
    xp = _check_pair(U, V)
    S = U @ xp.matrix_transpose(V)
    pos, _ = _split(xp, S)
    n = S.shape[-1]
    eye = xp.eye(n, dtype=S.dtype, device=array_api_compat.device(S)) > 0.5
    low = xp.full_like(S, -xp.inf)
    row_rival = xp.max(xp.where(eye, low, S), axis=-1)
    col_rival = xp.max(xp.where(eye, low, S), axis=-2)
    return (
        xp.mean(xp.astype(pos > row_rival, S.dtype), axis=-1),
        xp.mean(xp.astype(pos > col_rival, S.dtype), axis=-1),
    )


def retrieval_is_robust(U: Array, V: Array, eps: float) -> Array:
    r"""Test the approximate-nearest-neighbour guarantee (Corollary 1) at tolerance :math:`\epsilon`.

    By Corollary 1 of [1]_, if every returned score is within :math:`\epsilon` of the true :math:`s_{ij}`, retrieval of
    every partner stays correct whenever

    .. math::

        \epsilon < m^*,

    since every gap :math:`s_{ii} - s_{ij} \ge 2 m^*` closes by at most :math:`2 \epsilon`.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Embeddings :math:`U_i` as rows, real floating, N >= 2.
    V : Array, shape (..., N, d)
        Their partners :math:`V_i`: the same shape, library and dtype.
    eps : float
        Score tolerance :math:`\epsilon \ge 0`.

    Returns
    -------
    Array, shape (...)
        Boolean :math:`m^* > \epsilon`, one per batch index.

    Raises
    ------
    ValueError
        If ``eps`` is not a number >= 0; as :func:`margin` for the embeddings.
    TypeError
        As :func:`margin` for the embeddings.

    See Also
    --------
    retrieval_accuracy : The exact top-1 accuracy.
    margin : The margin :math:`m^*`.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import regular_simplex, retrieval_is_robust
    >>> X = regular_simplex(4).X  # m* = 2/3
    >>> bool(retrieval_is_robust(X, X, 0.5)), bool(retrieval_is_robust(X, X, 0.7))
    (True, False)
    """
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps >= 0:
        raise ValueError(f"eps must be a number >= 0, got {eps!r}")
    return margin(U, V) > eps


def batch_retrieval_fraction(xi_p: float, N: int, B: int, *, careful: bool = True) -> float:
    r"""Lower-bound the fraction of anchors that retrieve their partner (Proposition 1).

    By Proposition 1 of [1]_, with expected batch loss at most :math:`\xi_P` at batch size :math:`B`
    (:math:`\sqrt{N} < B < N`), at least a fraction

    .. math::

        1 - \frac{N \xi_P}{B (B - 1) \log 2}

    of the anchors retrieve their partner. ``careful=True`` keeps the factor :math:`1 / \log 2`
    (Markov's inequality at level :math:`\log 2`) that the paper drops. The result is clipped at 0.

    Parameters
    ----------
    xi_p : float
        Bound :math:`\xi_P \ge 0` on the expected loss of a batch.
    N : int
        Number of pairs.
    B : int
        Batch size, :math:`\sqrt{N} < B < N`.
    careful : bool, optional
        Keep the factor :math:`1/\log 2` (default True); False gives the paper's expression.

    Returns
    -------
    float
        The guaranteed fraction, in [0, 1].

    Raises
    ------
    ValueError
        If ``N`` or ``B`` is not an integer or :math:`\sqrt{N} < B < N` fails, or if ``xi_p`` < 0.

    See Also
    --------
    retrieval_accuracy : The exact fraction, given the embeddings.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import batch_retrieval_fraction
    >>> round(batch_retrieval_fraction(0.01, 1000, 100), 6)
    0.998543
    >>> round(batch_retrieval_fraction(0.01, 1000, 100, careful=False), 6)
    0.99899
    """
    if not (isinstance(N, int) and isinstance(B, int)) or not (math.sqrt(N) < B < N):
        raise ValueError(f"Prop. 1 needs integers with sqrt(N) < B < N, got N={N!r}, B={B!r}")
    if not xi_p >= 0:
        raise ValueError(f"xi_p must be >= 0, got {xi_p!r}")
    bad = N * xi_p / (B * (B - 1)) / (math.log(2.0) if careful else 1.0)
    return max(0.0, 1.0 - bad)


def certified_constellation(loss_sum: float, t: float, b: float) -> tuple[float, float]:
    r"""Turn a sigmoid loss below :math:`\log 2` into a constellation certificate (Thm 3.1).

    The quantitative form of Thm 3.1 of [1]_: if :math:`L_{Sig}(U, V; t, b) = L < \log 2` (the sum
    reduction), then :math:`(U, V)` is a :math:`(\kappa / t, b / t)`-constellation with

    .. math::

        \kappa = \log \frac{1}{e^{L} - 1} > 0.

    Under the :math:`N^2`-mean reduction pass :math:`N^2 L_{mean}`.

    Parameters
    ----------
    loss_sum : float
        The loss :math:`L` with the sum reduction, in :math:`(0, \log 2)`.
    t : float
        Inverse temperature :math:`t > 0` of the loss.
    b : float
        Bias :math:`b` of the loss (logits :math:`t s_{ij} - b`).

    Returns
    -------
    m : float
        The certified margin :math:`\kappa / t`.
    b_rel : float
        The certified relative bias :math:`b / t`.

    Raises
    ------
    ValueError
        If ``t`` is not a finite number > 0 or ``loss_sum`` is outside :math:`(0, \log 2)`.

    See Also
    --------
    sigref.losses.sigmoid_loss : The loss (``reduction="sum"``).

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    The 4-point simplex at t = 20, b = 6 has a small loss, and the certified margin is below the
    true :math:`m^* = 2/3`:

    >>> from sigref.constellations import certified_constellation, margin, regular_simplex
    >>> from sigref.losses import sigmoid_loss
    >>> X = regular_simplex(4).X
    >>> L = float(sigmoid_loss(X, X, 20.0, 6.0, reduction="sum"))
    >>> m, b_rel = certified_constellation(L, 20.0, 6.0)
    >>> round(m, 6), round(b_rel, 6), m <= float(margin(X, X))
    (0.504876, 0.3, True)
    """
    if not (t > 0 and math.isfinite(t)):
        raise ValueError(f"t must be a finite number > 0, got {t!r}")
    if not 0 < loss_sum < math.log(2.0):
        raise ValueError(f"loss_sum must lie in (0, log 2) to certify a constellation, got {loss_sum!r}")
    kappa = -math.log(math.expm1(loss_sum))
    return kappa / t, b / t
