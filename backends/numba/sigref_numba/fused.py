r"""One compiled pass over a block of logits: f(q) = w(q) softplus(q), f'(q) and the kept pairs.

The formulas are those of :func:`sigref.fused.reference_pass` (the array-API reference, which
``tests/numba/test_fused.py`` compares this with), in the dtype of the block: from
:math:`e = \exp(-|q|)`, :math:`u = 1 + e` and :math:`\operatorname{log1p}(e)` (one exponential and
one logarithm per pair),

.. math::

    \operatorname{softplus}(q) &= \max(q, 0) + \operatorname{log1p}(e), \\
    \log\sigma(q) &= \min(q, 0) - \operatorname{log1p}(e), \\
    \sigma(q) &= \begin{cases} 1/u & q > 0, \\ e/u & q \le 0, \end{cases} \\
    \sigma(-q) &= \begin{cases} e/u & q > 0, \\ 1/u & q \le 0, \end{cases}

and :math:`f(q) = w(q) \operatorname{softplus}(q)` with :math:`w = 1` (plain),
:math:`w = \sigma(q)^\gamma` (MSCL, :math:`f'(q) = w\,(\gamma\,\sigma(-q) \operatorname{softplus}(q) + \sigma(q))`)
or the indicator :math:`q > q_0` with :math:`q_0` = ``keep_above`` (MSCL filtering,
:func:`sigref.fused.filter_logit`). NumPy evaluates the reference as about a dozen separate
whole-block passes on one core; here each pair is read once and its two results written once, on
every core (``numba.prange``).

The exponential and logarithm are written out in + - * / only (``_exp_neg``, ``_log1p_unit``), so
that LLVM vectorises the loop (libm calls keep it scalar): :math:`e^{-a} = 2^{-k} e^{-r}` with
:math:`k = \operatorname{round}(a / \ln 2)`, :math:`r = a - k \ln 2` (:math:`\ln 2` split in two,
Cody and Waite) and the Taylor series of :math:`e^{-r}` (:math:`|r| \le \ln(2) / 2`) to degree 8 in
float32, 13 in float64 (truncation below :math:`2^{-30}` resp. :math:`2^{-56}`), and
:math:`\operatorname{log1p}(e) = 2 \operatorname{artanh}(s)` with :math:`s = e / (2 + e) \le 1/3`,
8 resp. 16 terms of the odd series (truncation below :math:`2^{-29}` resp. :math:`2^{-55}`).
Softplus and sigma come out within 2.1 and 1.5 ulp of the truth in float32 (libm: 1.5 and 1.5) and
1.8 and 1.5 ulp in float64, over [-110, 110] resp. [-800, 800] and the extremes
(``tests/numba/test_fused.py``). On this 2-core machine the float32 pass runs 2.8x faster than with
libm (4.9 against 13.7 ns per pair, :math:`2^{22}` pairs, under load), the float64 pass 2.8x (one
thread, 40 000 pairs: 0.34 against 0.93 ms).
"""

from __future__ import annotations

import math
import os
import threading
from typing import Any, NamedTuple

import numba
import numpy as np
from numba.extending import overload

from sigref import fused as contract

__all__ = ["PARALLEL_MIN_PAIRS", "pair_terms"]


class _Constants(NamedTuple):
    """Per dtype: exp(-a) is below half the smallest subnormal from a = 103.98 (float32) resp. 745.14
    (float64) on, so a is clamped at ``exp_clamp`` where the table ``pow2_neg`` of 2^-k (exact) holds 0;
    ln 2 = ``ln2_hi`` + ``ln2_lo`` with k ``ln2_hi`` exact for every k used (12 resp. 32 trailing zero bits)."""

    exp_clamp: Any
    log2e: Any
    ln2_hi: Any
    ln2_lo: Any
    pow2_neg: np.ndarray
    exp_taylor: tuple  # 1 / k!, k = 0 .. degree
    atanh_series: tuple  # 1 / (2k + 1)


def _constants(dtype: type, exp_clamp: float, ln2_hi: float, ln2_lo: float, taylor_degree: int, atanh_terms: int) -> _Constants:
    k_max = int(exp_clamp / math.log(2)) + 2
    return _Constants(dtype(exp_clamp), dtype(1 / math.log(2)), dtype(ln2_hi), dtype(ln2_lo),
                      np.array([2.0**-k for k in range(k_max)], dtype=dtype),
                      tuple(dtype(1 / math.factorial(k)) for k in range(taylor_degree + 1)),
                      tuple(dtype(1 / (2 * k + 1)) for k in range(atanh_terms)))


_CONSTANTS = {
    numba.types.float32: _constants(np.float32, 105.0, 0.693145751953125, 1.428606765330187e-06, taylor_degree=8, atanh_terms=8),
    numba.types.float64: _constants(np.float64, 746.0, 6.93147180369123816490e-01, 1.90821492927058770002e-10, taylor_degree=13, atanh_terms=16),
}


#: Compiled without Python's ZeroDivisionError check (a branch that keeps loops scalar); FMA allowed.
_JIT = dict(nogil=True, error_model="numpy", fastmath={"contract"})


def _exp_neg(a):
    """exp(-a) for a >= 0."""


def _log1p_unit(e):
    """log(1 + e) for 0 <= e <= 1."""


@overload(_exp_neg, jit_options=_JIT)
def _exp_neg_impl(a):
    clamp, log2e, ln2_hi, ln2_lo, pow2_neg, c, _ = _CONSTANTS[a]
    real = pow2_neg.dtype.type
    half, degree = real(0.5), len(c) - 1

    def exp_neg(a):  # pragma: no cover (compiled)
        a = min(a, clamp)  # (a select on the result instead keeps LLVM from vectorising)
        k = int(a * log2e + half)
        kf = real(k)
        r = (kf * ln2_hi - a) + kf * ln2_lo  # -(a - k ln 2)
        p = c[degree]
        for j in range(degree - 1, -1, -1):  # Horner (unrolled: c is a tuple of constants)
            p = c[j] + r * p
        return p * pow2_neg[k]

    return exp_neg


@overload(_log1p_unit, jit_options=_JIT)
def _log1p_unit_impl(e):
    *_, c = _CONSTANTS[e]
    two, last = type(c[0])(2), len(c) - 1

    def log1p_unit(e):  # pragma: no cover (compiled)
        s = e / (two + e)
        s2 = s * s
        p = c[last]
        for j in range(last - 1, -1, -1):
            p = c[j] + s2 * p
        return (s + s) * p

    return log1p_unit


@numba.njit(inline="always", **_JIT)
def _logistic(x, one):  # pragma: no cover (compiled)
    """(softplus(x), log sigma(x), sigma(x), sigma(-x)) in the dtype of ``x`` and ``one``."""
    e = _exp_neg(abs(x))
    u = one + e
    log1p_e = _log1p_unit(e)
    r = one / u
    if x > 0:
        return x + log1p_e, -log1p_e, r, e * r
    return log1p_e, x - log1p_e, e * r, r


#: Blocks below this many pairs run on one thread: a parallel region costs a wake-up of every
#: worker thread, which on a busy machine waits for a scheduler slot (measured: 16 ms at N = 96), and
#: the vectorised kernels finish 2^18 pairs in about 1 ms on one core (Bangachev's E1, 4 x 100 x 100
#: blocks: 1000 steps in 1.1-1.6 s serial against 1.4-1.8 s with 2^15 as the bound).
PARALLEL_MIN_PAIRS = 2**18

# Numba's own work queue rather than OpenMP, whose idle workers spin on the cores the next BLAS product
# needs (measured: the matmul floor at N = 1024 twice as slow right after an OpenMP loop). The work queue
# admits one parallel loop at a time, hence the lock: a second thread runs the single-threaded kernel.
if numba.config.THREADING_LAYER == "default" and "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"
_PARALLEL = threading.Lock()


def _compiled(kernel):
    """(multi-threaded, single-threaded) compilations of one kernel (``prange`` is ``range`` in the latter).
    Only the first is cached on disk: Numba's cache keys one function's entries by signature alone, so the
    second would load whichever variant was stored first (measured: a "parallel" kernel running on one core)."""
    return numba.njit(parallel=True, cache=True, **_JIT)(kernel), numba.njit(**_JIT)(kernel)


# One kernel per variant (a mode switch inside the loop measured 1.4x slower). ``one``, ``gamma`` and
# ``keep_above`` carry the block's dtype, so float32 stays float32.
def _plain(q, one, f, fp, want_grad):  # pragma: no cover (compiled)
    for i in numba.prange(q.size):
        softplus, _, sigma, _ = _logistic(q[i], one)
        f[i] = softplus
        if want_grad:
            fp[i] = sigma


def _filtered(q, one, keep_above, f, fp, keep, want_grad):  # pragma: no cover (compiled)
    zero = one - one
    for i in numba.prange(q.size):
        softplus, _, sigma, _ = _logistic(q[i], one)
        kept = q[i] > keep_above
        keep[i] = kept
        f[i] = softplus if kept else zero
        if want_grad:
            fp[i] = sigma if kept else zero


def _modulated(q, one, gamma, detach_weight, f, fp, want_grad):  # pragma: no cover (compiled)
    for i in numba.prange(q.size):
        softplus, log_sigma, sigma, sigma_neg = _logistic(q[i], one)
        w = sigma if gamma == 1 else _exp_neg(-gamma * log_sigma)
        f[i] = w * softplus
        if want_grad:
            # d/dq [sigma(q)^gamma softplus(q)] = sigma(q)^gamma (gamma sigma(-q) softplus(q) + sigma(q))
            fp[i] = w * sigma if detach_weight else w * (gamma * sigma_neg * softplus + sigma)


_KERNELS = {name: _compiled(kernel) for name, kernel in (("plain", _plain), ("filtered", _filtered), ("modulated", _modulated))}


def _run(name: str, flat: np.ndarray, *args: Any) -> None:
    parallel, serial = _KERNELS[name]
    if flat.size >= PARALLEL_MIN_PAIRS and _PARALLEL.acquire(blocking=False):
        try:
            parallel(flat, *args)
        finally:
            _PARALLEL.release()
    else:
        serial(flat, *args)


def pair_terms(xp: Any, q: np.ndarray, opt: contract.PairOptions, want_grad: bool) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    r"""Compute :math:`f(q)`, :math:`f'(q)` and the kept pairs of a NumPy block in one compiled loop.

    A drop-in for :func:`sigref.fused.reference_pass` on NumPy arrays (the formulas are in the
    module docstring), registered for ``numpy`` when this module is imported. The result is in the
    dtype of ``q`` (float32 stays float32). Blocks of at least :data:`PARALLEL_MIN_PAIRS` pairs run
    on every core when no other thread holds the parallel loop, smaller ones on one thread.

    Parameters
    ----------
    xp : module
        The array namespace of ``q`` (unused: the loop is compiled for NumPy).
    q : numpy.ndarray
        The logits seen as negatives, float32 or float64, of any shape.
    opt : sigref.fused.PairOptions
        The MSCL exponent ``gamma``, ``detach_weight`` and the filtering logit ``keep_above``.
    want_grad : bool
        Whether to compute :math:`f'(q)`.

    Returns
    -------
    f : numpy.ndarray
        :math:`f(q)`, of the shape and dtype of ``q``.
    fp : numpy.ndarray or None
        :math:`f'(q)`, or None unless ``want_grad``.
    keep : numpy.ndarray or None
        The boolean kept-pair indicator :math:`q > q_0` under filtering, else None.

    Raises
    ------
    TypeError
        If ``q`` is not float32 or float64.

    See Also
    --------
    sigref.fused.reference_pass : The array-API reference with the same values.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.fused import PairOptions
    >>> from sigref_numba.fused import pair_terms
    >>> q = np.array([-2.0, 0.0, 3.0])
    >>> f, fp, keep = pair_terms(np, q, PairOptions(), want_grad=True)
    >>> print(np.round(f, 6), np.round(fp, 6), keep)
    [0.126928 0.693147 3.048587] [0.119203 0.5      0.952574] None

    MSCL at :math:`\gamma = 1` keeps float32 in float32; filtering at threshold 0.5 keeps
    :math:`q > 0`:

    >>> f, _, _ = pair_terms(np, q.astype(np.float32), PairOptions.mscl(1.0), want_grad=False)
    >>> print(f.dtype, [round(float(x), 4) for x in f])
    float32 [0.0151, 0.3466, 2.904]
    >>> f, fp, keep = pair_terms(np, q, PairOptions.mscl(1.0, filter_threshold=0.5), want_grad=True)
    >>> print(np.round(f, 6), np.round(fp, 6), keep)
    [0.       0.       3.048587] [0.       0.       0.952574] [False False  True]
    """
    if q.dtype not in (np.float32, np.float64):
        raise TypeError(f"q: expected a float32 or float64 array, got dtype {q.dtype}")
    flat = np.ascontiguousarray(q).reshape(-1)
    scalar = flat.dtype.type
    f = np.empty_like(flat)
    fp = np.empty_like(flat) if want_grad else np.empty(0, flat.dtype)
    keep = None
    if opt.keep_above is not None:
        keep = np.empty(flat.shape, np.bool_)
        with np.errstate(over="ignore"):  # a bound beyond the dtype's range rounds to +-inf: the same comparisons
            keep_above = scalar(opt.keep_above)
        _run("filtered", flat, scalar(1), keep_above, f, fp, keep, want_grad)
        keep = keep.reshape(q.shape)
    elif opt.gamma == 0.0:
        _run("plain", flat, scalar(1), f, fp, want_grad)
    else:
        _run("modulated", flat, scalar(1), scalar(opt.gamma), bool(opt.detach_weight), f, fp, want_grad)
    return f.reshape(q.shape), (fp.reshape(q.shape) if want_grad else None), keep


contract.register("numpy", pair_terms)
