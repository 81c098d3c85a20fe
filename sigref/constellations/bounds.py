r"""Capacity bounds for :math:`(d, m, b_{rel})`-constellations (Bangachev et al. 2025, arXiv:2509.18552, Thms 3.3, 3.5).

With

.. math::

    \alpha(m, b_{rel}) = \frac{1 + b_{rel} - 3m}{1 + b_{rel} + m} \in [0, 1)

inside the region (:math:`m + b_{rel} \le 1`, :math:`3m \le 1 + b_{rel}`, :math:`m > 0`), the
largest number :math:`N_{MRB}(d, m, b_{rel})` of pairs satisfies

.. math::

    E_{lower} = -\tfrac{1}{2} \log(1 - \alpha^2)
    \;\le\; \liminf_{d \to \infty} \tfrac{1}{d} \log N_{MRB}
    \;\le\; -\tfrac{1}{2} \log(1 - \alpha) = E_{upper}

(Shannon 1959 and Wyner 1968 through Thm 3.3; Thm 3.5). The gap is
:math:`\tfrac{1}{2} \log(1 + \alpha)`.

Finite-d forms (exact, not asymptotic), returned as :math:`\log N` so that they stay finite for
:math:`d \sim 10^5`:

* lower: a maximal :math:`\alpha`-code in :math:`S^{d-2}` (in :math:`\mathbb{R}^{d-1}`) has
  :math:`N \ge 1 / \Gamma_{d-1}(\alpha)`, and Thm 3.3 turns it into a constellation in
  :math:`\mathbb{R}^d`, so :math:`\log N_{MRB} \ge -\log \Gamma_{d-1}(\alpha)`;
* upper (rigorous form of the Thm 3.5 proof): for every
  :math:`\delta^2 \in ((1 - 3m + b_{rel})/2, (1 + m + b_{rel})/2]`,

  .. math::

      N_{MRB} \le \frac{\max\big(1, 4m / (2 \delta^2 - 1 + 3m - b_{rel})\big)}
      {\Gamma_d\big(\delta \sqrt{2 / (1 + m + b_{rel})}\big)},

  minimised over :math:`\delta` numerically.

Here :math:`\Gamma_n(x) = P[H_1 > x]` for :math:`H` uniform on :math:`S^{n-1}`, which is
:math:`\tfrac{1}{2} I_{1-x^2}((n-1)/2, 1/2)` for :math:`x \ge 0` (:math:`I` the regularised
incomplete beta function). These are host-side scalar functions (SciPy special functions),
vectorised over NumPy inputs.
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
    r"""Compute the code parameter :math:`\alpha(m, b_{rel})` of Thm 3.3.

    The largest inner product a code may have in the recipe of Thm 3.3 of [1]_:

    .. math::

        \alpha(m, b_{rel}) = \frac{1 + b_{rel} - 3m}{1 + b_{rel} + m},

    clipped at 0 (it is :math:`\ge 0` inside the region up to rounding): every :math:`\alpha`-code
    (a spherical code with :math:`\langle X_i, X_j \rangle \le \alpha`) in :math:`\mathbb{R}^{d-1}`
    gives an :math:`(m, b_{rel})`-constellation in :math:`\mathbb{R}^d`.

    Parameters
    ----------
    m : float
        Margin :math:`m \ge 0`.
    b_rel : float
        Relative bias :math:`b_{rel}`.

    Returns
    -------
    float
        :math:`\alpha \in [0, 1)`.

    Raises
    ------
    ValueError
        If ``m`` or ``b_rel`` is not a finite real number, ``m`` < 0, or :math:`(m, b_{rel})` lies
        outside the region :math:`m + b_{rel} \le 1`, :math:`3m \le 1 + b_{rel}` (tolerance
        :math:`10^{-12}`); there :func:`sigref.constellations.region.n_cap` bounds N. Also at the
        degenerate point :math:`(0, -1)`, where :math:`1 + b_{rel} + m = 0`.

    See Also
    --------
    sigref.constellations.constructions.from_code : The Thm 3.3 recipe.
    exponent_lower : The capacity exponent that this :math:`\alpha` gives.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import alpha
    >>> round(alpha(0.1, 0.0), 6), alpha(0.25, 0.0), alpha(1 / 3, 0.0)
    (0.636364, 0.2, 0.0)
    """
    m, b_rel = _check_mb(m, b_rel)
    if 1 + b_rel + m <= 0:
        raise ValueError(f"alpha is undefined at 1 + b_rel + m = 0 (the degenerate point (0, -1)), got ({m}, {b_rel})")
    return max(0.0, (1 + b_rel - 3 * m) / (1 + b_rel + m))


def exponent_lower(m: float, b_rel: float, base: str | float = "e") -> float:
    r"""Compute the lower capacity exponent :math:`E_{lower}` per dimension (Shannon-Wyner via Thm 3.3).

    A lower bound on the growth rate of the largest constellation (Thm 3.3 of [1]_ with the
    Shannon-Wyner bound on spherical codes):

    .. math::

        E_{lower}(m, b_{rel}) = -\tfrac{1}{2} \log\big(1 - \alpha(m, b_{rel})^2\big)
        \le \liminf_{d \to \infty} \tfrac{1}{d} \log N_{MRB}(d, m, b_{rel}).

    Parameters
    ----------
    m : float
        Margin :math:`m \ge 0`.
    b_rel : float
        Relative bias :math:`b_{rel}`.
    base : {"e", "nats", 2, "bits"}, optional
        Unit of the logarithm: nats (default) or bits.

    Returns
    -------
    float
        :math:`E_{lower}` in nats (or bits) per dimension.

    Raises
    ------
    ValueError
        If ``m`` or ``b_rel`` is not a finite real number, ``m`` < 0, or :math:`(m, b_{rel})` lies
        outside the region :math:`m + b_{rel} \le 1`, :math:`3m \le 1 + b_{rel}` (tolerance
        :math:`10^{-12}`); there :func:`sigref.constellations.region.n_cap` bounds N. Also if
        ``base`` is not ``"e"``/``"nats"`` or ``2``/``"bits"``.

    See Also
    --------
    exponent_upper : The matching upper exponent.
    log_n_lower : The finite-d lower bound.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import exponent_lower
    >>> round(exponent_lower(0.1, 0.0), 6), round(exponent_lower(0.1, 0.0, base="bits"), 6)
    (0.259562, 0.374469)
    """
    a = alpha(m, b_rel)
    return -0.5 * math.log1p(-a * a) / _base(base)


def exponent_upper(m: float, b_rel: float, base: str | float = "e") -> float:
    r"""Compute the upper capacity exponent :math:`E_{upper}` per dimension (Thm 3.5).

    An upper bound on the growth rate of the largest constellation (Thm 3.5 of [1]_):

    .. math::

        \limsup_{d \to \infty} \tfrac{1}{d} \log N_{MRB}(d, m, b_{rel}) \le
        E_{upper}(m, b_{rel}) = -\tfrac{1}{2} \log\big(1 - \alpha(m, b_{rel})\big)
        = \tfrac{1}{2} \log \frac{1 + b_{rel} + m}{4m}.

    Parameters
    ----------
    m : float
        Margin :math:`m \ge 0`.
    b_rel : float
        Relative bias :math:`b_{rel}`.
    base : {"e", "nats", 2, "bits"}, optional
        Unit of the logarithm: nats (default) or bits.

    Returns
    -------
    float
        :math:`E_{upper}` in nats (or bits) per dimension.

    Raises
    ------
    ValueError
        If ``m`` or ``b_rel`` is not a finite real number, ``m`` < 0, or :math:`(m, b_{rel})` lies
        outside the region :math:`m + b_{rel} \le 1`, :math:`3m \le 1 + b_{rel}` (tolerance
        :math:`10^{-12}`); there :func:`sigref.constellations.region.n_cap` bounds N. Also if
        ``base`` is not ``"e"``/``"nats"`` or ``2``/``"bits"``.

    See Also
    --------
    exponent_lower : The matching lower exponent.
    log_n_upper : The finite-d upper bound.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> import math
    >>> from sigref.constellations import exponent_upper
    >>> round(exponent_upper(0.1, 0.0), 6), round(0.5 * math.log(1.1 / 0.4), 6)
    (0.5058, 0.5058)
    """
    a = alpha(m, b_rel)
    return -0.5 * math.log1p(-a) / _base(base)


def exponent_gap(m: float, b_rel: float, base: str | float = "e") -> float:
    r"""Compute the gap :math:`E_{upper} - E_{lower}` between the two capacity exponents.

    .. math::

        E_{upper} - E_{lower} = \tfrac{1}{2} \log\big(1 + \alpha(m, b_{rel})\big)
        \in \big[0, \tfrac{1}{2} \log 2\big],

    zero on the line :math:`3m = 1 + b_{rel}` (Thms 3.3, 3.5 of [1]_).

    Parameters
    ----------
    m : float
        Margin :math:`m \ge 0`.
    b_rel : float
        Relative bias :math:`b_{rel}`.
    base : {"e", "nats", 2, "bits"}, optional
        Unit of the logarithm: nats (default) or bits.

    Returns
    -------
    float
        The gap in nats (or bits) per dimension.

    Raises
    ------
    ValueError
        If ``m`` or ``b_rel`` is not a finite real number, ``m`` < 0, or :math:`(m, b_{rel})` lies
        outside the region :math:`m + b_{rel} \le 1`, :math:`3m \le 1 + b_{rel}` (tolerance
        :math:`10^{-12}`); there :func:`sigref.constellations.region.n_cap` bounds N. Also if
        ``base`` is not ``"e"``/``"nats"`` or ``2``/``"bits"``.

    See Also
    --------
    exponent_lower : The lower exponent.
    exponent_upper : The upper exponent.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import exponent_gap, exponent_lower, exponent_upper
    >>> round(exponent_gap(0.1, 0.0), 6), round(exponent_upper(0.1, 0.0) - exponent_lower(0.1, 0.0), 6)
    (0.246238, 0.246238)
    """
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


def log_cap(n: int | np.ndarray, x: float | np.ndarray) -> float | np.ndarray:
    r"""Compute :math:`\log \Gamma_n(x)`, the log of a spherical cap's probability.

    .. math::

        \Gamma_n(x) = P[H_1 > x] =
        \begin{cases}
            \tfrac{1}{2} I_{1 - x^2}\big(\tfrac{n - 1}{2}, \tfrac{1}{2}\big) & x \ge 0, \\
            1 - \Gamma_n(-x) & x < 0,
        \end{cases}

    for :math:`H` uniform on :math:`S^{n-1} \subset \mathbb{R}^n`, with :math:`I` the regularised
    incomplete beta function. Accurate in log space: where :math:`\Gamma_n` underflows (large
    :math:`n`) a positive hypergeometric series (DLMF 8.17.8) takes over, so the result stays finite
    and relatively accurate for :math:`n` up to :math:`10^8`.

    Parameters
    ----------
    n : int or numpy.ndarray
        Dimension of the ambient space, an integer >= 2 (or an array of them).
    x : float or numpy.ndarray
        Threshold in [-1, 1] (broadcast against ``n``).

    Returns
    -------
    float or numpy.ndarray
        :math:`\log \Gamma_n(x)`: a float for scalar inputs, else an array of the broadcast shape;
        :math:`-\infty` at :math:`x = 1`.

    Raises
    ------
    ValueError
        If ``n`` is not an integer >= 2 or ``x`` is outside [-1, 1] (or not finite).

    See Also
    --------
    log_n_lower, log_n_upper : The finite-d bounds built on it.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    Known values: :math:`\Gamma_3(1/2) = 1/4` (Archimedes), :math:`\Gamma_2(0) = 1/2`,
    :math:`\Gamma_{10}(1/2) \approx 0.0586534015`:

    >>> import math
    >>> from sigref.constellations import log_cap
    >>> round(math.exp(log_cap(3, 0.5)), 10), round(math.exp(log_cap(2, 0.0)), 10), round(math.exp(log_cap(10, 0.5)), 10)
    (0.25, 0.5, 0.0586534015)
    >>> round(math.exp(log_cap(3, -0.5)), 10)
    0.75
    >>> log_cap(10**8, 0.5) < -1e7  # Gamma itself underflows; its log does not
    True
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
    r"""Compute the log of the finite-d lower bound on :math:`N_{MRB}(d, m, b_{rel})` (d >= 3).

    .. math::

        \log N_{MRB}(d, m, b_{rel}) \ge -\log \Gamma_{d-1}\big(\alpha(m, b_{rel})\big).

    Gilbert-Varshamov: a maximal :math:`\alpha`-code in :math:`S^{d-2}` has
    :math:`N \Gamma_{d-1}(\alpha) \ge 1` (its caps cover the sphere); Thm 3.3 of [1]_ (one extra
    coordinate, :math:`\delta^2 = (1 + m + b_{rel})/2`) makes it a constellation in
    :math:`\mathbb{R}^d`. On the line :math:`m + b_{rel} = 1` no extra coordinate is needed
    (:math:`U_i = V_i` a :math:`(1 - 2m)`-code in :math:`\mathbb{R}^d`), and the bound is
    :math:`-\log \Gamma_d(1 - 2m)`. The result is clipped at 0 (:math:`N \ge 1`); :math:`m = 0`
    gives :math:`+\infty`.

    Parameters
    ----------
    d : int
        Dimension, >= 3.
    m : float
        Margin :math:`m \ge 0`.
    b_rel : float
        Relative bias :math:`b_{rel}`.

    Returns
    -------
    float
        A lower bound on :math:`\log N_{MRB}` (nats).

    Raises
    ------
    ValueError
        If ``d`` is not an integer >= 3, or as :func:`alpha` for ``m`` and ``b_rel``.

    See Also
    --------
    log_n_upper : The matching upper bound.
    exponent_lower : Its limit per dimension.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    Divided by d, the bound approaches :math:`E_{lower}`:

    >>> from sigref.constellations import exponent_lower, log_n_lower
    >>> round(log_n_lower(10**5, 0.1, 0.0) / 10**5, 4), round(exponent_lower(0.1, 0.0), 4)
    (0.2596, 0.2596)
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
    r"""Compute the log of the finite-d upper bound on :math:`N_{MRB}(d, m, b_{rel})` (d >= 2, m > 0).

    .. math::

        \log N_{MRB} \le \min_{\delta} \Big[ \log \max\Big(1, \frac{4m}{2\delta^2 - 1 + 3m - b_{rel}}\Big)
        - \log \Gamma_d\Big(\delta \sqrt{\tfrac{2}{1 + m + b_{rel}}}\Big) \Big],

    over :math:`\delta^2 \in ((1 - 3m + b_{rel})/2, (1 + m + b_{rel})/2]`. This is the rigorous form
    of the proof of Thm 3.5 of [1]_: for :math:`H` uniform on :math:`S^{d-1}`,
    :math:`E |\{i : \langle H, c_i \rangle \ge \delta\}| \ge N \Gamma_d(\cdot)` with
    :math:`c_i = (U_i + V_i)/2`, and every such subset of :math:`N'` pairs has
    :math:`N' (2 \delta^2 - 1 + 3m - b_{rel}) \le 4m`. The minimum over :math:`\delta` is found on a
    grid and refined by bounded scalar minimisation (SciPy). :math:`m = 0` gives :math:`+\infty` (no
    bound: N is unbounded as :math:`m \to 0`).

    Parameters
    ----------
    d : int
        Dimension, >= 2.
    m : float
        Margin :math:`m \ge 0`.
    b_rel : float
        Relative bias :math:`b_{rel}`.

    Returns
    -------
    float
        An upper bound on :math:`\log N_{MRB}` (nats).

    Raises
    ------
    ValueError
        If ``d`` is not an integer >= 2, or as :func:`alpha` for ``m`` and ``b_rel``.

    See Also
    --------
    log_n_lower : The matching lower bound.
    exponent_upper : Its limit per dimension.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    Divided by d, the bound approaches :math:`E_{upper}`; in small d it brackets the truth with
    :func:`log_n_lower`:

    >>> from sigref.constellations import exponent_upper, log_n_lower, log_n_upper
    >>> round(log_n_upper(10**5, 0.1, 0.0) / 10**5, 4), round(exponent_upper(0.1, 0.0), 4)
    (0.506, 0.5058)
    >>> round(log_n_lower(10, 0.1, 0.0), 4), round(log_n_upper(10, 0.1, 0.0), 4)
    (3.7315, 9.064)
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
