"""Backend registry: which array library, device and dtype to use when no input array says so.

Kernels never consult this module: they follow the namespace of their inputs
(``array_api_compat.array_namespace``). The registry is for code that *creates* arrays
(constructions, experiments, goldens, the CLI, test parametrisation).

.. rubric:: Registering a backend

Backends are declared through the entry-point group ``sigref.backends``
(:data:`ENTRY_POINT_GROUP`); each entry point names a :class:`BackendSpec` whose ``name`` is the
entry point's name. Core registers ``numpy`` and ``array_api_strict``; the plugins ``sigref-torch``,
``sigref-cupy`` and ``sigref-jax`` register ``torch``, ``cupy`` and ``jax``. A third party adds one
with a single line in its own ``pyproject.toml``::

    [project.entry-points."sigref.backends"]
    mylib = "my_package:BACKEND"

.. rubric:: Selecting a backend

:func:`get_backend` resolves a name, a device and a floating dtype, each by the precedence

1. the explicit argument (``backend=``, ``device=``, ``dtype=``);
2. the innermost :func:`use_backend` context;
3. the environment: ``SIGREF_BACKEND``, ``SIGREF_DEVICE``, ``SIGREF_DTYPE``;
4. the defaults: ``"numpy"``, the backend's first device, ``"float64"``.

An unknown or unavailable backend, device or dtype is a :class:`BackendError` naming what is
available; nothing falls back silently.

Examples
--------
>>> from sigref.backend import get_backend, use_backend
>>> backend = get_backend("numpy", dtype="float64")
>>> backend.name, backend.device, backend.dtype_name
('numpy', 'cpu', 'float64')
>>> with use_backend("array_api_strict", dtype="float32"):
...     print(get_backend().name, get_backend().dtype_name)
array_api_strict float32
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

from sigref.types import Array

__all__ = [
    "Backend",
    "BackendError",
    "BackendSpec",
    "BackendUnavailable",
    "ENTRY_POINT_GROUP",
    "FLOAT_DTYPES",
    "as_backend",
    "backend_spec",
    "available_backends",
    "get_backend",
    "to_numpy",
    "use_backend",
]

#: The entry-point group through which backends are declared (``"sigref.backends"``); each entry
#: point names a :class:`BackendSpec` of the same name.
ENTRY_POINT_GROUP = "sigref.backends"
#: The floating dtypes a backend can default to (``dtype=`` and ``SIGREF_DTYPE``).
FLOAT_DTYPES = ("float32", "float64")


class BackendError(ValueError):
    """An unknown, unavailable or misconfigured backend was requested.

    Raised by :func:`get_backend`, :func:`use_backend` and :func:`backend_spec`; the message names
    the backends, devices or dtypes that are available. A subclass of :class:`ValueError`.

    Examples
    --------
    >>> from sigref.backend import BackendError, get_backend
    >>> try:
    ...     get_backend("numpy", dtype="float16")
    ... except BackendError as exc:
    ...     print(exc)
    dtype must be one of ('float32', 'float64'), got 'float16' (from argument or SIGREF_DTYPE)
    """


class BackendUnavailable(RuntimeError):
    """Raised by a :class:`BackendSpec`'s ``check`` with the reason a backend cannot run here.

    The registry catches it: :func:`available_backends` reports the reason and :func:`get_backend`
    turns it into a :class:`BackendError`.

    Examples
    --------
    >>> from sigref.backend import BackendUnavailable
    >>> def check():
    ...     raise BackendUnavailable("no CUDA device")
    >>> try:
    ...     check()
    ... except BackendUnavailable as exc:
    ...     print(exc)
    no CUDA device
    """


def _default_to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, (np.ndarray, np.generic, float, int)):
        return np.asarray(x)
    return np.from_dlpack(x)


@dataclass(frozen=True)
class BackendSpec:
    """What a backend plugin declares.

    An entry point of the group ``sigref.backends`` names one instance, whose ``name`` must equal
    the entry point's name. Only ``name`` and ``module`` are required; the defaults describe a CPU
    library without autograd whose arrays convert to NumPy through DLPack.

    Parameters
    ----------
    name : str
        Registry name (the ``SIGREF_BACKEND`` value).
    module : str
        Import name of the array library. Its array-API namespace is the module itself when it
        defines ``__array_api_version__``, else the ``array_api_compat`` wrapper of its arrays.
    check : callable, optional
        ``check() -> None``; raises :class:`BackendUnavailable` with a reason when the library
        imports but cannot run here (e.g. ``"no CUDA device"``). Default: always usable.
    devices : callable, optional
        ``devices() -> list of str``: the device names this backend can use, default first.
        Default: ``["cpu"]``.
    device : callable, optional
        ``device(name) -> object``: the library's device object of a device name. Default: the
        name itself.
    to_numpy : callable, optional
        ``to_numpy(x) -> numpy.ndarray``: a host copy of an array (tests, goldens). Default:
        ``numpy.asarray`` of NumPy values, ``numpy.from_dlpack`` otherwise.
    synchronize : callable, optional
        ``synchronize(device) -> None``: wait for the device's queued work (timing). Default: a
        no-op.
    has_autograd : bool, default False
        Whether the library differentiates through sigref's kernels.

    See Also
    --------
    backend_spec : The registered spec of a name.

    Examples
    --------
    >>> from sigref.backend import BackendSpec
    >>> spec = BackendSpec(name="mylib", module="numpy")
    >>> spec.devices(), spec.has_autograd, spec.namespace().__name__
    (['cpu'], False, 'numpy')
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
        """The array-API namespace of the library ``module``.

        Importing the library is the only side effect; the namespace is what :class:`Backend`
        holds as ``xp``.

        Returns
        -------
        module
            ``module`` itself when it defines ``__array_api_version__``, else
            ``array_api_compat.array_namespace`` of an empty array of it.

        Raises
        ------
        ImportError
            When the library cannot be imported.

        Examples
        --------
        >>> from sigref.backend import backend_spec
        >>> backend_spec("array_api_strict").namespace().__name__
        'array_api_strict'
        """
        lib = importlib.import_module(self.module)
        if hasattr(lib, "__array_api_version__"):
            return lib
        return array_api_compat.array_namespace(lib.empty(0))


@dataclass(frozen=True)
class Backend:
    """A resolved backend: namespace ``xp``, device and default floating dtype.

    Obtained from :func:`get_backend`, :func:`use_backend` or :func:`as_backend` rather than built
    directly. Code that creates arrays creates them with ``backend.xp`` on ``backend.device``, or
    moves host data there with :meth:`asarray`.

    Parameters
    ----------
    spec : BackendSpec
        What the plugin declared.
    xp : module
        The array-API namespace.
    device : object
        The library's device object (``"cpu"`` for NumPy).
    dtype : object
        The default floating dtype of ``xp`` (``xp.float32`` or ``xp.float64``).

    Examples
    --------
    >>> from sigref.backend import get_backend
    >>> backend = get_backend("numpy", dtype="float32")
    >>> x = backend.asarray([1.0, 2.0])
    >>> x.dtype.name, backend.to_numpy(x).tolist()
    ('float32', [1.0, 2.0])
    """

    spec: BackendSpec
    xp: ModuleType = field(repr=False)
    device: Any
    dtype: Any

    @property
    def name(self) -> str:
        """The registry name of the backend (``self.spec.name``), e.g. ``"numpy"``."""
        return self.spec.name

    @property
    def has_autograd(self) -> bool:
        """Whether the library differentiates through sigref's kernels (``self.spec.has_autograd``)."""
        return self.spec.has_autograd

    @property
    def dtype_name(self) -> str:
        """The default floating dtype as a name: ``"float32"`` or ``"float64"``."""
        return "float32" if self.dtype == self.xp.float32 else "float64"

    def asarray(self, a: Any, dtype: Any = None) -> Array:
        """Move a host value (NumPy array, list, scalar) to this backend.

        The value goes through ``numpy.asarray`` first. Floating data gets ``dtype`` (default: the
        backend's float dtype); integer and bool data keep their kind (the namespace's dtype of the
        same name).

        Parameters
        ----------
        a : array_like
            Host data.
        dtype : object, optional
            A dtype of ``xp``; default: :attr:`dtype` for floating data, the same kind otherwise.

        Returns
        -------
        Array
            The data as an array of ``xp`` on :attr:`device`.

        Examples
        --------
        >>> from sigref.backend import get_backend
        >>> backend = get_backend("array_api_strict", dtype="float64")
        >>> backend.asarray([0.5, 1.0]).dtype, backend.asarray([1, 2]).dtype
        (array_api_strict.float64, array_api_strict.int64)
        """
        host = np.asarray(a)
        if dtype is None:
            if host.dtype.kind == "f":
                dtype = self.dtype
            else:
                dtype = getattr(self.xp, host.dtype.name)
        return self.xp.asarray(host, dtype=dtype, device=self.device)

    def to_numpy(self, x: Array) -> np.ndarray:
        """The values of an array of this backend as a NumPy array on the host.

        The conversion is the spec's ``to_numpy`` (torch: detached and copied to the CPU); a NumPy
        array is returned as it is, not copied.

        Parameters
        ----------
        x : Array
            An array of this backend.

        Returns
        -------
        numpy.ndarray
            The values on the host.

        Examples
        --------
        >>> from sigref.backend import get_backend
        >>> backend = get_backend("array_api_strict", dtype="float64")
        >>> backend.to_numpy(backend.asarray([1.5, 2.0])).tolist()
        [1.5, 2.0]
        """
        return np.asarray(self.spec.to_numpy(x))

    def synchronize(self) -> None:
        """Wait until the work queued on this backend's device has finished (for timing).

        A no-op on CPU libraries.

        Examples
        --------
        >>> from sigref.backend import get_backend
        >>> get_backend("numpy", dtype="float64").synchronize()
        """
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
    """The registered :class:`BackendSpec` called ``name``.

    Loads the entry point ``name`` of the group ``sigref.backends`` (cached: once per process).
    Does not check that the backend can run here (see :func:`available_backends`).

    Parameters
    ----------
    name : str
        A backend name.

    Returns
    -------
    BackendSpec
        The plugin's declaration.

    Raises
    ------
    BackendError
        When no entry point has that name (the message lists the registered backends and their
        availability), when the plugin fails to load (naming its distribution), or when the entry
        point names something other than a :class:`BackendSpec` called ``name``.

    Examples
    --------
    >>> from sigref.backend import backend_spec
    >>> spec = backend_spec("numpy")
    >>> spec.name, spec.module, spec.has_autograd
    ('numpy', 'numpy', False)
    """
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
    """Every registered backend mapped to ``None`` (usable) or the reason it is not.

    A backend is usable when its spec loads, its ``check`` passes and its library imports. The
    answer is computed once per process.

    Returns
    -------
    dict of str to str or None
        Backend name (sorted) -> None, or the reason it cannot run here (e.g. ``"no CUDA device"``
        or ``"cannot import: ..."``).

    Examples
    --------
    Calling it imports every registered library (torch, JAX, CuPy where installed), which takes
    seconds, so this example only lists the registered names, which needs no import:

    >>> import importlib.metadata
    >>> from sigref.backend import ENTRY_POINT_GROUP
    >>> names = {ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    >>> {"numpy", "array_api_strict"} <= names
    True
    """
    return {name: _unavailable_reason(name) for name in sorted(_entry_points())}


def to_numpy(x: Array) -> np.ndarray:
    """The values of an array of any registered library as a NumPy array on the host.

    The backend is found by the array's library (the top-level module of ``type(x)``; ``jax`` for
    JAX arrays): the registered backend whose ``module`` lies in that library converts it with its ``to_numpy`` (torch: detached and moved to
    the CPU). Arrays of other libraries go through ``numpy.from_dlpack``; NumPy arrays and Python
    numbers through ``numpy.asarray`` (a NumPy array is returned as it is, not copied).

    Parameters
    ----------
    x : Array
        An array of any library, or a Python number.

    Returns
    -------
    numpy.ndarray
        The values on the host.

    Raises
    ------
    BackendError
        When a registered backend's plugin fails to load while the registry is searched.

    Examples
    --------
    >>> from sigref.backend import get_backend, to_numpy
    >>> x = get_backend("array_api_strict", dtype="float64").asarray([1.0, 2.5])
    >>> to_numpy(x).tolist()
    [1.0, 2.5]
    """
    # JAX arrays are jaxlib types; the backend named like the library is tried first (no other plugin is imported)
    library = "jax" if array_api_compat.is_jax_array(x) else type(x).__module__.split(".")[0]
    for name in sorted(_entry_points(), key=lambda name: name != library):
        spec = backend_spec(name)
        if spec.module.split(".")[0] == library:
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
    """Resolve a backend by the precedence documented in :mod:`sigref.backend`.

    Each of ``name``, ``device`` and ``dtype`` is taken from the argument, else from the innermost
    :func:`use_backend` context, else from ``SIGREF_BACKEND``, ``SIGREF_DEVICE``, ``SIGREF_DTYPE``,
    else from the defaults ``"numpy"``, the backend's first device and ``"float64"``. Resolved
    backends are cached: equal requests return the same :class:`Backend`.

    Parameters
    ----------
    name : str or None, optional
        A registered backend name (``"numpy"``, ``"array_api_strict"``, ``"torch"``, ...).
    device : str or None, optional
        One of the backend's device names (e.g. ``"cpu"``, ``"cuda:0"``).
    dtype : str or None, optional
        ``"float32"`` or ``"float64"``: the dtype floating arrays are created in.

    Returns
    -------
    Backend
        The namespace, device object and dtype.

    Raises
    ------
    BackendError
        When the backend is unknown, fails to load or cannot run here (the message lists the
        usable ones), when the dtype is not in :data:`FLOAT_DTYPES`, or when the backend has no such
        device.

    See Also
    --------
    use_backend : Change the default within a block.
    as_backend : Accept a Backend, a name or None.

    Examples
    --------
    >>> from sigref.backend import BackendError, get_backend
    >>> backend = get_backend("array_api_strict", dtype="float32")
    >>> backend.name, backend.dtype_name, backend.xp.__name__
    ('array_api_strict', 'float32', 'array_api_strict')
    >>> get_backend("numpy", dtype="float64") is get_backend("numpy", dtype="float64")
    True
    >>> try:
    ...     get_backend("numpy", device="gpu", dtype="float64")
    ... except BackendError as exc:
    ...     print(exc)
    backend 'numpy' has no device 'gpu'; devices: cpu
    """
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
    """A constructor's ``backend=`` and ``dtype=`` arguments as a :class:`Backend`.

    A name or None resolves through :func:`get_backend` (so None follows the context and the
    environment); a :class:`Backend` keeps its namespace and device, with ``dtype`` (if given)
    replacing its floating dtype.

    Parameters
    ----------
    backend : Backend or str or None
        A resolved backend, a backend name, or None for the default.
    dtype : str or None, optional
        ``"float32"`` or ``"float64"``; None keeps the backend's (or the default) dtype.

    Returns
    -------
    Backend
        The backend to create arrays with.

    Raises
    ------
    TypeError
        When ``backend`` is neither a Backend, a str nor None.
    ValueError
        When ``dtype`` is not ``"float32"`` or ``"float64"`` (a :class:`BackendError` when
        ``backend`` is a name or None).
    BackendError
        From :func:`get_backend`, when ``backend`` is a name or None.

    Examples
    --------
    >>> from sigref.backend import as_backend, get_backend
    >>> backend = get_backend("numpy", dtype="float64")
    >>> as_backend(backend) is backend
    True
    >>> as_backend(backend, "float32").dtype_name
    'float32'
    >>> as_backend("array_api_strict", "float64").name
    'array_api_strict'
    """
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
    """Context in which :func:`get_backend` defaults to ``name``, ``device`` and ``dtype``.

    The default is held in a :class:`contextvars.ContextVar`, so it is local to the thread and to
    the asyncio task, and contexts nest. Explicit arguments of :func:`get_backend` still win; a
    ``device`` or ``dtype`` left None here falls through to the environment and the defaults.

    Parameters
    ----------
    name : str
        A registered backend name.
    device : str or None, optional
        One of its device names.
    dtype : str or None, optional
        ``"float32"`` or ``"float64"``.

    Yields
    ------
    Backend
        The backend that :func:`get_backend` returns without arguments inside the block.

    Raises
    ------
    BackendError
        On entry, as :func:`get_backend` with the same arguments.

    Examples
    --------
    >>> from sigref.backend import get_backend, use_backend
    >>> with use_backend("array_api_strict", dtype="float64") as backend:
    ...     print(backend.name, get_backend().name, get_backend("numpy").name)
    array_api_strict array_api_strict numpy
    """
    backend = get_backend(name, device=device, dtype=dtype)
    token = _context.set((name, device, dtype))
    try:
        yield backend
    finally:
        _context.reset(token)
