"""Sigmoid-loss implementations written here from the papers' formulas, the way peers commonly write
them, to be measured by ``sigref conform`` (they are importable by name, so that distributed runs can
load them in every process).

* :func:`bce_with_logits`: the stable textbook form, ``binary_cross_entropy_with_logits`` of the logits
  against the identity labels, summed and divided by N (SigLIP, arXiv 2303.15343, eq. 1);
* :func:`clamped_log`: ``-log(sigmoid(y z) + 1e-8)`` averaged over the N^2 pairs (the epsilon-clamped
  form of Bangachev et al.'s released code, arXiv 2509.18552);
* :func:`focal_by_subtraction`: MSCL's ``-(1 - sigmoid(y z))^gamma logsigmoid(y z)``, the weight
  computed by subtraction as in Basara's ``scl_loss``;
* :func:`normalising_bce`: :func:`bce_with_logits` after ``F.normalize`` of its inputs (as losses
  that take raw projections do), for the tangent-space comparison;
* :func:`sigref_as_mscl`: sigref_torch's loss behind the MSCL convention (tau = log t, bias added);
* distributed: :func:`all_gather_loss` (sigref_torch's all-gather exchange), :func:`ring_dropping_a_block`
  (a ring in which the last rank leaves out its last remote block: the exchange completes, the loss
  lacks N^2 / W^2 negative pairs), :func:`ring_skipping_an_exchange` (the last rank does not even use
  that block, so its gradient is never sent back: the ranks deadlock).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F

from sigref_torch import sigmoid_loss
from sigref_torch.distributed import distributed_sigmoid_loss, ring_blocks


def _labels(n: int, like: torch.Tensor) -> torch.Tensor:
    return 2 * torch.eye(n, dtype=like.dtype, device=like.device) - 1


def bce_with_logits(U, V, t, b):
    z = t * U @ V.T - b
    return F.binary_cross_entropy_with_logits(z, torch.eye(U.shape[0], dtype=z.dtype), reduction="sum") / U.shape[0]


def clamped_log(U, V, t, b):
    z = t * U @ V.T - b
    return -torch.log(torch.sigmoid(_labels(U.shape[0], z) * z) + 1e-8).mean()


def focal_by_subtraction(x, x_target, tau, beta, gamma):
    z = torch.exp(tau) * x @ x_target.T + beta
    yz = _labels(x.shape[0], z) * z
    return -((1 - torch.sigmoid(yz)) ** gamma * F.logsigmoid(yz)).sum() / x.shape[0]


def normalising_bce(U, V, t, b):
    return bce_with_logits(F.normalize(U, dim=-1), F.normalize(V, dim=-1), t, b)


def sigref_as_mscl(x, x_target, tau, beta, gamma):
    return sigmoid_loss(x, x_target, tau.exp(), -beta, gamma=gamma)


def all_gather_loss(U, V, t, b):
    return distributed_sigmoid_loss(U, V, t, b, mode="all_gather")


def ring_dropping_a_block(U, V, t, b):
    rank, world = dist.get_rank(), dist.get_world_size()
    total = 0
    for k, (owner, block) in enumerate(ring_blocks(V)):
        part = sigmoid_loss(U, block, t, b, reduction="sum", negatives_only=owner != rank)
        if rank == world - 1 and k == world - 1:
            part = 0 * part  # the bug: this block's negatives are lost (its exchange still runs backward)
        total = total + part
    return total / U.shape[0]


def ring_skipping_an_exchange(U, V, t, b):
    rank, world = dist.get_rank(), dist.get_world_size()
    total = 0
    for k, (owner, block) in enumerate(ring_blocks(V)):
        if rank == world - 1 and k == world - 1:
            continue  # the bug: the block is received but unused, so backward never returns its gradient
        total = total + sigmoid_loss(U, block, t, b, reduction="sum", negatives_only=owner != rank)
    return total / U.shape[0]

