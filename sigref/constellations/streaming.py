"""Every statistic of ``sigref analyze`` in passes over tiles of S = U V^T (Bangachev et al. 2025, arXiv 2509.18552).

For paired rows U_i, V_i with s_ij = <U_i, V_j> (positives s_ii, negatives s_ij, i != j), one pass of
:func:`~sigref.constellations.tiles.scan` yields

* the exact forms (Sec. 2): P = min_i s_ii, Q = max_{i!=j} s_ij, m* = (P - Q)/2, b*_rel = (P + Q)/2;
* the robust forms (Tables 5-6): P = P_q(s_ii), Q = P_{100-q}(s_ij), by exact selection
  (:mod:`~sigref.constellations.percentiles`; a second pass only when its sampled bracket misses);
* top-1 retrieval both ways (Cor. 1): i is retrieved when s_ii > max_{j!=i} s_ij (U->V) and
  s_ii > max_{j!=i} s_ji (V->U); ties count as failures;
* the sigmoid loss (eq. (1)) at (t, b) or (t, b_rel = b/t): sum_i softplus(-(t s_ii - b)) +
  sum_{i!=j} softplus(t s_ij - b), through the loss kernel's elementwise pass (:func:`sigref.fused.pass_for`),

and O(N d) passes in float64 give the means (1/N) sum s_ii and (1/(N(N-1))) sum_{i!=j} s_ij =
(<sum_i U_i, sum_j V_j> - sum_i s_ii) / (N(N-1)), and xi = (1/N) sum ||x_i - x_bar||^2, x_i = U_i - V_i
(Appendix E), with its unsquared variant (1/N) sum ||x_i|| - ||x_bar||.

Memory O(tile + N d); the tiles are computed in the inputs' dtype. **Accuracy in float32** (unit rows,
unit roundoff u = 2^-24): every computed similarity is within gamma_d = d u / (1 - d u) of the exact
one (Higham, *Accuracy and Stability*, eq. (3.5)), e.g. 1.5e-5 for d = 256 (typically sqrt(d) u);
min, max, percentiles and retrieval are exact functions of the computed similarities, so they carry
that error and no more; means and xi are accumulated in float64 from float64 products (relative error
about (d + log2 N) 2^-53); each loss term carries t gamma_d + O(u) and the tile sums are accumulated in
float64. In float64 every result equals the dense computation up to the order of summation.
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

__all__ = ["PairSummary", "pair_summary"]

FORMS = ("minmax", "percentile", "mean")


@dataclass(frozen=True)
class PairSummary:
    """What one configuration's similarities say (Python values; see :func:`pair_summary`).

    ``pos_min``, ``neg_max``: min_i s_ii and max_{i!=j} s_ij; ``pos_percentile``, ``neg_percentile``:
    P_q(s_ii) and P_{100-q}(s_ij) (``numpy.percentile``'s definition); ``pos_mean``, ``neg_mean``;
    ``retrieval_u2v``, ``retrieval_v2u``: top-1 fractions; ``xi``, ``xi_unsquared``; ``loss``:
    ``{"t", "b", "sum", "per_anchor", "mean"}`` or None; ``passes``: full passes over S;
    ``tile``: (rows, cols); ``selection``: the percentile passes (thresholds, counts);
    ``negatives_sample`` (host, sorted) and ``negatives_sample_exact`` (it holds every negative),
    ``positives`` (host) when asked for with ``keep_samples``.
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
        """(P, Q): (min s_ii, max s_ij), (P_q, P_{100-q}) or the two means."""
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        return {"minmax": (self.pos_min, self.neg_max), "percentile": (self.pos_percentile, self.neg_percentile),
                "mean": (self.pos_mean, self.neg_mean)}[form]

    def margin_and_bias(self, form: str = "minmax") -> tuple[float, float]:
        """(m, b_rel) = ((P - Q)/2, (P + Q)/2); with ``"minmax"`` the exact m* and b*_rel (m* < 0: no constellation)."""
        p, q = self.statistics(form)
        return (p - q) / 2, (p + q) / 2

    def admissible_bias_interval(self, m: float = 0.0) -> tuple[float, float]:
        """[max_{i!=j} s_ij + m, min_i s_ii - m]: the b_rel making (U, V) an (m, b_rel)-constellation (empty when m > m*)."""
        if not (isinstance(m, (int, float)) and not isinstance(m, bool) and m >= 0 and math.isfinite(m)):
            raise ValueError(f"m must be a finite number >= 0, got {m!r}")
        return self.neg_max + m, self.pos_min - m

    @property
    def sign_pattern(self) -> bool:
        """The sign pattern (24) of Thm 3.6: s_ii > 0 for all i and s_ij < 0 for all i != j."""
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
        from sigref.fused import PairOptions

        self.xp, self.t, self.bias, self.opt = xp, t, bias, PairOptions()
        self.total: Any = 0.0

    def tile(self, t: Tile) -> None:
        from sigref.fused import pass_for

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


def pair_summary(U: Any, V: Any, *, q: float = 5.0, t: float | None = None, b: float | None = None, b_rel: float | None = None,
                 chunk_size: int | str | None = "auto", budget: int | None = None, sample_size: int | None = None, seed: int = 0,
                 keep_samples: bool = False, progress: bool = False) -> PairSummary:
    """The streaming statistics of paired rows U, V of shape (N, d) (any array-API namespace, float32 or float64).

    Parameters
    ----------
    q : percentile of the robust forms, in [0, 50]: P_q of the positives, P_{100-q} of the negatives.
    t, b, b_rel : evaluate the sigmoid loss with logits t s_ij - b (give b or b_rel = b/t).
    chunk_size : anchors per row block (``"auto"``: see :func:`~sigref.constellations.tiles.tile_shape`).
    budget, sample_size, seed : the exact selection's memory (values collected per pass) and its sampled
        bracket (a fixed seed: reproducible; the result is exact whatever they are).
    keep_samples : keep the positives and the sorted sample of negatives (for histograms).
    progress : a progress bar over the tiles.

    One pass over S in the common case; memory O(rows x cols + N d + budget + sample).
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
        from sigref.fused import PairOptions, pass_for

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
