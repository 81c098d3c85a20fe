"""One compiled pass over a block of logits: f(q) = w(q) softplus(q), f'(q) and the kept pairs.

The formulas are those of ``sigref.losses.sigmoid._pair_terms`` (the array-API reference, which
``tests/test_numba_fused.py`` compares this with), in the dtype of the block: from e = exp(-|q|),
u = 1 + e and log1p(e) = log(u) + (e - (u - 1)) (one ``exp`` and one ``log`` per pair),

    softplus(q) = max(q, 0) + log1p(e),      log sigma(q) = min(q, 0) - log1p(e),
    sigma(q)    = 1 / u if q > 0 else e / u,  sigma(-q) = e / u if q > 0 else 1 / u,

with w = 1 (plain), w = sigma(q)^gamma (MSCL) or the indicator gamma log sigma(q) > log(threshold)
(MSCL filtering). NumPy evaluates the reference as about a dozen separate whole-block passes on
one core; here each pair is read once and its two results written once, on every core
(``numba.prange``).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from sigref.losses.sigmoid import register_fused_pair_terms

__all__ = ["pair_terms"]

_PLAIN, _FILTER, _MODULATED, _DETACHED = 0, 1, 2, 3


@numba.njit(parallel=True, nogil=True, cache=True)
def _terms(q, one, mode, gamma, log_threshold, want_grad, f, fp, keep):  # pragma: no cover (compiled)
    # ``one``, ``gamma`` and ``log_threshold`` carry the block's dtype, so float32 stays float32
    for i in numba.prange(q.size):
        x = q[i]
        e = math.exp(-abs(x))
        u = one + e
        log1p_e = math.log(u) + (e - (u - one))
        r = one / u
        if x > 0:
            softplus, log_sigma, sigma, sigma_neg = x + log1p_e, -log1p_e, r, e * r
        else:
            softplus, log_sigma, sigma, sigma_neg = log1p_e, x - log1p_e, e * r, r
        if mode == _PLAIN:
            f[i] = softplus
            if want_grad:
                fp[i] = sigma
        elif mode == _FILTER:
            kept = gamma * log_sigma > log_threshold
            keep[i] = kept
            if kept:
                f[i] = softplus
                if want_grad:
                    fp[i] = sigma
            else:
                f[i] = 0
                if want_grad:
                    fp[i] = 0
        else:
            w = sigma if gamma == 1 else math.exp(gamma * log_sigma)
            f[i] = w * softplus
            if want_grad:
                # d/dq [sigma(q)^gamma softplus(q)] = sigma(q)^gamma (gamma sigma(-q) softplus(q) + sigma(q))
                fp[i] = w * sigma if mode == _DETACHED else w * (gamma * sigma_neg * softplus + sigma)


def pair_terms(xp: Any, q: np.ndarray, opt: Any, want_grad: bool) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Drop-in for ``sigref.losses.sigmoid._pair_terms`` on NumPy arrays (float32 or float64)."""
    if q.dtype not in (np.float32, np.float64):
        raise TypeError(f"q: expected a float32 or float64 array, got dtype {q.dtype}")
    flat = np.ascontiguousarray(q).reshape(-1)
    filtering = opt.log_threshold is not None
    if filtering:
        mode = _FILTER
    elif opt.gamma == 0.0:
        mode = _PLAIN
    else:
        mode = _DETACHED if opt.detach_weight else _MODULATED
    f = np.empty_like(flat)
    fp = np.empty_like(flat) if want_grad else np.empty(0, flat.dtype)
    keep = np.empty(flat.shape, np.bool_) if filtering else np.empty(0, np.bool_)
    log_threshold = opt.log_threshold if filtering else 0.0
    scalar = flat.dtype.type
    _terms(flat, scalar(1), mode, scalar(opt.gamma), scalar(log_threshold), bool(want_grad), f, fp, keep)
    shape = q.shape
    return f.reshape(shape), (fp.reshape(shape) if want_grad else None), (keep.reshape(shape) if filtering else None)


register_fused_pair_terms("numpy", pair_terms)
