"""The block fold of sigref's chunked kernel on JAX (:mod:`sigref.loops`): ``lax.scan`` under tracing.

When any block input or running sum is traced (``jax.jit``, ``jax.grad``, ``jax.vmap``) the equal
row blocks go through one ``jax.lax.scan``, so the compiled graph holds the block once however many
there are. On concrete arrays (eager JAX) the reference :func:`sigref.loops.python_fold` runs: a
scan would compile its body on every call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from sigref import loops

__all__ = ["scan_fold"]


def scan_fold(body: Callable[..., Any], carry: dict[str, jax.Array], xs: tuple[jax.Array, ...]) -> tuple[dict[str, jax.Array], tuple[jax.Array, ...]]:
    r"""Fold ``body`` over the leading axis of ``xs``: ``lax.scan`` under tracing, a Python loop otherwise.

    The fold of the contract :data:`sigref.loops.Fold`, registered for ``jax`` (tracers) and
    ``jaxlib`` (concrete arrays): ``jax.lax.scan(body, carry, xs)`` when any leaf of ``carry`` or
    ``xs`` is a tracer, :func:`sigref.loops.python_fold` otherwise. Both have the same semantics.

    Parameters
    ----------
    body : callable
        ``body(carry, x) -> (carry, y)`` with ``x`` the k-th slices of ``xs`` and ``y`` a tuple
        of arrays.
    carry : dict of str to jax.Array
        The running values (arrays of fixed shapes).
    xs : tuple of jax.Array
        Arrays sharing a leading axis of length :math:`K \ge 1`.

    Returns
    -------
    carry : dict of str to jax.Array
        The carry after the :math:`K` steps.
    ys : tuple of jax.Array
        The ``y`` of every step, stacked along a new leading axis.

    See Also
    --------
    sigref.loops.python_fold : The reference semantics, used on concrete arrays.

    Examples
    --------
    >>> import jax
    >>> import jax.numpy as jnp
    >>> from sigref_jax.loops import scan_fold
    >>> def body(carry, x):
    ...     return {"s": carry["s"] + jnp.sum(x[0])}, (2 * x[0],)
    >>> xs = (jnp.arange(6.0).reshape(3, 2),)
    >>> carry, ys = scan_fold(body, {"s": jnp.zeros(())}, xs)
    >>> float(carry["s"]), ys[0].shape
    (15.0, (3, 2))
    >>> jitted = jax.jit(lambda xs: scan_fold(body, {"s": jnp.zeros(())}, xs))
    >>> float(jitted(xs)[0]["s"])
    15.0
    """
    if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves((carry, xs))):
        return jax.lax.scan(body, carry, xs)
    return loops.python_fold(body, carry, xs)


for _library in ("jax", "jaxlib"):  # tracers live in jax, concrete arrays in jaxlib
    loops.register(_library, scan_fold)
