r"""The feasible :math:`(m, b_{rel})` region of constellations (Bangachev et al. 2025, arXiv:2509.18552, Thm 3.4, Fig. 2).

If the averages satisfy :math:`\frac{1}{N} \sum_i s_{ii} \ge m + b_{rel}` and
:math:`\frac{1}{N(N-1)} \sum_{i \ne j} s_{ij} \le b_{rel} - m`, then

.. math::

    m + b_{rel} \le 1 \qquad \text{and} \qquad \Big(3 - \frac{4}{N}\Big) m \le 1 + b_{rel}. \tag{5}

As :math:`N \to \infty` the region is the triangle :math:`(0, -1), (1/2, 1/2), (0, 1)`; its
interior (:math:`m + b_{rel} < 1`, :math:`3m < 1 + b_{rel}`, :math:`m \ge 0`) is where
exponentially large constellations exist (Thm 3.3). Outside it, :math:`m + b_{rel} > 1` admits no
constellation at all, and :math:`3m > 1 + b_{rel}` caps :math:`N \le 4m / (3m - 1 - b_{rel})` in
every dimension. The modality-gap sub-region :math:`m > |b_{rel}|` (Thm 3.6) is the triangle
:math:`(0, 0), (1/2, 1/2), (1/4, -1/4)`.

Functions take Python floats (and return Python values) or arrays of any array-API namespace
(and return arrays of that namespace), broadcasting ``m`` against ``b_rel``.
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

from sigref.figures import subplots
from sigref.types import Array, Scalar

__all__ = [
    "bias_interval",
    "in_feasible_region",
    "in_modality_gap_region",
    "max_pairs",
    "n_cap",
    "plot_region",
    "simplex_point",
]


def _prepare(m: Any, b_rel: Any) -> tuple[Any, Any, Any, bool]:
    scalar = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (m, b_rel))
    if scalar:
        xp = np
        m_a, b_a = np.asarray(float(m), dtype=np.float64), np.asarray(float(b_rel), dtype=np.float64)
    else:
        arrays = [v for v in (m, b_rel) if not isinstance(v, (int, float))]
        xp = array_api_compat.array_namespace(*arrays)
        like = arrays[0]
        dev = array_api_compat.device(like)
        dtype = like.dtype if xp.isdtype(like.dtype, "real floating") else xp.float64
        m_a = xp.asarray(float(m), dtype=dtype, device=dev) if isinstance(m, (int, float)) else xp.astype(m, dtype)
        b_a = xp.asarray(float(b_rel), dtype=dtype, device=dev) if isinstance(b_rel, (int, float)) else xp.astype(b_rel, dtype)
    if not bool(xp.all(xp.isfinite(m_a))) or not bool(xp.all(xp.isfinite(b_a))):
        raise ValueError("m and b_rel must be finite, got NaN or infinity")
    if not bool(xp.all(m_a >= 0)):
        raise ValueError(f"the margin m must be >= 0, got {m!r}")
    if not bool(xp.all(xp.abs(b_a) <= 1)):
        raise ValueError(f"the relative bias b_rel must lie in [-1, 1], got {b_rel!r}")
    return xp, m_a, b_a, scalar


def _out(x: Any, scalar: bool) -> Any:
    if not scalar:
        return x
    v = np.asarray(x)[()]
    return bool(v) if v.dtype == bool else float(v)


def in_feasible_region(m: Scalar | Array, b_rel: Scalar | Array, N: int | None = None) -> bool | Array:
    r"""Test whether :math:`(m, b_{rel})` lies in the feasible region of Thm 3.4.

    With ``N=None``, the open asymptotic region where exponentially many pairs exist (Thms 3.3, 3.4 of [1]_):

    .. math::

        m + b_{rel} < 1 \qquad \text{and} \qquad 3m < 1 + b_{rel}.

    With ``N``, the necessary conditions (5) for N pairs:

    .. math::

        m + b_{rel} \le 1 \qquad \text{and} \qquad \Big(3 - \frac{4}{N}\Big) m \le 1 + b_{rel}.

    Parameters
    ----------
    m : float or Array
        Margin :math:`m \ge 0`: a number or an array (broadcast against ``b_rel``).
    b_rel : float or Array
        Relative bias :math:`b_{rel} \in [-1, 1]`: a number or an array.
    N : int, optional
        Number of pairs, >= 1; None (default) for the asymptotic region.

    Returns
    -------
    bool or Array
        A Python bool for numbers, else a boolean array of the broadcast shape.

    Raises
    ------
    ValueError
        If ``m`` or ``b_rel`` holds NaN or infinity, ``m`` < 0 or :math:`|b_{rel}| > 1` anywhere, or
        ``N`` is not an integer >= 1.
    TypeError
        If array arguments come from different array libraries.

    See Also
    --------
    n_cap : The largest N that (5) allows.
    plot_region : The region drawn.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import in_feasible_region
    >>> in_feasible_region(0.1, 0.0), in_feasible_region(0.4, 0.0)
    (True, False)

    At :math:`(0.4, 0)` the bound (5) allows at most 8 pairs:

    >>> in_feasible_region(0.4, 0.0, N=8), in_feasible_region(0.4, 0.0, N=9)
    (True, False)
    >>> import numpy as np
    >>> in_feasible_region(np.array([0.1, 0.4]), 0.0).tolist()
    [True, False]
    """
    xp, m_a, b_a, scalar = _prepare(m, b_rel)
    if N is None:
        inside = xp.logical_and(m_a + b_a < 1, 3 * m_a < 1 + b_a)
    else:
        if isinstance(N, bool) or not isinstance(N, int) or N < 1:
            raise ValueError(f"N must be an integer >= 1, got {N!r}")
        inside = xp.logical_and(m_a + b_a <= 1, (3 - 4 / N) * m_a <= 1 + b_a)
    return _out(inside, scalar)


def in_modality_gap_region(m: Scalar | Array, b_rel: Scalar | Array) -> bool | Array:
    r"""Test whether :math:`(m, b_{rel})` lies in the modality-gap sub-region :math:`m > |b_{rel}|`.

    .. math::

        m > |b_{rel}|, \qquad m + b_{rel} \le 1, \qquad 3m \le 1 + b_{rel}:

    there every :math:`(m, b_{rel})`-constellation has the sign pattern :math:`s_{ii} > 0 > s_{ij}`
    that Thm 3.6 of [1]_ needs (:math:`s_{ii} \ge b_{rel} + m > 0` and
    :math:`s_{ij} \le b_{rel} - m < 0`). The region is the triangle
    :math:`(0, 0), (1/2, 1/2), (1/4, -1/4)`.

    Parameters
    ----------
    m : float or Array
        Margin :math:`m \ge 0`: a number or an array (broadcast against ``b_rel``).
    b_rel : float or Array
        Relative bias :math:`b_{rel} \in [-1, 1]`: a number or an array.

    Returns
    -------
    bool or Array
        A Python bool for numbers, else a boolean array of the broadcast shape.

    Raises
    ------
    ValueError
        If ``m`` or ``b_rel`` holds NaN or infinity, ``m`` < 0 or :math:`|b_{rel}| > 1` anywhere.
    TypeError
        If array arguments come from different array libraries.

    See Also
    --------
    sigref.constellations.gap.sign_pattern_holds : The sign pattern of a configuration.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import in_modality_gap_region
    >>> in_modality_gap_region(0.3, 0.1), in_modality_gap_region(0.1, 0.3)
    (True, False)
    """
    xp, m_a, b_a, scalar = _prepare(m, b_rel)
    ok = xp.logical_and(m_a > xp.abs(b_a), xp.logical_and(m_a + b_a <= 1, 3 * m_a <= 1 + b_a))
    return _out(ok, scalar)


def n_cap(m: Scalar | Array, b_rel: Scalar | Array) -> float | Array:
    r"""Compute the largest number of pairs that (5) allows at :math:`(m, b_{rel})`, in any dimension.

    As a real number (Thm 3.4 of [1]_):

    .. math::

        N_{cap}(m, b_{rel}) =
        \begin{cases}
            +\infty & 3m \le 1 + b_{rel}, \; m + b_{rel} \le 1, \\
            \dfrac{4m}{3m - 1 - b_{rel}} & 3m > 1 + b_{rel}, \; m + b_{rel} \le 1, \\
            0 & m + b_{rel} > 1,
        \end{cases}

    where the last case admits no constellation for any N >= 1.

    Parameters
    ----------
    m : float or Array
        Margin :math:`m \ge 0`: a number or an array (broadcast against ``b_rel``).
    b_rel : float or Array
        Relative bias :math:`b_{rel} \in [-1, 1]`: a number or an array.

    Returns
    -------
    float or Array
        A Python float for numbers (``math.inf`` where nothing caps N), else an array of the
        broadcast shape.

    Raises
    ------
    ValueError
        If ``m`` or ``b_rel`` holds NaN or infinity, ``m`` < 0 or :math:`|b_{rel}| > 1` anywhere.
    TypeError
        If array arguments come from different array libraries.

    See Also
    --------
    max_pairs : Its floor, an integer.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations import n_cap
    >>> n_cap(0.5, 0.0), n_cap(0.1, 0.0), n_cap(0.6, 0.5)
    (4.0, inf, 0.0)
    >>> [round(float(c), 6) for c in n_cap(np.array([0.1, 0.4, 0.6]), 0.0)]
    [inf, 8.0, 3.0]
    """
    xp, m_a, b_a, scalar = _prepare(m, b_rel)
    excess = 3 * m_a - (1 + b_a)  # as in_feasible_region groups it: 3m - 1 - b loses a tiny m when b = -1
    safe = xp.where(excess > 0, excess, xp.ones_like(excess))
    cap = xp.where(excess > 0, 4 * m_a / safe, xp.full_like(excess, math.inf))
    cap = xp.where(m_a + b_a > 1, xp.zeros_like(cap), cap)
    return _out(cap, scalar)


def max_pairs(m: float, b_rel: float) -> int | float:
    r"""Compute the largest integer number of pairs that (5) allows: the floor of :func:`n_cap`.

    .. math::

        N_{max}(m, b_{rel}) = \Big\lfloor \frac{4m}{3m - 1 - b_{rel}} \Big\rfloor
        \qquad (3m > 1 + b_{rel}),

    :math:`+\infty` where Thm 3.4 of [1]_ puts no cap on N and 0 where :math:`m + b_{rel} > 1`. The
    floor is taken with a relative slack of :math:`10^{-12}`, so that exact integer caps survive
    rounding.

    Parameters
    ----------
    m : float
        Margin :math:`m \ge 0`.
    b_rel : float
        Relative bias :math:`b_{rel} \in [-1, 1]`.

    Returns
    -------
    int or float
        The cap, or ``math.inf`` when there is none.

    Raises
    ------
    ValueError
        If ``m`` or ``b_rel`` is not finite, ``m`` < 0 or :math:`|b_{rel}| > 1`.

    See Also
    --------
    n_cap : The cap as a real number, on arrays too.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import max_pairs
    >>> max_pairs(0.5, 0.0), max_pairs(0.4, 0.0), max_pairs(0.5, 0.25), max_pairs(0.1, 0.0)
    (4, 8, 8, inf)
    """
    cap = n_cap(float(m), float(b_rel))
    return cap if math.isinf(cap) else int(math.floor(cap * (1 + 1e-12)))


def bias_interval(m: float, N: int | None = None) -> tuple[float, float]:
    r"""Find the relative biases that (5) admits at margin :math:`m`.

    .. math::

        b_{rel} \in \Big[ \max\Big(-1, \Big(3 - \frac{4}{N}\Big) m - 1\Big), \; 1 - m \Big],

    with the factor 3 in place of :math:`3 - 4/N` for ``N=None`` (:math:`N \to \infty`). The interval
    is empty (lo > hi) when :math:`m` is too large: :math:`m > 1/2` asymptotically,
    :math:`m > N / (2(N - 1))` for N pairs (Thm 3.4 of [1]_).

    Parameters
    ----------
    m : float
        Margin, in [0, 1].
    N : int, optional
        Number of pairs; None (default) for :math:`N \to \infty`.

    Returns
    -------
    lo : float
        The smallest admitted :math:`b_{rel}`.
    hi : float
        The largest admitted :math:`b_{rel}`.

    Raises
    ------
    ValueError
        If ``m`` is not a number in [0, 1].

    See Also
    --------
    in_feasible_region : The membership test.
    sigref.constellations.metrics.admissible_bias_interval : The interval a given configuration admits.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import bias_interval
    >>> bias_interval(0.25), bias_interval(0.25, N=4)
    ((-0.25, 0.75), (-0.5, 0.75))
    >>> lo, hi = bias_interval(0.6)  # beyond m = 1/2: empty
    >>> lo > hi
    True
    """
    if isinstance(m, bool) or not isinstance(m, (int, float)) or not (0 <= m <= 1):
        raise ValueError(f"m must be a number in [0, 1], got {m!r}")
    slope = 3.0 if N is None else 3.0 - 4.0 / N
    return max(-1.0, slope * m - 1.0), 1.0 - m


def simplex_point(N: int) -> tuple[float, float]:
    r"""Compute :math:`(m^*, b^*_{rel})` of the regular N-point simplex paired with itself.

    For :math:`U = V` the regular simplex (:math:`s_{ii} = 1`, :math:`s_{ij} = -1/(N-1)`),

    .. math::

        m^* = \frac{N}{2(N - 1)}, \qquad b^*_{rel} = \frac{N - 2}{2(N - 1)};

    both parts of (5) hold with equality there: the simplex is a corner of the N-pair region of
    Thm 3.4 of [1]_.

    Parameters
    ----------
    N : int
        Number of points, >= 2.

    Returns
    -------
    m : float
        The margin :math:`m^*`.
    b_rel : float
        The optimal relative bias :math:`b^*_{rel}`.

    Raises
    ------
    ValueError
        If ``N`` is not an integer >= 2.

    See Also
    --------
    sigref.constellations.codes.regular_simplex : The simplex itself.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import in_feasible_region, simplex_point
    >>> m, b_rel = simplex_point(4)
    >>> round(m, 6), round(b_rel, 6)
    (0.666667, 0.333333)
    >>> in_feasible_region(m, b_rel, N=4), in_feasible_region(m + 1e-9, b_rel, N=4)
    (True, False)
    """
    if isinstance(N, bool) or not isinstance(N, int) or N < 2:
        raise ValueError(f"N must be an integer >= 2, got {N!r}")
    return N / (2 * (N - 1)), (N - 2) / (2 * (N - 1))


def plot_region(ax: Any = None, *, points: dict[str, tuple[Any, Any]] | None = None, finite_N: tuple[int, ...] = (4, 10)) -> Any:
    """Draw the :math:`(m, b_{rel})` plane of Thm 3.4 (the paper's Figure 2).

    The asymptotic region (green, the triangle :math:`(0, -1), (1/2, 1/2), (0, 1)`), its complement
    (red), the modality-gap sub-region :math:`m > |b_{rel}|` (hatched), the N-pair boundaries
    :math:`(3 - 4/N) m = 1 + b_{rel}` (dashed) and optional labelled points, as in Fig. 2 of [1]_.

    Parameters
    ----------
    ax : matplotlib Axes, optional
        Where to draw; None (default) makes a standalone figure (no pyplot state).
    points : dict of str to tuple, optional
        ``{label: (m_values, b_values)}``: scatter points, numbers or arrays, one legend entry each.
    finite_N : tuple of int, optional
        The N of the dashed N-pair boundaries (default (4, 10)).

    Returns
    -------
    matplotlib Axes
        The axes drawn on.

    See Also
    --------
    sigref.constellations.plots.plot_analysis : The figure of ``sigref analyze --plot``, which uses this.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> import os, tempfile
    >>> from sigref.constellations import plot_region, simplex_point
    >>> ax = plot_region(points={"simplex N=4": simplex_point(4)})
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('margin m', 'relative bias b_rel')
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "region.png")
    ...     ax.figure.savefig(path)
    ...     os.path.getsize(path) > 0
    True
    """
    from matplotlib.patches import Polygon

    if ax is None:
        _, ax = subplots(figsize=(5.5, 5))
    ax.add_patch(Polygon([(0, -1.05), (0.75, -1.05), (0.75, 1.05), (0, 1.05)], closed=True, color="#f4c7c3", zorder=0,
                         label="infeasible for large N"))
    ax.add_patch(Polygon([(0, -1), (0.5, 0.5), (0, 1)], closed=True, color="#c8e6c9", zorder=1,
                         label="exp. many pairs (Thm 3.3)"))
    ax.add_patch(Polygon([(0, 0), (0.5, 0.5), (0.25, -0.25)], closed=True, fill=False, hatch="//", edgecolor="#2e7d32",
                         zorder=2, label="modality gap m > |b_rel| (Thm 3.6)"))
    mm = np.linspace(0, 0.75, 200)
    for n in finite_N:
        bb = (3 - 4 / n) * mm - 1
        keep = (bb <= 1 - mm) & (bb >= -1)
        ax.plot(mm[keep], bb[keep], "--", lw=1, color="grey", zorder=3)
        k = np.flatnonzero(keep)
        if k.size:
            ax.annotate(f"N={n}", (mm[k[-1]], bb[k[-1]]), fontsize=7, color="grey")
    markers = iter("os^Dv<>px*")
    for label, (ms, bs) in (points or {}).items():
        ax.scatter(np.asarray(ms), np.asarray(bs), s=18, marker=next(markers, "o"), zorder=4, label=label)
    ax.set_xlim(0, 0.75)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("margin m")
    ax.set_ylabel("relative bias b_rel")
    ax.legend(fontsize=7, loc="lower right")
    return ax
