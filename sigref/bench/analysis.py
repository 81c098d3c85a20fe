"""The analysis rows of ``sigref bench`` (kind ``"analysis"``, not in the default grid: ask for them with ``--impl``).

Each row analyses the benchmark's inputs U, V (N unit rows in d, V = normalise(U + noise)) as
``sigref analyze`` does (arXiv 2509.18552: m*, b*_rel and their robust forms, xi, retrieval,
separability, the Thm 3.4 region), on any array-API backend:

``analysis_products``
    the tile products U V^T alone (:func:`sigref.constellations.tiles.scan` with no statistic): the
    floor of the rows below (their ``ratio_floor``), N^2 d multiply-adds in the analysis's tiling;
``analysis_metrics``
    :func:`sigref.constellations.streaming.pair_summary`: every similarity statistic in passes over the tiles;
``analysis``
    :func:`sigref.constellations.analyze.analyze_pairs`: the whole report (metrics, separability, region);
``analysis_mmap``
    the same from ``.npy`` files memory-mapped by :func:`sigref.constellations.io.load_pair` (the
    setup writes them to a temporary folder); its peak counts the mapped pages it touched;
``analysis_separability``
    :func:`~sigref.constellations.separability.homogeneous_separation` and
    :func:`~sigref.constellations.separability.gap_direction` alone (the Thm 3.6 checks, O(N d) per pass) on
    U, V moved apart along one axis (a modality gap: both have an answer);
``analysis_dense``
    the dense computation: the N x N similarity matrix through :mod:`sigref.constellations.metrics`
    (the three forms, xi, retrieval) and the dense LP and NNLS of :mod:`sigref.constellations.gap`.

Every row returns m* (``m_star``) and b*_rel (``b_star``), shown beside its time as a sanity check;
the report adds the time per 1e9 pairs (N^2) to extrapolate.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import array_api_extra as xpx
import numpy as np
from array_api_compat import device as array_device

from sigref.bench.registry import Measurement, register

#: the rows whose ``ratio_floor`` is taken against ``analysis_products``
FLOOR = "analysis_products"


def _products_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    from sigref.constellations.tiles import scan

    U, V = inputs["U"], inputs["V"]

    def run() -> None:
        scan(U, V, [], chunk_size=options.get("chunk_size") or "auto")

    return run


def _checks(rep_or_summary: Any) -> dict[str, float]:
    if isinstance(rep_or_summary, dict):
        return {"m_star": rep_or_summary["m_minmax"], "b_star": rep_or_summary["b_rel_minmax"]}
    m, b = rep_or_summary.margin_and_bias("minmax")
    return {"m_star": m, "b_star": b}


def _metrics_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    from sigref.constellations.streaming import pair_summary

    U, V = inputs["U"], inputs["V"]
    return lambda: _checks(pair_summary(U, V, chunk_size=options.get("chunk_size") or "auto"))


def _analysis_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    from sigref.constellations.analyze import analyze

    U, V = inputs["U"], inputs["V"]
    return lambda: _checks(analyze(U, V, chunk_size=options.get("chunk_size") or "auto"))


def _mmap_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    from sigref.constellations.analyze import analyze
    from sigref.constellations.io import load_pair

    folder = Path(tempfile.mkdtemp(prefix="sigref-bench-analysis-"))
    atexit.register(shutil.rmtree, folder, True)
    for name in ("U", "V"):
        np.save(folder / f"{name}.npy", np.asarray(backend.to_numpy(inputs[name])))

    def run() -> dict[str, float]:
        U, V = load_pair(folder / "U.npy", folder / "V.npy")
        return _checks(analyze(U, V, backend=backend, chunk_size=options.get("chunk_size") or "auto"))

    return run


def _separability_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    """The Thm 3.6 checks on the bench's U, V moved apart along one axis, U_i + e_1 and V_i - e_1 (then
    normalised): a modality gap, as trained two-tower models have, so both checks have an answer to find."""
    from sigref.constellations.separability import gap_direction, homogeneous_separation

    xp = backend.xp
    shift = xpx.at(xp.zeros((inputs["U"].shape[1],), dtype=inputs["U"].dtype, device=array_device(inputs["U"])), 0).set(1.0)
    U, V = (x / xp.linalg.vector_norm(x, axis=1, keepdims=True) for x in (inputs["U"] + shift, inputs["V"] - shift))

    def run() -> None:
        sep = homogeneous_separation(U, V, time_budget_s=60.0)
        direction = gap_direction(U, V, time_budget_s=60.0)
        if sep.separable is not True or direction.exists is not True:  # the shifted pairs are separable: anything else is a failure
            raise RuntimeError(f"separable = {sep.separable}, direction exists = {direction.exists}: {sep.reason or direction.reason}")

    return run


def _dense_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    from sigref.constellations import gap, metrics

    U, V = inputs["U"], inputs["V"]

    def run() -> dict[str, float]:
        forms = {form: metrics.margin_and_bias(U, V, form=form) for form in metrics.FORMS}
        metrics.xi(U, V)
        metrics.retrieval_accuracy(U, V)
        gap.linear_separation(U, V)
        gap.sign_pattern_holds(U, V)
        with contextlib.suppress(ValueError):  # raised when no open half-space holds every U_i: the check has answered
            gap.min_norm_separator(U, V)
        m, b = forms["minmax"]
        return {"m_star": float(m), "b_star": float(b)}

    return run


for _name, _setup, _desc, _order, _extra in (
    (FLOOR, _products_setup, "the tile products U V^T alone (floor of the analysis rows)", 60, {}),
    ("analysis_metrics", _metrics_setup, "sigref.constellations.streaming.pair_summary (streamed similarity statistics)", 61, {}),
    ("analysis", _analysis_setup, "sigref.constellations.analyze.analyze_pairs (the whole report)", 62, {}),
    ("analysis_mmap", _mmap_setup, "analyze_pairs on memory-mapped .npy files (sigref analyze U.npy V.npy)", 63, {}),
    ("analysis_separability", _separability_setup, "homogeneous_separation + gap_direction alone (streamed, with certificates)", 65, {}),
    ("analysis_dense", _dense_setup, "dense N x N analysis (metrics + dense LP/NNLS of gap)", 64,
     {"n2_memory": 5.0, "timed_alone": True}),  # measured: 425 MB at N = 5000 in float32, 17 bytes a pair
):
    register(Measurement(_name, _desc, _setup, kind="analysis", default=False, nd_memory=6.0, order=_order, floor=FLOOR, **_extra))
