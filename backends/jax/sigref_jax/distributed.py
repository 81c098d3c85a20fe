r"""The sigmoid loss of a batch sharded over devices (``jax.shard_map``): negatives from every device.

The text blocks are exchanged by a ring of ``lax.ppermute`` shifts or by one ``lax.all_gather``.

With :math:`W` devices on a mesh axis holding :math:`n` rows each (global batch :math:`N = W n`;
device :math:`s` has :math:`U_s`, :math:`V_s`), the loss of the concatenated batch (SigLIP [1]_,
Sec. 3.3) is

.. math::

    L = r_{\mathrm{red}} \sum_{s} \Bigl[ \ell(U_s, V_s) + \sum_{s' \ne s} \ell^{-}(U_s, V_{s'}) \Bigr],

where :math:`\ell` is sigref's summed loss of a block with positives on its diagonal,
:math:`\ell^{-}` its ``negatives_only`` form (every pair a negative) and :math:`r_{\mathrm{red}}` the
reduction factor of the whole batch (1, :math:`1/N`, :math:`1/N^2` for ``"sum"``,
``"per_anchor"``, ``"mean"``). Device :math:`s` computes its bracket and a ``psum`` adds them, so
every device returns :math:`L`.

``mode="ring"``: :math:`W - 1` shifts of the text block to the next device; each device holds one
remote block at a time, and the logits of one block pair are :math:`n \times n`
(:math:`n \times c` with ``chunk_size`` :math:`c`). ``mode="all_gather"``: every device gathers all
:math:`N` text rows once (:math:`O(N d)` per device) and evaluates its rows against the
:math:`W - 1` remote blocks in one ``negatives_only`` call. big_vision's trainer computes the full
:math:`N \times N` logits instead ("TODO: implement chunked version with shard_map").

Every block loss is :func:`sigref_jax.bridge.sigmoid_loss`, whose backward is sigref's analytic
gradient; JAX transposes the exchange (the cotangent of a shifted block travels the ring backwards,
that of a gathered one is reduce-scattered to its owner), so ``jax.grad`` of :func:`sharded_sigmoid_loss`
equals the gradient of the single-device loss on the concatenated batch.

References
----------
.. [1] X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
   Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import Mesh, PartitionSpec

from sigref_jax.bridge import sigmoid_loss

__all__ = ["EXCHANGE_MODES", "local_sigmoid_loss", "sharded_sigmoid_loss"]

#: The ways of exchanging the text blocks: ``"ring"`` (``lax.ppermute`` shifts) and ``"all_gather"``.
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


def local_sigmoid_loss(U: jax.Array, V: jax.Array, t: float | jax.Array, b: float | jax.Array, *, axis_name: str, mode: str = "ring",
                       reduction: str = "per_anchor", gamma: float = 0.0, detach_weight: bool = False,
                       filter_threshold: float | None = None, chunk_size: int | str | None = None) -> jax.Array:
    r"""Compute, inside ``shard_map`` over ``axis_name``, the loss of the whole sharded batch.

    From this device's rows :math:`U_s`, :math:`V_s` it evaluates its bracket of the module
    docstring,

    .. math::

        \ell(U_s, V_s) + \sum_{s' \ne s} \ell^{-}(U_s, V_{s'}),

    receiving the other devices' text blocks by ``lax.ppermute`` (ring) or ``lax.all_gather``,
    and returns :math:`L = r_{\mathrm{red}} \sum_s [\dots]` by a ``psum``. :func:`sharded_sigmoid_loss`
    is this function under ``jax.shard_map`` over a mesh axis.

    Parameters
    ----------
    U, V : jax.Array, shape (n, d)
        This device's unit rows (anchor ``i`` pairs positively with ``V[i]``); every device must
        pass blocks of one shape.
    t : float or jax.Array
        Inverse temperature :math:`t > 0`, replicated.
    b : float or jax.Array
        Bias, replicated, subtracted: logits :math:`t\langle u, v\rangle - b`.
    axis_name : str
        The mapped axis the devices lie on.
    mode : {"ring", "all_gather"}, default "ring"
        How the text blocks are exchanged (:data:`EXCHANGE_MODES`).
    reduction : {"sum", "per_anchor", "mean"}, default "per_anchor"
        The reduction of the whole batch: factor 1, :math:`1/N` or :math:`1/N^2`.
    gamma : float, default 0.0
        MSCL confidence penalty; 0 is the plain loss.
    detach_weight : bool, default False
        Treat the MSCL weight as a constant in the gradient.
    filter_threshold : float, optional
        MSCL hard-negative filtering threshold in (0, 1), or None.
    chunk_size : int or "auto" or None, optional
        Anchors per row block of each block loss.

    Returns
    -------
    jax.Array
        :math:`L`, 0-d, the same on every device.

    Raises
    ------
    ValueError
        If ``mode`` is not one of :data:`EXCHANGE_MODES` or ``reduction`` is unknown, and the
        errors of :func:`sigref_jax.bridge.sigmoid_loss`.

    See Also
    --------
    sharded_sigmoid_loss : The ``shard_map`` over a mesh around this function.

    Examples
    --------
    Under ``jax.shard_map`` (``jax.experimental.shard_map.shard_map`` before JAX 0.6) over a mesh
    axis ``"dev"``, here of the one CPU device (the rows are split over as many devices as the axis
    has):

    >>> import jax
    >>> import numpy as np
    >>> from jax.sharding import Mesh, PartitionSpec
    >>> from sigref.backend import get_backend
    >>> from sigref.sampling import uniform_sphere
    >>> from sigref_jax.distributed import local_sigmoid_loss
    >>> jx = get_backend("jax", dtype="float64")
    >>> U, V = jx.asarray(uniform_sphere(0, (4, 3))), jx.asarray(uniform_sphere(1, (4, 3)))
    >>> mesh = Mesh(np.array(jax.devices()[:1]), ("dev",))
    >>> rows = PartitionSpec("dev")
    >>> per_device = jax.shard_map(lambda u, v: local_sigmoid_loss(u, v, 10.0, 10.0, axis_name="dev", mode="all_gather"),
    ...                            mesh=mesh, in_specs=(rows, rows), out_specs=PartitionSpec())
    >>> print(f"{float(jax.jit(per_device)(U, V)):.6f}")
    12.303664
    """
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


def sharded_sigmoid_loss(U: jax.Array, V: jax.Array, t: float | jax.Array, b: float | jax.Array, *, mesh: Mesh, axis_name: str | None = None,
                         mode: str = "ring", **options: Any) -> jax.Array:
    r"""The sigmoid loss of global unit rows, their rows sharded over a mesh axis.

    ``jax.shard_map`` of :func:`local_sigmoid_loss` over the mesh axis ``axis_name``: device
    :math:`s` holds rows :math:`s n, \dots, (s + 1) n - 1` of ``U`` and ``V``, and every device
    computes its share of

    .. math::

        L = r_{\mathrm{red}} \sum_{s} \Bigl[ \ell(U_s, V_s) + \sum_{s' \ne s} \ell^{-}(U_s, V_{s'}) \Bigr],

    the loss of the whole batch (module docstring; SigLIP [1]_, Sec. 3.3), which is the value of
    :func:`sigref_jax.bridge.sigmoid_loss` on ``U``, ``V``. Differentiable in ``U``, ``V``, ``t``,
    ``b``; wrap in ``jax.jit`` to compile once.

    Parameters
    ----------
    U, V : jax.Array, shape (N, d)
        The global paired unit rows; :math:`N` must be a multiple of the axis size.
    t : float or jax.Array
        Inverse temperature :math:`t > 0` (a number or 0-d array, replicated).
    b : float or jax.Array
        Bias (a number or 0-d array, replicated), subtracted.
    mesh : jax.sharding.Mesh
        The device mesh.
    axis_name : str, optional
        The mesh axis to shard the rows over; default: the mesh's first.
    mode : {"ring", "all_gather"}, default "ring"
        How the text blocks are exchanged (:data:`EXCHANGE_MODES`).
    **options
        ``reduction``, ``gamma``, ``detach_weight``, ``filter_threshold``, ``chunk_size`` (of each
        device's blocks), as in :func:`local_sigmoid_loss`.

    Returns
    -------
    jax.Array
        :math:`L`, 0-d, replicated.

    Raises
    ------
    ValueError
        If ``U`` and ``V`` are not paired (N, d) arrays of one shape, :math:`N` is not a multiple
        of the number of devices on the axis, and the errors of :func:`local_sigmoid_loss`.

    See Also
    --------
    local_sigmoid_loss : What each device computes.
    sigref_torch.distributed.distributed_sigmoid_loss : The torch counterpart, over processes.

    References
    ----------
    .. [1] X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
       Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343

    Examples
    --------
    On a mesh of the devices there are (here one CPU device; start Python with
    ``XLA_FLAGS=--xla_force_host_platform_device_count=4`` for four CPU devices):

    >>> import jax
    >>> import numpy as np
    >>> from jax.sharding import Mesh
    >>> from sigref.backend import get_backend
    >>> from sigref.sampling import uniform_sphere
    >>> jx = get_backend("jax", dtype="float64")
    >>> U, V = jx.asarray(uniform_sphere(0, (4, 3))), jx.asarray(uniform_sphere(1, (4, 3)))
    >>> from sigref_jax.distributed import sharded_sigmoid_loss
    >>> mesh = Mesh(np.array(jax.devices()[:1]), ("batch",))
    >>> loss = jax.jit(lambda U, V, t, b: sharded_sigmoid_loss(U, V, t, b, mesh=mesh))
    >>> print(f"{float(loss(U, V, 10.0, 10.0)):.6f}")
    12.303664
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
