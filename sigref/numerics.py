"""Numerically stable logistic functions on any array-API namespace.

Everything is built on ``logaddexp`` (in the standard) or on ``exp(-|x|)``, so results stay
finite and accurate for logits of +-1e9 in float32 and float64, and derivatives never form
``inf * 0``.

    softplus(x)    = log(1 + e^x)   = logaddexp(0, x)
    log_sigmoid(x) = -softplus(-x)
    sigmoid(x)     = exp(log_sigmoid(x))
"""

from __future__ import annotations

from typing import Any

import array_api_compat

__all__ = ["log_sigmoid", "logistic_parts", "logsumexp", "sigmoid", "softplus"]


def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``; its derivative is :func:`sigmoid`."""
    xp = array_api_compat.array_namespace(x)
    return xp.logaddexp(xp.zeros_like(x), x)


def log_sigmoid(x: Any) -> Any:
    """``log sigma(x) = -softplus(-x)``; its derivative is ``sigmoid(-x)``."""
    xp = array_api_compat.array_namespace(x)
    return -xp.logaddexp(xp.zeros_like(x), -x)


def sigmoid(x: Any) -> Any:
    """``1 / (1 + exp(-x))`` as ``exp(log_sigmoid(x))``: no overflow on either tail."""
    xp = array_api_compat.array_namespace(x)
    return xp.exp(log_sigmoid(x))


def logistic_parts(x: Any) -> tuple[Any, Any, Any]:
    """``(e, r, log1p(e))`` with e = exp(-|x|) in (0, 1] and r = 1 / (1 + e): everything the loss
    kernels need from one ``exp`` and one ``log``, with full relative accuracy on both tails:

        softplus(x)    = max(x, 0) + log1p(e)         log_sigmoid(x) = min(x, 0) - log1p(e)
        sigmoid(x)     = max(e, sign(x)) r            sigmoid(-x)    = max(e, -sign(x)) r

    With u = fl(1 + e) and delta = e - (u - 1) (exact), log1p(e) = log(u) + delta to within
    1.5 ulp of 1 relative, also for e below eps (then u = 1 and the result is e). NumPy's
    ``log1p`` and ``logaddexp`` are several times slower than ``exp`` and ``log``.
    """
    xp = array_api_compat.array_namespace(x)
    e = xp.exp(-xp.abs(x))
    u = 1.0 + e
    return e, 1.0 / u, xp.log(u) + (e - (u - 1.0))


def logsumexp(x: Any, axis: int, keepdims: bool = False) -> Any:
    """``log sum exp(x)`` along ``axis``, shifted by the maximum (finite for finite x)."""
    xp = array_api_compat.array_namespace(x)
    m = xp.max(x, axis=axis, keepdims=True)
    out = m + xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else xp.squeeze(out, axis=axis)
