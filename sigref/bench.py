"""``sigref bench``: forward+backward time and peak memory of the sigmoid loss against its floor and peers.

For every backend, dtype and shape ``(N, d)`` of the grid, each *measurement* computes the loss

    L = (1/N) sum_ij softplus(-y_ij z_ij),   z_ij = t <u_i, v_j> - b,   y_ij = 2 [i = j] - 1

(SigLIP, arXiv 2303.15343, per-anchor reduction) together with its gradients in ``U``, ``V``, ``t``
and ``b``. Its peak memory above the inputs is taken in a fresh process of its own; its time (median
of the repeats after warm-up) side by side with the other rows of the same configuration: one process
calls them round-robin on shared inputs (:func:`measure_timing_group`), so ratios between rows are not
at the mercy of a shared machine's drift (the naive row is timed alone after them: its N^2 temporaries
slowed its neighbours' calls). The rows:

``floor``
    the three matrix products a gradient of the loss cannot avoid, ``S = U V^T``, ``S V`` and
    ``S^T U`` (shapes N x N, N x d, N x d): a lower bound on time, and N^2 entries of memory.
``naive``
    the textbook dense implementation written in this module on the array API
    (:func:`naive_loss_and_grad`): materialised N x N logits, labels and weights, analytic backward.
``sigref``, ``sigref_gamma``, ``sigref_filter``
    sigref's loss (``sigref.losses.sigmoid_loss_and_grad``; on torch the autograd bridge
    ``sigref_torch.sigmoid_loss`` + ``backward()``), plain and with the MSCL options
    ``gamma`` (confidence weight ``(1 - p)^gamma``) and ``filter_threshold`` (hard-negative filtering,
    Basara's MSCL).
``open_clip``
    ``open_clip.loss.SigLipLoss`` with torch autograd (registered by the torch plugin).

plus the solver rows ``ccem`` and ``bangachev_e1`` when those modules are importable.

Plugins add measurements and memory probes: a module ``<plugin>.bench`` next to a backend plugin
(found through the ``sigref.backends`` entry points), or an entry point in the group
``sigref.bench``, calls :func:`register` / :func:`register_memory_probe` when imported. No array
library other than NumPy is imported here; the generic measurements follow the namespace of their
inputs.

Memory: CPU peaks are the growth of the resident set's high-water mark (``VmHWM``, reset through
``/proc/self/clear_refs``) during one untimed call, made while glibc ``malloc`` returns large blocks
to the system (``mallopt(M_MMAP_THRESHOLD)``), so only memory that call touched counts; NumPy rows
also carry the ``tracemalloc`` peak. Plugins supply device probes (torch CUDA:
``max_memory_allocated``). The timed calls come afterwards, with freed memory retained for reuse as
in sigref's own processes (:mod:`sigref.hostmem`), so page faults of fresh temporaries do not
count against any row.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as _dt
import gc
import importlib
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import array_api_compat
import numpy as np

from sigref.hostmem import retain_freed_memory
from sigref.losses.sigmoid import AUTO_CHUNK_ELEMENTS
from sigref.numerics import log_sigmoid, sigmoid
from sigref.sampling import rng_from, uniform_sphere

__all__ = [
    "BACKEND_KEYS",
    "BenchOptions",
    "elementwise_pass",
    "Measurement",
    "Unavailable",
    "find_measurement",
    "merge_reports",
    "floor_products",
    "format_markdown",
    "load_plugins",
    "naive_loss_and_grad",
    "quick_options",
    "register",
    "register_info",
    "register_memory_probe",
    "run_bench",
]

SCHEMA = "sigref.bench/1"
RESULT_PREFIX = "SIGREF-BENCH-RESULT "
PLUGIN_ENTRY_POINT_GROUP = "sigref.bench"

DEFAULT_NS = (1024, 4096, 8192, 16384)
DEFAULT_DS = (64, 768)
DEFAULT_DTYPES = ("float32", "float64")
QUICK_NS = (96,)
QUICK_DS = (16,)
DEFAULT_CHUNK = "auto"  # sigref.losses.sigmoid.AUTO_CHUNK_ELEMENTS // N rows per block

# SigLIP's initialisation in the papers' convention z = t <u, v> - b (open_clip: logit_bias = -b).
T_INIT = 10.0
B_INIT = 10.0
# MSCL's settings (Basara): gamma = 1, filtering threshold 0.05 on w = (1 - p)^gamma.
GAMMA = 1.0
FILTER_THRESHOLD = 0.05

# key -> (registered backend name, device or None for the backend's default, runs on a GPU)
BACKEND_KEYS: dict[str, tuple[str, str | None, bool]] = {
    "numpy": ("numpy", None, False),
    "torch": ("torch", "cpu", False),
    "torch-cuda": ("torch", "cuda", True),
    "cupy": ("cupy", None, True),
    "array_api_strict": ("array_api_strict", None, False),
}
DEFAULT_BACKENDS = ("numpy", "torch", "torch-cuda", "cupy")


class Unavailable(RuntimeError):
    """Raised by a measurement's setup when it cannot run here; the message says why."""


# --------------------------------------------------------------------------------------------
# The naive baseline.


def naive_loss_and_grad(
    U: Any, V: Any, t: Any, b: Any, *, gamma: float = 0.0, filter_threshold: float | None = None
) -> dict[str, Any]:
    """NAIVE BASELINE (benchmark reference, not for use): the dense sigmoid loss and its gradients.

    Everything is materialised as N x N arrays, as a first implementation would do it:
    cosines ``S = U V^T``, logits ``Z = t S - b``, labels ``Y = 2 I - 1``, margins ``M = Y * Z``,
    weights ``W`` and the per-pair losses, then the gradient ``G = dL/dZ`` and the products

        dL/dU = t G V,   dL/dV = t G^T U,   dL/dt = sum(G * S),   dL/db = -sum(G).

    Per pair, with ``p = sigmoid(M)``: plain ``l = -log p`` (``W = 1``); MSCL (Basara's
    sigmoid-contrastive-loss) ``l = -W log p`` with the confidence weight ``W = (1 - p)^gamma``
    (not detached); MSCL filtering ``l = -K log p`` with the mask
    ``K = [i = j] or (1 - p)^gamma > filter_threshold`` (not differentiated).
    ``L = (1/N) sum_ij l_ij`` (SigLIP, arXiv 2303.15343).

    Returns ``{"loss": L, "U": ..., "V": ..., "t": ..., "b": ...}``.
    """
    xp = array_api_compat.array_namespace(U, V)
    n = U.shape[-2]
    dev = array_api_compat.device(U)
    S = U @ xp.matrix_transpose(V)
    Z = t * S - b
    Y = 2.0 * xp.eye(n, dtype=U.dtype, device=dev) - 1.0
    M = Y * Z
    log_p = log_sigmoid(M)
    p = sigmoid(M)
    q = sigmoid(-M)  # 1 - p
    if filter_threshold is not None:
        weight = xp.exp(gamma * log_sigmoid(-M))
        W = xp.astype((Y > 0.0) | (weight > filter_threshold), U.dtype)
        dl_dM = -W * q
    elif gamma != 0.0:
        W = xp.exp(gamma * log_sigmoid(-M))
        # d/dM [-W log p] = -W q + gamma W p log p   (dW/dM = -gamma W p)
        dl_dM = -W * q + gamma * W * p * log_p
    else:
        W = xp.ones_like(Z)
        dl_dM = -W * q
    loss = xp.sum(-W * log_p) / n
    G = Y * dl_dM / n
    return {
        "loss": loss,
        "U": t * (G @ V),
        "V": t * (xp.matrix_transpose(G) @ U),
        "t": xp.sum(G * S),
        "b": -xp.sum(G),
    }


def floor_products(U: Any, V: Any) -> tuple[Any, Any, Any]:
    """The floor: ``S = U V^T``, ``S V`` and ``S^T U``, the products of any gradient of the loss."""
    xp = array_api_compat.array_namespace(U, V)
    S = U @ xp.matrix_transpose(V)
    return S, S @ V, xp.matrix_transpose(S) @ U


# --------------------------------------------------------------------------------------------
# Registry.


@dataclass(frozen=True)
class Measurement:
    """One row kind of the benchmark.

    ``setup(backend, inputs, options)`` receives the resolved :class:`sigref.backend.Backend`, the
    inputs already on it (``U``, ``V`` of shape (N, d), ``t``, ``b`` 0-d arrays; ``None`` for
    ``kind="solver"``) and the option dict, and returns a closure doing one forward+backward,
    returning ``None`` or a dict with ``"loss"`` and gradients (``"U"``, ``"t"``, ``"b"``) for the
    sanity columns. ``libraries``: registered backend names it claims (``None``: any array-API
    backend); the measurement registered last that claims a backend is the one used.
    ``available(key)`` returns why it cannot run (cheap; ``None`` when it can).
    ``n2_memory``/``nd_memory``: estimated peak in N^2 (N * chunk_size when ``chunked``) and N*d
    elements, used to skip sizes that cannot fit. ``timed_alone``: timed on its own after the round
    robin of the other rows of its configuration (the naive row, whose N^2 temporaries slowed the calls
    beside it).
    """

    name: str
    description: str
    setup: Callable[[Any, dict[str, Any] | None, dict[str, Any]], Callable[[], Any]]
    kind: str = "loss"
    libraries: frozenset[str] | None = None
    available: Callable[[str], str | None] = lambda key: None
    default: bool = True
    n2_memory: float = 0.0
    nd_memory: float = 4.0
    chunked: bool = False
    order: int = 50
    timed_alone: bool = False

    def memory_estimate(self, n: int, d: int, itemsize: int, chunk_size: int | str | None) -> float:
        """Rough peak bytes (N^2 terms scale with N * chunk for chunked rows)."""
        if chunk_size == "auto":
            chunk_size = max(1, AUTO_CHUNK_ELEMENTS // n)
        rows = min(chunk_size or n, n) if self.chunked else n
        return (self.n2_memory * n * rows + self.nd_memory * n * d) * itemsize

    def claims(self, library: str) -> bool:
        return self.libraries is None or library in self.libraries


_REGISTRY: list[Measurement] = []
_MEMORY_PROBES: dict[str, Callable[[Any], Any]] = {}
_INFO: dict[str, Callable[[], dict[str, Any]]] = {}
_PLUGIN_ERRORS: dict[str, str] = {}
_LOADED: set[str] = set()


def register(measurement: Measurement) -> Measurement:
    """Add a measurement (plugins call this when their ``bench`` module is imported)."""
    _REGISTRY.append(measurement)
    return measurement


def register_memory_probe(library: str, factory: Callable[[Any], Any]) -> None:
    """``factory(backend)`` returns a probe (``reset()``, ``peak() -> bytes``, ``method``) or ``None``."""
    _MEMORY_PROBES[library] = factory


def register_info(name: str, info: Callable[[], dict[str, Any]]) -> None:
    """Extra host facts for the JSON header (versions, thread counts, device names)."""
    _INFO[name] = info


def load_plugins(libraries: Iterable[str] | None = None) -> dict[str, str]:
    """Import the ``bench`` module of every backend plugin (or of those registering ``libraries``)
    and the ``sigref.bench`` entry points; returns ``{module: error}`` for those that failed."""
    wanted = None if libraries is None else set(libraries)
    modules: list[str] = []
    for ep in importlib.metadata.entry_points(group="sigref.backends"):
        package = ep.value.split(":")[0].split(".")[0]
        if package == "sigref" or (wanted is not None and ep.name not in wanted):
            continue
        if f"{package}.bench" not in modules and f"{package}.bench" not in _LOADED:
            modules.append(f"{package}.bench")
    for module in modules:
        _LOADED.add(module)
        try:
            if importlib.util.find_spec(module) is None:
                continue
            importlib.import_module(module)
        except Exception as exc:  # a plugin whose library is missing must not break the others
            _PLUGIN_ERRORS[module] = f"{type(exc).__name__}: {exc}"
    for ep in importlib.metadata.entry_points(group=PLUGIN_ENTRY_POINT_GROUP):
        if ep.value in _LOADED or (wanted is not None and ep.name not in wanted):
            continue
        _LOADED.add(ep.value)
        try:
            ep.load()
        except Exception as exc:
            _PLUGIN_ERRORS[ep.value] = f"{type(exc).__name__}: {exc}"
    return dict(_PLUGIN_ERRORS)


def find_measurement(name: str, library: str) -> Measurement | None:
    for m in reversed(_REGISTRY):
        if m.name == name and m.claims(library):
            return m
    return None


def measurement_names(*, default_only: bool = False) -> list[str]:
    best: dict[str, int] = {}
    for m in _REGISTRY:
        if not default_only or m.default:
            best.setdefault(m.name, m.order)
    return sorted(best, key=lambda n: (best[n], n))


# --------------------------------------------------------------------------------------------
# Generic (array-API) measurements.


def _floor_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    U, V = inputs["U"], inputs["V"]

    def run() -> None:
        floor_products(U, V)

    return run


def _naive_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    U, V, t, b = (inputs[k] for k in ("U", "V", "t", "b"))
    return lambda: naive_loss_and_grad(U, V, t, b)


VARIANTS: dict[str, dict[str, Any]] = {
    "sigref": {},
    "sigref_gamma": {"gamma": "gamma"},
    "sigref_filter": {"gamma": "gamma", "filter_threshold": "filter_threshold"},
}


def variant_kwargs(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of sigref's loss for a row (``chunk_size`` plus the MSCL options)."""
    kwargs = {key: options[opt] for key, opt in VARIANTS.get(name.replace("_kernel", ""), {}).items()}
    if options.get("chunk_size") is not None:
        kwargs["chunk_size"] = options["chunk_size"]
    return kwargs


def _sigref_losses_reason(key: str) -> str | None:
    try:
        losses = importlib.import_module("sigref.losses")
    except ImportError as exc:
        return f"sigref.losses is not importable ({exc})"
    if not hasattr(losses, "sigmoid_loss_and_grad"):
        return "sigref.losses.sigmoid_loss_and_grad does not exist yet"
    return None


def _sigref_setup(name: str) -> Callable[..., Callable[[], Any]]:
    def setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
        reason = _sigref_losses_reason("")
        if reason:
            raise Unavailable(reason)
        from sigref.losses import sigmoid_loss_and_grad

        U, V, t, b = (inputs[k] for k in ("U", "V", "t", "b"))
        kwargs = variant_kwargs(name, options)

        def run() -> dict[str, Any]:
            res = sigmoid_loss_and_grad(U, V, t, b, **kwargs)
            return {"loss": res.value, **{k: res.grad[k] for k in ("U", "t", "b") if k in res.grad}}

        run.elementwise = elementwise_pass(U)
        return run

    return setup


def elementwise_pass(x: Any) -> str:
    """Which elementwise pass sigref's kernel runs on blocks like ``x`` (a plugin's fused pass or the reference)."""
    from sigref.losses import sigmoid as kernel

    fn = kernel._pair_terms_for(x)
    return f"{fn.__module__}.{fn.__qualname__}"


register(Measurement("floor", "U V^T, S V, S^T U (the three products; lower bound)", _floor_setup,
                     kind="floor", n2_memory=1.0, order=0))
register(Measurement("naive", "naive dense baseline (this module, array API, analytic backward)",
                     _naive_setup, n2_memory=9.0, order=10, timed_alone=True))
for _name, _order, _desc in (
    ("sigref", 20, "sigref.losses.sigmoid_loss_and_grad"),
    ("sigref_gamma", 21, "sigref, MSCL gamma > 0"),
    ("sigref_filter", 22, "sigref, MSCL gamma + filter_threshold"),
):
    register(Measurement(_name, _desc, _sigref_setup(_name), available=_sigref_losses_reason,
                         n2_memory=8.0, chunked=True, order=_order))
    register(Measurement(f"{_name}_kernel", f"{_desc} (array-API kernel, no autograd; any backend)",
                         _sigref_setup(_name), available=_sigref_losses_reason, default=False,
                         n2_memory=8.0, chunked=True, order=_order + 10))


# --------------------------------------------------------------------------------------------
# Solver rows (NumPy only, no N/d grid).


def _module_reason(module: str, attr: str) -> str | None:
    """Why ``module.attr`` cannot be benchmarked here, or None."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        return f"{module} is not importable ({exc})"
    return None if hasattr(mod, attr) else f"{module} has no {attr}"


def _ccem_reason(key: str) -> str | None:
    return _module_reason("sigref.ccem", "delta_star")


def _ccem_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    reason = _ccem_reason("numpy")
    if reason:
        raise Unavailable(reason)
    from sigref.ccem import delta_star

    points = int(options.get("ccem_points", 1_000_000))
    rng = np.random.default_rng(options.get("seed", 0))
    t_host = rng.uniform(0.5, 100.0, size=points)
    N = backend.asarray(rng.integers(3, 100_000, size=points).astype(np.float64))
    t = backend.asarray(t_host)
    b = backend.asarray(rng.uniform(0.0, 2.0, size=points) * t_host)
    return lambda: {"loss": backend.xp.mean(delta_star(N, t, b).loss)}


def _bangachev_reason(key: str) -> str | None:
    return _module_reason("sigref.experiments.bangachev2025", "run_e1")


def _bangachev_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    reason = _bangachev_reason("numpy")
    if reason:
        raise Unavailable(reason)
    mod = importlib.import_module("sigref.experiments.bangachev2025")
    steps = int(options.get("e1_steps", 10_000))

    def run() -> None:
        mod.run_e1(backend, steps=steps, progress=False)

    return run


register(Measurement("ccem", "sigref.ccem.delta_star on 1e6 random (N, t, b) points", _ccem_setup, kind="solver",
                     libraries=frozenset({"numpy"}), available=_ccem_reason, nd_memory=0.0, order=90))
register(Measurement("bangachev_e1", "Bangachev E1: four 10k-step runs, N=100, d=10", _bangachev_setup,
                     kind="solver", libraries=frozenset({"numpy"}), available=_bangachev_reason,
                     nd_memory=0.0, order=91))


# --------------------------------------------------------------------------------------------
# Memory probes.


def _proc_status() -> dict[str, int]:
    values: dict[str, int] = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmHWM:", "VmRSS:")):
                key, rest = line.split(":", 1)
                values[key] = int(rest.split()[0]) * 1024
    return values


class RssProbe:
    """Growth of the resident set's high-water mark during a call (Linux ``clear_refs``)."""

    method = "rss-hwm"

    def __init__(self) -> None:
        self._base = 0
        self._fallback = False

    def reset(self) -> None:
        gc.collect()
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self._base = _proc_status()["VmRSS"]
        except OSError:
            self._fallback = True
            self.method = "ru_maxrss (lower bound: high-water mark cannot be reset)"
            self._base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def peak(self) -> int:
        if self._fallback:
            return max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self._base)
        return max(0, _proc_status()["VmHWM"] - self._base)


class TracemallocProbe:
    """Peak of the Python-tracked allocations (NumPy reports its data buffers) during a call."""

    method = "tracemalloc"

    def reset(self) -> None:
        gc.collect()
        tracemalloc.start()
        tracemalloc.reset_peak()
        self._base = tracemalloc.get_traced_memory()[0]

    def peak(self) -> int:
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return max(0, peak - self._base)


def _probe_for(key: str, backend: Any) -> Any:
    library, _, gpu = BACKEND_KEYS.get(key, (key, None, False))
    factory = _MEMORY_PROBES.get(library)
    probe = factory(backend) if factory else None
    if probe is None and not gpu:
        probe = RssProbe()
    return probe


def _limit_malloc() -> str:
    """Make glibc hand blocks >= 1 MiB straight back to the system, so RSS tracks live arrays."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(-3, 1 << 20) == 1  # M_MMAP_THRESHOLD (also disables its dynamic growth)
        return "mmap_threshold=1MiB" if ok else "mallopt refused"
    except OSError:
        return "not glibc"


# --------------------------------------------------------------------------------------------
# One measurement (runs inside the worker process).


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
        timing = _time_interleaved(backend, [fn], spec["repeats"], spec["budget_s"])[0] if spec.get("timed", True) else {}
        return {
            **result,
            "status": "ok",
            **timing,
            "peak_bytes": peak,
            "memory_method": method or "n/a (no probe for this device)",
            "peak_traced_bytes": traced,
            "warmup_s": call_s if spec["warmup"] else None,
            "elementwise": getattr(fn, "elementwise", None),
            **checks,
        }
    except Unavailable as exc:
        return {**result, "status": "skipped", "reason": str(exc)}
    except Exception as exc:  # recorded in the report, the run goes on
        return {**result, "status": "error", "reason": f"{type(exc).__name__}: {exc}"}


def _time_interleaved(backend: Any, fns: list[Callable[[], Any]], repeats: int, budget_s: float) -> list[dict[str, Any]]:
    """Time the calls round-robin (one call of each per round) until each has ``repeats`` samples or the
    rounds took ``budget_s`` per call; slow drifts of the machine then hit every row alike.

    Timing runs as sigref's own processes do, with freed memory kept for reuse (see :mod:`sigref.hostmem`),
    after one more warm-up call of each."""
    retain_freed_memory()
    for fn in fns:
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
    timed = iter(_time_interleaved(backend, fns, specs[0]["repeats"], specs[0]["budget_s"]) if fns else [])
    return {"timings": [r if "timing_error" in r else {**r, **next(timed)} for r in records]}


def _record_base(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: spec.get(k) for k in ("impl", "kind", "backend", "dtype", "N", "d")}


def _worker_main() -> int:
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


# --------------------------------------------------------------------------------------------
# Planning and running.


def _mem_available() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _load() -> dict[str, Any]:
    info: dict[str, Any] = {"time": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    with contextlib.suppress(OSError):
        info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    with contextlib.suppress(OSError, ValueError):
        info["uptime_s"] = float(Path("/proc/uptime").read_text().split()[0])
    if shutil.which("uptime"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            info["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    return info


def _host() -> dict[str, Any]:
    versions: dict[str, str] = {}
    for dist in ("sigref", "sigref-torch", "sigref-cupy", "sigref-numba", "numpy", "numba", "torch", "cupy", "open-clip-torch"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[dist] = importlib.metadata.version(dist)
    host: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "mem_total_bytes": _mem_total(),
        "versions": versions,
        "numpy_config": _blas_name(),
    }
    for name, info in _INFO.items():
        with contextlib.suppress(Exception):
            host[name] = info()
    return host


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def _mem_total() -> int | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return None


def _blas_name() -> str:
    with contextlib.suppress(Exception):
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip()
    return "?"


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
    device kind: torch CPU for numpy rows, torch CUDA for CUDA rows) for every timed row."""

    def key(r: dict[str, Any], backend: str) -> tuple[Any, ...]:
        return (backend, r["dtype"], r["N"], r["d"])

    timed = {(r["impl"], *key(r, r["backend"])): r for r in results if r.get("status") == "ok"}
    for r in results:
        if r.get("status") != "ok" or r.get("kind") == "solver":
            continue
        gpu = BACKEND_KEYS.get(r["backend"], ("", None, False))[2]
        peer_backend = "torch-cuda" if gpu else "torch"
        for ratio, impl, backend in (
            ("floor", "floor", r["backend"]),
            ("sigref", "sigref", r["backend"]),
            ("open_clip", "open_clip", peer_backend),
        ):
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


# --------------------------------------------------------------------------------------------
# Report.


def _ms(x: float | None) -> str:
    if x is None:
        return "–"
    ms = x * 1e3
    return f"{ms:.3g}" if ms < 1000 else f"{ms:,.0f}"


def _ratio(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _mib(x: int | None) -> str:
    return "–" if x is None else f"{x / 2**20:.1f}"


def _load_text(load: dict[str, Any]) -> str:
    avg = load.get("loadavg")
    return f"{load.get('time', '?')}, load average {' '.join(map(str, avg)) if avg else '?'}"


def format_markdown(report: dict[str, Any]) -> str:
    """The report as markdown: header (host, load), headline table, full tables, solvers, skips."""
    host, results = report["host"], report["results"]
    opts = report["options"]
    lines = [
        "# sigref bench" + (" (quick)" if report.get("quick") else "")
        + ("" if report.get("complete", True) else f" (partial: {report.get('pending')} measurements pending)"),
        "",
        f"- host: {host.get('processor')}, {host.get('cpu_count')} CPUs, "
        f"{(host.get('mem_total_bytes') or 0) / 2**30:.0f} GiB; {host.get('platform')}; python {host.get('python')}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in host.get("versions", {}).items())
        + f"; NumPy BLAS: {host.get('numpy_config')}",
    ]
    for name in sorted(set(host) - {"platform", "machine", "processor", "cpu_count", "python", "mem_total_bytes",
                                    "versions", "numpy_config"}):
        lines.append(f"- {name}: " + ", ".join(f"{k} {v}" for k, v in host[name].items()))
    lines += [
        f"- load before: {_load_text(report['load']['before'])}",
        f"- load after: {_load_text(report['load']['after'])}; whole run {report.get('elapsed_s', 0):,.0f} s",
        f"- inputs: unit rows U, V = normalise(U + noise), t = {T_INIT:g}, b = {B_INIT:g} (z = t<u,v> - b); "
        f"MSCL gamma = {opts['gamma']:g}, filter_threshold = {opts['filter_threshold']:g}; "
        f"chunk_size = {opts['chunk_size']}",
        f"- timing: median of up to {opts['repeats']} runs after {opts['warmup']} warm-up, the rows of one "
        f"(backend, dtype, N, d) called round-robin in one process (stopping after {opts['budget_s']:g} s per row; "
        f"the naive row timed alone after them); "
        f"isolation: {opts['isolate']}; memory: peak above the inputs during one forward+backward",
    ]
    passes = sorted({(r["backend"], r["elementwise"]) for r in results if r.get("elementwise")})
    if passes:
        lines.append("- sigref's elementwise pass: " + "; ".join(f"{b} `{p}`" for b, p in passes))
    for command in report.get("merged_commands") or [report.get("command")]:
        if command:
            lines.append("- command: `" + " ".join(command) + "`")
    lines.append("")

    ok = [r for r in results if r.get("status") == "ok" and r.get("kind") != "solver"]
    by = {(r["impl"], r["backend"], r["dtype"], r["N"], r["d"]): r for r in ok}
    configs = sorted({(r["backend"], r["dtype"], r["N"], r["d"]) for r in ok},
                     key=lambda c: (list(BACKEND_KEYS).index(c[0]) if c[0] in BACKEND_KEYS else 99, *c[1:]))

    def get(impl: str, cfg: tuple[Any, ...], field_: str) -> Any:
        r = by.get((impl, *cfg))
        return None if r is None else r.get(field_)

    lines += [
        "## Headline",
        "",
        "Times in ms; ×floor = time / floor (U V^T, S V, S^T U), ×open_clip = time / open_clip SigLipLoss + "
        "autograd on the same device kind, ×sigref = MSCL variant / plain sigref; memory in MiB above the inputs.",
        "",
        "| backend | dtype | N | d | floor ms | sigref ms | sigref ×floor | sigref ×open_clip | naive ×floor "
        "| γ ×sigref | filter ×sigref | sigref MiB | open_clip MiB | naive MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cfg in configs:
        lines.append(
            f"| {cfg[0]} | {cfg[1]} | {cfg[2]} | {cfg[3]} | {_ms(get('floor', cfg, 'time_s'))} "
            f"| {_ms(get('sigref', cfg, 'time_s'))} | {_ratio(get('sigref', cfg, 'ratio_floor'))} "
            f"| {_ratio(get('sigref', cfg, 'ratio_open_clip'))} | {_ratio(get('naive', cfg, 'ratio_floor'))} "
            f"| {_ratio(get('sigref_gamma', cfg, 'ratio_sigref'))} | {_ratio(get('sigref_filter', cfg, 'ratio_sigref'))} "
            f"| {_mib(get('sigref', cfg, 'peak_bytes'))} | {_mib(get('open_clip', cfg, 'peak_bytes'))} "
            f"| {_mib(get('naive', cfg, 'peak_bytes'))} |"
        )
    lines.append("")

    lines += ["## All rows", "",
              "| backend | dtype | N | d | impl | ms (median) | ms (min) | runs | ×floor | ×sigref | ×open_clip "
              "| peak MiB | mem ×open_clip | loss |",
              "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if r.get("kind") == "solver" or r.get("status") != "ok":
            continue
        loss = r.get("loss")
        lines.append(
            f"| {r['backend']} | {r['dtype']} | {r['N']} | {r['d']} | {r['impl']} | {_ms(r['time_s'])} "
            f"| {_ms(r['time_min_s'])} | {r['repeats']} | {_ratio(r.get('ratio_floor'))} "
            f"| {_ratio(r.get('ratio_sigref'))} | {_ratio(r.get('ratio_open_clip'))} | {_mib(r.get('peak_bytes'))} "
            f"| {_ratio(r.get('memory_ratio_open_clip'))} | {'–' if loss is None else f'{loss:.6g}'} |"
        )
    lines.append("")

    solvers = [r for r in results if r.get("kind") == "solver"]
    if solvers:
        lines += ["## Solvers (NumPy float64)", "", "| row | what | status | ms (median) | runs | peak MiB |",
                  "|---|---|---|---:|---:|---:|"]
        for r in solvers:
            what = {"ccem": f"sigref.ccem.delta_star on {opts['ccem_points']:,} random (N, t, b) points",
                    "bangachev_e1": f"Bangachev E1: four {opts['e1_steps']:,}-step runs, N=100, d=10"}.get(r["impl"], "")
            if r.get("status") == "ok":
                lines.append(f"| {r['impl']} | {what} | ok | {_ms(r['time_s'])} | {r['repeats']} "
                             f"| {_mib(r.get('peak_bytes'))} |")
            else:
                lines.append(f"| {r['impl']} | {what} | {r['status']}: {r.get('reason')} | – | – | – |")
        lines.append("")

    other = [r for r in results if r.get("status") != "ok" and r.get("kind") != "solver"]
    if other or report.get("unavailable_backends"):
        lines += ["## Not measured", ""]
        for key, reason in report.get("unavailable_backends", {}).items():
            lines.append(f"- backend {key}: {reason}")
        reasons: dict[tuple[str, str, str], list[str]] = {}
        for r in other:
            reasons.setdefault((r["impl"], r["backend"], f"{r['status']}: {r.get('reason')}"), []).append(
                f"{r['dtype']} N={r['N']} d={r['d']}")
        for (impl, backend, why), where in reasons.items():
            lines.append(f"- {impl} on {backend} ({', '.join(where)}): {why}")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# CLI.



def _chunk_arg(text: str) -> int | str:
    if text == "auto":
        return text
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"--chunk-size must be 'auto' or an integer >= 0, got {text!r}")
    return value

def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``sigref bench`` to the CLI."""
    p = subparsers.add_parser(
        "bench", help="time and memory of the loss + gradients vs the matmul floor, a naive baseline and open_clip",
        description="Forward+backward time (median after warm-up; the rows of one configuration round-robin in one "
        "process) and peak memory above the inputs (each row in its own process); prints a markdown table and "
        "writes bench.json and bench.md.",
    )
    p.add_argument("--quick", action="store_true", help="CI smoke: N=96, d=16, 2 runs, one process per backend")
    p.add_argument("--backend", nargs="+", choices=list(BACKEND_KEYS), default=None,
                   help=f"backends (default: the available ones of {', '.join(DEFAULT_BACKENDS)})")
    p.add_argument("--n", nargs="+", type=int, default=None, help=f"batch sizes N (default {DEFAULT_NS})")
    p.add_argument("--d", nargs="+", type=int, default=None, help=f"dimensions d (default {DEFAULT_DS})")
    p.add_argument("--dtype", nargs="+", choices=list(DEFAULT_DTYPES), default=None)
    p.add_argument("--impl", nargs="+", default=None,
                   help="rows (default: floor naive sigref sigref_gamma sigref_filter open_clip ccem bangachev_e1; "
                   "also sigref_kernel, sigref_gamma_kernel, sigref_filter_kernel)")
    p.add_argument("--repeats", type=int, default=None, help="timed runs per measurement (default 5; quick 2)")
    p.add_argument("--warmup", type=int, default=None, help="untimed runs first (default 1)")
    p.add_argument("--budget", type=float, default=None,
                   help="stop repeating once a measurement's timed runs took this many seconds (default 30)")
    p.add_argument("--chunk-size", type=_chunk_arg, default=DEFAULT_CHUNK,
                   help="sigref's chunk_size: anchors per row block, 'auto' (default: about 2^22 pairs per block) or 0 (unchunked)")
    p.add_argument("--gamma", type=float, default=GAMMA, help="MSCL gamma of the sigref_gamma/_filter rows")
    p.add_argument("--filter-threshold", type=float, default=FILTER_THRESHOLD)
    p.add_argument("--isolate", choices=["measurement", "backend", "none"], default=None,
                   help="a fresh process per row's memory and per configuration's timing (default), "
                   "one per backend (quick default), or none")
    p.add_argument("--no-solvers", action="store_true", help="skip the ccem and bangachev_e1 rows")
    p.add_argument("--max-memory", type=float, default=None,
                   help="skip CPU rows whose estimated peak exceeds this many GiB (default 70%% of MemAvailable)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per measurement before it is killed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None,
                   help="directory for bench.json and bench.md (default reference_results/bench; quick: out/bench-quick)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--merge", nargs="+", metavar="BENCH_JSON", default=None,
                   help="instead of measuring, combine the reports of several runs on one host into OUT "
                   "(later files win for the same row)")
    p.set_defaults(func=cmd_bench)
    return p


def options_from_args(args: argparse.Namespace) -> BenchOptions:
    chosen = {
        "backends": args.backend, "ns": args.n, "ds": args.d, "dtypes": args.dtype, "impls": args.impl,
        "repeats": args.repeats, "warmup": args.warmup, "budget_s": args.budget, "isolate": args.isolate,
    }
    overrides = {k: v for k, v in chosen.items() if v is not None}
    overrides.update(
        chunk_size=args.chunk_size or None, gamma=args.gamma, filter_threshold=args.filter_threshold, seed=args.seed,
        solvers=not args.no_solvers, timeout_s=args.timeout, progress=not args.no_progress,
        max_memory_bytes=None if args.max_memory is None else int(args.max_memory * 2**30),
    )
    for name in ("repeats", "warmup"):
        if name in overrides and overrides[name] < (1 if name == "repeats" else 0):
            raise ValueError(f"--{name} must be >= {1 if name == 'repeats' else 0}, got {overrides[name]}")
    for name in ("ns", "ds"):
        if name in overrides and any(int(v) < 1 for v in overrides[name]):
            raise ValueError(f"--{name[0]} values must be positive integers, got {overrides[name]}")
    return quick_options(**overrides) if args.quick else BenchOptions(**overrides)


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


def cmd_bench(args: argparse.Namespace) -> int:
    out = args.out or ("out/bench-quick" if args.quick else "reference_results/bench")
    if args.merge:
        report = merge_reports([json.loads(Path(f).read_text()) for f in args.merge])
        Path(out).mkdir(parents=True, exist_ok=True)
        _atomic_write(Path(out) / "bench.json", json.dumps(report, indent=1) + "\n")
        _atomic_write(Path(out) / "bench.md", format_markdown(report))
        print(f"merged {len(args.merge)} reports into {Path(out) / 'bench.json'} and {Path(out) / 'bench.md'}")
        return 0
    options = options_from_args(args)
    prog = Path(sys.argv[0]).name if sys.argv else ""
    argv = (["sigref", *sys.argv[1:]] if prog == "sigref"
            else ["python", "-m", "sigref.bench", *sys.argv[1:]] if prog == "bench.py" else None)
    report = run_bench(options, out=out, argv=argv)
    print(format_markdown(report))
    print(f"wrote {Path(out) / 'bench.json'} and {Path(out) / 'bench.md'}")
    errors = [r for r in report["results"] if r.get("status") == "error"]
    return 1 if errors else 0


def _main(argv: Iterable[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--worker"]:
        return _worker_main()
    from sigref.cli import main

    return main(["bench", *argv])


if __name__ == "__main__":
    # Run through the imported module so plugins register into the same registry.
    from sigref.bench import _main as _module_main

    sys.exit(_module_main())
