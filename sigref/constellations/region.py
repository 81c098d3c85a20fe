"""The feasible (m, b_rel) region of constellations (Bangachev et al. 2025, arXiv 2509.18552, Thm 3.4, Fig. 2).

If the averages satisfy (1/N) sum s_ii >= m + b_rel and (1/(N(N-1))) sum_{i!=j} s_ij <= b_rel - m, then

    m + b_rel <= 1        and        (3 - 4/N) m <= 1 + b_rel.                 (5)

As N -> infinity the region is the triangle (0,-1), (1/2,1/2), (0,1); its interior (m + b_rel < 1,
3m < 1 + b_rel, m >= 0) is where exponentially large constellations exist (Thm 3.3). Outside it,
m + b_rel > 1 admits no constellation at all, and 3m > 1 + b_rel caps N <= 4m / (3m - 1 - b_rel)
in every dimension. The modality-gap sub-region m > |b_rel| (Thm 3.6) is the triangle
(0,0), (1/2,1/2), (1/4,-1/4).

Functions take Python floats (and return Python values) or arrays of any array-API namespace
(and return arrays of that namespace), broadcasting m against b_rel.
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

from sigref.figures import subplots

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


def in_feasible_region(m: Any, b_rel: Any, N: int | None = None) -> Any:
    """Membership of (m, b_rel) in the region.

    ``N=None``: the open asymptotic region where exponentially many pairs exist (Thm 3.3 / 3.4):
    m + b_rel < 1 and 3m < 1 + b_rel. With ``N``: the necessary conditions (5) for N pairs,
    m + b_rel <= 1 and (3 - 4/N) m <= 1 + b_rel.
    """
    xp, m_a, b_a, scalar = _prepare(m, b_rel)
    if N is None:
        inside = xp.logical_and(m_a + b_a < 1, 3 * m_a < 1 + b_a)
    else:
        if isinstance(N, bool) or not isinstance(N, int) or N < 1:
            raise ValueError(f"N must be an integer >= 1, got {N!r}")
        inside = xp.logical_and(m_a + b_a <= 1, (3 - 4 / N) * m_a <= 1 + b_a)
    return _out(inside, scalar)


def in_modality_gap_region(m: Any, b_rel: Any) -> Any:
    """m > |b_rel| inside the region: the sign pattern s_ii > 0 > s_ij that Thm 3.6 needs."""
    xp, m_a, b_a, scalar = _prepare(m, b_rel)
    ok = xp.logical_and(m_a > xp.abs(b_a), xp.logical_and(m_a + b_a <= 1, 3 * m_a <= 1 + b_a))
    return _out(ok, scalar)


def n_cap(m: Any, b_rel: Any) -> Any:
    """Largest N allowed by (5) in any dimension, as a real number.

    +inf where 3m <= 1 + b_rel and m + b_rel <= 1 (no cap from Thm 3.4);
    4m / (3m - 1 - b_rel) where 3m > 1 + b_rel and m + b_rel <= 1;
    0 where m + b_rel > 1 (no constellation for any N >= 1).
    """
    xp, m_a, b_a, scalar = _prepare(m, b_rel)
    excess = 3 * m_a - (1 + b_a)  # as in_feasible_region groups it: 3m - 1 - b loses a tiny m when b = -1
    safe = xp.where(excess > 0, excess, xp.ones_like(excess))
    cap = xp.where(excess > 0, 4 * m_a / safe, xp.full_like(excess, math.inf))
    cap = xp.where(m_a + b_a > 1, xp.zeros_like(cap), cap)
    return _out(cap, scalar)


def max_pairs(m: float, b_rel: float) -> int | float:
    """floor of :func:`n_cap` for Python floats (``math.inf`` when there is no cap).

    Examples (the Thm 3.4 cap of arXiv 2509.18552): (0.5, 0) -> 4; (0.4, 0) -> 8; (0.5, 0.25) -> 8.
    """
    cap = n_cap(float(m), float(b_rel))
    return cap if math.isinf(cap) else int(math.floor(cap * (1 + 1e-12)))


def bias_interval(m: float, N: int | None = None) -> tuple[float, float]:
    """Relative biases b_rel admitted by (5) at margin m: [max(-1, (3 - 4/N) m - 1), 1 - m] (N = None: N -> infinity).

    Empty (lo > hi) when m is too large: m > 1/2 asymptotically, m > N/(2(N-1)) for N pairs.
    """
    if isinstance(m, bool) or not isinstance(m, (int, float)) or not (0 <= m <= 1):
        raise ValueError(f"m must be a number in [0, 1], got {m!r}")
    slope = 3.0 if N is None else 3.0 - 4.0 / N
    return max(-1.0, slope * m - 1.0), 1.0 - m


def simplex_point(N: int) -> tuple[float, float]:
    """(m*, b*_rel) of U = V = the regular N-point simplex: (N/(2(N-1)), (N-2)/(2(N-1))); both parts of (5) are equalities."""
    if isinstance(N, bool) or not isinstance(N, int) or N < 2:
        raise ValueError(f"N must be an integer >= 2, got {N!r}")
    return N / (2 * (N - 1)), (N - 2) / (2 * (N - 1))


def plot_region(ax: Any = None, *, points: dict[str, tuple[Any, Any]] | None = None, finite_N: tuple[int, ...] = (4, 10)) -> Any:
    """Figure of the (m, b_rel) plane: the asymptotic region (green), its complement (red), the
    modality-gap sub-region (hatched), the N-pair boundaries (3 - 4/N) m = 1 + b_rel, and optional
    labelled scatter ``points = {label: (m_values, b_values)}``. Returns the matplotlib Axes.
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
