r"""The figure of ``sigref analyze --plot`` (Bangachev et al. 2025, arXiv:2509.18552, Sec. 2 and Thm 3.4).

Left: histograms (densities) of the positives :math:`s_{ii}` (all N) and of the negatives
:math:`s_{ij}`, :math:`i \ne j` (all of them when one pass could hold them, else the random grid
sample the percentile selection drew, as the legend says), with :math:`\min_i s_{ii}` and
:math:`\max_{i \ne j} s_{ij}` (their gap is :math:`2 m^*`), :math:`b^*_{rel}` = their midpoint,
and the robust :math:`P_q` / :math:`P_{100-q}`. Right: the :math:`(m, b_{rel})` plane of Thm 3.4
(:func:`~sigref.constellations.region.plot_region`) with the exact, robust and mean points
:math:`(m, b_{rel})` where :math:`m \ge 0` (a configuration with :math:`m^* < 0` is no
constellation and has no point there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sigref.constellations.region import plot_region
from sigref.figures import subplots

__all__ = ["plot_analysis"]


def plot_analysis(analysis: Any, path: str | Path, *, bins: int = 200) -> Path:
    r"""Draw the figure of an analysis (module docstring) and save it.

    Two panels: the histograms of the positives and negatives with :math:`\min_i s_{ii}`,
    :math:`\max_{i \ne j} s_{ij}`, :math:`b^*_{rel}` and the robust percentiles marked, and the
    Thm 3.4 plane with the points :math:`(m, b_{rel})` of the three forms [1]_.

    Parameters
    ----------
    analysis : Analysis
        An :class:`~sigref.constellations.analyze.Analysis` made with ``keep_samples=True``.
    path : str or pathlib.Path
        The image file to write (its format from the suffix); missing parent folders are created.
    bins : int, optional
        Bins of the histogram of the negatives (default 200).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        If the analysis holds no samples (it was made without ``keep_samples=True``).

    See Also
    --------
    sigref.constellations.region.plot_region : The right panel.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    A small constellation built by the recipe of Thm 3.3 of [1]_, drawn:

    >>> import os, tempfile
    >>> from sigref.constellations import cross_polytope, from_code
    >>> from sigref.constellations.analyze import analyze_pairs
    >>> from sigref.constellations.plots import plot_analysis
    >>> c = from_code(cross_polytope(2).X, 0.3, 0.1)
    >>> analysis = analyze_pairs(c.U, c.V, keep_samples=True)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = plot_analysis(analysis, os.path.join(tmp, "fig", "analysis.png"), bins=20)
    ...     path.name, path.stat().st_size > 0
    ('analysis.png', True)
    """
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
