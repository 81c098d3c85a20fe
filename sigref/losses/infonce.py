"""Symmetric InfoNCE with a dividing temperature, as in Lee et al.'s comparison (arXiv 2402.12613).

With A = U V^T / tau (rows of U and V unit vectors, leading batch axes allowed),

    L(U, V; tau) = -(1/N) sum_i log softmax_j(A_ij)|_{j=i}  -  (1/N) sum_i log softmax_j(A_ji)|_{j=i},

the second (column) term only when ``symmetric``. With P the row softmax and Q the column
softmax of A, dL/dA = ((P - I) + (Q - I)) / N, so dL/dU = (dL/dA) V / tau,
dL/dV = (dL/dA)^T U / tau and dL/dtau = -sum(dL/dA * A) / tau.
At the simplex ETF with U = V: L = 2 log(1 + (N-1) exp(-N / ((N-1) tau))) (Lu & Steinerberger
2022, Thm 1, quoted as Corollary 1 in arXiv 2402.12613).
"""

from __future__ import annotations

from typing import Any

import array_api_compat

from sigref._arrays import check_embeddings, namespace, param
from sigref.losses._result import LossResult, sum_to_shape
from sigref.numerics import logsumexp

__all__ = ["infonce_loss", "infonce_loss_and_grad"]


def _evaluate(U: Any, V: Any, tau: Any, symmetric: bool, want_grad: bool) -> LossResult:
    xp = namespace(U=U, V=V, tau=tau)
    check_embeddings(xp, U, V)
    n = U.shape[-2]
    tau_arr = param(xp, "tau", tau, U, positive=True)
    tau4 = tau_arr[..., None, None]
    A = (U @ xp.matrix_transpose(V)) / tau4
    diag = xp.linalg.diagonal(A)
    row_lse = logsumexp(A, axis=-1)
    value = xp.sum(row_lse - diag, axis=-1) / n
    if symmetric:
        col_lse = logsumexp(A, axis=-2)
        value = value + xp.sum(col_lse - diag, axis=-1) / n
    if not want_grad:
        return LossResult(value=value, grad={})
    eye = xp.eye(n, dtype=U.dtype, device=array_api_compat.device(U))
    dA = xp.exp(A - row_lse[..., :, None]) - eye
    if symmetric:
        dA = dA + xp.exp(A - col_lse[..., None, :]) - eye
    dA = dA / n
    grad = {
        "U": sum_to_shape(xp, (dA @ V) / tau4, U.shape),
        "V": sum_to_shape(xp, (xp.matrix_transpose(dA) @ U) / tau4, V.shape),
        "tau": sum_to_shape(xp, -xp.sum(dA * A, axis=(-2, -1)) / tau_arr, tau_arr.shape),
    }
    return LossResult(value=value, grad=grad)


def infonce_loss(U: Any, V: Any, tau: Any, *, symmetric: bool = True) -> Any:
    """Symmetric (or one-sided) InfoNCE of unit rows ``U``, ``V`` (..., N, d); shape (...)."""
    return _evaluate(U, V, tau, symmetric, False).value


def infonce_loss_and_grad(U: Any, V: Any, tau: Any, *, symmetric: bool = True) -> LossResult:
    """Value and analytic gradients of :func:`infonce_loss`; grad keys "U", "V", "tau"."""
    return _evaluate(U, V, tau, symmetric, True)
