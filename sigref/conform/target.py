"""The implementation under test: finding it by name, what it declares, and the framework hooks.

A target is a callable, or ``"MODULE:CALLABLE"`` (imported as ``python -m`` would, from the current
directory). A class is instantiated once per process, with ``init`` keywords and, in a distributed
run, ``rank=`` and ``world_size=`` when its constructor takes them (open_clip's losses do).

Which array library the callable takes comes from, in this order: the explicit ``framework``
option; the callable's own declaration (:func:`declare`); a framework hook that recognises it (the
torch plugin recognises ``torch.nn.Module`` classes and instances and its own loss functions). A
framework without a hook is checked on values only.

Framework hooks are registered by plugins in the entry-point group ``sigref.conform``; each names a
:class:`Framework` whose ``name`` is a backend of ``sigref.backends``::

    [project.entry-points."sigref.conform"]
    torch = "sigref_torch.conform:FRAMEWORK"
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

__all__ = ["DECLARATION", "ENTRY_POINT_GROUP", "Framework", "Outcome", "Target", "declare", "frameworks", "resolve"]

DECLARATION = "__sigref_conform__"
ENTRY_POINT_GROUP = "sigref.conform"


@dataclass(frozen=True)
class Outcome:
    """One call of the implementation: its value and the gradients in its four arguments (host
    float64 arrays; ``grads`` None without autograd), or the exception it raised."""

    value: np.ndarray | None = None
    grads: tuple[np.ndarray, ...] | None = None
    error: str | None = None


@dataclass(frozen=True)
class Framework:
    """What a plugin provides to conformance runs on its array library.

    Attributes
    ----------
    name : the backend (``sigref.backends``) whose arrays the callable takes.
    value_and_grad : ``(fn, args, kwargs) -> (value, grads)``: calls ``fn(*args, **kwargs)`` on
        arrays of the library and returns the value and its gradient in each of ``args``
        (of the value's sum, for batched values).
    recognise : ``obj -> dict | None``: a declaration (keys ``framework``, ``convention``,
        ``batch_axes``) for callables of this library, None for others.
    launch : ``(target, world_size, calls, *, device, timeout_s) -> (outcomes, rank_errors)``: runs
        ``calls[r]`` (a list of ``(dtype, args, kwargs)`` with host arrays) on rank ``r`` of a process
        group of ``world_size`` processes, each call forward and backward; ``outcomes[r][i]`` is an
        :class:`Outcome` or None where it did not run, ``rank_errors[r]`` why a rank stopped (or None).
        ``target`` is ``{"spec": "MODULE:CALLABLE", "init": {...}, "kwargs": {...}}``.
    """

    name: str
    value_and_grad: Callable[[Callable[..., Any], tuple[Any, ...], dict[str, Any]], tuple[Any, tuple[Any, ...]]]
    recognise: Callable[[Any], dict[str, Any] | None] = lambda obj: None
    launch: Callable[..., Any] | None = None


def declare(fn: Any = None, *, framework: str | None = None, convention: str | None = None, batch_axes: bool = False) -> Any:
    """Declare what ``fn`` takes, so that ``sigref conform`` needs no options for it; usable as a decorator.

    ``framework``: the backend whose arrays it takes ("torch", "jax", "numpy", ...); ``convention``: a
    name of :data:`sigref.conform.CONVENTIONS`; ``batch_axes``: it accepts embeddings (..., N, d) with
    scale and bias of the batch shape and returns a loss of that shape.
    """
    declaration = {"framework": framework, "convention": convention, "batch_axes": bool(batch_axes)}

    def apply(obj: Any) -> Any:
        setattr(obj, DECLARATION, declaration)
        return obj

    return apply if fn is None else apply(fn)


@functools.cache
def frameworks() -> dict[str, Framework]:
    """The registered framework hooks by backend name; a broken plugin is an error naming it."""
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
    """A resolved implementation: ``fn`` (the callable; an instance when the target is a class),
    ``spec`` (``"MODULE:CALLABLE"`` when it can be found by name, e.g. in another process) and
    ``declaration`` (its own, else a framework hook's, else empty)."""

    fn: Callable[..., Any]
    spec: str | None
    declaration: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
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
    """The callable named or given by ``target``; a class is instantiated (unless ``instantiate`` is false)."""
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
