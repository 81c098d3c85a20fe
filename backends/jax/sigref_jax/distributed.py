"""The sigmoid loss of a batch sharded over devices (``jax.shard_map``): negatives from every device,
exchanged by a ring of ``lax.ppermute`` shifts or by one ``lax.all_gather``.

With W devices on a mesh axis holding n rows each (global batch N = W n; device r has U_r, V_r),
the loss of the concatenated batch (SigLIP, Zhai et al. arXiv 2303.15343, Sec. 3.3) is

    L = r_red * sum_{s} [ l(U_s, V_s)  +  sum_{s' != s} l_neg(U_s, V_s') ],

where l is sigref's loss of a block with positives on its diagonal, l_neg its ``negatives_only``
form (every pair a negative) and r_red the reduction factor of the whole batch (1, 1/N, 1/N^2 for
"sum", "per_anchor", "mean"). Device s computes its bracket and a ``psum`` adds them, so every
device returns L.

``mode="ring"``: W - 1 shifts of the text block to the next device; each device holds one remote
block at a time, and the logits of one block pair are n x n (n x chunk_size with ``chunk_size``).
``mode="all_gather"``: every device gathers all N text rows once (O(N d) per device) and evaluates
its rows against the W - 1 remote blocks in one ``negatives_only`` call. big_vision's trainer
computes the full N x N logits instead ("TODO: implement chunked version with shard_map").

Every block loss is :func:`sigref_jax.bridge.sigmoid_loss`, whose backward is sigref's analytic
gradient; JAX transposes the exchange (the cotangent of a shifted block travels the ring backwards,
that of a gathered one is reduce-scattered to its owner), so ``jax.grad`` of :func:`sharded_sigmoid_loss`
equals the gradient of the single-device loss on the concatenated batch.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import Mesh, PartitionSpec

from sigref_jax.bridge import sigmoid_loss

__all__ = ["EXCHANGE_MODES", "local_sigmoid_loss", "sharded_sigmoid_loss"]

EXCHANGE_MODES = ("ring", "all_gather")
_SCALES = {"sum": lambda N: 1.0, "per_anchor": lambda N: 1.0 / N, "mean": lambda N: 1.0 / (N * N)}


def _shard_map(f: Any, mesh: Mesh, in_specs: Any, out_specs: Any) -> Any:
    if hasattr(jax, "shard_map"):
        return jax.shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs)
    from jax.experimental.shard_map import shard_map  # JAX < 0.6

    return shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs)


def _varying(x: Any, axis_name: str) -> Any:
    """A replicated value marked device-varying: its gradient differs per device (the adjoint psums it)."""
    x = jnp.asarray(x)
    if hasattr(jax.lax, "pcast"):
        try:
            return jax.lax.pcast(x, axis_name, to="varying")
        except ValueError:  # already varying over axis_name
            return x
    if hasattr(jax.lax, "pvary"):
        return jax.lax.pvary(x, axis_name)
    return x  # JAX without varying-axis types


def local_sigmoid_loss(U: Any, V: Any, t: Any, b: Any, *, axis_name: str, mode: str = "ring", reduction: str = "per_anchor",
                       gamma: float = 0.0, detach_weight: bool = False, filter_threshold: float | None = None,
                       chunk_size: int | str | None = None) -> Any:
    """Inside ``shard_map`` over ``axis_name``: the loss L of the whole sharded batch (module
    docstring), from this device's rows ``U``, ``V`` of shape (n, d) and the replicated scalars t, b.
    Every device must pass blocks of one shape; the result is the same on every device."""
    if mode not in EXCHANGE_MODES:
        raise ValueError(f"mode must be one of {EXCHANGE_MODES}, got {mode!r}")
    if reduction not in _SCALES:
        raise ValueError(f"reduction must be one of {tuple(_SCALES)}, got {reduction!r}")
    world = jax.lax.psum(1, axis_name)  # a Python int: the axis size
    n = U.shape[-2]
    opts = dict(reduction="sum", gamma=gamma, detach_weight=detach_weight, filter_threshold=filter_threshold, chunk_size=chunk_size)
    t, b = _varying(t, axis_name), _varying(b, axis_name)
    total = sigmoid_loss(U, V, t, b, **opts)
    if world > 1 and mode == "ring":
        shift = [(j, (j + 1) % world) for j in range(world)]
        block = V
        for _ in range(world - 1):
            block = jax.lax.ppermute(block, axis_name, shift)
            total = total + sigmoid_loss(U, block, t, b, negatives_only=True, **opts)
    elif world > 1:
        gathered = jax.lax.all_gather(V, axis_name, axis=0, tiled=True)
        own_first = jnp.roll(gathered, -n * jax.lax.axis_index(axis_name), axis=0)
        total = total + sigmoid_loss(U, own_first[n:], t, b, negatives_only=True, **opts)
    return jax.lax.psum(total * _SCALES[reduction](world * n), axis_name)


def sharded_sigmoid_loss(U: Any, V: Any, t: Any, b: Any, *, mesh: Mesh, axis_name: str | None = None, mode: str = "ring",
                         **options: Any) -> Any:
    """The sigmoid loss of global unit rows ``U``, ``V`` (N, d), their rows sharded over the mesh axis
    ``axis_name`` (default: the mesh's first), by :func:`local_sigmoid_loss` on every device.

    ``t``, ``b``: scalars (numbers or 0-d arrays, replicated). ``options``: ``reduction``, ``gamma``,
    ``detach_weight``, ``filter_threshold``, ``chunk_size`` (of each device's blocks). N must be a
    multiple of the axis size. Differentiable in U, V, t, b; wrap in ``jax.jit`` to compile once.
    """
    axis = axis_name or mesh.axis_names[0]
    world = mesh.shape[axis]
    if U.ndim != 2 or V.ndim != 2 or U.shape != V.shape:
        raise ValueError(f"U and V must be paired (N, d) arrays of one shape, got {tuple(U.shape)} and {tuple(V.shape)}")
    if U.shape[0] % world:
        raise ValueError(f"the batch N = {U.shape[0]} must be a multiple of the {world} devices of mesh axis {axis!r}")
    t, b = (jnp.asarray(x, dtype=U.dtype) for x in (t, b))
    rows = PartitionSpec(axis)

    def per_device(U_r: Any, V_r: Any, t_r: Any, b_r: Any) -> Any:
        return local_sigmoid_loss(U_r, V_r, t_r, b_r, axis_name=axis, mode=mode, **options)

    return _shard_map(per_device, mesh, (rows, rows, PartitionSpec(), PartitionSpec()), PartitionSpec())(U, V, t, b)
