r"""Multi-process sigmoid loss: negatives from every rank, exchanged by a ring or an all-gather.

With :math:`W` ranks holding :math:`n` rows each (global batch :math:`N = W n`), the
single-process per-anchor sigmoid loss on the concatenated batch (SigLIP [1]_, Sec. 3.3, the
"chunked" implementation) is

.. math::

    L = \frac{1}{N} \sum_{i,j} \ell_{ij}, \qquad
    \ell_{ij} = -\log\sigma\bigl(y_{ij}(t\langle u_i, v_j\rangle - b)\bigr), \qquad
    y_{ii} = 1,\ y_{ij} = -1\ (i \ne j).

Rank :math:`r` computes its own rows against all columns: its own block with the positives on
its diagonal, every remote block with negatives only,

.. math::

    L_r = \frac{1}{n} \Bigl[ \sum_{i \in r,\, j \in r} \ell_{ij}
          + \sum_{s \ne r} \sum_{i \in r,\, j \in s} \ell^{-}_{ij} \Bigr],
    \qquad \ell^{-}_{ij} = \operatorname{softplus}(t\langle u_i, v_j\rangle - b),

so that the mean over ranks :math:`\frac{1}{W} \sum_r L_r` (what DistributedDataParallel's
gradient averaging applies) is :math:`L`. Column blocks arrive either by a ring (:math:`W - 1`
point-to-point shifts, memory of one block; :func:`ring_blocks`) or by an all-gather
(:func:`all_gather_with_grad`). Both are autograd functions: the gradient with respect to a block
that another rank used is sent back to its owner and summed there (the adjoint of the exchange),
so with DDP averaging the gradients of every parameter equal the single-process gradients of
:math:`L`.

Peers that die are detected by the process group's timeout (``init_distributed(timeout_s=...)``);
the exchange then raises :class:`PeerFailure` naming the rank and the operation instead of hanging.

References
----------
.. [1] X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
   Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343

Examples
--------
The decomposition in one process, for :math:`W = 2` ranks of :math:`n = 2` rows:

>>> import torch
>>> from sigref.sampling import uniform_sphere
>>> from sigref_torch import sigmoid_loss
>>> U = torch.tensor(uniform_sphere(0, (4, 3)))
>>> V = torch.tensor(uniform_sphere(1, (4, 3)))
>>> blocks = [slice(0, 2), slice(2, 4)]
>>> L_r = [(sigmoid_loss(U[r], V[r], 10.0, 10.0, reduction="sum")
...         + sigmoid_loss(U[r], V[s], 10.0, 10.0, reduction="sum", negatives_only=True)) / 2
...        for r, s in zip(blocks, blocks[::-1])]
>>> print(f"{((L_r[0] + L_r[1]) / 2).item():.6f} {sigmoid_loss(U, V, 10.0, 10.0).item():.6f}")
12.303664 12.303664
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = [
    "DistContext",
    "EXCHANGE_MODES",
    "PeerFailure",
    "all_gather_with_grad",
    "distributed_sigmoid_loss",
    "init_distributed",
    "ring_blocks",
]

#: The ways of exchanging the column blocks: ``"ring"`` (point-to-point shifts) and ``"all_gather"``.
EXCHANGE_MODES = ("ring", "all_gather")


class PeerFailure(RuntimeError):
    """Another rank did not answer within the timeout or its connection closed (it most likely died).

    Raised by the exchanges of :func:`ring_blocks`, :func:`all_gather_with_grad` and
    :func:`distributed_sigmoid_loss` in place of the process group's own error (kept as
    ``__cause__``); the message names this rank and the operation.

    Examples
    --------
    >>> from sigref_torch.distributed import PeerFailure
    >>> issubclass(PeerFailure, RuntimeError)
    True
    """


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in the process group, as :func:`init_distributed` found it.

    Parameters
    ----------
    rank : int, default 0
        This process's global rank.
    world_size : int, default 1
        Number of processes.
    local_rank : int, default 0
        Rank on this host (the CUDA device index of a CUDA rank).
    backend : str or None, default None
        ``"nccl"`` or ``"gloo"``; None without a process group.
    device : torch.device, default cpu
        The device of this rank's tensors.

    Examples
    --------
    >>> from sigref_torch.distributed import DistContext
    >>> ctx = DistContext()
    >>> ctx.enabled, ctx.is_main
    (False, True)
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        """Whether there is more than one process (``world_size > 1``).

        Examples
        --------
        >>> from sigref_torch.distributed import DistContext
        >>> DistContext(rank=1, world_size=2).enabled
        True
        """
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0 (the one that logs and writes files).

        Examples
        --------
        >>> from sigref_torch.distributed import DistContext
        >>> DistContext(rank=1, world_size=2).is_main
        False
        """
        return self.rank == 0


def init_distributed(device: str | None = None, *, timeout_s: float = 300.0) -> DistContext:
    """Join the process group described by torchrun's environment (``WORLD_SIZE``, ``RANK``, ...).

    Without ``WORLD_SIZE > 1`` this is a no-op context on ``device``. The backend is nccl for CUDA
    devices and gloo otherwise; each CUDA rank uses ``cuda:LOCAL_RANK`` (and makes it the current
    device). A process group that is already initialised is kept.

    Parameters
    ----------
    device : str, optional
        ``"cuda"`` or ``"cpu"`` (a torch device name); default: cuda if available, else cpu.
    timeout_s : float, default 300.0
        The process group's timeout in seconds: how long an exchange waits for a peer before
        :class:`PeerFailure`.

    Returns
    -------
    DistContext
        This process's rank, world size, local rank, backend and device.

    Raises
    ------
    KeyError
        If ``WORLD_SIZE > 1`` but ``RANK`` is not set.
    RuntimeError
        From ``torch.distributed.init_process_group`` when the group cannot be formed.

    Examples
    --------
    Under ``torchrun --nproc-per-node 2 train.py`` every process calls it first:

    >>> ctx = init_distributed()  # doctest: +SKIP
    >>> ctx.world_size, ctx.backend  # doctest: +SKIP
    (2, 'nccl')

    In a single process (no ``WORLD_SIZE``) it is a no-op:

    >>> import os
    >>> from sigref_torch.distributed import init_distributed
    >>> int(os.environ.get("WORLD_SIZE", "1")) <= 1
    True
    >>> init_distributed("cpu")
    DistContext(rank=0, world_size=1, local_rank=0, backend=None, device=device(type='cpu'))
    """
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(device=dev)
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if dev.type == "cuda":
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=float(timeout_s)),
                                **({"device_id": dev} if dev.type == "cuda" else {}))
    return DistContext(rank, world, local_rank, backend, dev)


def _check_group() -> tuple[int, int]:
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError("distributed exchange: torch.distributed is not initialised (call init_distributed under torchrun)")
    return dist.get_rank(), dist.get_world_size()


def _wait(works, what: str) -> None:
    try:
        for w in works:
            w.wait()
    except Exception as exc:  # gloo/nccl raise RuntimeError subclasses (DistBackendError, ...)
        rank = dist.get_rank()
        raise PeerFailure(
            f"rank {rank}: {what} failed: a peer rank did not respond within the process-group timeout "
            f"or closed its connection (it probably died; see its log). Underlying error: {exc}"
        ) from exc


def _shift(x: torch.Tensor, forward: bool) -> torch.Tensor:
    """Send ``x`` to the next rank and receive the previous rank's tensor (reverse direction if not ``forward``)."""
    rank, world = _check_group()
    dst, src = ((rank + 1) % world, (rank - 1) % world) if forward else ((rank - 1) % world, (rank + 1) % world)
    x = x.contiguous()
    out = torch.empty_like(x)
    ops = [dist.P2POp(dist.isend, x, dst), dist.P2POp(dist.irecv, out, src)]
    _wait(dist.batch_isend_irecv(ops), f"ring exchange (send to rank {dst}, receive from rank {src})")
    return out


class _RingShift(torch.autograd.Function):
    """Forward: receive the previous rank's block. Backward: return the gradient of that block to its owner."""

    @staticmethod
    def forward(ctx, x):
        return _shift(x, forward=True)

    @staticmethod
    def backward(ctx, grad):
        return _shift(grad, forward=False)


def ring_blocks(x: torch.Tensor) -> Iterator[tuple[int, torch.Tensor]]:
    r"""Yield ``(owner_rank, block)`` for every rank's ``x`` (own block first), shifting around the ring.

    Step :math:`k` receives the block of rank :math:`r - k \bmod W` from the previous rank and
    passes the last one on to the next: :math:`W - 1` point-to-point shifts, one remote block held
    at a time. A block that requires grad is shifted by an autograd function whose backward sends
    the gradient back along the ring to the block's owner.

    Parameters
    ----------
    x : torch.Tensor
        This rank's block (e.g. its ``(n, d)`` text rows). All ranks must pass tensors of identical
        shape and dtype and consume the whole iterator.

    Yields
    ------
    owner : int
        The rank whose ``x`` the block is: this rank first, then :math:`r - 1, r - 2, \dots`.
    block : torch.Tensor
        That rank's ``x``.

    Raises
    ------
    RuntimeError
        If ``torch.distributed`` is not initialised (on the first ``next``).
    PeerFailure
        If a peer does not answer within the process group's timeout.

    Examples
    --------
    A process group of one (a gloo group with a file store):

    >>> import tempfile
    >>> import torch
    >>> import torch.distributed as dist
    >>> store = tempfile.TemporaryDirectory()
    >>> dist.init_process_group("gloo", init_method=f"file://{store.name}/store", rank=0, world_size=1)
    >>> from sigref_torch.distributed import ring_blocks
    >>> [(owner, tuple(block.shape)) for owner, block in ring_blocks(torch.zeros(4, 3))]
    [(0, (4, 3))]
    >>> dist.destroy_process_group()
    >>> store.cleanup()
    """
    rank, world = _check_group()
    block = x
    yield rank, block
    for k in range(1, world):
        block = _RingShift.apply(block) if block.requires_grad else _shift(block, forward=True)
        yield (rank - k) % world, block


class _AllGather(torch.autograd.Function):
    """Stack every rank's ``x``; the backward sums the incoming gradients over ranks and keeps own rows."""

    @staticmethod
    def forward(ctx, x):
        rank, world = _check_group()
        x = x.contiguous()
        out = [torch.empty_like(x) for _ in range(world)]
        _wait([dist.all_gather(out, x, async_op=True)], "all_gather of embeddings")
        ctx.rank = rank
        return torch.stack(out, 0)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous()
        _wait([dist.all_reduce(grad, op=dist.ReduceOp.SUM, async_op=True)], "all_reduce of embedding gradients")
        return grad[ctx.rank]


def all_gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Stack every rank's ``x`` along a new leading axis, differentiably.

    The backward all-reduces (sums) the incoming gradient over the ranks and keeps this rank's
    slice: the gradient of a block is summed over every rank that used it and returned to its
    owner.

    Parameters
    ----------
    x : torch.Tensor
        This rank's tensor; every rank passes one of the same shape and dtype.

    Returns
    -------
    torch.Tensor, shape (W, ...)
        The stack of the :math:`W` ranks' tensors (``...`` is the shape of ``x``): entry ``s`` is
        rank ``s``'s ``x``.

    Raises
    ------
    RuntimeError
        If ``torch.distributed`` is not initialised.
    PeerFailure
        If a peer does not answer within the process group's timeout.

    Examples
    --------
    >>> import tempfile
    >>> import torch
    >>> import torch.distributed as dist
    >>> store = tempfile.TemporaryDirectory()
    >>> dist.init_process_group("gloo", init_method=f"file://{store.name}/store", rank=0, world_size=1)
    >>> from sigref_torch.distributed import all_gather_with_grad
    >>> x = torch.ones(4, 3, requires_grad=True)
    >>> gathered = all_gather_with_grad(x)
    >>> tuple(gathered.shape)
    (1, 4, 3)
    >>> (2 * gathered).sum().backward()
    >>> x.grad.unique().tolist()
    [2.0]
    >>> dist.destroy_process_group()
    >>> store.cleanup()
    """
    _check_group()
    return _AllGather.apply(x)


def distributed_sigmoid_loss(
    U: torch.Tensor,
    V: torch.Tensor,
    t: float | torch.Tensor,
    b: float | torch.Tensor,
    *,
    mode: str = "ring",
    loss_fn: Callable | None = None,
    **options,
) -> torch.Tensor:
    r"""Compute this rank's share :math:`L_r` of the global per-anchor sigmoid loss.

    .. math::

        L_r = \frac{1}{n} \Bigl[ \sum_{i \in r,\, j \in r} \ell_{ij}
              + \sum_{s \ne r} \sum_{i \in r,\, j \in s} \ell^{-}_{ij} \Bigr]

    (module docstring): ``loss_fn`` of this rank's rows against its own text block (with positives)
    and against every other rank's block (``negatives_only=True``), each with ``reduction="sum"``,
    divided by :math:`n`. The mean of :math:`L_r` over ranks, which DDP's gradient averaging
    applies, is the loss of the whole batch; its gradients flow back to the owners of the blocks.
    Without an initialised process group, or with one process, this is
    ``loss_fn(U, V, t, b, reduction="sum") / n``, the per-anchor loss.

    Parameters
    ----------
    U, V : torch.Tensor, shape (n, d)
        This rank's unit rows (anchor ``i`` pairs positively with ``V[i]``); the same shape on
        every rank.
    t : float or torch.Tensor
        Inverse temperature :math:`t > 0` (0-d), the same on every rank.
    b : float or torch.Tensor
        Bias (0-d), subtracted: logits :math:`t\langle u, v\rangle - b`.
    mode : {"ring", "all_gather"}, default "ring"
        How the text blocks are exchanged (:data:`EXCHANGE_MODES`).
    loss_fn : callable, optional
        The block loss ``loss_fn(U, V_s, t, b, reduction=..., negatives_only=..., **options)``;
        default :func:`sigref_torch.bridge.sigmoid_loss`.
    **options
        Passed to ``loss_fn``, e.g. ``gamma``, ``filter_threshold``, ``chunk_size``.

    Returns
    -------
    torch.Tensor
        :math:`L_r`, a 0-d tensor.

    Raises
    ------
    ValueError
        If ``mode`` is not one of :data:`EXCHANGE_MODES`, ``options`` holds ``reduction`` or
        ``negatives_only`` (this function sets them), or ``U`` and ``V`` are not two ``(n, d)``
        tensors of one shape; and the errors of ``loss_fn``.
    PeerFailure
        If a peer does not answer within the process group's timeout.

    See Also
    --------
    ring_blocks : The ring exchange of ``mode="ring"``.
    all_gather_with_grad : The exchange of ``mode="all_gather"``.
    sigref_jax.distributed.sharded_sigmoid_loss : The JAX counterpart, over a device mesh.

    References
    ----------
    .. [1] X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
       Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343

    Examples
    --------
    In a training script started by ``torchrun --nproc-per-node 2 train.py`` (SigLIP [1]_
    initialisation :math:`t = b = 10`):

    >>> ctx = init_distributed()  # doctest: +SKIP
    >>> loss = distributed_sigmoid_loss(U_r, V_r, t, b, mode="ring")  # doctest: +SKIP
    >>> loss.backward()  # doctest: +SKIP

    In one process it is the per-anchor loss of the batch, with or without a process group:

    >>> import torch
    >>> from sigref.sampling import uniform_sphere
    >>> from sigref_torch import sigmoid_loss
    >>> from sigref_torch.distributed import distributed_sigmoid_loss
    >>> U = torch.tensor(uniform_sphere(0, (4, 3)), requires_grad=True)
    >>> V = torch.tensor(uniform_sphere(1, (4, 3)))
    >>> loss = distributed_sigmoid_loss(U, V, 10.0, 10.0)
    >>> loss.backward()
    >>> print(f"{loss.item():.6f} {sigmoid_loss(U, V, 10.0, 10.0).item():.6f}", tuple(U.grad.shape))
    12.303664 12.303664 (4, 3)
    """
    if mode not in EXCHANGE_MODES:
        raise ValueError(f"mode: expected one of {list(EXCHANGE_MODES)}, got {mode!r}")
    for key in ("reduction", "negatives_only"):
        if key in options:
            raise ValueError(f"{key}: set by distributed_sigmoid_loss itself, got {key}={options[key]!r}")
    if loss_fn is None:
        from sigref_torch import sigmoid_loss as loss_fn
    if U.ndim != 2 or V.shape != U.shape:
        raise ValueError(f"U, V: expected two (n, d) tensors of the same shape, got {tuple(U.shape)} and {tuple(V.shape)}")
    n = U.shape[0]
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return loss_fn(U, V, t, b, reduction="sum", **options) / n
    rank, _ = _check_group()
    if mode == "ring":
        blocks = ring_blocks(V)
    else:
        gathered = all_gather_with_grad(V)
        blocks = ((s, gathered[s]) for s in range(gathered.shape[0]))
    total = None
    for owner, block in blocks:
        part = loss_fn(U, block, t, b, reduction="sum", negatives_only=owner != rank, **options)
        total = part if total is None else total + part
    return total / n
