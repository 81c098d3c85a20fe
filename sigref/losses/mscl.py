"""The full MSCL objective of the reference code: modulated (or filtered) sigmoid loss plus the
ReLIC invariance term, L = L_sig(gamma, threshold) + alpha KL (``scl/scl.py::scl_loss`` of
github.com/filipbasara0/sigmoid-contrastive-loss).

Inputs are unit rows (the reference normalises inside its loss; do it before calling).
"""

from __future__ import annotations

from typing import Any

from sigref.losses._result import LossResult
from sigref.losses.relic import relic_kl_and_grad
from sigref.losses.sigmoid import sigmoid_loss_and_grad

__all__ = ["mscl_loss_and_grad"]


def mscl_loss_and_grad(U: Any, V: Any, t: Any, b: Any, *, gamma: float = 1.0, alpha: float = 0.0,
                       filter_threshold: float | None = None, detach_weight: bool = False,
                       chunk_size: int | None = None, diagnostics: bool = False) -> LossResult:
    """Per-anchor MSCL loss of online ``U`` vs target ``V``; grad keys "U", "V", "t", "log_t", "b".

    ``alpha = 0`` skips the KL term. With ``diagnostics`` the record also holds ``"kl"``.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
        raise ValueError(f"alpha must be a number >= 0, got {alpha!r}")
    res = sigmoid_loss_and_grad(U, V, t, b, reduction="per_anchor", gamma=gamma, filter_threshold=filter_threshold,
                                detach_weight=detach_weight, chunk_size=chunk_size, diagnostics=diagnostics)
    if alpha == 0:
        return res
    kl = relic_kl_and_grad(U, V, t)
    grad = dict(res.grad)
    for name in ("U", "V", "t", "log_t"):
        grad[name] = grad[name] + alpha * kl.grad[name]
    diag = None if res.diagnostics is None else {**res.diagnostics, "kl": kl.value}
    return LossResult(value=res.value + alpha * kl.value, grad=grad, diagnostics=diag)
