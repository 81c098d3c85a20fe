"""The loop over equal row blocks, and the hook through which a plugin supplies a compiled one.

The chunked kernel of :mod:`sigref.losses.sigmoid` visits the anchors in blocks of ``chunk_size``
rows. Written as a Python ``for`` loop, a tracing compiler (``jax.jit``) unrolls it: N / chunk
copies of the block's graph, compile time and graph size linear in the number of blocks. The
kernel therefore hands the equal blocks to a *fold*, the scan primitive

    fold(body, carry, xs) -> (carry, ys),        body(carry, x) -> (carry, y),

with ``xs`` a tuple of arrays sharing a leading axis of length K (block k's rows and start), ``x``
their k-th slices, ``carry`` a dict of arrays of fixed shapes (the running sums of the loss and its
gradients) and ``y`` a tuple of arrays stacked into ``ys`` along a new leading axis (the rows of
dL/dU of block k). The first block (it gives the carry its shapes) and the remainder of
N mod chunk rows are evaluated outside the fold, so a compiled graph holds the block three times
whatever N is. :func:`python_fold` is the reference semantics; ``jax.lax.scan`` has exactly them.

A plugin registers a fold for its array library with :func:`register` (e.g. ``sigref-jax``:
``lax.scan`` when any input is traced, :func:`python_fold` otherwise). Discovery: entry points of
the group ``sigref.loops`` (:data:`ENTRY_POINT_GROUP`), named after the library's top-level module
(that of ``type(x)``, e.g. ``jax`` for tracers and ``jaxlib`` for concrete JAX arrays), point at a
module that calls :func:`register` when imported. A library without a fold keeps the kernel's own
Python loop (which writes each block's rows in place and is the fastest on eager libraries).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from typing import Any

import array_api_compat

__all__ = ["ENTRY_POINT_GROUP", "REGISTRY", "Fold", "fold_for", "load", "python_fold", "register"]

ENTRY_POINT_GROUP = "sigref.loops"

#: ``fold(body, carry, xs) -> (carry, ys)`` with ``body(carry, x) -> (carry, y)``: see the module docstring
Fold = Callable[[Callable[[dict[str, Any], tuple[Any, ...]], tuple[dict[str, Any], tuple[Any, ...]]], dict[str, Any], tuple[Any, ...]],
                tuple[dict[str, Any], tuple[Any, ...]]]

#: array library name (top-level module of the array type) -> its registered fold
REGISTRY: dict[str, Fold] = {}
_looked_up: set[str] = set()


def python_fold(body: Callable[..., Any], carry: dict[str, Any], xs: tuple[Any, ...]) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """The reference fold: ``for k in range(K): carry, y_k = body(carry, tuple(a[k] for a in xs))``,
    then ``ys = tuple(stack([y_0[i], ..., y_{K-1}[i]]))`` (empty arrays of length 0 are not supported:
    K >= 1)."""
    length = xs[0].shape[0]
    outputs: list[tuple[Any, ...]] = []
    for k in range(length):
        carry, y = body(carry, tuple(a[k, ...] for a in xs))
        outputs.append(tuple(y))
    if not outputs or not outputs[0]:
        return carry, ()
    xp = array_api_compat.array_namespace(*outputs[0])
    return carry, tuple(xp.stack([y[i] for y in outputs], axis=0) for i in range(len(outputs[0])))


def register(library: str, fold: Fold) -> None:
    """Drive the row blocks of arrays of ``library`` (top-level module name) with ``fold``."""
    REGISTRY[library] = fold


def load(library: str) -> None:
    """Import the ``sigref.loops`` entry points named ``library``; RuntimeError naming the plugin if one fails."""
    _looked_up.add(library)
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=library):
        try:
            entry.load()
        except Exception as exc:
            raise RuntimeError(f"the block loop of plugin {entry.value!r} for {library} failed to load ({type(exc).__name__}: {exc})") from exc


def fold_for(x: Any) -> Fold | None:
    """The fold registered for the library of array ``x``, or None (the kernel then loops in Python)."""
    library = type(x).__module__.split(".")[0]
    if library not in _looked_up:
        load(library)
    return REGISTRY.get(library)
