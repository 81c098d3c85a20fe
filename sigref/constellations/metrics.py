"""Margin, relative bias and xi of paired embeddings (Bangachev et al. 2025, arXiv 2509.18552).

Notation: U_i, V_i in S^{d-1}, s_ij = <U_i, V_j>, i, j in [N]. A family is an
(m, b_rel)-constellation (paper Sec. 2, eq. (2)) when

    s_ii >= b_rel + m  for all i,        s_ij <= b_rel - m  for all i != j.

The largest margin a configuration admits, and the only relative bias reaching it, are

    m*     = (min_i s_ii - max_{i!=j} s_ij) / 2,
    b*_rel = (min_i s_ii + max_{i!=j} s_ij) / 2.

Real models are summarised with robust forms (paper Tables 5, 6): the q-th percentile of the
positives and the (100-q)-th of the negatives (q = 5), or the two means, in place of min and max.

Every function accepts leading batch axes ``(..., N, d)`` and follows the namespace of its inputs.
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

from sigref._arrays import check_finite, check_floating, namespace, param

__all__ = [
    "FORMS",
    "XI_FORMS",
    "admissible_bias_interval",
    "certified_constellation",
    "effective_relative_bias",
    "is_constellation",
    "margin",
    "margin_and_bias",
    "optimal_relative_bias",
    "pair_statistics",
    "retrieval_accuracy",
    "retrieval_is_robust",
    "batch_retrieval_fraction",
    "similarities",
    "xi",
]

FORMS = ("minmax", "percentile", "mean")
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


def similarities(U: Any, V: Any) -> Any:
    """S with S_ij = s_ij = <U_i, V_j>, shape ``(..., N, N)``."""
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


def pair_statistics(U: Any, V: Any, form: str = "minmax", q: float = 5.0) -> tuple[Any, Any]:
    """(positive statistic, negative statistic) of the chosen form.

    minmax: (min_i s_ii, max_{i!=j} s_ij); percentile: (P_q(s_ii), P_{100-q}(s_ij));
    mean: (mean_i s_ii, mean_{i!=j} s_ij). Batch shape ``(...)``.
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


def margin_and_bias(U: Any, V: Any, form: str = "minmax", q: float = 5.0) -> tuple[Any, Any]:
    """(m*, b*_rel) = ((P - Q)/2, (P + Q)/2) with (P, Q) from :func:`pair_statistics`.

    With ``form="minmax"`` these are the exact margin and optimal relative bias of Sec. 2;
    m* < 0 means the configuration is not a constellation.
    """
    pos, neg = pair_statistics(U, V, form, q)
    return (pos - neg) / 2, (pos + neg) / 2


def margin(U: Any, V: Any, form: str = "minmax", q: float = 5.0) -> Any:
    """m* = (min_i s_ii - max_{i!=j} s_ij) / 2 (or its robust form)."""
    return margin_and_bias(U, V, form, q)[0]


def optimal_relative_bias(U: Any, V: Any, form: str = "minmax", q: float = 5.0) -> Any:
    """b*_rel = (min_i s_ii + max_{i!=j} s_ij) / 2 (or its robust form)."""
    return margin_and_bias(U, V, form, q)[1]


def is_constellation(U: Any, V: Any, m: Any, b_rel: Any, *, atol: float = 0.0) -> Any:
    """Whether (U, V) is an (m, b_rel)-constellation, eq. (2), up to ``atol``; boolean of batch shape.

    s_ii >= b_rel + m - atol for all i and s_ij <= b_rel - m + atol for all i != j, with m >= 0.
    """
    xp = _check_pair(U, V)
    m_arr = param(xp, "m", m, U, nonnegative=True)
    b_arr = param(xp, "b_rel", b_rel, U)
    pos, neg = pair_statistics(U, V)
    return xp.logical_and(pos >= b_arr + m_arr - atol, neg <= b_arr - m_arr + atol)


def admissible_bias_interval(U: Any, V: Any, m: Any) -> tuple[Any, Any]:
    """[lo, hi] = [max_{i!=j} s_ij + m, min_i s_ii - m]: every b_rel in it makes (U, V) an (m, b_rel)-constellation.

    The interval is empty (lo > hi) exactly when m > m*; it is the single point b*_rel at m = m*.
    """
    xp = _check_pair(U, V)
    m_arr = param(xp, "m", m, U, nonnegative=True)
    pos, neg = pair_statistics(U, V)
    return neg + m_arr, pos - m_arr


def effective_relative_bias(t: Any, b: Any = None, *, b_rel: Any = None) -> Any:
    """The decision threshold b/t of a loss parameterisation (logits t s - b).

    In the bias parameterisation (t, b) it is b/t; in the relative-bias one (Def. 1) it is b_rel itself.
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


def xi(U: Any, V: Any, form: str = "centered") -> Any:
    """xi = (1/N) sum ||x_i||^2 - ||x_bar||^2 with x_i = U_i - V_i (Appendix E).

    Equal forms: ``"mean_norm"`` as written; ``"centered"`` = (1/N) sum ||x_i - x_bar||^2 (the default:
    no cancellation, never negative);
    ``"pairwise"`` = (1/(2N^2)) sum_{i,j} ||x_i - x_j||^2 (through the Gram matrix of the x_i).
    ``"unsquared"`` is the different quantity the repository's XiExperiment plots:
    (1/N) sum ||x_i|| - ||x_bar||. xi = 0 iff all U_i - V_i are equal (Cor. 2).
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


def retrieval_accuracy(U: Any, V: Any) -> tuple[Any, Any]:
    """Fractions of i whose nearest neighbour is the partner: argmax_j s_ij = i (U->V) and argmax_j s_ji = i (V->U).

    Ties count as failures (a tie is not a unique nearest neighbour, Cor. 1).
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


def retrieval_is_robust(U: Any, V: Any, eps: float) -> Any:
    """Approximate-NN guarantee (Cor. 1): if every returned score is within eps of the true s_ij,
    retrieval of every partner stays correct whenever eps < m* (gaps s_ii - s_ij >= 2 m* close by at most 2 eps).
    """
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps >= 0:
        raise ValueError(f"eps must be a number >= 0, got {eps!r}")
    return margin(U, V) > eps


def batch_retrieval_fraction(xi_p: float, N: int, B: int, *, careful: bool = True) -> float:
    """Prop. 1: with expected batch loss <= xi_P at batch size B (sqrt(N) < B < N), at least a fraction
    1 - N xi_P / (B (B-1)) of anchors retrieve their partner; ``careful=True`` keeps the factor 1/log 2
    that the paper drops (Markov at level log 2). Clipped at 0.
    """
    if not (isinstance(N, int) and isinstance(B, int)) or not (math.sqrt(N) < B < N):
        raise ValueError(f"Prop. 1 needs integers with sqrt(N) < B < N, got N={N!r}, B={B!r}")
    if not xi_p >= 0:
        raise ValueError(f"xi_p must be >= 0, got {xi_p!r}")
    bad = N * xi_p / (B * (B - 1)) / (math.log(2.0) if careful else 1.0)
    return max(0.0, 1.0 - bad)


def certified_constellation(loss_sum: float, t: float, b: float) -> tuple[float, float]:
    """Thm 3.1, quantitative form: L_Sig(U, V; t, b) = L < log 2 (sum reduction) implies an
    (kappa/t, b/t)-constellation with kappa = log(1/(e^L - 1)). Returns (kappa/t, b/t).
    Under the N^2-mean reduction pass N^2 * L_mean.
    """
    if not (t > 0 and math.isfinite(t)):
        raise ValueError(f"t must be a finite number > 0, got {t!r}")
    if not 0 < loss_sum < math.log(2.0):
        raise ValueError(f"loss_sum must lie in (0, log 2) to certify a constellation, got {loss_sum!r}")
    kappa = -math.log(math.expm1(loss_sum))
    return kappa / t, b / t
