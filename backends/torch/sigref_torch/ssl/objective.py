"""The MSCL training objective: online views against EMA-target global views, through sigref's losses.

For target global views ``k = 1..K`` and online views ``o = 1..M`` (globals first) the objective is the
mean over the ``K (M - 1)`` pairs ``o != k`` (10 pairs for 2 global + 4 local views) of

    L_ok = -(1/N) sum_{i,j} (1 - sigmoid(y_ij z_ij))^gamma log sigmoid(y_ij z_ij)  +  alpha KL_ok,
    z_ij = t <u_i, v_j> - b,  y_ij = +1 if i = j else -1,

evaluated by ``sigref_torch.sigmoid_loss(U_o, V_k, t, b, reduction="sum", gamma=..., filter_threshold=...) / N``
(KL_ok: the reference code's ReLIC invariance term, arXiv 2010.07922, via ``sigref_torch.relic_kl``)

with ``U_o``, ``V_k`` the L2-normalised 64-d projections, logit ``t <u, v> - b`` (MSCL/SigLIP bias
``beta = -b``), MSCL's confidence penalty ``(1 - sigmoid(y z))^gamma`` and its filtering of negatives
(Basara's MSCL poster; SigLIP arXiv 2303.15343). In a process group the negatives come from every
rank (:func:`sigref_torch.distributed.distributed_sigmoid_loss`); the per-rank value is scaled so
that DDP's gradient averaging gives the gradient of the global-batch objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F

from sigref_torch import distributed as sdist

__all__ = ["ObjectiveConfig", "Objective", "pair_indices"]


def pair_indices(num_target: int, num_online: int) -> list[tuple[int, int]]:
    """(target view, online view) pairs of the reference: every target global view against every other view."""
    return [(k, o) for k in range(num_target) for o in range(num_online) if o != k]


@dataclass(frozen=True)
class ObjectiveConfig:
    alpha: float = 0.0
    exchange: str = "ring"

    def __post_init__(self) -> None:
        if self.exchange not in sdist.EXCHANGE_MODES:
            raise ValueError(f"exchange: expected one of {list(sdist.EXCHANGE_MODES)}, got {self.exchange!r}")
        if not self.alpha >= 0:
            raise ValueError(f"alpha: expected a non-negative KL weight, got {self.alpha!r}")


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class Objective:
    """Callable ``(online embeddings, target embeddings, t, b, gamma, filter_threshold) -> (loss, stats)``."""

    def __init__(self, cfg: ObjectiveConfig, *, loss_fn=None, kl_fn=None):
        self.cfg = cfg
        if loss_fn is None:
            from sigref_torch import sigmoid_loss as loss_fn
        if kl_fn is None and cfg.alpha > 0:
            from sigref_torch import relic_kl as kl_fn
        self.loss_fn = loss_fn
        self.kl_fn = kl_fn

    def __call__(self, online: list[torch.Tensor], target: list[torch.Tensor], t: torch.Tensor, b: torch.Tensor,
                 *, gamma: float = 0.0, filter_threshold: float | None = None):
        if len(target) < 1 or len(online) < 2 or len(target) > len(online):
            raise ValueError(f"views: expected 1 <= #target <= #online and #online >= 2, got {len(target)} and {len(online)}")
        dtype = torch.promote_types(online[0].dtype, torch.float32)  # half precision (autocast) -> float32
        U = [F.normalize(u.to(dtype), dim=-1) for u in online]
        V = [F.normalize(v.to(dtype).detach(), dim=-1) for v in target]
        t = t.to(dtype)
        b = b.to(dtype)
        n = U[0].shape[0]
        pairs = pair_indices(len(V), len(U))
        options = {"gamma": float(gamma), "filter_threshold": filter_threshold}
        total = U[0].new_zeros(())
        if _distributed():
            rank = dist.get_rank()
            for k in range(len(V)):
                if self.cfg.exchange == "ring":
                    blocks = sdist.ring_blocks(V[k])
                else:
                    gathered = sdist.all_gather_with_grad(V[k])
                    blocks = ((s, gathered[s]) for s in range(gathered.shape[0]))
                for owner, block in blocks:  # one exchange of V_k serves all online views
                    for o in range(len(U)):
                        if o != k:
                            total = total + self.loss_fn(U[o], block, t, b, reduction="sum",
                                                         negatives_only=owner != rank, **options)
        else:
            for k, o in pairs:
                total = total + self.loss_fn(U[o], V[k], t, b, reduction="sum", **options)
        sig = total / (n * len(pairs))
        stats = {"sigmoid": float(sig.detach())}
        loss = sig
        if self.cfg.alpha > 0:
            kl = self._kl(U, V, t, b, pairs)
            stats["kl"] = float(kl.detach())
            loss = loss + self.cfg.alpha * kl
        stats["kept"] = self._kept_fraction(U[1], V[0], t, b, gamma, filter_threshold)
        return loss, stats

    def _kl(self, U, V, t, b, pairs) -> torch.Tensor:
        """Mean over pairs of the ReLIC KL; in a process group on the all-gathered global batch."""
        if _distributed():
            U = [sdist.all_gather_with_grad(u).flatten(0, 1) for u in U]
            V = [sdist.all_gather_with_grad(v).flatten(0, 1) for v in V]
        total = U[0].new_zeros(())
        for k, o in pairs:
            total = total + self.kl_fn(U[o], V[k], t)
        return total / len(pairs)

    @staticmethod
    @torch.no_grad()
    def _kept_fraction(U, V, t, b, gamma, threshold) -> float:
        """Fraction of the local n x n pairs that filtering keeps (all positives, negatives with penalty > threshold)."""
        if threshold is None:
            return 1.0
        z = t * (U @ V.T) - b
        penalty = torch.exp(float(gamma) * F.logsigmoid(z))  # negatives: (1 - sigmoid(-z))^gamma = sigmoid(z)^gamma
        eye = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
        kept = eye | (penalty > threshold)
        return float(kept.float().mean())
