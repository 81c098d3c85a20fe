"""The ``kind="analysis"`` rows of ``sigref bench`` (sigref.bench.analysis): planned through the grid, measured in
worker processes, every row computing the same m* and b*_rel as the dense row, with the time per 1e9 pairs and the
ratios to the tile products; the markdown carries their section. Never a timing assertion."""

from __future__ import annotations

import json

import pytest

from sigref import bench
from sigref.bench.registry import find_measurement

ROWS = ("analysis_products", "analysis_metrics", "analysis", "analysis_mmap", "analysis_separability", "analysis_dense")


def test_analysis_rows_are_registered_outside_the_default_grid():
    for name in ROWS:
        m = find_measurement(name, "numpy")
        assert m is not None and m.kind == "analysis" and not m.default and m.floor == "analysis_products"
    assert not set(ROWS) & set(bench.measurement_names(default_only=True))
    specs, _, _ = bench.plan(bench.quick_options(backends=["numpy"], impls=list(ROWS), solvers=False))
    assert sorted(s["impl"] for s in specs) == sorted(ROWS * 2)  # float32 and float64


def test_analysis_rows_run_and_agree(tmp_path):
    options = bench.quick_options(backends=["numpy"], impls=list(ROWS), dtypes=["float64"], solvers=False)
    report = bench.run_bench(options, out=tmp_path)
    rows = {r["impl"]: r for r in report["results"]}
    assert set(rows) == set(ROWS) and all(r["status"] == "ok" for r in rows.values()), [r.get("reason") for r in rows.values()]
    dense = rows["analysis_dense"]
    for name in ("analysis_metrics", "analysis", "analysis_mmap"):
        r = rows[name]
        assert r["m_star"] == pytest.approx(dense["m_star"], abs=1e-12) and r["b_star"] == pytest.approx(dense["b_star"], abs=1e-12)
        assert r["ratio_floor"] == pytest.approx(r["time_s"] / rows["analysis_products"]["time_s"])
        assert r["ratio_dense"] == pytest.approx(r["time_s"] / dense["time_s"])
        assert r["s_per_1e9_pairs"] == pytest.approx(r["time_s"] / (96 * 96 / 1e9))
        assert r["peak_bytes"] is not None
    md = (tmp_path / "bench.md").read_text()
    assert "## Analysis (sigref analyze)" in md and "| numpy | float64 | 96 | 16 | analysis_mmap |" in md
    assert "analysis" not in md.split("## Analysis")[0].split("## All rows")[1]  # the loss tables keep to loss rows
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert {r["impl"] for r in saved["results"]} == set(ROWS)
