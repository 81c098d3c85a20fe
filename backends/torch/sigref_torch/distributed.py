"""Multi-process sigmoid loss: negatives from every rank, exchanged by a ring or an all-gather.

With ``W`` ranks holding ``n`` rows each (global batch ``N = W n``), the single-process per-anchor
sigmoid loss on the concatenated batch (SigLIP, arXiv 2303.15343, Sec. 3.3 "chunked" implementation) is

    L = (1/N) sum_{i,j} l_ij,     l_ij = -log sigmoid(y_ij (t <u_i, v_j> - b)).

Rank ``r`` computes its own rows against all columns,

    L_r = (1/n) [ sum_{i in r, j in r} l_ij  +  sum_{s != r} sum_{i in r, j in s} l_ij (negatives only) ],

so that the mean over ranks (what DistributedDataParallel's gradient averaging applies) is ``L``.
Column blocks arrive either by a ring (``W - 1`` point-to-point shifts, memory of one block) or by an
all-gather. Both are autograd functions: the gradient with respect to a block that another rank used
is sent back to its owner and summed there (the adjoint of the exchange), so with DDP averaging the
gradients of every parameter equal the single-process gradients of ``L``.

Peers that die are detected by the process group's timeout (``init_distributed(timeout_s=...)``);
the exchange then raises :class:`PeerFailure` naming the rank and the operation instead of hanging.
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

EXCHANGE_MODES = ("ring", "all_gather")


class PeerFailure(RuntimeError):
    """Another rank did not answer within the timeout or its connection closed (it most likely died)."""


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str | None = None, *, timeout_s: float = 300.0) -> DistContext:
    """Join the process group described by torchrun's environment (``WORLD_SIZE``, ``RANK``, ...).

    Without ``WORLD_SIZE > 1`` this is a no-op context on ``device`` (default: cuda if available,
    else cpu). The backend is nccl for CUDA devices and gloo otherwise; each CUDA rank uses
    ``cuda:LOCAL_RANK``.
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
    """Yield ``(owner_rank, block)`` for every rank's ``x`` (own block first), shifting around the ring.

    All ranks must pass tensors of identical shape and dtype and consume the whole iterator.
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
    """``(world_size, *x.shape)`` stack of every rank's ``x``, differentiable (gradients summed back to owners)."""
    _check_group()
    return _AllGather.apply(x)


def distributed_sigmoid_loss(
    U: torch.Tensor,
    V: torch.Tensor,
    t: torch.Tensor,
    b: torch.Tensor,
    *,
    mode: str = "ring",
    loss_fn: Callable | None = None,
    **options,
) -> torch.Tensor:
    """This rank's share ``L_r`` of the global per-anchor sigmoid loss (see the module docstring).

    ``U``, ``V``: this rank's ``(n, d)`` unit rows (anchor ``i`` pairs positively with ``V[i]``);
    ``t``, ``b``: scalars (sigref convention, logit ``t <u, v> - b``); ``options``: passed to
    ``loss_fn`` (default :func:`sigref_torch.sigmoid_loss`), e.g. ``gamma``, ``filter_threshold``.
    Without an initialised process group this is ``loss_fn(U, V, t, b, reduction="per_anchor")``.
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
