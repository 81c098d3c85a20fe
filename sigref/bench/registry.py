"""The benchmark's constants and registry: :class:`Measurement`, :func:`register` and the other
hooks plugins call (memory probes, host facts), plugin discovery (:func:`load_plugins`) and lookup
(:func:`find_measurement`, :func:`measurement_names`), plus the grid defaults, the backend keys
(:data:`BACKEND_KEYS`) and :class:`Unavailable`, which a measurement's setup raises to be skipped.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sigref.losses.sigmoid import AUTO_CHUNK_ELEMENTS

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
    "jax": ("jax", "cpu", False),
}
DEFAULT_BACKENDS = ("numpy", "torch", "torch-cuda", "cupy")


class Unavailable(RuntimeError):
    """Raised by a measurement's setup when it cannot run here; the message says why."""


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
    beside it). ``floor``: the row its ``ratio_floor`` divides by (``kind="analysis"`` rows: ``analysis_products``).
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
    floor: str = "floor"

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
