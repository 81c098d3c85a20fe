"""Planning and running: :class:`BenchOptions` and :func:`quick_options`, the plan of specs (with
the rows skipped at planning time), their grouping into work items and worker batches, the worker
subprocesses, the ratios between rows, :func:`run_bench`, which assembles and writes the report,
and :func:`merge_reports`, which combines the reports of several runs on one host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sigref.bench.host import _host, _load, _mem_available
from sigref.bench.registry import (
    _PLUGIN_ERRORS,
    _REGISTRY,
    BACKEND_KEYS,
    DEFAULT_BACKENDS,
    DEFAULT_CHUNK,
    DEFAULT_DS,
    DEFAULT_DTYPES,
    DEFAULT_NS,
    FILTER_THRESHOLD,
    GAMMA,
    QUICK_DS,
    QUICK_NS,
    RESULT_PREFIX,
    SCHEMA,
    find_measurement,
    load_plugins,
    measurement_names,
)
from sigref.bench.report import format_markdown
from sigref.bench.worker import _record_base, _run_item


@dataclass
class BenchOptions:
    """What to run; see ``sigref bench --help``."""

    backends: Sequence[str] | None = None
    ns: Sequence[int] = DEFAULT_NS
    ds: Sequence[int] = DEFAULT_DS
    dtypes: Sequence[str] = DEFAULT_DTYPES
    impls: Sequence[str] | None = None
    repeats: int = 5
    warmup: int = 1
    budget_s: float = 30.0
    chunk_size: int | str | None = DEFAULT_CHUNK
    gamma: float = GAMMA
    filter_threshold: float = FILTER_THRESHOLD
    seed: int = 0
    solvers: bool = True
    ccem_points: int = 1_000_000
    e1_steps: int = 10_000
    isolate: str = "measurement"
    max_memory_bytes: int | None = None
    timeout_s: float = 3600.0
    quick: bool = False
    progress: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def quick_options(**overrides: Any) -> BenchOptions:
    """The CI smoke grid: one tiny shape, both dtypes, 2 repeats, one worker per backend."""
    base = dict(ns=QUICK_NS, ds=QUICK_DS, repeats=2, warmup=1, budget_s=1.0, ccem_points=10_000,
                e1_steps=20, isolate="backend", quick=True)
    base.update(overrides)
    return BenchOptions(**base)


def _available_keys(requested: Sequence[str] | None) -> tuple[list[str], dict[str, str]]:
    from sigref.backend import BackendError, available_backends, get_backend

    keys = list(requested) if requested else list(DEFAULT_BACKENDS)
    usable: list[str] = []
    missing: dict[str, str] = {}
    for key in keys:
        if key not in BACKEND_KEYS:
            raise ValueError(f"backend must be one of {sorted(BACKEND_KEYS)}, got {key!r}")
        library, device, _ = BACKEND_KEYS[key]
        reason = available_backends().get(library, f"{library} is not installed")
        if reason is None:
            try:
                get_backend(library, device=device)
            except BackendError as exc:
                reason = str(exc)
        if reason is None:
            usable.append(key)
        else:
            missing[key] = reason
    if requested and missing:
        raise ValueError("requested backend(s) unavailable: " + "; ".join(f"{k}: {r}" for k, r in missing.items()))
    return usable, missing


def _itemsize(dtype: str) -> int:
    return 4 if dtype == "float32" else 8


def plan(options: BenchOptions) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """The specs to run, the rows skipped at planning time (with reasons) and the unusable backends."""
    load_plugins()
    keys, missing = _available_keys(options.backends)
    names = list(options.impls) if options.impls else measurement_names(default_only=True)
    unknown = [n for n in names if n not in measurement_names()]
    if unknown:
        raise ValueError(f"impl must be among {measurement_names()}, got {unknown}")
    limit = options.max_memory_bytes
    if limit is None:
        avail = _mem_available()
        limit = int(0.7 * avail) if avail else None
    opts = {
        "chunk_size": options.chunk_size,
        "gamma": options.gamma,
        "filter_threshold": options.filter_threshold,
        "seed": options.seed,
        "ccem_points": options.ccem_points,
        "e1_steps": options.e1_steps,
        **options.extra,
    }
    common = {"warmup": options.warmup, "repeats": options.repeats, "budget_s": options.budget_s,
              "seed": options.seed, "options": opts}
    specs: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for key in keys:
        library, _, gpu = BACKEND_KEYS[key]
        for dtype in options.dtypes:
            if dtype not in DEFAULT_DTYPES:
                raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
            for n in options.ns:
                for d in options.ds:
                    for name in names:
                        m = find_measurement(name, library)
                        if m is None or m.kind == "solver":
                            continue
                        spec = {"impl": name, "kind": m.kind, "backend": key, "dtype": dtype, "N": int(n),
                                "d": int(d), "timed_alone": m.timed_alone, **common}
                        reason = m.available(key)
                        need = m.memory_estimate(n, d, _itemsize(dtype), options.chunk_size)
                        if reason is None and limit is not None and not gpu and need > limit:
                            reason = (f"needs ~{need / 2**30:.1f} GiB, limit {limit / 2**30:.1f} GiB "
                                      "(--max-memory)")
                        if reason:
                            skipped.append({**_record_base(spec), "status": "skipped", "reason": reason})
                        else:
                            specs.append(spec)
    if options.solvers and "numpy" in keys:
        for m in sorted((m for m in _REGISTRY if m.kind == "solver"), key=lambda m: m.order):
            if options.impls and m.name not in options.impls:
                continue
            spec = {"impl": m.name, "kind": "solver", "backend": "numpy", "dtype": "float64", "N": None,
                    "d": None, **common}
            reason = m.available("numpy")
            if reason:
                skipped.append({**_record_base(spec), "status": "skipped", "reason": reason})
            else:
                specs.append(spec)
    return specs, skipped, missing


def _work_items(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every loss measurement's memory (and checks) alone, its time in a group with the other rows of
    the same (backend, dtype, N, d) (a ``timed_alone`` row in a group of its own, after them); solvers
    are measured whole."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for spec in specs:
        if spec["kind"] != "solver":
            groups.setdefault((spec["backend"], spec["dtype"], spec["N"], spec["d"]), []).append(spec)
    items = []
    for g in groups.values():
        shared = [s for s in g if not s.get("timed_alone")]
        timings = ([{"group": shared}] if shared else []) + [{"group": [s]} for s in g if s.get("timed_alone")]
        items += [*({**s, "timed": False} for s in g), *timings]
    return items + [spec for spec in specs if spec["kind"] == "solver"]


def _batches(items: list[dict[str, Any]], isolate: str) -> list[list[dict[str, Any]]]:
    if isolate == "measurement":
        return [[item] for item in items]
    if isolate in ("backend", "none"):
        by_backend: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            by_backend.setdefault((item["group"][0] if "group" in item else item)["backend"], []).append(item)
        return list(by_backend.values())
    raise ValueError(f"isolate must be 'measurement', 'backend' or 'none', got {isolate!r}")


def _merge_timings(results: list[dict[str, Any]], final: bool) -> list[dict[str, Any]]:
    """Attach each group's timings to the memory records of the same rows (``final``: a row still
    without one is an error, else it is pending)."""
    timings = {}
    for r in results:
        for t in r.get("timings", []):
            timings[tuple(t[k] for k in ("impl", "backend", "dtype", "N", "d"))] = t
    merged = []
    for r in results:
        if "timings" in r:
            continue
        t = timings.get(tuple(r.get(k) for k in ("impl", "backend", "dtype", "N", "d")))
        if r.get("status") == "ok" and r.get("kind") != "solver":
            if t is None:
                r = {**r, "status": "error" if final else "pending", "reason": "no timing recorded"}
            elif "timing_error" in t:
                r = {**r, "status": "error", "reason": f"timing: {t['timing_error']}"}
            else:
                r = {**r, **{k: v for k, v in t.items() if k not in r}}
        merged.append(r)
    return merged


def _run_worker(batch: list[dict[str, Any]], timeout_s: float) -> list[dict[str, Any]]:
    env = dict(os.environ)
    env.setdefault("MALLOC_MMAP_THRESHOLD_", str(1 << 20))
    env.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")  # as the sigref command sets it (sigref.__main__)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "sigref.bench", "--worker"],
            input=json.dumps(batch), capture_output=True, text=True, timeout=timeout_s * len(batch), env=env,
        )
        stdout, stderr, rc = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr, rc = f"timed out after {timeout_s * len(batch):.0f} s", None
    done = [json.loads(line[len(RESULT_PREFIX):]) for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    for item in batch[len(done):]:
        tail = " | ".join(stderr.strip().splitlines()[-3:])
        why = f"worker exited with {rc}" + (" (killed: out of memory?)" if rc in (-9, 137) else "")
        if "group" in item:
            done.append({"timings": [{**_record_base(s), "timing_error": f"{why}: {tail}"} for s in item["group"]]})
        else:
            done.append({**_record_base(item), "status": "error", "reason": f"{why}: {tail}"})
    return done


def _add_ratios(results: list[dict[str, Any]]) -> None:
    """``ratio_floor``, ``ratio_sigref`` (same backend) and ``ratio_open_clip`` (torch on the same
    device kind: torch CPU for numpy rows, torch CUDA for CUDA rows) for every timed row; analysis rows
    also get ``ratio_dense`` and ``s_per_1e9_pairs`` (seconds per 1e9 of the N^2 pairs)."""

    def key(r: dict[str, Any], backend: str) -> tuple[Any, ...]:
        return (backend, r["dtype"], r["N"], r["d"])

    timed = {(r["impl"], *key(r, r["backend"])): r for r in results if r.get("status") == "ok"}
    for r in results:
        if r.get("status") != "ok" or r.get("kind") == "solver":
            continue
        library, _, gpu = BACKEND_KEYS.get(r["backend"], (r["backend"], None, False))
        peer_backend = "torch-cuda" if gpu else "torch"
        m = find_measurement(r["impl"], library)
        if r.get("kind") == "analysis" and r.get("N"):
            r["s_per_1e9_pairs"] = r["time_s"] / (r["N"] * r["N"] / 1e9)
        peers = [("floor", m.floor if m is not None else "floor", r["backend"]), ("sigref", "sigref", r["backend"]),
                 ("open_clip", "open_clip", peer_backend)]
        if r.get("kind") == "analysis":
            peers.append(("dense", "analysis_dense", r["backend"]))
        for ratio, impl, backend in peers:
            ref = timed.get((impl, *key(r, backend)))
            r[f"ratio_{ratio}"] = r["time_s"] / ref["time_s"] if ref and ref["time_s"] > 0 else None
            if ref and r.get("peak_bytes") is not None and ref.get("peak_bytes"):
                r[f"memory_ratio_{ratio}"] = r["peak_bytes"] / ref["peak_bytes"]
            else:
                r[f"memory_ratio_{ratio}"] = None


def run_bench(options: BenchOptions | None = None, *, out: str | Path | None = None,
              argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; returns the report and, with ``out``, writes ``bench.json`` and ``bench.md``."""
    from sigref.progress import progress

    options = options or BenchOptions()
    started = _load()
    clock = time.perf_counter()
    specs, skipped, missing = plan(options)
    results: list[dict[str, Any]] = list(skipped)
    batches = _batches(_work_items(specs), options.isolate)
    bar = progress(batches, total=len(batches), desc="sigref bench", enabled=options.progress)
    host = _host()

    def assemble(done: list[dict[str, Any]], pending: int) -> dict[str, Any]:
        rows = _merge_timings([dict(r) for r in done], final=pending == 0)
        order = {n: i for i, n in enumerate(measurement_names())}
        bk = {k: i for i, k in enumerate(BACKEND_KEYS)}
        rows.sort(key=lambda r: (r.get("kind") == "solver", bk.get(r["backend"], 99), r["dtype"] or "",
                                 r["N"] or 0, r["d"] or 0, order.get(r["impl"], 99)))
        _add_ratios(rows)
        return {
            "schema": SCHEMA,
            "command": list(argv) if argv is not None else None,
            "quick": options.quick,
            "complete": pending == 0,
            "pending": pending,
            "host": host,
            "load": {"before": started, "after": _load()},
            "elapsed_s": round(time.perf_counter() - clock, 1),
            "options": {k: v for k, v in asdict(options).items() if k != "progress"},
            "unavailable_backends": missing,
            "plugin_errors": dict(_PLUGIN_ERRORS),
            "measurements": [
                {"name": m.name, "libraries": sorted(m.libraries) if m.libraries else "any",
                 "description": m.description}
                for m in _REGISTRY
            ],
            "results": rows,
        }

    def write(report: dict[str, Any]) -> None:
        if out is not None:
            outdir = Path(out)
            outdir.mkdir(parents=True, exist_ok=True)
            _atomic_write(outdir / "bench.json", json.dumps(report, indent=1) + "\n")
            _atomic_write(outdir / "bench.md", format_markdown(report))

    remaining = sum(len(b) for b in batches)
    for batch in bar:
        if options.progress and len(batch) == 1:
            s0 = batch[0].get("group", batch)[0]
            what = "timing" if "group" in batch[0] else s0["impl"]
            bar.set_postfix_str(f"{what} {s0['backend']} {s0['dtype']} N={s0['N']} d={s0['d']}")
        if options.isolate == "none":
            results.extend(_run_item(item) for item in batch)
        else:
            results.extend(_run_worker(batch, options.timeout_s))
        remaining -= len(batch)
        if remaining:
            write(assemble(results, remaining))  # an interrupted run leaves what it measured
    report = assemble(results, 0)
    write(report)
    return report


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def merge_reports(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One report from the runs of several ``sigref bench`` commands on the same host (say one grid in
    float32 and a smaller one in float64): rows of later reports replace equal rows of earlier ones, ratios
    are taken within each run, and the header keeps every command and the load before the first and after the last."""
    if not reports:
        raise ValueError("merge: expected at least one report")
    hosts = {json.dumps({k: r["host"].get(k) for k in ("processor", "cpu_count", "platform")}) for r in reports}
    if len(hosts) > 1:
        raise ValueError(f"merge: the reports come from different hosts ({sorted(hosts)}); compare those separately")
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for report in reports:
        for r in report["results"]:
            rows[tuple(r.get(k) for k in ("impl", "backend", "dtype", "N", "d"))] = r
    merged = {**reports[-1], "results": list(rows.values()),
              "complete": all(r.get("complete", True) for r in reports),
              "pending": sum(r.get("pending", 0) for r in reports),
              "load": {"before": reports[0]["load"]["before"], "after": reports[-1]["load"]["after"]},
              "elapsed_s": round(sum(r.get("elapsed_s", 0) for r in reports), 1),
              "merged_commands": [c for r in reports for c in r.get("merged_commands") or [r.get("command")]]}
    merged["options"] = {**reports[-1]["options"],
                         "dtypes": sorted({d for r in reports for d in r["options"].get("dtypes", [])})}
    return merged
