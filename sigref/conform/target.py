"""The implementation under test: finding it by name, what it declares, and the framework hooks.

A target is a callable, or ``"MODULE:CALLABLE"`` (imported as ``python -m`` would, from the current
directory). A class is instantiated once per process, with ``init`` keywords and, in a distributed
run, ``rank=`` and ``world_size=`` when its constructor takes them (open_clip's losses do).

Which array library the callable takes comes from, in this order: the explicit ``framework``
option; the callable's own declaration (:func:`declare`); a framework hook that recognises it (the
torch plugin recognises ``torch.nn.Module`` classes and instances and its own loss functions). A
framework without a hook is checked on values only.

Framework hooks are registered by plugins in the entry-point group ``sigref.conform``
(:data:`ENTRY_POINT_GROUP`); each names a :class:`Framework` whose ``name`` is a backend of
``sigref.backends``::

    [project.entry-points."sigref.conform"]
    torch = "sigref_torch.conform:FRAMEWORK"

Examples
--------
>>> from sigref.conform import declare, resolve
>>> @declare(framework="numpy", convention="paper")
... def my_loss(U, V, t, b):
...     return 0.0
>>> resolve(my_loss).declaration
{'framework': 'numpy', 'convention': 'paper', 'batch_axes': False}
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sigref.types import Array

__all__ = ["DECLARATION", "ENTRY_POINT_GROUP", "Framework", "Outcome", "Target", "declare", "frameworks", "resolve"]

#: The attribute in which :func:`declare` stores a callable's declaration.
DECLARATION = "__sigref_conform__"
#: The entry-point group through which plugins register framework hooks (``"sigref.conform"``);
#: each entry point names a :class:`Framework` called after a backend.
ENTRY_POINT_GROUP = "sigref.conform"


@dataclass(frozen=True)
class Outcome:
    """The result of one call of the implementation: its value and gradients, or its exception.

    Framework hooks and the runner produce these; every array is a host float64 array.

    Parameters
    ----------
    value : numpy.ndarray or None, default None
        The loss (0-d, or of the batch shape).
    grads : tuple of numpy.ndarray or None, default None
        The gradients of the value (of its sum, for batched values) in the four arguments, in
        order; None without autograd.
    error : str or None, default None
        ``"ExceptionType: message"`` when the call raised; then the other fields are None.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.conform import Outcome
    >>> Outcome(value=np.float64(0.5)).grads is None, Outcome(error="ValueError: bad shape").value
    (True, None)
    """

    value: np.ndarray | None = None
    grads: tuple[np.ndarray, ...] | None = None
    error: str | None = None


@dataclass(frozen=True)
class Framework:
    """What a plugin provides to conformance runs on its array library.

    An entry point of the group ``sigref.conform`` names one instance, whose ``name`` must equal
    the entry point's name. Without a hook a framework is checked on values only.

    Parameters
    ----------
    name : str
        The backend (of ``sigref.backends``) whose arrays the callable takes.
    value_and_grad : callable
        ``value_and_grad(fn, args, kwargs) -> (value, grads)``: calls ``fn(*args, **kwargs)`` on
        arrays of the library and returns the value and its gradient in each of ``args`` (of the
        value's sum, for batched values), as arrays of the library.
    recognise : callable, optional
        ``recognise(obj) -> dict or None``: a declaration (keys ``framework``, ``convention``,
        ``batch_axes``) for callables of this library, None for others. Default: recognises
        nothing.
    launch : callable or None, default None
        ``launch(target, world_size, calls, *, device, timeout_s) -> (outcomes, rank_errors)``:
        runs ``calls[r]`` (a list of ``(dtype, args, kwargs)`` with host arrays) on rank ``r`` of a
        process group of ``world_size`` processes, each call forward and backward.
        ``outcomes[r][i]`` is an :class:`Outcome`, or None where the call did not run;
        ``rank_errors[r]`` says why rank ``r`` stopped, or is None. ``target`` is
        ``{"spec": "MODULE:CALLABLE", "init": {...}, "kwargs": {...}}``. None: no distributed
        runs.

    Examples
    --------
    A hook for NumPy callables that computes no gradients:

    >>> import numpy as np
    >>> from sigref.conform import Framework
    >>> hook = Framework("numpy", lambda fn, args, kwargs: (fn(*args, **kwargs), ()))
    >>> value, grads = hook.value_and_grad(lambda U, V, t, b: np.sum(U * V), (np.eye(2), np.eye(2), 1.0, 0.0), {})
    >>> float(value), hook.recognise(object()), hook.launch
    (2.0, None, None)
    """

    name: str
    value_and_grad: Callable[[Callable[..., Any], tuple[Array, ...], dict[str, Any]], tuple[Array, tuple[Array, ...]]]
    recognise: Callable[[Any], dict[str, Any] | None] = lambda obj: None
    launch: Callable[..., Any] | None = None


def declare(fn: Any = None, *, framework: str | None = None, convention: str | None = None, batch_axes: bool = False) -> Any:
    """Declare what ``fn`` takes, so that ``sigref conform`` needs no options for it.

    Usable as ``@declare(...)`` or ``declare(fn, ...)``. The declaration is stored on the object
    in the attribute :data:`DECLARATION`; explicit options of :func:`sigref.conform.conform` still
    take precedence over it.

    Parameters
    ----------
    fn : callable, optional
        The loss (a function, a class or an instance). Omitted: return a decorator.
    framework : str or None, optional
        The backend whose arrays it takes (``"torch"``, ``"jax"``, ``"numpy"``, ...).
    convention : str or None, optional
        A name of :data:`sigref.conform.CONVENTIONS`.
    batch_axes : bool, default False
        It accepts embeddings of shape (..., N, d) with scale and bias of the batch shape, and
        returns a loss of that shape.

    Returns
    -------
    callable
        ``fn`` itself, declared; or, without ``fn``, the decorator that declares its argument.

    Examples
    --------
    >>> from sigref.conform import declare
    >>> def my_loss(U, V, logit_scale, logit_bias):
    ...     return 0.0
    >>> declare(my_loss, framework="numpy", convention="open_clip", batch_axes=True) is my_loss
    True
    >>> my_loss.__sigref_conform__
    {'framework': 'numpy', 'convention': 'open_clip', 'batch_axes': True}
    """
    declaration = {"framework": framework, "convention": convention, "batch_axes": bool(batch_axes)}

    def apply(obj: Any) -> Any:
        setattr(obj, DECLARATION, declaration)
        return obj

    return apply if fn is None else apply(fn)


@functools.cache
def frameworks() -> dict[str, Framework]:
    """The registered framework hooks, by backend name.

    Loads every entry point of the group ``sigref.conform`` (once per process; this imports the
    plugins' libraries, e.g. torch).

    Returns
    -------
    dict of str to Framework
        Backend name -> its hook.

    Raises
    ------
    ValueError
        When a plugin fails to load, or its entry point names something other than a
        :class:`Framework` of the entry point's name; the message names it.

    Examples
    --------
    Loading the hooks imports their libraries (torch takes seconds), so this example only lists the
    entry points:

    >>> import importlib.metadata
    >>> from sigref.conform.target import ENTRY_POINT_GROUP
    >>> all(ep.value.count(":") == 1 for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
    True
    """
    found: dict[str, Framework] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            hook = ep.load()
        except Exception as exc:
            raise ValueError(f"conformance hook {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}") from exc
        if not isinstance(hook, Framework) or hook.name != ep.name:
            raise ValueError(f"entry point {ep.name!r} of {ENTRY_POINT_GROUP} must name a sigref.conform.Framework called {ep.name!r}")
        found.setdefault(ep.name, hook)
    return found


@dataclass(frozen=True)
class Target:
    """A resolved implementation under test.

    Returned by :func:`resolve`.

    Parameters
    ----------
    fn : callable
        The callable; an instance when the target is a class.
    spec : str or None
        ``"MODULE:CALLABLE"`` when it can be found by name (e.g. in another process), else None.
    declaration : dict, optional
        Its own declaration (:func:`declare`), else a framework hook's, else empty.

    Examples
    --------
    >>> from sigref.conform.target import Target
    >>> Target(len, "builtins:len").label
    'builtins:len'
    """

    fn: Callable[..., Any]
    spec: str | None
    declaration: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The name of the implementation in reports: its ``spec``, else ``repr(fn)``."""
        return self.spec or repr(self.fn)


def _import(spec: str) -> Any:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"target: expected MODULE:CALLABLE (e.g. open_clip.loss:SigLipLoss), got {spec!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as python -m does: modules of the current directory are found
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"target {spec}: cannot import module {module_name!r}: {exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise ValueError(f"target {spec}: {type(obj).__name__} {getattr(obj, '__name__', obj)!r} has no attribute {part!r}") from exc
    return obj


def _spec_of(obj: Any) -> str | None:
    """``"MODULE:QUALNAME"`` of a module-level function or class, when importing it gives ``obj`` back."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    try:
        return f"{module}:{qualname}" if _import(f"{module}:{qualname}") is obj else None
    except ValueError:
        return None


def _instantiate(cls: type, init: dict[str, Any], rank: int | None, world_size: int | None) -> Any:
    kwargs = dict(init)
    if world_size is not None:
        try:
            params = inspect.signature(cls).parameters
        except (TypeError, ValueError):
            params = {}
        kwargs |= {k: v for k, v in (("rank", rank), ("world_size", world_size)) if k in params and k not in kwargs}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise TypeError(f"target {cls.__module__}:{cls.__qualname__}: cannot instantiate it with {kwargs}: {exc} (pass --init KEY=VALUE)") from exc


def _declaration(obj: Any) -> dict[str, Any]:
    own = getattr(obj, DECLARATION, None)
    if isinstance(own, dict):
        return dict(own)
    for hook in frameworks().values():
        found = hook.recognise(obj)
        if found:
            return {"framework": hook.name} | dict(found)
    return {}


def resolve(target: Any, init: dict[str, Any] | None = None, *, rank: int | None = None, world_size: int | None = None,
            instantiate: bool = True) -> Target:
    """The callable named or given by ``target``, with its spec and declaration.

    A string is imported as ``MODULE:CALLABLE`` (from the current directory, as ``python -m``
    would; dotted attributes are followed). A class is instantiated with ``init`` and, when its
    constructor takes them and ``world_size`` is given, ``rank=`` and ``world_size=``. The
    declaration is the object's own (:func:`declare`), else that of a framework hook that
    recognises it.

    Parameters
    ----------
    target : callable or str
        The callable or class, or ``"MODULE:CALLABLE"``.
    init : dict or None, optional
        Constructor keywords of a class target.
    rank : int or None, optional
        This process's rank, for a class that takes ``rank``.
    world_size : int or None, optional
        The number of processes, for a class that takes ``world_size``.
    instantiate : bool, default True
        Instantiate a class target; False keeps the class (the distributed runner instantiates it
        in each process).

    Returns
    -------
    Target
        The callable, its spec and its declaration.

    Raises
    ------
    ValueError
        When the string is not ``MODULE:CALLABLE``, the module cannot be imported or lacks the
        attribute, ``init`` is given for a non-class target, or a framework hook fails to load.
    TypeError
        When the target is not callable, or its class cannot be instantiated with these keywords.

    Examples
    --------
    An undeclared callable makes it load every framework hook (:func:`frameworks`: seconds with
    torch installed); a declared one does not:

    >>> from sigref.conform import declare, resolve
    >>> @declare(framework="numpy", convention="paper")
    ... def my_loss(U, V, t, b):
    ...     return 0.0
    >>> target = resolve(my_loss)
    >>> target.fn is my_loss, target.spec, target.declaration["convention"]
    (True, None, 'paper')
    """
    obj = _import(target) if isinstance(target, str) else target
    spec = target if isinstance(target, str) else _spec_of(target)
    if not callable(obj):
        raise TypeError(f"target {spec or obj!r} is not callable (a {type(obj).__name__})")
    declaration = _declaration(obj)
    if init and not isinstance(obj, type):
        raise ValueError(f"init keywords {sorted(init)} are for a class target; {spec or obj!r} is a {type(obj).__name__}")
    if isinstance(obj, type) and instantiate:
        obj = _instantiate(obj, init or {}, rank, world_size)
    return Target(fn=obj, spec=spec, declaration=declaration)
