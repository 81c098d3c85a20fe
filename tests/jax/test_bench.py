"""``sigref bench --backend jax``: jitted rows with their compile time reported apart, and losses that agree."""

from __future__ import annotations

import json

import pytest

from sigref import cli


def test_jax_rows_report_compile_time_and_agree(tmp_path, capsys):
    rc = cli.main(["bench", "--backend", "jax", "--impl", "floor", "sigref", "big_vision", "--n", "256", "--d", "16",
                   "--dtype", "float64", "--repeats", "1", "--no-solvers", "--out", str(tmp_path), "--no-progress"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    rows = {r["impl"]: r for r in json.loads((tmp_path / "bench.json").read_text())["results"]}
    assert set(rows) == {"floor", "sigref", "big_vision"} and all(r["status"] == "ok" for r in rows.values()), rows
    for r in rows.values():
        assert r["compile_s"] > 0 and r["time_s"] > 0
    # sigref's chunked custom_vjp loss and the dense autodiff peer: one value, one gradient
    assert rows["sigref"]["loss"] == pytest.approx(rows["big_vision"]["loss"], rel=1e-12)
    assert rows["sigref"]["grad_t"] == pytest.approx(rows["big_vision"]["grad_t"], rel=1e-10)
    assert rows["sigref"]["grad_U_norm"] == pytest.approx(rows["big_vision"]["grad_U_norm"], rel=1e-10)
    assert "## Compilation (excluded from the times above)" in printed
    assert f"| jax | float64 | 256 | 16 | sigref | {rows['sigref']['compile_s']:.2f} |" in printed
    assert all(r["xla_bytes"] > 0 for r in rows.values())
