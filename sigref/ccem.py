"""The double-Constant Embedding Model (CCEM) of Lee, Chang & Sohn (arXiv 2402.12613).

Geometry. A simplex ETF w_1..w_N (||w_i|| = 1, w_i.w_j = -1/(N-1), sum_i w_i = 0) spans N-1
dimensions; e is a unit vector orthogonal to it (here: the last coordinate of R^d, d >= N).
The CCEM pair with parameter delta in [0, inf] is (paper's Definition 3)

    u_i = (w_i, +delta) / sqrt(1 + delta^2),     v_i = (w_i, -delta) / sqrt(1 + delta^2),

with delta = inf the antipodal limit u_i = e, v_i = -e. Its only two inner products are

    a(delta) = u_i.v_i = (1 - delta^2) / (1 + delta^2),
    c(delta) = u_i.v_j = -(1/(N-1) + delta^2) / (1 + delta^2)        (i != j),

and with the paper's similarity s = (1 + mean_i u_i.v_i) / 2:

    s = 1 / (1 + delta^2),   a = 2 s - 1,   c = ((N-2) a - N) / (2 (N-1)) = -1 + s (N-2)/(N-1).

Reduced problem (the paper's Theorem 1 with the key lemma
sum_{i!=j} u_i.v_j >= ((N-2)/2) sum_i u_i.v_i - N^2/2): for d >= N the minimum of the sigmoid
loss over unit embeddings equals the minimum over a in [-1, 1] of (1/N normalisation, ell =
softplus, sigma = logistic)

    F(a) = ell(b - t a) + (N-1) ell(t c(a) - b),
    F'(a) = t [ ((N-2)/2) sigma(t c(a) - b) - sigma(b - t a) ],

a strictly convex function. Its minimiser is the simplex ETF (delta* = 0) iff F'(1) <= 0, i.e.
(N-2)(1 + e^(t-b)) <= 2(1 + e^(b + t/(N-1))); antipodal (delta* = inf) iff F'(-1) >= 0, i.e.
t + b <= log((N-2)/2); interior otherwise. At t = b these are t >= T_etf(N) = ((N-1)/N) log(N-3)
and t <= T_anti(N) = (1/2) log((N-2)/2) (the paper's theorem ``thm:logsig``).

Every function here follows the array-API namespace of its inputs (Python numbers give NumPy
float64) and runs under ``jax.jit``: range checks on values (N >= 3, t > 0, a in [-1, 1], ...)
run only on concrete arrays (:func:`sigref._arrays.known_true`), dtype checks always; the
constructors :func:`simplex_etf` and :func:`ccem` take ``backend=`` / ``dtype=``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from sigref._arrays import check_finite, check_floating, check_positive, check_unit_rows, known_true, namespace, positive_int
from sigref.backend import Backend, as_backend
from sigref.numerics import sigmoid, softplus

__all__ = [
    "CCEMOptimum",
    "NEWTON_ITERATIONS",
    "a_of_delta",
    "a_of_s",
    "antipodal_condition",
    "antipodal_loss",
    "antipodal_threshold",
    "bound_gap",
    "c_of_a",
    "c_of_delta",
    "ccem",
    "ccem_lower_bound",
    "critical_batch_sizes",
    "delta_of_a",
    "delta_of_s",
    "delta_star",
    "etf_condition",
    "etf_loss",
    "etf_threshold",
    "infonce_etf_loss",
    "lemma_slack",
    "reduced_loss",
    "reduced_loss_derivative",
    "s_of_a",
    "s_of_delta",
    "simplex_etf",
]

#: Newton steps of :func:`delta_star`. From the starting point below the iteration is monotone
#: and quadratically convergent; 4 steps agree with 8 to 2e-14 in s on 1e6 random (N, t, b) with
#: N up to 1e9, t in [0.05, 20], |b| <~ 10 (1e-13 for t in [1e-3, 1e3], |b| <= 50); 5 leave a margin.
NEWTON_ITERATIONS = 5


# --------------------------------------------------------------------------------------------
# input handling


def _is_array(x: Any) -> bool:
    return x is not None and not isinstance(x, (int, float)) and array_api_compat.is_array_api_obj(x)


def _scalars_as_numpy(x: Any) -> Any:
    """NumPy scalars (np.float64(1.0), np.int64(3)) behave as Python numbers here."""
    if isinstance(x, np.generic):
        return x.item()
    return x


def _as_float(xp: Any, name: str, x: Any, dtype: Any, device: Any) -> Any:
    if isinstance(x, bool):
        raise TypeError(f"{name} must be a real number or array, got bool")
    if isinstance(x, (int, float)):
        return xp.asarray(float(x), dtype=dtype, device=device)
    if xp.isdtype(x.dtype, "bool") or not xp.isdtype(x.dtype, ("real floating", "integral")):
        raise TypeError(f"{name} must be a real number or a real (integer or floating) array, got dtype {x.dtype}")
    return x if x.dtype == dtype else xp.astype(x, dtype)


def _namespace_of(**named: Any) -> tuple[Any, Any, Any]:
    """(xp, float dtype, device) of the named inputs; NumPy float64 when all are Python numbers."""
    named = {k: _scalars_as_numpy(v) for k, v in named.items()}
    for k, v in named.items():
        if v is not None and not isinstance(v, (int, float)) and not array_api_compat.is_array_api_obj(v):
            if isinstance(v, (list, tuple)):
                raise TypeError(f"{k} must be a number or an array, got a {type(v).__name__}; wrap it with numpy.asarray")
            raise TypeError(f"{k} must be a number or an array, got {type(v).__name__}")
    arrays = {k: v for k, v in named.items() if _is_array(v)}
    if not arrays:
        return np, np.float64, "cpu"
    xp = namespace(**arrays)
    floating = [v for v in arrays.values() if xp.isdtype(v.dtype, "real floating")]
    ref = floating[0] if floating else next(iter(arrays.values()))
    dtype = ref.dtype if floating else xp.float64
    return xp, dtype, array_api_compat.device(ref)


def _check_N(xp: Any, N: Any, minimum: int = 3, integer: bool = True) -> None:
    check_finite(xp, "N", N)
    if known_true(xp.all(minimum <= N)) is False:
        raise ValueError(f"N (batch size) must be >= {minimum}, got a value of {float(xp.min(N))}")
    if integer and known_true(xp.all(xp.floor(N) == N)) is False:
        raise ValueError("N (batch size) must be integer-valued, got a non-integer value")


def _params(N: Any, t: Any, b: Any, a: Any = None) -> tuple[Any, Any, Any, Any]:
    """Validated, broadcast float arrays (N, t, b) of one namespace; ``b = None`` means b = t.
    ``a`` (optional) only takes part in choosing the namespace and dtype."""
    N, t, b, a = (_scalars_as_numpy(v) for v in (N, t, b, a))
    xp, dtype, device = _namespace_of(a=a, N=N, t=t, b=b)
    Na = _as_float(xp, "N", N, dtype, device)
    ta = _as_float(xp, "t", t, dtype, device)
    _check_N(xp, Na)
    check_positive(xp, "t", ta)
    if b is None:
        ba = ta
    else:
        ba = _as_float(xp, "b", b, dtype, device)
        check_finite(xp, "b", ba)
    try:
        Na, ta, ba = xp.broadcast_arrays(Na, ta, ba)
    except ValueError as exc:
        raise ValueError(f"N, t and b must broadcast, got shapes {Na.shape}, {ta.shape}, {ba.shape}") from exc
    return xp, Na, ta, ba


def _unary(x: Any, name: str) -> tuple[Any, Any]:
    """(xp, float array) for an elementwise reparameterisation."""
    x = _scalars_as_numpy(x)
    xp, dtype, device = _namespace_of(**{name: x})
    return xp, _as_float(xp, name, x, dtype, device)


# --------------------------------------------------------------------------------------------
# geometry


def simplex_etf(N: int, d: int | None = None, *, backend: Backend | str | None = None, dtype: str | None = None) -> Any:
    """Simplex ETF of N unit vectors as the rows of an (N, d) array, d >= N-1 (default d = N).

    w_i.w_j = -1/(N-1) (i != j), sum_i w_i = 0. Built from the Helmert basis of the hyperplane
    orthogonal to (1, ..., 1): column k = 1..N-1 is (1, ..., 1, -k, 0, ...) / sqrt(k (k+1)) (k
    ones), scaled by sqrt(N/(N-1)); the remaining d - N + 1 coordinates are zero (orthonormal
    completion), so for d >= N the ETF lies in R^(d-1) and the last coordinate e is free.
    Deterministic and exact up to rounding on every backend.
    """
    N = positive_int("N", N, minimum=2)
    d = N if d is None else positive_int("d", d)
    if d < N - 1:
        raise ValueError(f"a simplex ETF of N = {N} vectors needs d >= N-1 = {N - 1}, got d = {d}")
    be = as_backend(backend, dtype)
    xp, device, dt = be.xp, be.device, be.dtype
    i = xp.reshape(xp.arange(N, dtype=dt, device=device), (N, 1))
    k = xp.reshape(xp.arange(1, N, dtype=dt, device=device), (1, N - 1))
    one = xp.ones((N, N - 1), dtype=dt, device=device)
    H = xp.where(i < k, one, xp.where(i == k, -k * one, 0.0 * one)) / xp.sqrt(k * (k + 1.0))
    W = math.sqrt(N / (N - 1)) * H
    if d > N - 1:
        W = xp.concat([W, xp.zeros((N, d - N + 1), dtype=dt, device=device)], axis=1)
    return W


def ccem(N: int, delta: Any, d: int | None = None, *, backend: Backend | str | None = None,
         dtype: str | None = None) -> tuple[Any, Any]:
    """The CCEM pair (U^delta, V^delta), each of shape ``delta.shape + (N, d)`` (default d = N).

    u_i = (w_i, delta) / sqrt(1 + delta^2), v_i = (w_i, -delta) / sqrt(1 + delta^2), with w the
    :func:`simplex_etf` in the first N-1 coordinates and delta on the last one; delta = inf gives
    u_i = e, v_i = -e. ``delta`` is a number or array (>= 0, inf allowed). Needs d >= N when some
    delta is in (0, inf); d >= N-1 suffices when every delta is 0 and d >= 1 when every delta is inf.
    A traced ``delta`` (under ``jax.jit``) is not range-checked and always needs d >= N.
    """
    N = positive_int("N", N, minimum=3)
    be = as_backend(backend, dtype)
    xp, device, dt = be.xp, be.device, be.dtype
    delta = _scalars_as_numpy(delta)
    if isinstance(delta, bool):
        raise TypeError("delta must be a number or array, got bool")
    if _is_array(delta) and array_api_compat.array_namespace(delta) is xp:
        check_floating(xp, "delta", delta)
        delta = xp.astype(delta, dt)
    else:
        host = np.asarray(delta, dtype=np.float64)
        delta = xp.asarray(host, dtype=dt, device=device)
    if known_true(xp.all(delta >= 0)) is False:  # NaN fails the comparison
        raise ValueError("delta must be >= 0 (inf allowed), got NaN or a negative value")
    # a traced delta (jax.jit) has no values to inspect: assume both parts are needed (d >= N)
    needs_w = known_true(xp.any(xp.isfinite(delta))) is not False
    needs_e = known_true(xp.any(delta > 0)) is not False
    minimum = N if (needs_w and needs_e) else (N - 1 if needs_w else 1)
    d = (N if d is None else positive_int("d", d))
    if d < minimum:
        raise ValueError(f"the CCEM with N = {N} and these delta values needs d >= {minimum}, got d = {d}")
    W = simplex_etf(N, d, backend=backend, dtype=dtype) if needs_w else xp.zeros((N, d), dtype=dt, device=device)
    e = xp.concat([xp.zeros((d - 1,), dtype=dt, device=device), xp.ones((1,), dtype=dt, device=device)])
    finite = xp.isfinite(delta)
    dfin = xp.where(finite, delta, xp.zeros_like(delta))
    r = 1.0 / xp.sqrt(1.0 + dfin * dfin)
    w_scale = xp.where(finite, r, xp.zeros_like(r))[..., None, None]  # 1/sqrt(1+delta^2)
    e_scale = xp.where(finite, dfin * r, xp.ones_like(r))[..., None, None]  # delta/sqrt(1+delta^2)
    U = w_scale * W + e_scale * e
    V = w_scale * W - e_scale * e
    return U, V


# --------------------------------------------------------------------------------------------
# the two constants and the reparameterisations s <-> delta <-> a


def s_of_delta(delta: Any) -> Any:
    """s = 1 / (1 + delta^2) (s = 0 at delta = inf)."""
    xp, delta = _unary(delta, "delta")
    return 1.0 / (1.0 + delta * delta)


def delta_of_s(s: Any) -> Any:
    """delta = sqrt(1/s - 1) = sqrt((1 - s)/s) for s in [0, 1] (inf at s = 0)."""
    xp, s = _unary(s, "s")
    if known_true(xp.all((s >= 0) & (s <= 1))) is False:  # NaN fails both comparisons
        raise ValueError("s must lie in [0, 1]")
    pos = s > 0
    safe = xp.where(pos, s, xp.ones_like(s))
    return xp.where(pos, xp.sqrt((1.0 - s) / safe), xp.full_like(s, math.inf))


def a_of_s(s: Any) -> Any:
    """a = 2 s - 1."""
    xp, s = _unary(s, "s")
    return 2.0 * s - 1.0


def s_of_a(a: Any) -> Any:
    """s = (1 + a) / 2."""
    xp, a = _unary(a, "a")
    return (1.0 + a) / 2.0


def a_of_delta(delta: Any) -> Any:
    """Positive similarity a(delta) = u_i.v_i = (1 - delta^2)/(1 + delta^2) = 2 s - 1 (-1 at inf)."""
    return 2.0 * s_of_delta(delta) - 1.0


def delta_of_a(a: Any) -> Any:
    """delta = sqrt((1 - a)/(1 + a)) for a in [-1, 1] (inf at a = -1)."""
    return delta_of_s(s_of_a(a))


def c_of_a(a: Any, N: Any) -> Any:
    """Negative similarity on the CCEM, c = ((N-2) a - N) / (2 (N-1)): affine in a."""
    xp, dtype, device = _namespace_of(a=a, N=N)
    a = _as_float(xp, "a", _scalars_as_numpy(a), dtype, device)
    Na = _as_float(xp, "N", _scalars_as_numpy(N), dtype, device)
    _check_N(xp, Na)
    return ((Na - 2.0) * a - Na) / (2.0 * (Na - 1.0))


def c_of_delta(delta: Any, N: Any) -> Any:
    """Negative similarity c(delta) = u_i.v_j = -(1/(N-1) + delta^2)/(1 + delta^2) (i != j)."""
    return c_of_a(a_of_delta(delta), N)


# --------------------------------------------------------------------------------------------
# reduced objective, regimes, thresholds


def reduced_loss(a: Any, N: Any, t: Any, b: Any = None) -> Any:
    """F(a) = ell(b - t a) + (N-1) ell(t c(a) - b): the sigmoid loss (1/N normalisation) of the
    CCEM with positive similarity a in [-1, 1]; ``b = None`` means b = t (the paper's setting)."""
    xp, Na, ta, ba = _params(N, t, b, a)
    a = _as_float(xp, "a", _scalars_as_numpy(a), ta.dtype, array_api_compat.device(ta))
    _check_unit_interval(xp, a)
    c = ((Na - 2.0) * a - Na) / (2.0 * (Na - 1.0))
    return softplus(ba - ta * a) + (Na - 1.0) * softplus(ta * c - ba)


def reduced_loss_derivative(a: Any, N: Any, t: Any, b: Any = None) -> Any:
    """F'(a) = t [ ((N-2)/2) sigma(t c(a) - b) - sigma(b - t a) ]."""
    xp, Na, ta, ba = _params(N, t, b, a)
    a = _as_float(xp, "a", _scalars_as_numpy(a), ta.dtype, array_api_compat.device(ta))
    _check_unit_interval(xp, a)
    c = ((Na - 2.0) * a - Na) / (2.0 * (Na - 1.0))
    return ta * ((Na - 2.0) / 2.0 * sigmoid(ta * c - ba) - sigmoid(ba - ta * a))


def _check_unit_interval(xp: Any, a: Any) -> None:
    if known_true(xp.all((a >= -1.0) & (a <= 1.0))) is False:  # NaN fails both comparisons
        raise ValueError("a (positive similarity) must lie in [-1, 1]")


def etf_loss(N: Any, t: Any, b: Any = None) -> Any:
    """L at the simplex ETF (delta = 0): ell(b - t) + (N-1) ell(-t/(N-1) - b)."""
    xp, Na, ta, ba = _params(N, t, b)
    return softplus(ba - ta) + (Na - 1.0) * softplus(-ta / (Na - 1.0) - ba)


def antipodal_loss(N: Any, t: Any, b: Any = None) -> Any:
    """L at the antipodal configuration (delta = inf): ell(t + b) + (N-1) ell(-t - b)."""
    xp, Na, ta, ba = _params(N, t, b)
    return softplus(ta + ba) + (Na - 1.0) * softplus(-ta - ba)


def etf_condition(N: Any, t: Any, b: Any = None) -> Any:
    """delta* = 0 iff F'(1) <= 0 iff (N-2)(1 + e^(t-b)) <= 2 (1 + e^(b + t/(N-1))), evaluated as
    log((N-2)/2) + ell(t - b) <= ell(b + t/(N-1))."""
    xp, Na, ta, ba = _params(N, t, b)
    return _etf_condition(xp, Na, ta, ba)


def _etf_condition(xp: Any, Na: Any, ta: Any, ba: Any) -> Any:
    return xp.log((Na - 2.0) / 2.0) + softplus(ta - ba) <= softplus(ba + ta / (Na - 1.0))


def antipodal_condition(N: Any, t: Any, b: Any = None) -> Any:
    """delta* = inf iff F'(-1) >= 0 iff t + b <= log((N-2)/2)."""
    xp, Na, ta, ba = _params(N, t, b)
    return _antipodal_condition(xp, Na, ta, ba)


def _antipodal_condition(xp: Any, Na: Any, ta: Any, ba: Any) -> Any:
    return ta + ba <= xp.log((Na - 2.0) / 2.0)


def etf_threshold(N: Any) -> Any:
    """T_etf(N) = ((N-1)/N) log(N-3): at t = b the optimum is the ETF iff t >= T_etf(N).
    -inf for N = 3 (ETF for every t > 0). Real N >= 3 are accepted (to draw the curve)."""
    xp, Na = _unary(N, "N")
    _check_N(xp, Na, integer=False)
    big = Na > 3.0
    safe = xp.where(big, Na - 3.0, xp.ones_like(Na))
    return xp.where(big, (Na - 1.0) / Na * xp.log(safe), xp.full_like(Na, -math.inf))


def antipodal_threshold(N: Any) -> Any:
    """T_anti(N) = (1/2) log((N-2)/2): at t = b the optimum is antipodal iff t <= T_anti(N).
    Real N >= 3 are accepted (to draw the curve)."""
    xp, Na = _unary(N, "N")
    _check_N(xp, Na, integer=False)
    return 0.5 * xp.log((Na - 2.0) / 2.0)


# --------------------------------------------------------------------------------------------
# solver


@dataclass(frozen=True)
class CCEMOptimum:
    """Optimal CCEM for each (N, t, b): delta*, s* = 1/(1 + delta*^2), a* = 2 s* - 1, c* = c(a*),
    L* = F(a*) (= min of the sigmoid loss over unit embeddings for d >= N), and the regime flags
    (``etf``: delta* = 0 exactly; ``antipodal``: delta* = inf exactly). All of broadcast shape."""

    delta: Any
    s: Any
    a: Any
    c: Any
    loss: Any
    etf: Any
    antipodal: Any


def delta_star(N: Any, t: Any, b: Any = None, *, iterations: int = NEWTON_ITERATIONS) -> CCEMOptimum:
    """Minimiser of F over the CCEM for every (N, t, b) of broadcastable arrays, as one batched
    computation; ``b = None`` means b = t.

    The regime comes first from the exact conditions (:func:`etf_condition`,
    :func:`antipodal_condition`), so delta* is exactly 0 or inf there. Inside, with m = (N-2)/2,
    kappa = (N-2)/(2(N-1)), beta = t N/(2(N-1)) + b and p = t a = t (2 s - 1), F'(a) = 0 reads
    m (1 + e^(p - b)) = 1 + e^(beta - kappa p). Multiplying by e^(kappa p) and taking logs:

        N >= 4 (m >= 1):  Psi(s) = log[ m e^((1+kappa) p - b - beta) + (m-1) e^(kappa p - beta) ] = 0
        N = 3  (m = 1/2): Psi(s) = log[ 2 e^(beta - (1+kappa) p + b) + e^(b - p) ] = 0

    Psi = logaddexp(E1(s), E2(s)) with E1, E2 affine in s, so Psi is convex in s and has the sign
    of F' (resp. of -F'). Newton's method on a convex function started where it is >= 0 moves
    monotonically to the root without overshooting; the start is the smaller (N >= 4) or larger
    (N = 3) root of the lines E1, E2, where Psi >= 0 because Psi >= max(E1, E2). Each iterate is
    clipped to [0, 1] (the bracket). Iterating in s keeps s* accurate near the antipodal end.
    """
    positive_int("iterations", iterations)
    xp, Na, ta, ba = _params(N, t, b)
    etf = _etf_condition(xp, Na, ta, ba)
    anti = _antipodal_condition(xp, Na, ta, ba)

    m = (Na - 2.0) / 2.0
    kappa = (Na - 2.0) / (2.0 * (Na - 1.0))
    beta = ta * Na / (2.0 * (Na - 1.0)) + ba
    log_m = xp.log(m)
    big = Na >= 4.0
    has_mid = Na > 4.0  # m - 1 > 0; at N = 4 the second term vanishes (E2 = -inf)
    log_m1 = xp.where(has_mid, xp.log(xp.where(has_mid, m - 1.0, xp.ones_like(m))), xp.full_like(m, -math.inf))
    # E1(s) = e10 + e11 s, E2(s) = e20 + e21 s (p = 2 t s - t)
    e10 = xp.where(big, log_m - (1.0 + kappa) * ta - ba - beta, beta - log_m + (1.0 + kappa) * ta + ba)
    e11 = xp.where(big, 2.0 * ta * (1.0 + kappa), -2.0 * ta * (1.0 + kappa))
    e20 = xp.where(big, log_m1 - kappa * ta - beta, ba + ta)
    e21 = xp.where(big, 2.0 * ta * kappa, -2.0 * ta)
    d0, d1 = e10 - e20, e11 - e21  # d0 = +inf at N = 4

    root1, root2 = -e10 / e11, -e20 / e21
    s = xp.clip(xp.where(big, xp.minimum(root1, root2), xp.maximum(root1, root2)), min=0.0, max=1.0)
    for _ in range(iterations):
        diff = d0 + d1 * s  # E1 - E2
        e = xp.exp(-xp.abs(diff))
        psi = e10 + e11 * s + xp.clip(-diff, min=0.0) + xp.log1p(e)  # E1 + softplus(E2 - E1)
        w1 = 0.5 + 0.5 * xp.sign(diff) * ((1.0 - e) / (1.0 + e))  # sigma(E1 - E2)
        s = xp.clip(s - psi / (e21 + d1 * w1), min=0.0, max=1.0)

    zero, one = xp.zeros_like(s), xp.ones_like(s)
    s = xp.where(etf, one, xp.where(anti, zero, s))
    a = 2.0 * s - 1.0
    c = ((Na - 2.0) * a - Na) / (2.0 * (Na - 1.0))
    loss = softplus(ba - ta * a) + (Na - 1.0) * softplus(ta * c - ba)
    pos = s > 0
    safe = xp.where(pos, s, one)
    delta = xp.where(pos, xp.sqrt((1.0 - s) / safe), xp.full_like(s, math.inf))
    return CCEMOptimum(delta=delta, s=s, a=a, c=c, loss=loss, etf=etf, antipodal=anti)


def critical_batch_sizes(t: Any, b: Any = None, *, n_max: float = 2.0**52) -> tuple[Any, Any]:
    """For each (t, b): the smallest batch size N >= 3 at which the optimum is no longer the ETF,
    and the smallest at which it is antipodal (inf when beyond ``n_max``).

    Both conditions are monotone in N ((N-2)(1 + e^(t-b)) grows and 2(1 + e^(b + t/(N-1)))
    shrinks with N; log((N-2)/2) grows), so a batched integer bisection on [3, n_max] finds them
    exactly with respect to :func:`etf_condition` and :func:`antipodal_condition`. At t = b these
    are about e^t + 3 and 2 e^(2t) + 2.
    """
    t, b = _scalars_as_numpy(t), _scalars_as_numpy(b)
    xp, dtype, device = _namespace_of(t=t, b=b)
    ta = _as_float(xp, "t", t, dtype, device)
    check_positive(xp, "t", ta)
    ba = ta if b is None else _as_float(xp, "b", b, dtype, device)
    check_finite(xp, "b", ba)
    ta, ba = xp.broadcast_arrays(ta, ba)

    def first(pred: Any) -> Any:
        lo = xp.full_like(ta, 3.0)
        hi = xp.full_like(ta, float(n_max))
        at_lo, at_hi = pred(lo), pred(hi)
        for _ in range(int(math.ceil(math.log2(n_max))) + 1):  # invariant: pred(lo) false, pred(hi) true
            mid = xp.floor((lo + hi) / 2.0)
            ok = pred(mid)
            lo, hi = xp.where(ok, lo, mid), xp.where(ok, mid, hi)
        found = xp.where(at_lo, xp.full_like(ta, 3.0), hi)
        return xp.where(at_hi, found, xp.full_like(ta, math.inf))

    leave_etf = first(lambda n: ~_etf_condition(xp, n, ta, ba))
    antipodal = first(lambda n: _antipodal_condition(xp, n, ta, ba))
    return leave_etf, antipodal


# --------------------------------------------------------------------------------------------
# bounds and invariants


def lemma_slack(U: Any, V: Any) -> Any:
    """Slack of the key lemma for unit rows U, V of shape (..., N, d):

        sum_{i != j} u_i.v_j - ((N-2)/2) sum_i u_i.v_i + N^2/2  >=  0,

    with equality iff sum_i (u_i + v_i) = 0 and u_i - v_i is the same for every i (every CCEM).
    Computed in O(N d) as (sum_i u_i).(sum_j v_j) - (N/2) sum_i u_i.v_i + N^2/2."""
    xp = namespace(U=U, V=V)
    check_unit_rows(xp, "U", U)
    check_unit_rows(xp, "V", V)
    if U.shape[-2:] != V.shape[-2:]:
        raise ValueError(f"U and V must both have shape (..., N, d) with the same N and d, got {U.shape} and {V.shape}")
    n = U.shape[-2]
    positives = xp.sum(U * V, axis=(-2, -1))
    total = xp.sum(xp.sum(U, axis=-2) * xp.sum(V, axis=-2), axis=-1)
    return total - positives - (n - 2) / 2.0 * positives + n * n / 2.0


def ccem_lower_bound(N: Any, t: Any, b: Any = None) -> Any:
    """min_delta F = L(U^delta*, V^delta*): a lower bound on the sigmoid loss (1/N normalisation)
    of any unit U, V with N pairs, in any dimension d; attained for d >= N (Theorem 1)."""
    return delta_star(N, t, b).loss


def bound_gap(U: Any, V: Any, t: Any, b: Any = None) -> Any:
    """L(U, V; t, b) - min_delta F >= 0 for unit rows U, V (..., N, d); ``b = None`` means b = t."""
    from sigref.losses import sigmoid_loss

    xp = namespace(U=U, V=V)
    check_unit_rows(xp, "U", U)
    check_unit_rows(xp, "V", V)
    bias = t if b is None else b
    loss = sigmoid_loss(U, V, t, bias, reduction="per_anchor")
    N = U.shape[-2]
    t_arr = t if _is_array(t) else xp.asarray(float(t), dtype=U.dtype, device=array_api_compat.device(U))
    b_arr = bias if _is_array(bias) else xp.asarray(float(bias), dtype=U.dtype, device=array_api_compat.device(U))
    return loss - ccem_lower_bound(float(N), t_arr, b_arr)


def infonce_etf_loss(N: Any, tau: Any) -> Any:
    """Symmetric InfoNCE (dividing temperature tau, 1/N per direction) at the simplex ETF with
    U = V, its minimiser for every tau > 0 when d >= N-1 (Corollary 1, Lu & Steinerberger 2022):

        L = 2 log(1 + (N-1) exp(-N / ((N-1) tau))) = 2 ell(log(N-1) - N/((N-1) tau)).
    """
    N, tau = _scalars_as_numpy(N), _scalars_as_numpy(tau)
    xp, dtype, device = _namespace_of(N=N, tau=tau)
    Na = _as_float(xp, "N", N, dtype, device)
    ta = _as_float(xp, "tau", tau, dtype, device)
    _check_N(xp, Na, minimum=2)
    check_positive(xp, "tau", ta)
    return 2.0 * softplus(xp.log(Na - 1.0) - Na / ((Na - 1.0) * ta))
