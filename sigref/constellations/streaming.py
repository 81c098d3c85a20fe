r"""Every statistic of ``sigref analyze`` in passes over tiles of :math:`S = U V^\top` (Bangachev et al. 2025, arXiv:2509.18552).

For paired rows :math:`U_i, V_i` with :math:`s_{ij} = \langle U_i, V_j \rangle` (positives
:math:`s_{ii}`, negatives :math:`s_{ij}`, :math:`i \ne j`), one pass of
:func:`~sigref.constellations.tiles.scan` yields

* the exact forms (Sec. 2): :math:`P = \min_i s_{ii}`, :math:`Q = \max_{i \ne j} s_{ij}`,
  :math:`m^* = (P - Q)/2`, :math:`b^*_{rel} = (P + Q)/2`;
* the robust forms (Tables 5-6): :math:`P = P_q(s_{ii})`, :math:`Q = P_{100-q}(s_{ij})`, by exact
  selection (:mod:`~sigref.constellations.percentiles`; a second pass only when its sampled
  bracket misses);
* top-1 retrieval both ways (Cor. 1): :math:`i` is retrieved when
  :math:`s_{ii} > \max_{j \ne i} s_{ij}` (U to V) and :math:`s_{ii} > \max_{j \ne i} s_{ji}`
  (V to U); ties count as failures;
* the sigmoid loss (eq. (1)) at :math:`(t, b)` or :math:`(t, b_{rel} = b/t)`:
  :math:`\sum_i \operatorname{softplus}(-(t s_{ii} - b)) + \sum_{i \ne j} \operatorname{softplus}(t s_{ij} - b)`,
  through the loss kernel's elementwise pass (:func:`sigref.fused.pass_for`),

and :math:`O(N d)` passes in float64 give the means :math:`\frac{1}{N} \sum_i s_{ii}` and

.. math::

    \frac{1}{N(N-1)} \sum_{i \ne j} s_{ij}
    = \frac{\langle \sum_i U_i, \sum_j V_j \rangle - \sum_i s_{ii}}{N(N-1)},

and :math:`\xi = \frac{1}{N} \sum_i \lVert x_i - \bar x \rVert^2`, :math:`x_i = U_i - V_i`
(Appendix E), with its unsquared variant
:math:`\frac{1}{N} \sum_i \lVert x_i \rVert - \lVert \bar x \rVert`.

Memory :math:`O(\text{tile} + N d)`; the tiles are computed in the inputs' dtype. **Accuracy in
float32** (unit rows, unit roundoff :math:`u = 2^{-24}`): every computed similarity is within

.. math::

    \gamma_d = \frac{d u}{1 - d u}

of the exact one (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002,
eq. (3.5)), e.g. :math:`1.5 \cdot 10^{-5}` for d = 256 (typically :math:`\sqrt{d}\, u`); min,
max, percentiles and retrieval are exact functions of the computed similarities, so they carry
that error and no more; means and :math:`\xi` are accumulated in float64 from float64 products
(relative error about :math:`(d + \log_2 N)\, 2^{-53}`); each loss term carries
:math:`t \gamma_d + O(u)` and the tile sums are accumulated in float64. In float64 every result
equals the dense computation up to the order of summation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import array_api_compat
import array_api_extra as xpx
import numpy as np

from sigref._arrays import check_finite, check_floating, namespace, to_host
from sigref.constellations import percentiles as _pct
from sigref.constellations.tiles import Tile, on_accelerator, row_chunks, scan, tile_shape
from sigref.fused import PairOptions, pass_for
from sigref.types import Array

__all__ = ["PairSummary", "pair_summary"]

FORMS = ("minmax", "percentile", "mean")


@dataclass(frozen=True)
class PairSummary:
    r"""What one configuration's similarities say, in plain Python values (made by :func:`pair_summary`).

    A frozen dataclass of statistics; its methods combine them into the margin and relative bias
    of each form.

    Attributes
    ----------
    n : int
        N, the number of pairs.
    d : int
        The dimension.
    dtype : str
        ``"float32"`` or ``"float64"``: the dtype the similarities were computed in.
    q : float
        The percentile of the robust forms.
    pos_min : float
        :math:`\min_i s_{ii}`.
    neg_max : float
        :math:`\max_{i \ne j} s_{ij}`.
    pos_percentile : float
        :math:`P_q(s_{ii})` (``numpy.percentile``'s definition).
    neg_percentile : float
        :math:`P_{100-q}(s_{ij})`, exact.
    pos_mean : float
        :math:`\frac{1}{N} \sum_i s_{ii}`.
    neg_mean : float
        :math:`\frac{1}{N(N-1)} \sum_{i \ne j} s_{ij}`.
    retrieval_u2v : float
        Top-1 fraction U to V (ties fail).
    retrieval_v2u : float
        Top-1 fraction V to U.
    xi : float
        :math:`\xi` (Appendix E).
    xi_unsquared : float
        :math:`\frac{1}{N} \sum_i \lVert x_i \rVert - \lVert \bar x \rVert`.
    loss : dict of str to float or None
        ``{"t", "b", "sum", "per_anchor", "mean"}``: the loss parameters and the loss in the three
        reductions, or None without ``t``.
    passes : int
        Full passes over :math:`S`.
    tile : tuple of int
        (rows, cols) of the tiles.
    selection : list of dict
        The percentile passes (thresholds, counts).
    negatives_sample : numpy.ndarray or None
        With ``keep_samples``: the sorted negatives (host), all of them when
        ``negatives_sample_exact``, else the random grid sample.
    negatives_sample_exact : bool
        Whether ``negatives_sample`` holds every negative.
    positives : numpy.ndarray or None
        With ``keep_samples``: the sorted positives (host).

    See Also
    --------
    sigref.constellations.metrics.pair_statistics : The dense statistics.

    Examples
    --------
    >>> from sigref.constellations import pair_summary
    >>> from sigref.optim import project_to_sphere
    >>> from sigref.sampling import uniform_sphere
    >>> U = uniform_sphere(0, (8, 4))
    >>> V = project_to_sphere(U + 0.5 * uniform_sphere(1, (8, 4)))
    >>> s = pair_summary(U, V)
    >>> s.n, s.d, s.dtype, s.passes
    (8, 4, 'float64', 1)
    >>> round(s.pos_min, 6), round(s.neg_max, 6), s.retrieval_u2v
    (0.866293, 0.79972, 1.0)
    """

    n: int
    d: int
    dtype: str
    q: float
    pos_min: float
    neg_max: float
    pos_percentile: float
    neg_percentile: float
    pos_mean: float
    neg_mean: float
    retrieval_u2v: float
    retrieval_v2u: float
    xi: float
    xi_unsquared: float
    loss: dict[str, float] | None
    passes: int
    tile: tuple[int, int]
    selection: list[dict[str, Any]] = field(default_factory=list)
    negatives_sample: np.ndarray | None = field(default=None, repr=False)
    negatives_sample_exact: bool = False
    positives: np.ndarray | None = field(default=None, repr=False)

    def statistics(self, form: str = "minmax") -> tuple[float, float]:
        r"""Return the statistics :math:`(P, Q)` of the positives and the negatives in one form.

        .. math::

            (P, Q) = \Big(\min_i s_{ii}, \max_{i \ne j} s_{ij}\Big), \;
            \big(P_q(s_{ii}), P_{100-q}(s_{ij})\big) \text{ or the two means}.

        Parameters
        ----------
        form : {"minmax", "percentile", "mean"}, optional
            Which pair (default ``"minmax"``).

        Returns
        -------
        P : float
            The statistic of the positives.
        Q : float
            The statistic of the negatives.

        Raises
        ------
        ValueError
            If ``form`` is unknown.

        See Also
        --------
        sigref.constellations.metrics.pair_statistics : The same on dense arrays.

        Examples
        --------
        >>> from sigref.constellations import pair_summary
        >>> from sigref.optim import project_to_sphere
        >>> from sigref.sampling import uniform_sphere
        >>> U = uniform_sphere(0, (8, 4))
        >>> V = project_to_sphere(U + 0.5 * uniform_sphere(1, (8, 4)))
        >>> s = pair_summary(U, V)
        >>> [round(v, 6) for v in s.statistics("mean")]
        [0.885072, -0.055996]
        """
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        return {"minmax": (self.pos_min, self.neg_max), "percentile": (self.pos_percentile, self.neg_percentile),
                "mean": (self.pos_mean, self.neg_mean)}[form]

    def margin_and_bias(self, form: str = "minmax") -> tuple[float, float]:
        r"""Return the margin and the relative bias in one form.

        .. math::

            m = \frac{P - Q}{2}, \qquad b_{rel} = \frac{P + Q}{2},

        with :math:`(P, Q)` from :meth:`statistics`: with ``"minmax"`` the exact :math:`m^*` and
        :math:`b^*_{rel}` (:math:`m^* < 0`: no constellation) [1]_.

        Parameters
        ----------
        form : {"minmax", "percentile", "mean"}, optional
            Which form (default ``"minmax"``).

        Returns
        -------
        m : float
            The margin.
        b_rel : float
            The relative bias.

        Raises
        ------
        ValueError
            If ``form`` is unknown.

        See Also
        --------
        sigref.constellations.metrics.margin_and_bias : The same on dense arrays.

        References
        ----------

        .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
           Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

        Examples
        --------
        >>> from sigref.constellations import pair_summary
        >>> from sigref.optim import project_to_sphere
        >>> from sigref.sampling import uniform_sphere
        >>> U = uniform_sphere(0, (8, 4))
        >>> V = project_to_sphere(U + 0.5 * uniform_sphere(1, (8, 4)))
        >>> s = pair_summary(U, V)
        >>> [round(v, 6) for v in s.margin_and_bias()]
        [0.033287, 0.833006]
        """
        p, q = self.statistics(form)
        return (p - q) / 2, (p + q) / 2

    def admissible_bias_interval(self, m: float = 0.0) -> tuple[float, float]:
        r"""Find every relative bias that makes the pairs an :math:`(m, b_{rel})`-constellation.

        .. math::

            \Big[\max_{i \ne j} s_{ij} + m, \; \min_i s_{ii} - m\Big],

        empty (lo > hi) when :math:`m > m^*`.

        Parameters
        ----------
        m : float, optional
            Margin, a finite number >= 0 (default 0).

        Returns
        -------
        lo : float
            The smallest admissible :math:`b_{rel}`.
        hi : float
            The largest admissible :math:`b_{rel}`.

        Raises
        ------
        ValueError
            If ``m`` is not a finite number >= 0.

        See Also
        --------
        sigref.constellations.metrics.admissible_bias_interval : The same on dense arrays.

        Examples
        --------
        >>> from sigref.constellations import pair_summary
        >>> from sigref.optim import project_to_sphere
        >>> from sigref.sampling import uniform_sphere
        >>> U = uniform_sphere(0, (8, 4))
        >>> V = project_to_sphere(U + 0.5 * uniform_sphere(1, (8, 4)))
        >>> s = pair_summary(U, V)
        >>> [round(v, 6) for v in s.admissible_bias_interval()]
        [0.79972, 0.866293]
        """
        if not (isinstance(m, (int, float)) and not isinstance(m, bool) and m >= 0 and math.isfinite(m)):
            raise ValueError(f"m must be a finite number >= 0, got {m!r}")
        return self.neg_max + m, self.pos_min - m

    @property
    def sign_pattern(self) -> bool:
        r"""The sign pattern (24) of Thm 3.6: :math:`s_{ii} > 0` for all :math:`i` and :math:`s_{ij} < 0` for all :math:`i \ne j`.

        Every :math:`(m, b_{rel})`-constellation with :math:`m > |b_{rel}|` has it.

        Returns
        -------
        bool
            ``pos_min > 0`` and ``neg_max < 0``.

        See Also
        --------
        sigref.constellations.gap.sign_pattern_holds : The same on dense arrays.

        Examples
        --------
        >>> from sigref.constellations import pair_summary, regular_simplex
        >>> X = regular_simplex(4).X
        >>> pair_summary(X, X).sign_pattern
        True
        """
        return self.pos_min > 0 and self.neg_max < 0


class _Extremes:
    """Row maxima max_j s_ij and column maxima max_i s_ij of the negatives."""

    def __init__(self, xp: Any, n: int, like: Any) -> None:
        self.xp, self.n = xp, n
        self.colmax = xp.full((n,), -math.inf, dtype=like.dtype, device=array_api_compat.device(like))
        self.rowmax: list[Any] = []
        self._rows: Any = None

    def tile(self, t: Tile) -> None:
        xp = self.xp
        rm = xp.max(t.S, axis=1)
        self._rows = rm if t.c0 == 0 else xp.maximum(self._rows, rm)
        if t.c1 == self.n:
            self.rowmax.append(self._rows)
        cm = xp.maximum(self.colmax[t.c0 : t.c1], xp.max(t.S, axis=0))
        self.colmax = xpx.at(self.colmax, slice(t.c0, t.c1)).set(cm)


class _NegativeLoss:
    """sum_{i!=j} softplus(t s_ij - b) (the -inf positives contribute softplus(-inf) = 0), accumulated in float64."""

    def __init__(self, xp: Any, t: float, bias: float) -> None:
        self.xp, self.t, self.bias, self.opt = xp, t, bias, PairOptions()
        self.total: Any = 0.0

    def tile(self, t: Tile) -> None:
        z = t.S * self.t - self.bias
        f = pass_for(z)(self.xp, z, self.opt, False)[0]
        self.total = self.total + self.xp.sum(f, dtype=self.xp.float64)


def _check(U: Any, V: Any) -> Any:
    xp = namespace(U=U, V=V)
    check_floating(xp, "U", U)
    check_floating(xp, "V", V)
    if U.ndim != 2 or tuple(U.shape) != tuple(V.shape):
        raise ValueError(f"U and V must be paired arrays of one shape (N, d), got U {tuple(U.shape)} and V {tuple(V.shape)}")
    if U.dtype != V.dtype:
        raise TypeError(f"U and V must share a dtype, got {U.dtype} and {V.dtype}")
    if U.shape[0] < 2:
        raise ValueError(f"a constellation needs N >= 2 pairs (there are no negatives otherwise), got N = {U.shape[0]}")
    check_finite(xp, "U", U)
    check_finite(xp, "V", V)
    return xp


def _loss_parameters(t: Any, b: Any, b_rel: Any) -> tuple[float, float] | None:
    if t is None:
        if b is not None or b_rel is not None:
            raise ValueError("b / b_rel need t as well")
        return None
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not (t > 0 and math.isfinite(t)):
        raise ValueError(f"t must be a finite number > 0, got {t!r}")
    if (b is None) == (b_rel is None):
        raise ValueError("give exactly one of b (bias) and b_rel (relative bias) together with t")
    bias = float(b) if b is not None else float(t) * float(b_rel)
    if not math.isfinite(bias):
        raise ValueError(f"the bias must be finite, got b = {b!r}, b_rel = {b_rel!r}")
    return float(t), bias


def _float64_sums(xp: Any, U: Any, V: Any, chunk_size: Any) -> dict[str, Any]:
    """sum_i U_i, sum_i V_i, sum_i s_ii and max ||U_i|| max ||V_j|| (>= every |s_ij| up to rounding), then
    sum_i ||x_i - x_bar||^2 and sum_i ||x_i|| (x_i = U_i - V_i), in float64."""
    n = U.shape[0]
    u_sum = v_sum = 0.0
    pos = 0.0
    norm_u = norm_v = 0.0
    for (_, Ub), (_, Vb) in zip(row_chunks(U, chunk_size), row_chunks(V, chunk_size)):
        u_sum = u_sum + xp.sum(Ub, axis=0)
        v_sum = v_sum + xp.sum(Vb, axis=0)
        pos = pos + xp.sum(xp.vecdot(Ub, Vb))
        norm_u = max(norm_u, float(xp.max(xp.linalg.vector_norm(Ub, axis=-1))))
        norm_v = max(norm_v, float(xp.max(xp.linalg.vector_norm(Vb, axis=-1))))
    x_bar = (u_sum - v_sum) / n
    sq = norms = 0.0
    for (_, Ub), (_, Vb) in zip(row_chunks(U, chunk_size), row_chunks(V, chunk_size)):
        x = Ub - Vb
        c = x - x_bar
        sq = sq + xp.sum(c * c)
        norms = norms + xp.sum(xp.linalg.vector_norm(x, axis=-1))
    return {"neg_sum": float(xp.sum(u_sum * v_sum)) - float(pos), "pos_sum": float(pos), "xi": float(sq) / n,
            "xi_unsquared": float(norms) / n - float(xp.linalg.vector_norm(x_bar)), "bound": norm_u * norm_v}


def pair_summary(U: Array, V: Array, *, q: float = 5.0, t: float | None = None, b: float | None = None, b_rel: float | None = None,
                 chunk_size: int | str | None = "auto", budget: int | None = None, sample_size: int | None = None, seed: int = 0,
                 keep_samples: bool = False, progress: bool = False) -> PairSummary:
    r"""Compute the streaming statistics of paired rows :math:`U, V` in passes over tiles of :math:`U V^\top`.

    Everything the report of ``sigref analyze`` needs from the similarities (module docstring): the
    exact, percentile and mean forms of :math:`(P, Q)`, hence of :math:`m^*` and :math:`b^*_{rel}`
    [1]_; retrieval both ways; :math:`\xi`; optionally the sigmoid loss at :math:`(t, b)`. One pass
    over :math:`S` in the common case; memory O(rows x cols + N d + budget + sample).

    Parameters
    ----------
    U : Array, shape (N, d)
        Embeddings :math:`U_i` as rows, float32 or float64, N >= 2, of any array-API namespace.
    V : Array, shape (N, d)
        Their partners :math:`V_i`: the same namespace, shape and dtype.
    q : float, optional
        Percentile of the robust forms, in [0, 50] (default 5): :math:`P_q` of the positives,
        :math:`P_{100-q}` of the negatives.
    t : float, optional
        Inverse temperature: evaluate the sigmoid loss with logits :math:`t s_{ij} - b`.
    b : float, optional
        Bias :math:`b` of the loss (with ``t``).
    b_rel : float, optional
        Relative bias :math:`b_{rel} = b / t` of the loss, instead of ``b``.
    chunk_size : int or "auto" or None, optional
        Anchors per row block (default ``"auto"``: see :func:`~sigref.constellations.tiles.tile_shape`).
    budget : int, optional
        The exact selection's memory: values collected per pass.
    sample_size : int, optional
        Size of the sample that brackets the percentile.
    seed : int, optional
        Seed of the sample (default 0): reproducible; the result is exact whatever it is.
    keep_samples : bool, optional
        Keep the positives and the sorted sample of negatives, for histograms (default False).
    progress : bool, optional
        Show a progress bar over the tiles (default False).

    Returns
    -------
    PairSummary
        The statistics, in plain Python values.

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries, are not real floating, or differ in dtype.
    ValueError
        If they are not 2-D of one shape, N < 2, or they hold NaN or infinity; if ``q`` is not a
        number in [0, 50]; if ``b``/``b_rel`` come without ``t``, ``t`` is not a finite number > 0,
        not exactly one of ``b`` and ``b_rel`` is given with ``t``, or the bias is not finite.
    RuntimeError
        If the percentile selection does not settle.

    See Also
    --------
    sigref.constellations.metrics.margin_and_bias : The dense computation, batched.
    sigref.constellations.analyze.analyze_pairs : The full report built on it.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    The streamed forms equal the dense ones of :func:`sigref.constellations.metrics.margin_and_bias`:

    >>> from sigref.constellations import margin_and_bias, pair_summary
    >>> from sigref.optim import project_to_sphere
    >>> from sigref.sampling import uniform_sphere
    >>> U = uniform_sphere(0, (8, 4))
    >>> V = project_to_sphere(U + 0.5 * uniform_sphere(1, (8, 4)))
    >>> s = pair_summary(U, V, t=10.0, b=3.0)
    >>> for form in ("minmax", "percentile", "mean"):
    ...     print(form, [round(v, 6) for v in s.margin_and_bias(form)], [round(float(v), 6) for v in margin_and_bias(U, V, form)])
    minmax [0.033287, 0.833006] [0.033287, 0.833006]
    percentile [0.097514, 0.768859] [0.097514, 0.768859]
    mean [0.470534, 0.414538] [0.470534, 0.414538]

    The loss matches :func:`sigref.losses.sigmoid_loss` with the sum reduction:

    >>> from sigref.losses import sigmoid_loss
    >>> print(f"{s.loss['sum']:.6f}", f"{float(sigmoid_loss(U, V, 10.0, 3.0, reduction='sum')):.6f}")
    41.526464 41.526464
    """
    xp = _check(U, V)
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0.0 <= q <= 50.0:
        raise ValueError(f"q (percentile of the positives) must be a number in [0, 50], got {q!r}")
    loss_at = _loss_parameters(t, b, b_rel)
    n, d = U.shape
    host = np.float32 if U.dtype == xp.float32 else np.float64
    m = n * (n - 1)
    budget = budget or _pct.BUDGET * (8 if on_accelerator(U) else 1)
    k_lo, k_hi, gamma = _pct.percentile_indexes(m, 100.0 - q)
    sample = None
    if m > min(budget, _pct.COLLECT_ALL):
        size = sample_size or _pct.sample_size_for(m, k_lo / m, budget, accelerator=on_accelerator(U))
        sample = _pct.sample_negatives(U, V, size, seed=seed)
    sums = _float64_sums(xp, U, V, chunk_size)
    bound = sums["bound"] * (1 + 4 * (d + 2) * float(np.finfo(host).eps))
    selection = _pct.NegativeSelection(n, host, [k_lo, k_hi], budget=budget, sample=sample, bound=bound)
    extremes = _Extremes(xp, n, U)
    loss = None if loss_at is None else _NegativeLoss(xp, *loss_at)
    pos = scan(U, V, [s for s in (extremes, selection, loss) if s is not None], chunk_size=chunk_size, progress=progress,
               desc="analyze: pass 1 over U V^T")
    passes = 1
    while not selection.end_pass():
        passes += 1
        scan(U, V, [selection], chunk_size=chunk_size, progress=progress, desc=f"analyze: pass {passes} (percentile)")

    rowmax = xp.concat(extremes.rowmax)
    pos_sorted = to_host(xp.sort(pos), dtype=host)
    p_lo, p_hi, p_gamma = _pct.percentile_indexes(n, q)
    loss_terms = None
    if loss_at is not None:
        tt, bias = loss_at
        zp = -(pos * tt - bias)
        total = float(loss.total) + float(xp.sum(pass_for(zp)(xp, zp, PairOptions(), False)[0], dtype=xp.float64))
        loss_terms = {"t": tt, "b": bias, "sum": total, "per_anchor": total / n, "mean": total / (n * n)}
    exact_sample = selection.history[0]["collected"] == m if selection.history else False
    return PairSummary(
        n=n, d=d, dtype="float32" if host == np.float32 else "float64", q=float(q),
        pos_min=float(pos_sorted[0]), neg_max=float(xp.max(rowmax)),
        pos_percentile=_pct.lerp(pos_sorted[p_lo], pos_sorted[p_hi], p_gamma),
        neg_percentile=_pct.lerp(selection.values[k_lo], selection.values[k_hi], gamma),
        pos_mean=sums["pos_sum"] / n, neg_mean=sums["neg_sum"] / m,
        retrieval_u2v=int(xp.count_nonzero(pos > rowmax)) / n, retrieval_v2u=int(xp.count_nonzero(pos > extremes.colmax)) / n,
        xi=sums["xi"], xi_unsquared=sums["xi_unsquared"], loss=loss_terms, passes=passes, tile=tile_shape(n, chunk_size, U),
        selection=selection.history,
        negatives_sample=(selection.everything if exact_sample else sample) if keep_samples else None,
        negatives_sample_exact=exact_sample and keep_samples,
        positives=pos_sorted if keep_samples else None,
    )
