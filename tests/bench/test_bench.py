"""``sigref bench``: the naive baseline against independent truths, the report's structure and
consistency, the memory instrument, plugin discovery and the CLI. Never a timing assertion."""

from __future__ import annotations

import importlib
import importlib.util
import json
import math

import numpy as np
import pytest

from sigref import bench, cli
from sigref.backend import get_backend
from sigref.bench.runner import _batches, _run_worker
from sigref.bench.worker import _inputs

NUMPY64 = get_backend("numpy", dtype="float64")
LOSS_ROWS = ("naive", "sigref", "sigref_gamma", "sigref_filter", "open_clip")


def _softplus(x: float) -> float:
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


def _module_has(module: str, name: str) -> bool:
    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False


# ---------------------------------------------------------------------------------------------
# the naive baseline


def test_naive_closed_forms() -> None:
    """Spec B: orthonormal embeddings, t = 10, b = 10 (open_clip bias -10): L = ln 2 + (n-1) softplus(-10);
    collapsed embeddings: every logit 0, L = n ln 2."""
    n = 4
    t, b = NUMPY64.asarray(10.0), NUMPY64.asarray(10.0)
    eye = NUMPY64.asarray(np.eye(n))
    assert float(bench.naive_loss_and_grad(eye, eye, t, b)["loss"]) == pytest.approx(0.693283, abs=1e-6)
    assert float(bench.naive_loss_and_grad(eye, eye, t, b)["loss"]) == pytest.approx(
        math.log(2) + (n - 1) * _softplus(-10.0), rel=1e-12)
    same = NUMPY64.asarray(np.tile([[1.0, 0.0, 0.0]], (n, 1)))
    assert float(bench.naive_loss_and_grad(same, same, t, b)["loss"]) == pytest.approx(n * math.log(2), rel=1e-12)
    # MSCL with t = 5, b = 5 and gamma = 1 (spec B: 0.346708 for n = 4)
    t5 = NUMPY64.asarray(5.0)
    assert float(bench.naive_loss_and_grad(eye, eye, t5, t5, gamma=1.0)["loss"]) == pytest.approx(0.346708, abs=1e-6)


@pytest.mark.parametrize("variant", [{}, {"gamma": 1.0}, {"gamma": 0.5, "filter_threshold": 0.05}])
def test_naive_gradients_match_finite_differences(variant: dict) -> None:
    rng = np.random.default_rng(3)
    n, d = 6, 3
    u = rng.standard_normal((n, d))
    v = u + 0.5 * rng.standard_normal((n, d))
    t0, b0 = 3.0, 1.0

    def loss(u_: np.ndarray, v_: np.ndarray, t_: float, b_: float) -> float:
        out = bench.naive_loss_and_grad(u_, v_, np.float64(t_), np.float64(b_), **variant)
        return float(out["loss"])

    g = bench.naive_loss_and_grad(u, v, np.float64(t0), np.float64(b0), **variant)
    h = 1e-6
    for name, arr in (("U", u), ("V", v)):
        num = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            plus, minus = arr.copy(), arr.copy()
            plus[idx] += h
            minus[idx] -= h
            args_p = (plus, v) if name == "U" else (u, plus)
            args_m = (minus, v) if name == "U" else (u, minus)
            num[idx] = (loss(*args_p, t0, b0) - loss(*args_m, t0, b0)) / (2 * h)
        np.testing.assert_allclose(g[name], num, rtol=1e-6, atol=1e-8)
    assert float(g["t"]) == pytest.approx((loss(u, v, t0 + h, b0) - loss(u, v, t0 - h, b0)) / (2 * h), rel=1e-6)
    assert float(g["b"]) == pytest.approx((loss(u, v, t0, b0 + h) - loss(u, v, t0, b0 - h)) / (2 * h), rel=1e-6)


def test_naive_runs_on_every_backend(backend) -> None:
    """The baseline is array-API code: same numbers on each backend of the matrix."""
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal((8, 5)), rng.standard_normal((8, 5))
    ref = bench.naive_loss_and_grad(u, v, np.float64(2.0), np.float64(0.5), gamma=1.0)
    out = bench.naive_loss_and_grad(backend.asarray(u), backend.asarray(v), backend.asarray(2.0),
                                    backend.asarray(0.5), gamma=1.0)
    for key in ("loss", "U", "V", "t", "b"):
        np.testing.assert_allclose(backend.to_numpy(out[key]), ref[key], rtol=1e-10, atol=1e-12)


def test_naive_matches_open_clip_autograd() -> None:
    """open_clip's SigLipLoss (independent code) with autograd: logit_scale = t, logit_bias = -b."""
    torch = pytest.importorskip("torch")
    loss_mod = pytest.importorskip("open_clip.loss")
    rng = np.random.default_rng(1)
    u = rng.standard_normal((7, 4))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = u + 0.3 * rng.standard_normal((7, 4))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    U, V = (torch.tensor(a, requires_grad=True) for a in (u, v))
    scale = torch.tensor(4.0, dtype=torch.float64, requires_grad=True)
    bias = torch.tensor(-2.0, dtype=torch.float64, requires_grad=True)
    value = loss_mod.SigLipLoss()(U, V, scale, bias)
    value.backward()
    ref = bench.naive_loss_and_grad(u, v, np.float64(4.0), np.float64(2.0))
    assert float(ref["loss"]) == pytest.approx(value.item(), rel=1e-12)
    np.testing.assert_allclose(ref["U"], U.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(ref["V"], V.grad.numpy(), rtol=1e-10, atol=1e-13)
    assert float(ref["t"]) == pytest.approx(scale.grad.item(), rel=1e-10)
    assert float(ref["b"]) == pytest.approx(-bias.grad.item(), rel=1e-10)


# ---------------------------------------------------------------------------------------------
# the report


def _expected_rows(libraries: dict[str, str]) -> set[tuple]:
    rows = set()
    for key, library in libraries.items():
        for impl in bench.measurement_names(default_only=True):
            m = bench.find_measurement(impl, library)
            if m is None or m.kind == "solver":
                continue
            for dtype in bench.DEFAULT_DTYPES:
                rows.add((impl, key, dtype, bench.QUICK_NS[0], bench.QUICK_DS[0]))
    return rows


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("bench")
    report = bench.run_bench(bench.quick_options(backends=["numpy", "torch"], isolate="none", solvers=False), out=out)
    return report, out


def test_quick_report_has_every_row_and_consistent_ratios(quick_report) -> None:
    report, out = quick_report
    results = report["results"]
    got = {(r["impl"], r["backend"], r["dtype"], r["N"], r["d"]) for r in results if r["kind"] != "solver"}
    expected = _expected_rows({"numpy": "numpy", "torch": "torch"})
    assert {"floor", "naive", "sigref", "sigref_gamma", "sigref_filter"} <= {e[0] for e in expected}
    assert ("open_clip", "torch", "float32", bench.QUICK_NS[0], bench.QUICK_DS[0]) in expected
    assert got == expected
    assert len(got) == len([r for r in results if r["kind"] != "solver"])  # no duplicates

    have_losses = _module_has("sigref.losses", "sigmoid_loss_and_grad")
    have_bridge = _module_has("sigref_torch", "sigmoid_loss")
    by = {(r["impl"], r["backend"], r["dtype"]): r for r in results if r["kind"] != "solver"}
    for (impl, backend, dtype), r in by.items():
        needs = have_bridge if (impl.startswith("sigref") and backend == "torch") else (
            have_losses if impl.startswith("sigref") else True)
        assert r["status"] == ("ok" if needs else "skipped"), r
        if r["status"] != "ok":
            continue
        assert 1 <= r["repeats"] == len(r["times_s"]) <= 2
        assert r["time_s"] == pytest.approx(float(np.median(r["times_s"])))
        assert min(r["times_s"]) == r["time_min_s"] > 0
        floor = by[("floor", backend, dtype)]
        assert r["ratio_floor"] == pytest.approx(r["time_s"] / floor["time_s"], rel=1e-12)
        clip = by.get(("open_clip", "torch", dtype))
        assert r["ratio_open_clip"] == pytest.approx(r["time_s"] / clip["time_s"], rel=1e-12)
        if by.get(("sigref", backend, dtype), {}).get("status") == "ok":
            assert r["ratio_sigref"] == pytest.approx(r["time_s"] / by[("sigref", backend, dtype)]["time_s"])
        assert isinstance(r["peak_bytes"], int) and r["peak_bytes"] >= 0
        assert r["memory_method"] == "rss-hwm"
        cheap = r["warmup_s"] <= 0.1 * report["options"]["budget_s"]
        assert (r["peak_traced_bytes"] is not None) == (backend == "numpy" and cheap)


def test_quick_rows_compute_the_loss_they_claim(quick_report) -> None:
    """Each loss row's value and gradient agree with the naive baseline on the same inputs, recomputed here."""
    report, _ = quick_report
    opts = report["options"]
    u_v = _inputs(NUMPY64, bench.QUICK_NS[0], bench.QUICK_DS[0], opts["seed"])
    variants = {"naive": {}, "sigref": {}, "open_clip": {}, "sigref_gamma": {"gamma": opts["gamma"]},
                "sigref_filter": {"gamma": opts["gamma"], "filter_threshold": opts["filter_threshold"]}}
    checked = 0
    for r in report["results"]:
        if r["impl"] not in variants or r["status"] != "ok":
            continue
        ref = bench.naive_loss_and_grad(u_v["U"], u_v["V"], u_v["t"], u_v["b"], **variants[r["impl"]])
        rtol = 1e-4 if r["dtype"] == "float32" else 1e-9
        assert r["loss"] == pytest.approx(float(ref["loss"]), rel=rtol), r
        assert r["grad_U_norm"] == pytest.approx(float(np.linalg.norm(ref["U"])), rel=10 * rtol), r
        assert r["grad_t"] == pytest.approx(float(ref["t"]), rel=10 * rtol, abs=10 * rtol), r
        assert r["grad_b"] == pytest.approx(float(ref["b"]), rel=10 * rtol, abs=10 * rtol), r
        checked += 1
    assert checked >= 2 * 2 * 2  # naive and open_clip at least, both dtypes


def test_quick_report_files_and_header(quick_report) -> None:
    report, out = quick_report
    loaded = json.loads((out / "bench.json").read_text())
    assert loaded["schema"] == bench.SCHEMA and loaded["quick"] is True
    assert loaded["complete"] is True and loaded["pending"] == 0
    assert len(loaded["results"]) == len(report["results"])
    for phase in ("before", "after"):
        assert len(loaded["load"][phase]["loadavg"]) == 3
        assert loaded["load"][phase]["uptime_s"] > 0
    assert loaded["host"]["versions"]["numpy"] == np.__version__
    md = (out / "bench.md").read_text()
    assert "load average" in md and "## Headline" in md
    ok = [r for r in report["results"] if r["status"] == "ok" and r["kind"] != "solver"]
    table = [line for line in md.splitlines() if line.startswith(("| numpy |", "| torch |"))]
    assert len(table) == len(ok) + 4  # every row once, plus one headline row per backend x dtype
    assert not [r for r in report["results"] if r["kind"] == "solver"]  # solvers=False
    from sigref.fused import pass_for

    for r in ok:  # sigref rows name the elementwise pass that ran, the others none
        if r["impl"].startswith("sigref"):
            sample = np.zeros(1) if r["backend"] == "numpy" else __import__("torch").zeros(1)
            fn = pass_for(sample)
            assert r["elementwise"] == f"{fn.__module__}.{fn.__qualname__}"
            assert f"{r['backend']} `{r['elementwise']}`" in md
        else:
            assert r["elementwise"] is None


def test_rows_of_a_configuration_are_timed_side_by_side(quick_report) -> None:
    """Round-robin per configuration, except the naive row, timed alone (its N^2 temporaries would slow the others)."""
    report, _ = quick_report
    timed = [r for r in report["results"] if r["kind"] != "solver" and r["status"] == "ok"]
    assert {r["impl"] for r in timed} >= {"floor", "naive", "sigref"}
    for r in timed:
        if r["impl"] == "naive":
            assert r["timing"] == "alone"
            continue
        same = [o for o in timed if o["impl"] != "naive"
                and (o["backend"], o["dtype"], o["N"], o["d"]) == (r["backend"], r["dtype"], r["N"], r["d"])]
        assert r["timing"] == f"interleaved with {len(same) - 1} other rows"
        assert {o["repeats"] for o in same} == {r["repeats"]}  # round-robin: equal sample counts


def test_merge_combines_runs_and_refuses_other_hosts(quick_report, tmp_path) -> None:
    report, _ = quick_report
    by_dtype = [{**report, "command": ["sigref", "bench", "--dtype", dt],
                 "results": [r for r in report["results"] if r["dtype"] == dt]} for dt in bench.DEFAULT_DTYPES]
    files = []
    for k, part in enumerate(by_dtype):
        files.append(tmp_path / f"{k}.json")
        files[-1].write_text(json.dumps(part))
    assert cli.main(["bench", "--merge", *map(str, files), "--out", str(tmp_path / "merged")]) == 0
    merged = json.loads((tmp_path / "merged" / "bench.json").read_text())
    key = lambda r: (r["impl"], r["backend"], r["dtype"], r["N"], r["d"])
    assert sorted(map(key, merged["results"])) == sorted(map(key, report["results"]))
    md = (tmp_path / "merged" / "bench.md").read_text()
    assert all(f"- command: `sigref bench --dtype {dt}`" in md for dt in bench.DEFAULT_DTYPES)
    rerun = {**by_dtype[0], "command": ["sigref", "bench", "--rerun"]}  # merging into a merged report keeps every command
    assert bench.merge_reports([merged, rerun])["merged_commands"] == [p["command"] for p in by_dtype] + [rerun["command"]]
    other = {**by_dtype[1], "host": {**report["host"], "processor": "another CPU"}}
    with pytest.raises(ValueError, match="different hosts"):
        bench.merge_reports([by_dtype[0], other])


# ---------------------------------------------------------------------------------------------
# the memory instrument, plugins, CLI


def test_memory_probes_see_the_floor_matrix() -> None:
    """The floor materialises one N x N float64 matrix (8 MiB at N = 1024); both probes must see it."""
    n = 1024
    spec = {"impl": "floor", "kind": "floor", "backend": "numpy", "dtype": "float64", "N": n, "d": 4, "warmup": 1,
            "repeats": 1, "budget_s": 100.0, "seed": 0, "options": {}}
    [r] = _run_worker([spec], timeout_s=120)
    assert r["status"] == "ok", r
    size = n * n * 8
    assert size <= r["peak_traced_bytes"] <= size + 2**20
    if r["memory_method"] == "rss-hwm":
        assert 0.95 * size <= r["peak_bytes"] <= size + 4 * 2**20


def test_torch_measurements_are_discovered_from_the_plugin() -> None:
    pytest.importorskip("torch")
    bench.load_plugins()
    clip = bench.find_measurement("open_clip", "torch")
    assert clip is not None and clip.setup.__module__ == "sigref_torch.bench"
    assert bench.find_measurement("sigref", "torch").setup.__module__ == "sigref_torch.bench"
    assert bench.find_measurement("sigref", "numpy").setup.__module__ == "sigref.bench.measurements"
    assert bench.find_measurement("open_clip", "numpy") is None


def test_memory_guard_skips_with_reason() -> None:
    specs, skipped, _ = bench.plan(bench.BenchOptions(backends=["numpy"], ns=[4096], ds=[8], dtypes=["float64"],
                                                      impls=["naive", "floor"], solvers=False,
                                                      max_memory_bytes=200 * 2**20))
    assert [s["impl"] for s in specs] == ["floor"]
    assert [r["impl"] for r in skipped] == ["naive"] and "GiB" in skipped[0]["reason"]


def test_bad_options_are_named() -> None:
    with pytest.raises(ValueError, match="dtype"):
        bench.plan(bench.BenchOptions(backends=["numpy"], dtypes=["float16"]))
    with pytest.raises(ValueError, match="impl"):
        bench.plan(bench.BenchOptions(backends=["numpy"], impls=["nope"]))
    with pytest.raises(ValueError, match="isolate"):
        _batches([], "threads")
    assert cli.main(["bench", "--quick", "--repeats", "0"]) == 2


def test_cli_quick_numpy(tmp_path, capsys) -> None:
    """The CLI path: worker subprocesses (``python -m sigref.bench --worker``), table, JSON."""
    rc = cli.main(["bench", "--quick", "--backend", "numpy", "--out", str(tmp_path), "--no-progress"])
    printed = capsys.readouterr().out
    assert rc == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    rows = [r for r in report["results"] if r["kind"] != "solver"]
    assert {(r["impl"], r["dtype"]) for r in rows} == {
        (i, dt) for i in bench.measurement_names(default_only=True)
        if bench.find_measurement(i, "numpy") and bench.find_measurement(i, "numpy").kind != "solver"
        for dt in bench.DEFAULT_DTYPES}
    assert all(r["malloc"] for r in rows if r["status"] == "ok")  # measured in a worker process
    solvers = {r["impl"]: r for r in report["results"] if r["kind"] == "solver"}
    assert set(solvers) == {"ccem", "bangachev_e1"}
    assert (solvers["ccem"]["status"] == "ok") == _module_has("sigref.ccem", "delta_star")
    assert (solvers["bangachev_e1"]["status"] == "ok") == _module_has(
        "sigref.experiments.bangachev2025", "run_e1")
    for r in solvers.values():
        assert (r["status"] == "ok" and r["time_s"] > 0) or r["reason"]
    assert "## Solvers" in printed
    assert "| numpy | float64 | 96 | 16 | floor |" in printed
    assert (tmp_path / "bench.md").read_text().strip() in printed
