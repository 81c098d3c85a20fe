r"""``sigref analyze``: the constellation geometry of a user's own paired embeddings (arXiv:2509.18552).

For unit-norm rows :math:`U_i, V_i` (row i of U pairs with row i of V) it reports the margin
:math:`m^*` and the optimal relative bias :math:`b^*_{rel}` in the exact (min/max), robust
percentile (:math:`P_q` / :math:`P_{100-q}`) and mean forms of the paper's Tables 5-6,
:math:`\xi` (Appendix E), the sigmoid loss at a given :math:`(t, b)` or :math:`(t, b_{rel})`,
retrieval accuracy both ways and the approximate-retrieval tolerance (:math:`\epsilon < m^*`,
Cor. 1), homogeneous separability of the two modalities and the Thm 3.6 direction (with
certificates, :mod:`~sigref.constellations.separability`), and where :math:`(m^*, b^*_{rel})` sits
in the feasible region (Thm 3.4) with the capacity exponents and finite-d bounds there (Thms 3.3,
3.5).

The similarities are streamed in tiles of :math:`U V^\top`
(:mod:`~sigref.constellations.streaming`): memory :math:`O(\text{tile} + N d)` in the inputs'
dtype, so N in the hundreds of thousands fits a laptop and :math:`N = 10^6` a GPU.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from sigref._arrays import to_host
from sigref.backend import Backend
from sigref.constellations import bounds, metrics, region
from sigref.constellations.io import UNIT_TOL, check_pair, describe, load_pair
from sigref.constellations.separability import GapDirection, SeparationCheck, gap_direction, homogeneous_separation
from sigref.constellations.streaming import FORMS, PairSummary, pair_summary
from sigref.types import Array

__all__ = ["UNIT_TOL", "Analysis", "analyze", "analyze_pairs", "check_pair", "format_report", "load_pair", "to_json"]


@dataclass(frozen=True)
class Analysis:
    """Everything :func:`analyze_pairs` found.

    A frozen dataclass: the report and the three objects it was made from.

    Attributes
    ----------
    report : dict of str to object
        The report, in plain Python values (see :func:`analyze_pairs`); :func:`format_report` prints
        it, :func:`to_json` serialises it.
    summary : PairSummary
        The streamed statistics of the similarities.
    separation : SeparationCheck
        Homogeneous separability of the two modalities.
    direction : GapDirection
        The Thm 3.6 direction.

    See Also
    --------
    analyze : Only the report.

    Examples
    --------
    >>> from sigref.constellations import cross_polytope, from_code
    >>> c = from_code(cross_polytope(2).X, 0.3, 0.1)  # m* = 0.35, b*_rel = 0.05
    >>> from sigref.constellations.analyze import analyze_pairs
    >>> a = analyze_pairs(c.U, c.V)
    >>> round(a.summary.pos_min - a.summary.neg_max, 6), a.separation.separable, a.direction.holds
    (0.7, True, True)
    """

    report: dict[str, Any]
    summary: PairSummary
    separation: SeparationCheck
    direction: GapDirection


def _place(U: Any, V: Any, backend: Backend | None, dtype: str | None) -> tuple[Any, Any, str]:
    """U, V on ``backend`` (default: where they are; NumPy for host arrays) in ``dtype`` (default: theirs)."""
    if dtype not in (None, "float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    if backend is None:
        xp = array_api_compat.array_namespace(U, V)
        if dtype is not None and U.dtype != getattr(xp, dtype):
            U, V = xp.astype(U, getattr(xp, dtype)), xp.astype(V, getattr(xp, dtype))
        name = "numpy" if isinstance(U, np.ndarray) else xp.__name__.split(".")[-1]
        return U, V, name
    xp = backend.xp
    host = [u if isinstance(u, np.ndarray) else to_host(u, None if dtype is None else np.dtype(dtype)) for u in (U, V)]
    target = getattr(xp, dtype or ("float32" if host[0].dtype == np.float32 else "float64"))
    with warnings.catch_warnings():  # a read-only memory map is shared, never written
        warnings.filterwarnings("ignore", message=".*not writable.*")
        placed = [backend.asarray(h, dtype=target) for h in host]
    return placed[0], placed[1], backend.name


def analyze_pairs(U: Array, V: Array, *, t: float | None = None, b: float | None = None, b_rel: float | None = None, q: float = 5.0,
                  normalize: bool = False, backend: Backend | None = None, dtype: str | None = None, chunk_size: int | str = "auto",
                  time_budget_s: float = 120.0, seed: int = 0, keep_samples: bool = False, progress: bool = False) -> Analysis:
    r"""Analyse paired embeddings: margin, relative bias, loss, retrieval, modality gap and region.

    For U, V of shape (N, d) (NumPy, memory-mapped or any array-API array), after the checks of
    :func:`~sigref.constellations.io.check_pair`, the report holds (module docstring; [1]_):

    * ``m_minmax``, ``b_rel_minmax`` (the exact :math:`m^*`, :math:`b^*_{rel}`), ``m_percentile``,
      ``b_rel_percentile``, ``m_mean``, ``b_rel_mean``, with the statistics ``pos_min``, ``neg_max``,
      ``pos_percentile``, ``neg_percentile``, ``pos_mean``, ``neg_mean``;
    * ``is_constellation`` (:math:`m^* \ge 0`), ``admissible_b_rel`` (the interval at margin 0),
      ``xi``, ``xi_unsquared``, ``retrieval_u2v``, ``retrieval_v2u``, ``retrieval_tolerance``;
    * with ``t``: ``t``, ``b``, ``b_over_t``, ``loss_sum``, ``loss_per_anchor``, ``loss_mean``, and when
      the summed loss is below :math:`\log 2` the Thm 3.1 certificate ``certified_m``,
      ``certified_b_rel``;
    * ``separable``, ``separation_margin``, ``separation`` (LP value, certificate, method),
      ``sign_pattern_24``, ``thm36_min_h_u``, ``thm36_v_negative``, ``thm36_support`` and ``thm36``;
    * ``region``: where :math:`(m^*, b^*_{rel})` lies in the Thm 3.4 region, with ``n_cap`` and, inside
      it, ``alpha``, the exponents ``E_lower_nats``, ``E_upper_nats`` and the finite-d bounds
      ``log_N_lower_d``, ``log_N_upper_d``;
    * ``N``, ``d``, ``backend``, ``dtype``, ``input``, ``tile``, ``passes``, ``q``,
      ``percentile_selection`` and the timings ``seconds``.

    Parameters
    ----------
    U : Array, shape (N, d)
        The first modality, row i paired with row i of ``V``.
    V : Array, shape (N, d)
        Its partners.
    t : float, optional
        Inverse temperature: with ``b`` or ``b_rel``, evaluate the sigmoid loss, logits
        :math:`t \langle U_i, V_j \rangle - b`.
    b : float, optional
        Bias of the loss.
    b_rel : float, optional
        Relative bias of the loss (:math:`b = t\, b_{rel}`), instead of ``b``.
    q : float, optional
        Percentile of the robust forms, in [0, 50] (default 5).
    normalize : bool, optional
        Scale rows to norm 1 instead of rejecting non-unit rows (default False).
    backend : Backend, optional
        Where to compute (default: where the inputs are; NumPy for host arrays).
    dtype : {"float32", "float64"}, optional
        Precision of the computation (default: the inputs'; integers in float64).
    chunk_size : int or "auto", optional
        Anchors per row block of the tiles (default ``"auto"``).
    time_budget_s : float, optional
        Seconds for the two separability checks together (default 120).
    seed : int, optional
        Seed of the percentile sample (default 0; the result is exact whatever it is).
    keep_samples : bool, optional
        Keep what a histogram needs (for :func:`~sigref.constellations.plots.plot_analysis`).
    progress : bool, optional
        Show progress bars (default False).

    Returns
    -------
    Analysis
        The report with the summary and the two separability answers.

    Raises
    ------
    TypeError
        If an input does not hold real numbers, or the inputs come from different array libraries.
    ValueError
        If the inputs fail :func:`~sigref.constellations.io.check_pair`, ``dtype`` is not float32 or
        float64, or ``q``, ``t``, ``b``, ``b_rel`` or ``chunk_size`` is invalid.
    RuntimeError
        If an LP or the percentile selection fails.

    See Also
    --------
    analyze : The report alone.
    format_report : The report as text.
    sigref.constellations.streaming.pair_summary : The statistics of the similarities.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import cross_polytope, from_code
    >>> c = from_code(cross_polytope(2).X, 0.3, 0.1)  # m* = 0.35, b*_rel = 0.05
    >>> from sigref.constellations.analyze import analyze_pairs
    >>> rep = analyze_pairs(c.U, c.V, t=20.0, b_rel=0.05).report
    >>> round(rep["m_minmax"], 6), round(rep["b_rel_minmax"], 6), rep["is_constellation"]
    (0.35, 0.05, True)
    >>> round(rep["certified_m"], 6), rep["separable"], rep["region"]["modality_gap_region"]
    (0.225504, True, True)
    """
    clock = time.perf_counter()
    U, V = check_pair(U, V, normalize=normalize)
    held = describe(U)
    U, V, name = _place(U, V, backend, dtype)
    n, d = U.shape
    summary = pair_summary(U, V, q=q, t=t, b=b, b_rel=b_rel, chunk_size=chunk_size, seed=seed, keep_samples=keep_samples,
                           progress=progress)
    streamed = time.perf_counter()
    rep: dict[str, Any] = {"N": n, "d": d, "backend": f"{name} ({summary.dtype})", "dtype": summary.dtype, "input": held,
                           "tile": list(summary.tile), "passes": summary.passes, "q": summary.q}
    for form in FORMS:
        rep[f"m_{form}"], rep[f"b_rel_{form}"] = summary.margin_and_bias(form)
    rep.update(pos_min=summary.pos_min, neg_max=summary.neg_max, pos_percentile=summary.pos_percentile,
               neg_percentile=summary.neg_percentile, pos_mean=summary.pos_mean, neg_mean=summary.neg_mean)
    m_star, b_star = rep["m_minmax"], rep["b_rel_minmax"]
    rep["is_constellation"] = m_star >= 0
    rep["admissible_b_rel"] = list(summary.admissible_bias_interval(0.0))
    rep["xi"], rep["xi_unsquared"] = summary.xi, summary.xi_unsquared
    rep["retrieval_u2v"], rep["retrieval_v2u"] = summary.retrieval_u2v, summary.retrieval_v2u
    rep["retrieval_tolerance"] = max(m_star, 0.0)
    if summary.loss is not None:
        loss = summary.loss
        rep["t"], rep["b"], rep["b_over_t"] = loss["t"], loss["b"], loss["b"] / loss["t"]
        rep.update(loss_sum=loss["sum"], loss_per_anchor=loss["per_anchor"], loss_mean=loss["mean"])
        if 0 < loss["sum"] < math.log(2.0):
            rep["certified_m"], rep["certified_b_rel"] = metrics.certified_constellation(loss["sum"], loss["t"], loss["b"])
    rep["percentile_selection"] = summary.selection

    sep = homogeneous_separation(U, V, time_budget_s=time_budget_s / 2, chunk_size=chunk_size)
    rep["separable"], rep["separation_margin"] = sep.separable, (sep.margin if sep.margin is not None else sep.lp_value)
    rep["separation"] = {"lp_value": sep.lp_value, "optimal": sep.optimal, "certificate": sep.certificate, "method": sep.method,
                         "reason": sep.reason}
    rep["sign_pattern_24"] = summary.sign_pattern
    direction = gap_direction(U, V, time_budget_s=time_budget_s / 2, chunk_size=chunk_size)
    rep["thm36_min_h_u"] = direction.min_u if direction.exists else None
    rep["thm36_v_negative"], rep["thm36_support"] = direction.n_negative, direction.support
    rep["thm36"] = {"exists": direction.exists, "holds": direction.holds, "guaranteed": direction.guaranteed,
                    "optimal": direction.optimal, "certificate": direction.certificate, "method": direction.method,
                    "reason": direction.reason}
    rep["region"] = _region(m_star, b_star, n, d)
    rep["seconds"] = {"similarities": streamed - clock, "separability": time.perf_counter() - streamed,
                      "total": time.perf_counter() - clock}
    return Analysis(rep, summary, sep, direction)


def analyze(U: Array, V: Array, **options: Any) -> dict[str, Any]:
    """Analyse paired embeddings and return the report of :func:`analyze_pairs`.

    ``analyze(U, V, **options)`` is ``analyze_pairs(U, V, **options).report``: the form the
    command line prints (:func:`format_report`) and writes (:func:`to_json`).

    Parameters
    ----------
    U : Array, shape (N, d)
        The first modality.
    V : Array, shape (N, d)
        Its partners.
    **options
        The keyword arguments of :func:`analyze_pairs`.

    Returns
    -------
    dict of str to object
        The report, in plain Python values.

    Raises
    ------
    TypeError
        As :func:`analyze_pairs`.
    ValueError
        As :func:`analyze_pairs`.
    RuntimeError
        As :func:`analyze_pairs`.

    See Also
    --------
    analyze_pairs : The report with the objects behind it.
    to_json : The report as JSON.

    Examples
    --------
    >>> from sigref.constellations import cross_polytope, from_code
    >>> c = from_code(cross_polytope(2).X, 0.3, 0.1)  # m* = 0.35, b*_rel = 0.05
    >>> from sigref.constellations.analyze import analyze
    >>> rep = analyze(c.U, c.V)
    >>> rep["N"], rep["d"], round(rep["xi"], 6), rep["retrieval_u2v"]
    (4, 3, 0.0, 1.0)
    """
    return analyze_pairs(U, V, **options).report


def _region(m: float, b: float, n: int, d: int) -> dict[str, Any]:
    info: dict[str, Any] = {}
    if m < 0:
        info["where"] = "not a constellation (m* < 0): some non-matching pair is more similar than some matching pair"
        return info
    b = max(-1.0, min(1.0, b))
    info["in_region_for_N"] = bool(region.in_feasible_region(m, b, N=n))
    info["in_asymptotic_region"] = bool(region.in_feasible_region(m, b))
    info["modality_gap_region"] = bool(region.in_modality_gap_region(m, b))
    info["n_cap"] = region.n_cap(m, b)
    if info["in_asymptotic_region"] and m > 0:
        info["alpha"] = bounds.alpha(m, b)
        info["E_lower_nats"], info["E_upper_nats"] = bounds.exponent_lower(m, b), bounds.exponent_upper(m, b)
        if d >= 3:
            info["log_N_lower_d"], info["log_N_upper_d"] = bounds.log_n_lower(d, m, b), bounds.log_n_upper(d, m, b)
        info["where"] = "inside the region where exponentially many pairs fit (m + b < 1, 3m < 1 + b)"
    elif abs(3 * m - 1 - b) <= 1e-9:
        info["where"] = ("on the boundary 3m = 1 + b_rel (alpha = 0): both capacity exponents vanish, N grows "
                         "subexponentially in d (e.g. 2(d-1) for the cross-polytope construction)")
    else:
        info["where"] = "outside the asymptotic region: the number of pairs is capped (Thm 3.4)"
    return info


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else ("inf" if x > 0 else "-inf" if x < 0 else "nan")
    if isinstance(x, (np.integer, np.bool_)):
        return x.item()
    return x


def to_json(rep: dict[str, Any]) -> str:
    """Serialise a report as JSON.

    NumPy scalars become Python numbers, tuples lists, and infinite values (e.g. ``n_cap`` where
    nothing caps N) the strings ``"inf"`` and ``"-inf"`` (NaN becomes ``"nan"``), so the output is
    strict JSON.

    Parameters
    ----------
    rep : dict of str to object
        A report of :func:`analyze`.

    Returns
    -------
    str
        The JSON text, indented by one space.

    See Also
    --------
    format_report : The report as text for people.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations.analyze import to_json
    >>> print(to_json({"n_cap": float("inf"), "m": np.float64(0.35), "tile": (4, 4)}))
    {
     "n_cap": "inf",
     "m": 0.35,
     "tile": [
      4,
      4
     ]
    }
    """
    return json.dumps(_plain(rep), indent=1)


def format_report(rep: dict[str, Any]) -> str:
    r"""Format a report of :func:`analyze` as human-readable text.

    Sections: margin and relative bias (the three forms), :math:`\xi`, retrieval, the loss and its
    certificate (with ``t``), the modality gap, the feasible region, and the time spent.

    Parameters
    ----------
    rep : dict of str to object
        A report of :func:`analyze`.

    Returns
    -------
    str
        The text, one line per item.

    See Also
    --------
    to_json : The report as JSON.

    Examples
    --------
    >>> from sigref.constellations import cross_polytope, from_code
    >>> c = from_code(cross_polytope(2).X, 0.3, 0.1)  # m* = 0.35, b*_rel = 0.05
    >>> from sigref.constellations.analyze import analyze, format_report
    >>> text = format_report(analyze(c.U, c.V))
    >>> print("\n".join(text.splitlines()[2:4]))
    margin and relative bias (arXiv 2509.18552, Sec. 2; Tables 5-6):
      exact (min/max)      m* =       0.35   b*_rel = 0.05
    """
    f = lambda v: "n/a" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v))
    yes = lambda v: "undecided" if v is None else ("yes" if v else "no")
    q = rep["q"]
    lines = [f"paired embeddings: N = {rep['N']} pairs in d = {rep['d']}  [{rep['backend']}, {rep['input']}; "
             f"{rep['passes']} pass(es) over U V^T in {rep['tile'][0]} x {rep['tile'][1]} tiles]", "",
             "margin and relative bias (arXiv 2509.18552, Sec. 2; Tables 5-6):",
             f"  exact (min/max)      m* = {f(rep['m_minmax']):>10}   b*_rel = {f(rep['b_rel_minmax'])}",
             f"  {f'robust (P{q:g} / P{100 - q:g})':<20} m  = {f(rep['m_percentile']):>10}   b_rel  = {f(rep['b_rel_percentile'])}",
             f"  means                m  = {f(rep['m_mean']):>10}   b_rel  = {f(rep['b_rel_mean'])}",
             f"  constellation: {'yes' if rep['is_constellation'] else 'no'}"
             + (f" (every b_rel in [{f(rep['admissible_b_rel'][0])}, {f(rep['admissible_b_rel'][1])}]"
                " gives margin >= 0)" if rep["is_constellation"] else ""),
             "", f"xi = {f(rep['xi'])}   (unsquared variant {f(rep['xi_unsquared'])}; 0 iff all U_i - V_i are equal)",
             "", f"retrieval: U->V {100 * rep['retrieval_u2v']:.2f}%, V->U {100 * rep['retrieval_v2u']:.2f}% top-1"]
    if rep["is_constellation"]:
        lines.append(f"  stays perfect under any score error eps < m* = {f(rep['retrieval_tolerance'])} (Cor. 1)")
    if "t" in rep:
        lines += ["", f"sigmoid loss at t = {f(rep['t'])}, b = {f(rep['b'])} (threshold b/t = {f(rep['b_over_t'])}):",
                  f"  sum {f(rep['loss_sum'])}   per-anchor {f(rep['loss_per_anchor'])}   N^2-mean {f(rep['loss_mean'])}"]
        if "certified_m" in rep:
            lines.append(f"  loss < log 2 certifies an ({f(rep['certified_m'])}, {f(rep['certified_b_rel'])})-constellation (Thm 3.1)")
    sep, th = rep["separation"], rep["thm36"]
    lines += ["", "modality gap (Thm 3.6):",
              f"  linearly separable through the origin: {yes(rep['separable'])} (margin {f(rep['separation_margin'])})",
              f"    {sep['certificate']}", f"    [{sep['method']}]"]
    if sep["reason"]:
        lines.append(f"    {sep['reason']}")
    lines.append(f"  sign pattern s_ii > 0 > s_ij: {'yes' if rep['sign_pattern_24'] else 'no'}")
    if rep.get("thm36_min_h_u") is not None:
        lines.append(f"  min-norm direction h: min <h,U_i> = {f(rep['thm36_min_h_u'])}, "
                     f"{rep['thm36_v_negative']} of {rep['N']} V's on the negative side (support {rep['thm36_support']})")
    elif th["exists"] is False:
        lines.append("  no open half-space contains every U_i")
    lines.append(f"    {th['certificate']}  [{th['method']}]" + (f"; {th['reason']}" if th["reason"] else ""))
    reg = rep["region"]
    lines += ["", f"feasible region (Thm 3.4): {reg['where']}"]
    if "n_cap" in reg:
        lines.append(f"  satisfies (5) for N = {rep['N']}: {reg['in_region_for_N']}; modality-gap region m > |b|: "
                     f"{reg['modality_gap_region']}; cap on N: {f(reg['n_cap'])}")
    if "alpha" in reg:
        lines.append(f"  alpha = {f(reg['alpha'])}; capacity exponent in [{f(reg['E_lower_nats'])}, {f(reg['E_upper_nats'])}] "
                     "nats/dim (Thms 3.3, 3.5)")
        if "log_N_lower_d" in reg:
            lines.append(f"  in d = {rep['d']}: log N_max in [{f(reg['log_N_lower_d'])}, {f(reg['log_N_upper_d'])}]"
                         f" (you have log N = {math.log(rep['N']):.4g})")
    s = rep["seconds"]
    lines += ["", f"time: {s['similarities']:.3g} s similarities, {s['separability']:.3g} s separability, {s['total']:.3g} s in all"]
    return "\n".join(lines)
