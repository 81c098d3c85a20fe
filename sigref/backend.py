"""Backend registry: which array library, device and dtype to use when no input array says so.

Kernels never consult this module: they follow the namespace of their inputs
(``array_api_compat.array_namespace``). The registry is for code that *creates* arrays
(constructions, experiments, goldens, the CLI, test parametrisation).

Backends are declared through the entry-point group ``sigref.backends``; each entry point
names a :class:`BackendSpec`. Core registers ``numpy`` and ``array_api_strict``; the plugins
``sigref-torch`` and ``sigref-cupy`` register ``torch`` and ``cupy``. A third party adds one
with a single line in its own ``pyproject.toml``::

    [project.entry-points."sigref.backends"]
    mylib = "my_package:BACKEND"

Selection precedence: explicit ``backend=`` argument > :func:`use_backend` context >
``SIGREF_BACKEND`` > ``"numpy"``; ``SIGREF_DEVICE`` and ``SIGREF_DTYPE`` refine it the same way.
An unknown or unavailable backend is an error naming the available ones; nothing falls back.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import importlib.metadata
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "Backend",
    "BackendError",
    "BackendSpec",
    "BackendUnavailable",
    "as_backend",
    "backend_spec",
    "available_backends",
    "get_backend",
    "to_numpy",
    "use_backend",
]

ENTRY_POINT_GROUP = "sigref.backends"
FLOAT_DTYPES = ("float32", "float64")


class BackendError(ValueError):
    """An unknown, unavailable or misconfigured backend was requested."""


class BackendUnavailable(RuntimeError):
    """Raised by :attr:`BackendSpec.check` with the reason a backend cannot run here."""


def _default_to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, (np.ndarray, np.generic, float, int)):
        return np.asarray(x)
    return np.from_dlpack(x)


@dataclass(frozen=True)
class BackendSpec:
    """What a backend plugin declares.

    Attributes
    ----------
    name : registry name (``SIGREF_BACKEND`` value).
    module : import name of the array library; its array-API namespace is obtained through
        ``array_api_compat`` (or used as is when the module is itself a namespace).
    check : raises :class:`BackendUnavailable` with a reason when the library imports but
        cannot run here (e.g. ``"no CUDA device"``).
    devices : returns the device names this backend can use, default first.
    device : maps a device name to the library's device object.
    to_numpy, synchronize : host copy (tests, goldens) and a barrier for timing.
    has_autograd : whether the library differentiates through sigref's kernels.
    """

    name: str
    module: str
    check: Callable[[], None] = lambda: None
    devices: Callable[[], list[str]] = lambda: ["cpu"]
    device: Callable[[str], Any] = lambda name: name
    to_numpy: Callable[[Any], np.ndarray] = _default_to_numpy
    synchronize: Callable[[Any], None] = lambda device: None
    has_autograd: bool = False

    def namespace(self) -> ModuleType:
        lib = importlib.import_module(self.module)
        if hasattr(lib, "__array_api_version__"):
            return lib
        return array_api_compat.array_namespace(lib.empty(0))


@dataclass(frozen=True)
class Backend:
    """A resolved backend: namespace ``xp``, device and default floating dtype."""

    spec: BackendSpec
    xp: ModuleType = field(repr=False)
    device: Any
    dtype: Any

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def has_autograd(self) -> bool:
        return self.spec.has_autograd

    @property
    def dtype_name(self) -> str:
        return "float32" if self.dtype == self.xp.float32 else "float64"

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        """Move a host value (NumPy array, list, scalar) to this backend.

        Floating data gets ``dtype`` (default: the backend's float dtype); integer and bool
        data keep their kind.
        """
        host = np.asarray(a)
        if dtype is None:
            if host.dtype.kind == "f":
                dtype = self.dtype
            else:
                dtype = getattr(self.xp, host.dtype.name)
        return self.xp.asarray(host, dtype=dtype, device=self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(self.spec.to_numpy(x))

    def synchronize(self) -> None:
        self.spec.synchronize(self.device)


def _strict_to_numpy(x: Any) -> np.ndarray:
    return np.asarray(x)


NUMPY = BackendSpec(name="numpy", module="numpy")
ARRAY_API_STRICT = BackendSpec(
    name="array_api_strict",
    module="array_api_strict",
    device=lambda name: importlib.import_module("array_api_strict").Device(
        "CPU_DEVICE" if name == "cpu" else name
    ),
    to_numpy=_strict_to_numpy,
)

_context: contextvars.ContextVar[tuple[str | None, str | None, str | None]] = contextvars.ContextVar(
    "sigref_backend", default=(None, None, None)
)


@functools.cache
def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)
    return found


@functools.cache
def backend_spec(name: str) -> BackendSpec:
    """The registered :class:`BackendSpec` called ``name``; BackendError if unknown or broken."""
    eps = _entry_points()
    if name not in eps:
        raise BackendError(
            f"unknown backend {name!r}; registered backends: {', '.join(sorted(eps)) or 'none'}"
            f" ({_availability_text()})"
        )
    try:
        spec = eps[name].load()
    except Exception as exc:  # a broken plugin must say which distribution it is
        dist = eps[name].dist.name if eps[name].dist else eps[name].value
        raise BackendError(f"backend {name!r} from {dist!r} failed to load: {exc}") from exc
    if not isinstance(spec, BackendSpec) or spec.name != name:
        raise BackendError(f"entry point {name!r} must name a BackendSpec called {name!r}, got {spec!r}")
    return spec


def _unavailable_reason(name: str) -> str | None:
    try:
        spec = backend_spec(name)
        spec.check()
        spec.namespace()
    except BackendError as exc:
        return str(exc)
    except BackendUnavailable as exc:
        return str(exc)
    except ImportError as exc:
        return f"cannot import: {exc}"
    return None


@functools.cache
def available_backends() -> dict[str, str | None]:
    """Every registered backend mapped to ``None`` (usable) or the reason it is not."""
    return {name: _unavailable_reason(name) for name in sorted(_entry_points())}


def to_numpy(x: Any) -> np.ndarray:
    """A host (NumPy) copy of array ``x`` of any registered library, through the ``to_numpy`` of
    the backend whose ``module`` made it (e.g. torch: detached, moved to the CPU); DLPack otherwise."""
    library = type(x).__module__.split(".")[0]
    for name in _entry_points():
        spec = backend_spec(name)
        if spec.module == library:
            return np.asarray(spec.to_numpy(x))
    return np.asarray(_default_to_numpy(x))


def _availability_text() -> str:
    parts = []
    for name, reason in available_backends().items():
        parts.append(name if reason is None else f"{name}: {reason}")
    return "; ".join(parts)


def _pick(explicit: str | None, ctx: str | None, env: str) -> str | None:
    if explicit is not None:
        return explicit
    if ctx is not None:
        return ctx
    return os.environ.get(env) or None


def get_backend(name: str | None = None, *, device: str | None = None, dtype: str | None = None) -> Backend:
    """Resolve a backend by the precedence documented in this module."""
    ctx_name, ctx_device, ctx_dtype = _context.get()
    name = _pick(name, ctx_name, "SIGREF_BACKEND") or "numpy"
    return _resolve(
        name,
        _pick(device, ctx_device, "SIGREF_DEVICE"),
        _pick(dtype, ctx_dtype, "SIGREF_DTYPE") or "float64",
    )


@functools.cache
def _resolve(name: str, device: str | None, dtype: str) -> Backend:
    spec = backend_spec(name)
    reason = _unavailable_reason(name)
    if reason is not None:
        usable = [n for n, r in available_backends().items() if r is None]
        raise BackendError(f"backend {name!r} is unavailable ({reason}); available: {', '.join(usable)}")
    if dtype not in FLOAT_DTYPES:
        raise BackendError(f"dtype must be one of {FLOAT_DTYPES}, got {dtype!r} (from argument or SIGREF_DTYPE)")
    devices = spec.devices()
    device = device or devices[0]
    if device not in devices:
        raise BackendError(f"backend {name!r} has no device {device!r}; devices: {', '.join(devices)}")
    xp = spec.namespace()
    return Backend(spec=spec, xp=xp, device=spec.device(device), dtype=getattr(xp, dtype))


def as_backend(backend: Backend | str | None, dtype: str | None = None) -> Backend:
    """A constructor's ``backend=`` / ``dtype=`` arguments as a :class:`Backend`: a name or None
    resolves through :func:`get_backend`; a Backend keeps its namespace and device, with ``dtype``
    (if given) replacing its float dtype."""
    if backend is None or isinstance(backend, str):
        return get_backend(backend, dtype=dtype)
    if not isinstance(backend, Backend):
        raise TypeError(f"backend must be a Backend, a backend name or None, got {type(backend).__name__}")
    if dtype is None:
        return backend
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return replace(backend, dtype=getattr(backend.xp, dtype))


@contextlib.contextmanager
def use_backend(name: str, *, device: str | None = None, dtype: str | None = None) -> Iterator[Backend]:
    """Context in which :func:`get_backend` defaults to ``name`` (thread- and task-local)."""
    backend = get_backend(name, device=device, dtype=dtype)
    token = _context.set((name, device, dtype))
    try:
        yield backend
    finally:
        _context.reset(token)
