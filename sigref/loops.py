r"""The loop over equal row blocks, and the hook through which a plugin supplies a compiled one.

The chunked kernel of :func:`sigref.losses.sigmoid_loss` visits the anchors in blocks of
``chunk_size`` rows. Written as a Python ``for`` loop, a tracing compiler (``jax.jit``) unrolls
it: :math:`N / c` copies of the block's graph for blocks of :math:`c` rows, compile time and graph
size linear in the number of blocks. The kernel therefore hands the equal blocks to a *fold*, the
scan primitive

.. code-block:: text

    fold(body, carry, xs) -> (carry, ys),        body(carry, x) -> (carry, y),

with

* ``xs`` a tuple of arrays sharing a leading axis of length :math:`K` (block :math:`k`'s rows and
  its first row index), ``x`` their :math:`k`-th slices;
* ``carry`` a dict of arrays of fixed shapes (the running sums of the loss and its gradients), which
  ``body`` returns with the same keys, shapes and dtypes;
* ``y`` a tuple of arrays, stacked into ``ys`` along a new leading axis of length :math:`K` (the
  rows of :math:`\partial L / \partial U` of block :math:`k`).

The first block (it gives the carry its shapes) and the remainder of :math:`N \bmod c` rows are
evaluated outside the fold, so a compiled graph holds the block three times whatever :math:`N`
is; the kernel uses a fold only when there are at least three whole blocks. :func:`python_fold` is
the reference semantics; ``jax.lax.scan`` has exactly them.

.. rubric:: The hook

A plugin registers a fold for its array library with :func:`register` (``sigref-jax``:
``jax.lax.scan`` when any input is traced, :func:`python_fold` otherwise). Discovery: entry points
of the group ``sigref.loops`` (:data:`ENTRY_POINT_GROUP`), named after the library's top-level
module (that of ``type(x)``: ``jax`` for tracers, ``jaxlib`` for concrete JAX arrays), point at a
module that calls :func:`register` when imported::

    [project.entry-points."sigref.loops"]
    jax = "sigref_jax.loops"
    jaxlib = "sigref_jax.loops"

A library without a fold keeps the kernel's own Python loop, which writes each block's rows in
place and is the fastest on eager libraries.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from typing import Any

import array_api_compat

from sigref.types import Array

__all__ = ["ENTRY_POINT_GROUP", "REGISTRY", "Fold", "fold_for", "load", "python_fold", "register"]

#: The entry-point group through which plugins declare folds (``"sigref.loops"``); each entry point
#: is named after an array library's top-level module and points at a module that calls
#: :func:`register`.
ENTRY_POINT_GROUP = "sigref.loops"

#: The type of a fold: ``fold(body, carry, xs) -> (carry, ys)`` with
#: ``body(carry, x) -> (carry, y)``, ``carry`` a dict of arrays and ``xs``, ``x``, ``y``, ``ys``
#: tuples of arrays (see the module docstring).
Fold = Callable[[Callable[[dict[str, Any], tuple[Any, ...]], tuple[dict[str, Any], tuple[Any, ...]]], dict[str, Any], tuple[Any, ...]],
                tuple[dict[str, Any], tuple[Any, ...]]]

#: The registered folds: array library name (top-level module of the array type) -> its fold.
#: Filled by :func:`register`.
REGISTRY: dict[str, Fold] = {}
_looked_up: set[str] = set()


def python_fold(body: Callable[..., Any], carry: dict[str, Array], xs: tuple[Array, ...]) -> tuple[dict[str, Array], tuple[Array, ...]]:
    """The reference fold: call ``body`` on each leading slice of ``xs`` in turn and stack its outputs.

    Equivalent to::

        for k in range(K):
            carry, y_k = body(carry, tuple(a[k, ...] for a in xs))
        ys = tuple(stack([y_0[i], ..., y_{K-1}[i]], axis=0) for i in range(len(y_0)))

    which are the semantics of ``jax.lax.scan(body, carry, xs)`` on tuples. For :math:`K = 0`, or a
    ``body`` that returns an empty ``y``, ``ys`` is the empty tuple (the kernel never folds fewer than
    two blocks).

    Parameters
    ----------
    body : callable
        ``body(carry, x) -> (carry, y)``, with ``x`` a tuple of the :math:`k`-th slices of ``xs``
        and ``y`` a tuple of arrays of the same shapes for every :math:`k`.
    carry : dict of str to Array
        The initial running state.
    xs : tuple of Array
        Arrays sharing a leading axis of length :math:`K`.

    Returns
    -------
    carry : dict of str to Array
        The state after the last slice.
    ys : tuple of Array
        The outputs ``y`` of every slice, stacked along a new leading axis of length :math:`K`.

    See Also
    --------
    register : Supply another fold for an array library.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.loops import python_fold
    >>> def body(carry, x):
    ...     (rows,) = x
    ...     return {"total": carry["total"] + np.sum(rows)}, (2.0 * rows,)
    >>> carry, ys = python_fold(body, {"total": np.asarray(0.0)}, (np.arange(6.0).reshape(3, 2),))
    >>> float(carry["total"]), ys[0].shape, ys[0][-1].tolist()
    (15.0, (3, 2), [8.0, 10.0])
    """
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
    """Drive the row blocks of arrays of ``library`` with ``fold``.

    Called by a plugin's module when its ``sigref.loops`` entry point is imported; a later
    registration for the same library replaces an earlier one.

    Parameters
    ----------
    library : str
        The top-level module of the array type (``type(x).__module__.split(".")[0]``), e.g.
        ``"jax"`` for tracers and ``"jaxlib"`` for concrete JAX arrays.
    fold : Fold
        A fold with the semantics of :func:`python_fold`.

    Examples
    --------
    >>> from sigref.loops import REGISTRY, python_fold, register
    >>> register("mylib", python_fold)
    >>> REGISTRY.pop("mylib") is python_fold
    True
    """
    REGISTRY[library] = fold


def load(library: str) -> None:
    """Import the ``sigref.loops`` entry points named ``library``.

    Each entry point is a module whose import calls :func:`register`. :func:`fold_for` calls this
    once per library, the first time it sees an array of it.

    Parameters
    ----------
    library : str
        The array library's top-level module name.

    Raises
    ------
    RuntimeError
        When a plugin's module fails to import; the message names the plugin.

    Examples
    --------
    >>> from sigref.loops import REGISTRY, load
    >>> load("no_such_library")  # no entry point of that name: nothing is registered
    >>> "no_such_library" in REGISTRY
    False
    """
    _looked_up.add(library)
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=library):
        try:
            entry.load()
        except Exception as exc:
            raise RuntimeError(f"the block loop of plugin {entry.value!r} for {library} failed to load ({type(exc).__name__}: {exc})") from exc


def fold_for(x: Array) -> Fold | None:
    """The fold registered for the library of array ``x``, or None.

    The library is the top-level module of ``type(x)``; the first time it is seen its
    ``sigref.loops`` plugins are loaded (:func:`load`). With None the kernel loops over the blocks
    in Python.

    Parameters
    ----------
    x : Array
        An input of the kernel (only its type is read).

    Returns
    -------
    Fold or None
        The registered fold, or None when the library has none.

    Raises
    ------
    RuntimeError
        When the library's plugin fails to import (see :func:`load`).

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.loops import fold_for
    >>> fold_for(np.zeros(3)) is None  # NumPy is eager: the kernel's Python loop
    True
    """
    library = type(x).__module__.split(".")[0]
    if library not in _looked_up:
        load(library)
    return REGISTRY.get(library)
