"""What runs inside a worker process: one measurement (:func:`measure`: memory and sanity checks,
optionally timing) and one timing group (:func:`measure_timing_group`: the rows of a configuration
round-robin on shared inputs), and :func:`worker_main`, which reads work items as JSON on stdin
and prints one result line per item (``python -m sigref.bench --worker``).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from sigref.bench.memory import TracemallocProbe, _limit_malloc, _probe_for
from sigref.bench.registry import (
    B_INIT,
    BACKEND_KEYS,
    RESULT_PREFIX,
    T_INIT,
    Unavailable,
    find_measurement,
    load_plugins,
)
from sigref.hostmem import retain_freed_memory
from sigref.sampling import rng_from, uniform_sphere


def _inputs(backend: Any, n: int, d: int, seed: int) -> dict[str, Any]:
    """Unit rows U and positives V = normalise(U + noise) (cosine ~0.7), t and b as 0-d arrays."""
    rng = rng_from(seed)
    u = uniform_sphere(rng, (n, d))
    v = u + rng.standard_normal((n, d)) / math.sqrt(d)
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    return {
        "U": backend.asarray(u),
        "V": backend.asarray(v),
        "t": backend.asarray(np.float64(T_INIT)),
        "b": backend.asarray(np.float64(B_INIT)),
    }


def _scalar(backend: Any, x: Any) -> float:
    return float(np.asarray(backend.to_numpy(x), dtype=np.float64).reshape(-1)[0])


def _checks(backend: Any, out: Any) -> dict[str, float]:
    if not isinstance(out, dict):
        return {}
    found: dict[str, float] = {}
    for key, name in (("loss", "loss"), ("t", "grad_t"), ("b", "grad_b")):
        if out.get(key) is not None:
            found[name] = _scalar(backend, out[key])
    for key in ("m_star", "b_star"):  # the analysis rows
        if out.get(key) is not None:
            found[key] = float(out[key])
    if out.get("U") is not None:
        found["grad_U_norm"] = float(np.linalg.norm(np.asarray(backend.to_numpy(out["U"]), dtype=np.float64)))
    return found


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement described by ``spec`` in this process and return its result record."""
    from sigref.backend import get_backend

    key = spec["backend"]
    library, device, _ = BACKEND_KEYS.get(key, (key, None, False))
    load_plugins([library])
    result = {**_record_base(spec)}
    m = find_measurement(spec["impl"], library)
    if m is None:
        return {**result, "status": "skipped", "reason": f"no measurement {spec['impl']!r} for {library}"}
    try:
        backend = get_backend(library, device=device, dtype=spec["dtype"])
        inputs = None if m.kind == "solver" else _inputs(backend, spec["N"], spec["d"], spec["seed"])
        fn = m.setup(backend, inputs, spec["options"])
        backend.synchronize()

        memory = spec.get("memory", True)
        out = None
        call_s = 0.0
        for _ in range(spec["warmup"]):
            out = None
            t0 = time.perf_counter()
            out = fn()
            backend.synchronize()
            call_s = time.perf_counter() - t0
        traced = None
        # Skipped for calls longer than a tenth of the budget (the resident-set probe still runs).
        if memory and library == "numpy" and call_s <= 0.1 * spec["budget_s"]:
            # One extra untimed call under tracemalloc (after the warm-up, so lazy imports and
            # caches of the first call are not counted); it sees NumPy's data buffers.
            out = None
            tracer = TracemallocProbe()
            tracer.reset()
            fn()
            traced = int(tracer.peak())

        # The resident-set / device probe wraps one untimed call, made while glibc still returns
        # large blocks to the system (so the resident set follows the live arrays).
        probe = _probe_for(key, backend) if memory else None
        peak = method = None
        if probe is not None:
            out = None
            probe.reset()
            out = fn()
            backend.synchronize()
            peak, method = int(probe.peak()), probe.method
        checks = _checks(backend, out)
        out = None
        timing = _time_interleaved(backend, [fn], spec["repeats"], spec["budget_s"], spec["warmup"] > 0)[0] if spec.get("timed", True) else {}
        return {
            **result,
            "status": "ok",
            **timing,
            "peak_bytes": peak,
            "memory_method": method or "n/a (no probe for this device)",
            "peak_traced_bytes": traced,
            "warmup_s": call_s if spec["warmup"] else None,
            "elementwise": getattr(fn, "elementwise", None),
            "compile_s": getattr(fn, "compile_s", None),  # ahead-of-time compilation (jax.jit), excluded from the timings
            "xla_bytes": getattr(fn, "xla_bytes", None),  # the compiled program's temporary + output buffers
            **checks,
        }
    except Unavailable as exc:
        return {**result, "status": "skipped", "reason": str(exc)}
    except Exception as exc:  # recorded in the report, the run goes on
        return {**result, "status": "error", "reason": f"{type(exc).__name__}: {exc}"}


def _time_interleaved(backend: Any, fns: list[Callable[[], Any]], repeats: int, budget_s: float, warm: bool = True) -> list[dict[str, Any]]:
    """Time the calls round-robin (one call of each per round) until each has ``repeats`` samples or the
    rounds took ``budget_s`` per call; slow drifts of the machine then hit every row alike.

    Timing runs as sigref's own processes do, with freed memory kept for reuse (see :mod:`sigref.hostmem`),
    after one more warm-up call of each (none with ``warm=False``: ``--warmup 0``, for calls of minutes)."""
    retain_freed_memory()
    for fn in fns if warm else ():
        fn()
        backend.synchronize()
    times: list[list[float]] = [[] for _ in fns]
    started = time.perf_counter()
    while len(times[0]) < repeats:
        for fn, samples in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            backend.synchronize()
            samples.append(time.perf_counter() - t0)
        if time.perf_counter() - started > budget_s * len(fns):
            break
    return [{"time_s": statistics.median(t), "time_min_s": min(t), "times_s": t, "repeats": len(t),
             "timing": f"interleaved with {len(fns) - 1} other rows" if len(fns) > 1 else "alone"} for t in times]


def measure_timing_group(specs: list[dict[str, Any]]) -> dict[str, Any]:
    """Time the measurements of one (backend, dtype, N, d) side by side in this process, on shared inputs.

    Returns ``{"timings": [record per spec]}``; a measurement that fails here gets its error instead."""
    from sigref.backend import get_backend

    key, dtype, n, d = (specs[0][k] for k in ("backend", "dtype", "N", "d"))
    library, device, _ = BACKEND_KEYS.get(key, (key, None, False))
    load_plugins([library])
    backend = get_backend(library, device=device, dtype=dtype)
    inputs = _inputs(backend, n, d, specs[0]["seed"])
    records, fns = [], []
    for spec in specs:
        record = _record_base(spec)
        try:
            fns.append(find_measurement(spec["impl"], library).setup(backend, inputs, spec["options"]))
            records.append(record)
        except Exception as exc:
            records.append({**record, "timing_error": f"{type(exc).__name__}: {exc}"})
    timed = iter(_time_interleaved(backend, fns, specs[0]["repeats"], specs[0]["budget_s"], specs[0]["warmup"] > 0) if fns else [])
    return {"timings": [r if "timing_error" in r else {**r, **next(timed)} for r in records]}


def _record_base(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: spec.get(k) for k in ("impl", "kind", "backend", "dtype", "N", "d")}


def worker_main() -> int:
    items = json.loads(sys.stdin.read())
    for item in items:
        print(RESULT_PREFIX + json.dumps(_run_item(item)), flush=True)
    return 0


def _run_item(item: dict[str, Any]) -> dict[str, Any]:
    """A work item: a measurement spec, or ``{"group": [specs]}`` to time side by side."""
    if "group" in item:
        return measure_timing_group(item["group"])
    setting = _limit_malloc()
    record = measure(item)
    record["malloc"] = f"memory: {setting}; timing: freed memory retained (sigref.hostmem)"
    return record
