"""Autograd bridge: sigref's losses as differentiable torch functions with analytic backward.

The forward pass runs sigref's array-API kernel on detached tensors and, when any input needs a
gradient, also its analytic gradients, which are saved for the backward pass. Nothing N x N is
saved: with ``chunk_size`` both passes stay O(chunk_size * N) in memory (open_clip's chunked
loss keeps every block's logits for autograd; see ``SigLipLoss`` in open_clip's ``src/open_clip/loss.py``, PR 1214).

Half-precision inputs (autocast) are evaluated in float32 and their gradients cast back.
Parameters that broadcast over batch axes get gradients weighted per batch element.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from sigref import losses

__all__ = ["SigmoidLoss", "mscl_loss", "relic_kl", "relative_bias_loss", "siglip_loss", "sigmoid_loss"]

_EMBEDDINGS = ("U", "V", "X")


class _Analytic(torch.autograd.Function):
    """Applies ``kernel(**tensors, **options) -> LossResult`` and backpropagates its ``grad``."""

    @staticmethod
    def forward(ctx: Any, kernel: Callable[..., Any], names: tuple[str, ...], options: dict[str, Any], *tensors: torch.Tensor) -> torch.Tensor:
        inputs = dict(zip(names, (x.detach() for x in tensors)))
        needs = any(ctx.needs_input_grad[3:])
        with torch.no_grad():
            if needs:
                res = kernel(**inputs, **options)
                ctx.save_for_backward(*(res.grad[n] for n in names))
                ctx.shapes = [x.shape for x in tensors]
                ctx.dtypes = [x.dtype for x in tensors]
                value = res.value
            else:
                value = kernel(**inputs, **options).value
        return value

    @staticmethod
    def backward(ctx: Any, gout: torch.Tensor) -> tuple[Any, ...]:
        grads: list[torch.Tensor | None] = [None, None, None]
        for g, shape, dtype, need in zip(ctx.saved_tensors, ctx.shapes, ctx.dtypes, ctx.needs_input_grad[3:]):
            if not need:
                grads.append(None)
                continue
            weight = gout if g.ndim == gout.ndim else gout[..., None, None]
            grads.append((g * weight).sum_to_size(shape).to(dtype))
        return tuple(grads)


def _prepare(tensors: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Promote to a common float dtype (at least float32), make scalars tensors, expand
    everything to the common batch shape so that backward can weight per batch element."""
    emb = {n: x for n, x in tensors.items() if n in _EMBEDDINGS}
    ref = next(iter(emb.values()))
    for name, x in emb.items():
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim < 2:
            raise ValueError(f"{name} must have shape (..., N, d), got shape {tuple(x.shape)}")
    dtype = torch.promote_types(ref.dtype, torch.float32) if ref.is_floating_point() else ref.dtype
    out: dict[str, torch.Tensor] = {}
    for name, x in tensors.items():
        if x is None:
            continue
        if not isinstance(x, torch.Tensor):
            x = torch.tensor(float(x), dtype=dtype, device=ref.device)
        if x.is_floating_point() and x.dtype != dtype:
            x = x.to(dtype)
        out[name] = x
    lead = {"X": 1}
    batch = torch.broadcast_shapes(
        *(x.shape[lead.get(n, 0) : -2] for n, x in out.items() if n in _EMBEDDINGS),
        *(x.shape for n, x in out.items() if n not in _EMBEDDINGS),
    )
    for name, x in out.items():
        if name in _EMBEDDINGS:
            out[name] = x.expand(*x.shape[: lead.get(name, 0)], *batch, *x.shape[-2:])
        else:
            out[name] = x.expand(batch)
    return out


def _call(kernel: Callable[..., Any], tensors: dict[str, Any], options: dict[str, Any]) -> torch.Tensor:
    prepared = _prepare(tensors)
    return _Analytic.apply(kernel, tuple(prepared), options, *prepared.values())


def sigmoid_loss(U: torch.Tensor, V: torch.Tensor, t: Any, b: Any = None, *, b_rel: Any = None, **options: Any) -> torch.Tensor:
    """:func:`sigref.losses.sigmoid_loss` on tensors, differentiable in U, V, t and b (or b_rel).

    Options are those of the core function (reduction, gamma, detach_weight, filter_threshold,
    negatives_only, chunk_size).
    """
    if (b is None) == (b_rel is None):
        raise TypeError("give exactly one of b (bias) and b_rel (relative bias, b = t * b_rel)")
    if b is not None:
        return _call(losses.sigmoid_loss_and_grad, {"U": U, "V": V, "t": t, "b": b}, options)
    return _call(losses.relative_bias_loss_and_grad, {"U": U, "V": V, "t": t, "b_rel": b_rel}, options)


def relative_bias_loss(U: torch.Tensor, V: torch.Tensor, t: Any, b_rel: Any, **options: Any) -> torch.Tensor:
    """L_RB(U, V; t, b_rel) = L(U, V; t, t b_rel) on tensors (arXiv 2509.18552 Def. 1)."""
    return sigmoid_loss(U, V, t, b_rel=b_rel, **options)


def siglip_loss(image_features: torch.Tensor, text_features: torch.Tensor, logit_scale: Any, logit_bias: Any, *,
                chunk_size: int | None = None) -> torch.Tensor:
    """open_clip's ``SigLipLoss`` convention (scale already exponentiated, bias added)."""
    return sigmoid_loss(image_features, text_features, logit_scale, -logit_bias, reduction="per_anchor", chunk_size=chunk_size)


def relic_kl(U: torch.Tensor, V: torch.Tensor, t: Any) -> torch.Tensor:
    """The MSCL reference's ReLIC invariance KL term, differentiable in U, V and t."""
    return _call(losses.relic_kl_and_grad, {"U": U, "V": V, "t": t}, {})


def mscl_loss(U: torch.Tensor, V: torch.Tensor, t: Any, b: Any, *, gamma: float = 1.0, alpha: float = 0.0,
              filter_threshold: float | None = None, detach_weight: bool = False, chunk_size: int | None = None) -> torch.Tensor:
    """MSCL objective (modulated or filtered sigmoid loss + alpha KL) of unit rows, per anchor."""
    options = dict(gamma=gamma, alpha=alpha, filter_threshold=filter_threshold, detach_weight=detach_weight, chunk_size=chunk_size)
    return _call(losses.mscl_loss_and_grad, {"U": U, "V": V, "t": t, "b": b}, options)


class SigmoidLoss(nn.Module):
    """Sigmoid contrastive loss with learnable log-temperature and bias (papers' convention).

    ``t = exp(log_t)`` (optionally capped at ``t_max`` by a clamp in forward, as MSCL does) and
    ``b`` (or the relative bias ``b_rel`` when ``relative_bias``). Defaults are SigLIP's
    initialisation t = 10, b = 10 (logit_scale 10, logit_bias -10). ``normalize`` L2-normalises
    the inputs first (for raw projections).
    """

    def __init__(self, t_init: float = 10.0, b_init: float = 10.0, *, relative_bias: bool = False,
                 learn_t: bool = True, learn_b: bool = True, t_max: float | None = None, normalize: bool = False,
                 **options: Any) -> None:
        super().__init__()
        if not t_init > 0:
            raise ValueError(f"t_init must be > 0, got {t_init!r}")
        if t_max is not None and not t_max > 0:
            raise ValueError(f"t_max must be > 0 or None, got {t_max!r}")
        self.log_t = nn.Parameter(torch.tensor(math.log(t_init)), requires_grad=learn_t)
        self.bias = nn.Parameter(torch.tensor(float(b_init)), requires_grad=learn_b)
        self.relative_bias = relative_bias
        self.t_max = t_max
        self.normalize = normalize
        self.options = options

    @classmethod
    def batch_aware(cls, batch_size: int, t_init: float = 10.0, **kwargs: Any) -> SigmoidLoss:
        """Bias initialised at the prior log-odds b = log(N - 1) (open_clip issue 650)."""
        return cls(t_init, losses.batch_aware_bias(batch_size), **kwargs)

    @property
    def t(self) -> torch.Tensor:
        t = self.log_t.exp()
        return t.clamp(max=self.t_max) if self.t_max is not None else t

    def forward(self, U: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
        if self.normalize:
            U, V = nn.functional.normalize(U, dim=-1), nn.functional.normalize(V, dim=-1)
        if self.relative_bias:
            return sigmoid_loss(U, V, self.t, b_rel=self.bias, **self.options)
        return sigmoid_loss(U, V, self.t, self.bias, **self.options)

    def extra_repr(self) -> str:
        kind = "b_rel" if self.relative_bias else "b"
        return f"t={float(self.t.detach()):.4g}, {kind}={float(self.bias.detach()):.4g}, t_max={self.t_max}, options={self.options}"
