"""The figure of ``sigref analyze --plot`` (Bangachev et al. 2025, arXiv 2509.18552, Sec. 2 and Thm 3.4).

Left: histograms (densities) of the positives s_ii (all N) and of the negatives s_ij, i != j (all of
them when one pass could hold them, else the random grid sample the percentile selection drew, as
the legend says), with min_i s_ii and max_{i!=j} s_ij (their gap is 2 m*), b*_rel = their midpoint,
and the robust P_q / P_{100-q}. Right: the (m, b_rel) plane of Thm 3.4
(:func:`~sigref.constellations.region.plot_region`) with the exact, robust and mean points (m, b_rel)
where m >= 0 (a configuration with m* < 0 is no constellation and has no point there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sigref.constellations.region import plot_region
from sigref.figures import subplots

__all__ = ["plot_analysis"]


def plot_analysis(analysis: Any, path: str | Path, *, bins: int = 200) -> Path:
    """Draw the figure of an :class:`~sigref.constellations.analyze.Analysis` made with ``keep_samples=True`` to ``path``."""
    s, rep = analysis.summary, analysis.report
    if s.positives is None or s.negatives_sample is None:
        raise ValueError("the analysis holds no samples to draw: run analyze_pairs(..., keep_samples=True)")
    fig, (ax, ax_region) = subplots(1, 2, figsize=(12, 5))
    neg, pos = s.negatives_sample.astype(np.float64), s.positives.astype(np.float64)
    lo, hi = float(min(neg[0], pos[0])), float(max(neg[-1], pos[-1]))
    edges = np.linspace(lo, hi if hi > lo else lo + 1e-6, bins + 1)
    what = f"all {neg.size:,}" if s.negatives_sample_exact else f"{neg.size:,} sampled of {s.n * (s.n - 1):,}"
    ax.hist(neg, bins=edges, density=True, alpha=0.55, color="#c62828", label=f"negatives s_ij, i != j ({what})")
    pos_edges = np.linspace(edges[0], edges[-1], min(bins, max(10, int(np.sqrt(pos.size)))) + 1)
    ax.hist(pos, bins=pos_edges, density=True, alpha=0.55, color="#1565c0", label=f"positives s_ii (all {pos.size:,})")
    m_star, b_star = rep["m_minmax"], rep["b_rel_minmax"]
    ax.axvline(s.pos_min, color="#0d47a1", lw=1.2, label=f"min s_ii = {s.pos_min:.4g}")
    ax.axvline(s.neg_max, color="#b71c1c", lw=1.2, label=f"max s_ij = {s.neg_max:.4g}  (m* = {m_star:.4g})")
    ax.axvline(b_star, color="black", ls="--", lw=1.2, label=f"b*_rel = {b_star:.4g}")
    ax.axvline(s.pos_percentile, color="#0d47a1", ls=":", lw=1, label=f"P{s.q:g}(s_ii) = {s.pos_percentile:.4g}")
    ax.axvline(s.neg_percentile, color="#b71c1c", ls=":", lw=1, label=f"P{100 - s.q:g}(s_ij) = {s.neg_percentile:.4g}")
    ax.set_xlabel("similarity <U_i, V_j>")
    ax.set_ylabel("density")
    ax.set_title(f"N = {s.n:,} pairs, d = {s.d} ({s.dtype})")
    ax.legend(fontsize=7, loc="upper left")
    points = {}
    for form, label in (("minmax", "(m*, b*_rel)"), ("percentile", f"P{s.q:g}/P{100 - s.q:g}"), ("mean", "means")):
        m, b = rep[f"m_{form}"], rep[f"b_rel_{form}"]
        if m >= 0 and abs(b) <= 1:
            points[label] = (m, b)
    plot_region(ax_region, points=points)
    ax_region.set_title("Thm 3.4 region" + ("" if m_star >= 0 else f" (m* = {m_star:.3g} < 0: no constellation)"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path
