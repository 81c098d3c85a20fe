"""ReLIC-style invariance term of the MSCL reference code (``scl/scl.py::scl_loss`` of
github.com/filipbasara0/sigmoid-contrastive-loss).

With logits Z = t U V^T (online rows i, target columns j; a bias cancels in both softmaxes),
P = row softmax of Z (online i over targets j) and C = column softmax of Z, the target
distribution of row i is column i of C (target i over online samples), and

    KL(U, V; t) = (1/N) sum_ij C_ji (log C_ji - log P_ij)

(``kl_div(log P, C^T, reduction="batchmean")``). Gradients flow through both distributions, as
in the reference. With W = log C - (log P)^T,

    dKL/dZ = (1/N) [ C * (W - 1 colsum(C * W)) - (C^T - P) ],

then dKL/dU = t G V, dKL/dV = t G^T U, dKL/dt = sum G * U V^T.
"""

from __future__ import annotations

from typing import Any

from sigref._arrays import check_embeddings, namespace, param
from sigref.losses._result import LossResult, sum_to_shape
from sigref.numerics import logsumexp

__all__ = ["relic_kl", "relic_kl_and_grad"]


def _evaluate(U: Any, V: Any, t: Any, want_grad: bool) -> LossResult:
    xp = namespace(U=U, V=V, t=t)
    check_embeddings(xp, U, V)
    n = U.shape[-2]
    t_arr = param(xp, "t", t, U, positive=True)
    t4 = t_arr[..., None, None]
    S = U @ xp.matrix_transpose(V)
    Z = t4 * S
    log_p = Z - logsumexp(Z, axis=-1, keepdims=True)
    log_c = Z - logsumexp(Z, axis=-2, keepdims=True)
    C = xp.exp(log_c)
    CW = C * (log_c - xp.matrix_transpose(log_p))
    value = xp.sum(CW, axis=(-2, -1)) / n
    if not want_grad:
        return LossResult(value=value, grad={})
    G = (C * (log_c - xp.matrix_transpose(log_p)) - C * xp.sum(CW, axis=-2, keepdims=True)
         - (xp.matrix_transpose(C) - xp.exp(log_p))) / n
    grad = {
        "U": sum_to_shape(xp, t4 * (G @ V), U.shape),
        "V": sum_to_shape(xp, t4 * (xp.matrix_transpose(G) @ U), V.shape),
        "t": sum_to_shape(xp, xp.sum(G * S, axis=(-2, -1)), t_arr.shape),
    }
    grad["log_t"] = t_arr * grad["t"]
    return LossResult(value=value, grad=grad)


def relic_kl(U: Any, V: Any, t: Any) -> Any:
    """The invariance KL term of unit rows ``U`` (online) and ``V`` (target); shape (...)."""
    return _evaluate(U, V, t, False).value


def relic_kl_and_grad(U: Any, V: Any, t: Any) -> LossResult:
    """Value and analytic gradients of :func:`relic_kl`; grad keys "U", "V", "t", "log_t"."""
    return _evaluate(U, V, t, True)
