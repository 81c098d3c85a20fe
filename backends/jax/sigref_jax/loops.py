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


def scan_fold(body: Callable[..., Any], carry: dict[str, Any], xs: tuple[Any, ...]) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """``jax.lax.scan(body, carry, xs)`` when anything is traced, :func:`sigref.loops.python_fold` otherwise."""
    if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves((carry, xs))):
        return jax.lax.scan(body, carry, xs)
    return loops.python_fold(body, carry, xs)


for _library in ("jax", "jaxlib"):  # tracers live in jax, concrete arrays in jaxlib
    loops.register(_library, scan_fold)
