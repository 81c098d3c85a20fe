r"""The double-Constant Embedding Model (CCEM) of Lee, Chang & Sohn (arXiv 2402.12613).

**Geometry.** A simplex ETF :math:`w_1, \dots, w_N` (:math:`\lVert w_i \rVert = 1`,
:math:`\langle w_i, w_j \rangle = -1/(N-1)`, :math:`\sum_i w_i = 0`) spans N-1 dimensions;
:math:`e` is a unit vector orthogonal to it (here: the last coordinate of :math:`\mathbb{R}^d`,
d >= N). The CCEM pair with parameter :math:`\delta \in [0, \infty]` is (the paper's Definition 3)

.. math::

    u_i = \frac{(w_i, +\delta)}{\sqrt{1 + \delta^2}}, \qquad v_i = \frac{(w_i, -\delta)}{\sqrt{1 + \delta^2}},

with :math:`\delta = \infty` the antipodal limit :math:`u_i = e`, :math:`v_i = -e`. Its only two
inner products are

.. math::

    a(\delta) &= \langle u_i, v_i \rangle = \frac{1 - \delta^2}{1 + \delta^2}, \\
    c(\delta) &= \langle u_i, v_j \rangle = -\frac{1/(N-1) + \delta^2}{1 + \delta^2} \qquad (i \ne j),

and with the paper's similarity :math:`s = (1 + \frac1N \sum_i \langle u_i, v_i \rangle) / 2`:

.. math::

    s = \frac{1}{1 + \delta^2}, \qquad a = 2 s - 1, \qquad
    c = \frac{(N-2) a - N}{2 (N-1)} = -1 + s \frac{N-2}{N-1}.

**Reduced problem** (the paper's Theorem 1 with the key lemma
:math:`\sum_{i \ne j} \langle u_i, v_j \rangle \ge \frac{N-2}{2} \sum_i \langle u_i, v_i \rangle - \frac{N^2}{2}`):
for d >= N the minimum of the sigmoid loss over unit embeddings equals the minimum over
:math:`a \in [-1, 1]` of (1/N normalisation, :math:`\ell = \operatorname{softplus}`,
:math:`\sigma` the logistic function)

.. math::

    F(a) &= \ell(b - t a) + (N-1)\, \ell(t\, c(a) - b), \\
    F'(a) &= t \Big[ \frac{N-2}{2} \sigma(t\, c(a) - b) - \sigma(b - t a) \Big],

a strictly convex function. Its minimiser is the simplex ETF (:math:`\delta^* = 0`) iff
:math:`F'(1) \le 0`, i.e. :math:`(N-2)(1 + e^{t-b}) \le 2 (1 + e^{b + t/(N-1)})`; antipodal
(:math:`\delta^* = \infty`) iff :math:`F'(-1) \ge 0`, i.e. :math:`t + b \le \log((N-2)/2)`;
interior otherwise. At :math:`t = b` these are :math:`t \ge T_{etf}(N) = \frac{N-1}{N} \log(N-3)`
and :math:`t \le T_{anti}(N) = \frac12 \log\frac{N-2}{2}` (the paper's theorem ``thm:logsig``).

Every function here follows the array-API namespace of its inputs (Python numbers give NumPy
float64) and runs under ``jax.jit``: range checks on values (N >= 3, t > 0, a in [-1, 1], ...)
run only on concrete arrays (``sigref._arrays.known_true``), dtype checks always; the
constructors :func:`~sigref.ccem.simplex_etf` and :func:`~sigref.ccem.ccem` take ``backend=`` /
``dtype=``.
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
from sigref.types import Array, Scalar

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

#: Newton steps of :func:`~sigref.ccem.delta_star`. From the starting point below the iteration is
#: monotone and quadratically convergent; 4 steps agree with 8 to 2e-14 in s on 1e6 random (N, t, b)
#: with N up to 1e9, t in [0.05, 20], ``|b| <~ 10`` (1e-13 for t in [1e-3, 1e3], ``|b| <= 50``); 5 leave
#: a margin.
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


def simplex_etf(N: int, d: int | None = None, *, backend: Backend | str | None = None, dtype: str | None = None) -> Array:
    r"""Construct a simplex ETF of N unit vectors as the rows of an (N, d) array, d >= N-1.

    The rows satisfy

    .. math::

        \lVert w_i \rVert = 1, \qquad \langle w_i, w_j \rangle = -\frac{1}{N-1} \ (i \ne j), \qquad
        \sum_i w_i = 0.

    Built from the Helmert basis of the hyperplane orthogonal to :math:`(1, \dots, 1)`: column
    :math:`k = 1, \dots, N-1` is :math:`(1, \dots, 1, -k, 0, \dots) / \sqrt{k (k+1)}` (k ones),
    scaled by :math:`\sqrt{N/(N-1)}`; the remaining d - N + 1 coordinates are zero (orthonormal
    completion), so for d >= N the ETF lies in :math:`\mathbb{R}^{d-1}` and the last coordinate
    :math:`e` is free. Deterministic and exact up to rounding on every backend.

    Parameters
    ----------
    N : int
        Number of vectors, >= 2.
    d : int or None, optional
        Dimension, >= N-1 (default N).
    backend : Backend or str or None, optional
        The backend to create the array with (a name, a resolved backend, or None for the
        default: see ``sigref.backend.as_backend``).
    dtype : str or None, optional
        ``"float32"`` or ``"float64"``; None keeps the backend's dtype.

    Returns
    -------
    Array, shape (N, d)
        The ETF vectors as rows.

    Raises
    ------
    ValueError
        If ``N`` is not an integer >= 2, ``d`` not an integer >= 1, or d < N-1; also for a bad
        ``dtype`` (``sigref.backend.BackendError``, a ValueError, when ``backend`` is a name).
    TypeError
        If ``backend`` is neither a backend, a name nor None.

    See Also
    --------
    sigref.ccem.ccem : The CCEM pair built on this ETF.

    References
    ----------
    .. [1] C. Lee, J. Chang, J. Sohn, "Analysis of Using Sigmoid Loss for Contrastive Learning",
       arXiv:2402.12613, https://arxiv.org/abs/2402.12613

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.ccem import simplex_etf
    >>> W = simplex_etf(4)
    >>> W.shape, simplex_etf(4, 3).shape
    ((4, 4), (4, 3))
    >>> G = W @ W.T
    >>> print(round(float(G[0, 0]), 12), round(float(G[0, 1]), 12), bool(np.allclose(W.sum(axis=0), 0.0)))
    1.0 -0.333333333333 True
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


def ccem(N: int, delta: Scalar | Array, d: int | None = None, *, backend: Backend | str | None = None,
         dtype: str | None = None) -> tuple[Array, Array]:
    r"""Construct the CCEM pair :math:`(U^\delta, V^\delta)` for one or many values of delta.

    With :math:`w_i` the :func:`~sigref.ccem.simplex_etf` in the first N-1 coordinates and
    :math:`e` the last coordinate (the paper's Definition 3),

    .. math::

        u_i = \frac{(w_i, \delta)}{\sqrt{1 + \delta^2}}, \qquad v_i = \frac{(w_i, -\delta)}{\sqrt{1 + \delta^2}},

    and :math:`\delta = \infty` gives :math:`u_i = e`, :math:`v_i = -e`. The pair's only inner
    products are :math:`a(\delta) = \langle u_i, v_i \rangle` and
    :math:`c(\delta) = \langle u_i, v_j \rangle` (:func:`~sigref.ccem.a_of_delta`,
    :func:`~sigref.ccem.c_of_delta`). Needs d >= N when some delta is in :math:`(0, \infty)`;
    d >= N-1 suffices when every delta is 0 and d >= 1 when every delta is inf. A traced ``delta``
    (under ``jax.jit``) is not range-checked and always needs d >= N.

    Parameters
    ----------
    N : int
        Number of pairs, >= 3.
    delta : float or Array
        :math:`\delta \ge 0` (inf allowed): a number or an array of any shape. An array of the
        backend's library is used as is (cast to its dtype); anything else goes through NumPy.
    d : int or None, optional
        Dimension (default N).
    backend : Backend or str or None, optional
        The backend to create the arrays with (see ``sigref.backend.as_backend``).
    dtype : str or None, optional
        ``"float32"`` or ``"float64"``; None keeps the backend's dtype.

    Returns
    -------
    U : Array, shape delta.shape + (N, d)
        The rows :math:`u_i`.
    V : Array, shape delta.shape + (N, d)
        The rows :math:`v_i`.

    Raises
    ------
    TypeError
        If ``delta`` is a bool or a non-floating array of the backend's library, or ``backend``
        is of a wrong type.
    ValueError
        If ``N`` is not an integer >= 3, ``d`` not an integer >= 1 or too small for these delta,
        some delta is negative or NaN, or ``dtype`` is bad.

    See Also
    --------
    sigref.ccem.delta_star : The optimal delta for (N, t, b).
    sigref.ccem.simplex_etf : The ETF it is built on.

    References
    ----------
    .. [1] C. Lee, J. Chang, J. Sohn, "Analysis of Using Sigmoid Loss for Contrastive Learning",
       arXiv:2402.12613, https://arxiv.org/abs/2402.12613

    Examples
    --------
    At delta = 1 the positive pairs are orthogonal and the negatives have
    :math:`c = -(1/(N-1) + 1)/2 = -2/3` for N = 4:

    >>> import numpy as np
    >>> from sigref.ccem import ccem
    >>> U, V = ccem(4, 1.0)
    >>> S = U @ V.T
    >>> bool(abs(float(S[0, 0])) < 1e-12), round(float(S[0, 1]), 12)
    (True, -0.666666666667)

    Many delta at once, the antipodal limit included:

    >>> U, V = ccem(4, np.array([0.0, 1.0, np.inf]))
    >>> U.shape, bool(np.allclose(U[2], -V[2]))
    ((3, 4, 4), True)
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


def s_of_delta(delta: Scalar | Array) -> Array:
    r"""Compute the similarity :math:`s = 1 / (1 + \delta^2)` of the CCEM with parameter delta.

    .. math::

        s(\delta) = \frac{1}{1 + \delta^2} = \frac{1 + a(\delta)}{2},

    the paper's :math:`s = (1 + \frac1N \sum_i \langle u_i, v_i \rangle)/2` on the CCEM: 1 at the
    ETF (:math:`\delta = 0`), 0 at the antipodal limit (:math:`\delta = \infty`).

    Parameters
    ----------
    delta : float or Array
        :math:`\delta \ge 0` (inf allowed); a negative value gives the s of its absolute value.

    Returns
    -------
    Array
        :math:`s`, of the shape of ``delta`` (float64 for a Python number).

    Raises
    ------
    TypeError
        If ``delta`` is a bool, a non-real array, or neither a number nor an array.

    See Also
    --------
    sigref.ccem.delta_of_s : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.ccem import s_of_delta
    >>> s_of_delta(np.array([0.0, 1.0, np.inf])).tolist()
    [1.0, 0.5, 0.0]
    """
    xp, delta = _unary(delta, "delta")
    return 1.0 / (1.0 + delta * delta)


def delta_of_s(s: Scalar | Array) -> Array:
    r"""Compute the CCEM parameter :math:`\delta` of similarity s.

    .. math::

        \delta(s) = \sqrt{1/s - 1} = \sqrt{(1 - s)/s}, \qquad s \in [0, 1],

    with :math:`\delta(0) = \infty` (antipodal) and :math:`\delta(1) = 0` (ETF).

    Parameters
    ----------
    s : float or Array
        Similarity in [0, 1].

    Returns
    -------
    Array
        :math:`\delta`, of the shape of ``s``.

    Raises
    ------
    TypeError
        If ``s`` is a bool, a non-real array, or neither a number nor an array.
    ValueError
        If some s lies outside [0, 1] or is NaN (for concrete arrays).

    See Also
    --------
    sigref.ccem.s_of_delta : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.ccem import delta_of_s
    >>> delta_of_s(np.array([1.0, 0.5, 0.0])).tolist()
    [0.0, 1.0, inf]
    """
    xp, s = _unary(s, "s")
    if known_true(xp.all((s >= 0) & (s <= 1))) is False:  # NaN fails both comparisons
        raise ValueError("s must lie in [0, 1]")
    pos = s > 0
    safe = xp.where(pos, s, xp.ones_like(s))
    return xp.where(pos, xp.sqrt((1.0 - s) / safe), xp.full_like(s, math.inf))


def a_of_s(s: Scalar | Array) -> Array:
    r"""Compute the positive similarity :math:`a = 2 s - 1` from the similarity s.

    The mean positive cosine :math:`a = \frac1N \sum_i \langle u_i, v_i \rangle` from the paper's
    :math:`s = (1 + a)/2`; no range check.

    Parameters
    ----------
    s : float or Array
        Similarity, in [0, 1] for a CCEM.

    Returns
    -------
    Array
        :math:`2 s - 1`, of the shape of ``s``.

    Raises
    ------
    TypeError
        If ``s`` is a bool, a non-real array, or neither a number nor an array.

    See Also
    --------
    sigref.ccem.s_of_a : The inverse.

    Examples
    --------
    >>> from sigref.ccem import a_of_s
    >>> float(a_of_s(0.25))
    -0.5
    """
    xp, s = _unary(s, "s")
    return 2.0 * s - 1.0


def s_of_a(a: Scalar | Array) -> Array:
    r"""Compute the similarity :math:`s = (1 + a) / 2` from the positive similarity a.

    The paper's :math:`s = (1 + \frac1N \sum_i \langle u_i, v_i \rangle)/2` for the mean positive
    cosine :math:`a`; no range check.

    Parameters
    ----------
    a : float or Array
        Positive similarity, in [-1, 1] for unit vectors.

    Returns
    -------
    Array
        :math:`(1 + a)/2`, of the shape of ``a``.

    Raises
    ------
    TypeError
        If ``a`` is a bool, a non-real array, or neither a number nor an array.

    See Also
    --------
    sigref.ccem.a_of_s : The inverse.

    Examples
    --------
    >>> from sigref.ccem import s_of_a
    >>> float(s_of_a(-0.5))
    0.25
    """
    xp, a = _unary(a, "a")
    return (1.0 + a) / 2.0


def a_of_delta(delta: Scalar | Array) -> Array:
    r"""Compute the positive similarity :math:`a(\delta) = \langle u_i, v_i \rangle` of the CCEM.

    .. math::

        a(\delta) = \frac{1 - \delta^2}{1 + \delta^2} = 2 s(\delta) - 1,

    1 at the ETF, 0 at :math:`\delta = 1` (orthogonal pairs), -1 at :math:`\delta = \infty`.

    Parameters
    ----------
    delta : float or Array
        :math:`\delta \ge 0` (inf allowed).

    Returns
    -------
    Array
        :math:`a(\delta)`, of the shape of ``delta``.

    Raises
    ------
    TypeError
        If ``delta`` is a bool, a non-real array, or neither a number nor an array.

    See Also
    --------
    sigref.ccem.delta_of_a : The inverse.
    sigref.ccem.c_of_delta : The negative similarity.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.ccem import a_of_delta
    >>> a_of_delta(np.array([0.0, 1.0, np.inf])).tolist()
    [1.0, 0.0, -1.0]
    """
    return 2.0 * s_of_delta(delta) - 1.0


def delta_of_a(a: Scalar | Array) -> Array:
    r"""Compute the CCEM parameter :math:`\delta` of positive similarity a.

    .. math::

        \delta(a) = \sqrt{\frac{1 - a}{1 + a}}, \qquad a \in [-1, 1],

    with :math:`\delta(-1) = \infty`.

    Parameters
    ----------
    a : float or Array
        Positive similarity in [-1, 1].

    Returns
    -------
    Array
        :math:`\delta`, of the shape of ``a``.

    Raises
    ------
    TypeError
        If ``a`` is a bool, a non-real array, or neither a number nor an array.
    ValueError
        If some a lies outside [-1, 1] or is NaN (reported as s outside [0, 1]).

    See Also
    --------
    sigref.ccem.a_of_delta : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.ccem import delta_of_a
    >>> delta_of_a(np.array([1.0, 0.0, -1.0])).tolist()
    [0.0, 1.0, inf]
    """
    return delta_of_s(s_of_a(a))


def c_of_a(a: Scalar | Array, N: Scalar | Array) -> Array:
    r"""Compute the negative similarity of the CCEM with positive similarity a.

    .. math::

        c(a) = \frac{(N-2)\, a - N}{2 (N-1)} = -1 + s \frac{N-2}{N-1}, \qquad s = \frac{1 + a}{2}:

    on the CCEM the negative similarity is an affine function of the positive one, and the key
    lemma of Lee et al. [1]_ makes it the smallest mean negative similarity that unit vectors with
    mean positive similarity :math:`a` can have.

    Parameters
    ----------
    a : float or Array
        Positive similarity (not range-checked).
    N : float or Array
        Number of pairs, integer-valued, >= 3; broadcasts with ``a``.

    Returns
    -------
    Array
        :math:`c(a)`, of the broadcast shape.

    Raises
    ------
    TypeError
        If ``a`` or ``N`` is a bool, a non-real array, neither a number nor an array, or the two
        come from different array libraries.
    ValueError
        If some N is < 3, not finite or not an integer (for concrete arrays).

    See Also
    --------
    sigref.ccem.c_of_delta : The same in terms of delta.

    References
    ----------
    .. [1] C. Lee, J. Chang, J. Sohn, "Analysis of Using Sigmoid Loss for Contrastive Learning",
       arXiv:2402.12613, https://arxiv.org/abs/2402.12613

    Examples
    --------
    The ETF (a = 1) has :math:`c = -1/(N-1)`; at a = 0 and N = 3, :math:`c = -3/4`:

    >>> from sigref.ccem import c_of_a
    >>> round(float(c_of_a(1.0, 4)), 12), float(c_of_a(0.0, 3))
    (-0.333333333333, -0.75)
    """
    xp, dtype, device = _namespace_of(a=a, N=N)
    a = _as_float(xp, "a", _scalars_as_numpy(a), dtype, device)
    Na = _as_float(xp, "N", _scalars_as_numpy(N), dtype, device)
    _check_N(xp, Na)
    return ((Na - 2.0) * a - Na) / (2.0 * (Na - 1.0))


def c_of_delta(delta: Scalar | Array, N: Scalar | Array) -> Array:
    r"""Compute the negative similarity :math:`c(\delta) = \langle u_i, v_j \rangle` (i != j) of the CCEM.

    .. math::

        c(\delta) = -\frac{1/(N-1) + \delta^2}{1 + \delta^2},

    from :math:`-1/(N-1)` at the ETF down to -1 at the antipodal limit.

    Parameters
    ----------
    delta : float or Array
        :math:`\delta \ge 0` (inf allowed).
    N : float or Array
        Number of pairs, integer-valued, >= 3; broadcasts with ``delta``.

    Returns
    -------
    Array
        :math:`c(\delta)`, of the broadcast shape.

    Raises
    ------
    TypeError
        If an input is a bool, a non-real array or neither a number nor an array.
    ValueError
        If some N is < 3, not finite or not an integer (for concrete arrays).

    See Also
    --------
    sigref.ccem.c_of_a : The same in terms of a.
    sigref.ccem.a_of_delta : The positive similarity.

    Examples
    --------
    >>> from sigref.ccem import c_of_delta
    >>> round(float(c_of_delta(1.0, 4)), 12)
    -0.666666666667
    """
    return c_of_a(a_of_delta(delta), N)


# --------------------------------------------------------------------------------------------
# reduced objective, regimes, thresholds


def reduced_loss(a: Scalar | Array, N: Scalar | Array, t: Scalar | Array, b: Scalar | Array | None = None) -> Array:
    r"""Compute the reduced objective F(a): the sigmoid loss of the CCEM with positive similarity a.

    .. math::

        F(a) = \ell(b - t a) + (N-1)\, \ell\big(t\, c(a) - b\big), \qquad
        c(a) = \frac{(N-2) a - N}{2 (N-1)},

    with :math:`\ell = \operatorname{softplus}`: the sigmoid loss with 1/N normalisation
    (``reduction="per_anchor"``) of the CCEM with :math:`a(\delta) = a`. By Theorem 1 of Lee et
    al. [1]_, for d >= N its minimum over :math:`a \in [-1, 1]` is the minimum of the sigmoid loss
    over all unit embeddings. ``b = None`` means b = t (the paper's setting).

    Parameters
    ----------
    a : float or Array
        Positive similarity in [-1, 1].
    N : float or Array
        Number of pairs, integer-valued, >= 3.
    t : float or Array
        Inverse temperature :math:`t > 0`.
    b : float or Array or None, optional
        Bias :math:`b` (default None: b = t).

    Returns
    -------
    Array
        :math:`F(a)`, of the broadcast shape of the inputs.

    Raises
    ------
    TypeError
        If an input is a bool, a non-real array, neither a number nor an array, or the inputs come
        from different array libraries.
    ValueError
        If some a lies outside [-1, 1], N is < 3 or not an integer, t is not > 0, an input is not
        finite (for concrete arrays), or N, t and b do not broadcast.

    See Also
    --------
    sigref.ccem.reduced_loss_derivative : F'(a).
    sigref.ccem.delta_star : The minimiser.

    References
    ----------
    .. [1] C. Lee, J. Chang, J. Sohn, "Analysis of Using Sigmoid Loss for Contrastive Learning",
       arXiv:2402.12613, https://arxiv.org/abs/2402.12613

    Examples
    --------
    F(a) is the sigmoid loss of the CCEM with that a:

    >>> from sigref.ccem import ccem, delta_of_a, reduced_loss
    >>> from sigref.losses import sigmoid_loss
    >>> U, V = ccem(8, delta_of_a(0.5))
    >>> print(f"{float(reduced_loss(0.5, 8, 1.0)):.6f} {float(sigmoid_loss(U, V, 1.0, 1.0)):.6f}")
    2.577373 2.577373
    """
    xp, Na, ta, ba = _params(N, t, b, a)
    a = _as_float(xp, "a", _scalars_as_numpy(a), ta.dtype, array_api_compat.device(ta))
    _check_unit_interval(xp, a)
    c = ((Na - 2.0) * a - Na) / (2.0 * (Na - 1.0))
    return softplus(ba - ta * a) + (Na - 1.0) * softplus(ta * c - ba)


def reduced_loss_derivative(a: Scalar | Array, N: Scalar | Array, t: Scalar | Array, b: Scalar | Array | None = None) -> Array:
    r"""Compute F'(a), the derivative of the reduced objective in the positive similarity a.

    .. math::

        F'(a) = t \Big[ \frac{N-2}{2}\, \sigma\big(t\, c(a) - b\big) - \sigma(b - t a) \Big],

    increasing in :math:`a` (F is strictly convex): the optimum is the ETF iff
    :math:`F'(1) \le 0`, antipodal iff :math:`F'(-1) \ge 0`, and otherwise the root of F'.
    ``b = None`` means b = t.

    Parameters
    ----------
    a : float or Array
        Positive similarity in [-1, 1].
    N : float or Array
        Number of pairs, integer-valued, >= 3.
    t : float or Array
        Inverse temperature :math:`t > 0`.
    b : float or Array or None, optional
        Bias :math:`b` (default None: b = t).

    Returns
    -------
    Array
        :math:`F'(a)`, of the broadcast shape of the inputs.

    Raises
    ------
    TypeError
        As :func:`sigref.ccem.reduced_loss`.
    ValueError
        As :func:`sigref.ccem.reduced_loss`.

    See Also
    --------
    sigref.ccem.reduced_loss : F(a).

    Examples
    --------
    F' vanishes at the interior optimum a* and agrees with a central difference of F:

    >>> from sigref.ccem import delta_star, reduced_loss, reduced_loss_derivative
    >>> a_star = float(delta_star(8, 1.0).a)
    >>> bool(abs(float(reduced_loss_derivative(a_star, 8, 1.0))) < 1e-12)
    True
    >>> h = 1e-6
    >>> fd = (reduced_loss(0.5 + h, 8, 1.0) - reduced_loss(0.5 - h, 8, 1.0)) / (2 * h)
    >>> print(f"{float(reduced_loss_derivative(0.5, 8, 1.0)):.6f} {float(fd):.6f}")
    -0.008344 -0.008344
    """
    xp, Na, ta, ba = _params(N, t, b, a)
    a = _as_float(xp, "a", _scalars_as_numpy(a), ta.dtype, array_api_compat.device(ta))
    _check_unit_interval(xp, a)
    c = ((Na - 2.0) * a - Na) / (2.0 * (Na - 1.0))
    return ta * ((Na - 2.0) / 2.0 * sigmoid(ta * c - ba) - sigmoid(ba - ta * a))


def _check_unit_interval(xp: Any, a: Any) -> None:
    if known_true(xp.all((a >= -1.0) & (a <= 1.0))) is False:  # NaN fails both comparisons
        raise ValueError("a (positive similarity) must lie in [-1, 1]")


def etf_loss(N: Scalar | Array, t: Scalar | Array, b: Scalar | Array | None = None) -> Array:
    r"""Compute the sigmoid loss (1/N normalisation) at the simplex ETF, delta = 0.

    .. math::

        L_{ETF}(N, t, b) = F(1) = \ell(b - t) + (N-1)\, \ell\Big(-\frac{t}{N-1} - b\Big),

    at :math:`t = b`: :math:`\log 2 + (N-1) \log(1 + e^{-t N/(N-1)})`. ``b = None`` means b = t.

    Parameters
    ----------
    N : float or Array
        Number of pairs, integer-valued, >= 3.
    t : float or Array
        Inverse temperature :math:`t > 0`.
    b : float or Array or None, optional
        Bias :math:`b` (default None: b = t).

    Returns
    -------
    Array
        :math:`L_{ETF}`, of the broadcast shape of the inputs.

    Raises
    ------
    TypeError
        If an input is a bool, a non-real array, neither a number nor an array, or the inputs come
        from different array libraries.
    ValueError
        If some N is < 3 or not an integer, t is not > 0, an input is not finite (for concrete
        arrays), or N, t and b do not broadcast.

    See Also
    --------
    sigref.ccem.antipodal_loss : The loss at the other end, delta = inf.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.ccem import etf_loss, simplex_etf
    >>> from sigref.losses import sigmoid_loss
    >>> W = simplex_etf(8)
    >>> print(f"{float(etf_loss(8, 2.0)):.6f} {float(sigmoid_loss(W, W, 2.0, 2.0)):.6f}")
    1.371137 1.371137
    >>> print(f"{np.log(2.0) + 7 * np.log1p(np.exp(-2.0 * 8 / 7)):.6f}")
    1.371137
    """
    xp, Na, ta, ba = _params(N, t, b)
    return softplus(ba - ta) + (Na - 1.0) * softplus(-ta / (Na - 1.0) - ba)


def antipodal_loss(N: Scalar | Array, t: Scalar | Array, b: Scalar | Array | None = None) -> Array:
    r"""Compute the sigmoid loss (1/N normalisation) at the antipodal configuration, delta = inf.

    .. math::

        L_{anti}(N, t, b) = F(-1) = \ell(t + b) + (N-1)\, \ell(-t - b),

    with every :math:`u_i = e` and :math:`v_i = -e`, so that every similarity is -1. ``b = None``
    means b = t.

    Parameters
    ----------
    N : float or Array
        Number of pairs, integer-valued, >= 3.
    t : float or Array
        Inverse temperature :math:`t > 0`.
    b : float or Array or None, optional
        Bias :math:`b` (default None: b = t).

    Returns
    -------
    Array
        :math:`L_{anti}`, of the broadcast shape of the inputs.

    Raises
    ------
    TypeError
        As :func:`sigref.ccem.etf_loss`.
    ValueError
        As :func:`sigref.ccem.etf_loss`.

    See Also
    --------
    sigref.ccem.etf_loss : The loss at delta = 0.

    Examples
    --------
    Below the antipodal threshold the antipodal loss is the smaller one:

    >>> from sigref.ccem import antipodal_loss, etf_loss
    >>> print(f"{float(antipodal_loss(16, 1.0)):.6f} {float(etf_loss(16, 1.0)):.6f}")
    4.030848 5.129617
    """
    xp, Na, ta, ba = _params(N, t, b)
    return softplus(ta + ba) + (Na - 1.0) * softplus(-ta - ba)


def etf_condition(N: Scalar | Array, t: Scalar | Array, b: Scalar | Array | None = None) -> Array:
    r"""Decide whether the optimal CCEM is the simplex ETF (delta* = 0).

    .. math::

        \delta^* = 0 \iff F'(1) \le 0 \iff (N-2)(1 + e^{t-b}) \le 2 \big(1 + e^{b + t/(N-1)}\big),

    evaluated without overflow as :math:`\log\frac{N-2}{2} + \ell(t - b) \le \ell(b + t/(N-1))`
    (:math:`\ell = \operatorname{softplus}`). At t = b it reads :math:`t \ge T_{etf}(N)`
    (:func:`~sigref.ccem.etf_threshold`). ``b = None`` means b = t.

    Parameters
    ----------
    N : float or Array
        Number of pairs, integer-valued, >= 3.
    t : float or Array
        Inverse temperature :math:`t > 0`.
    b : float or Array or None, optional
        Bias :math:`b` (default None: b = t).

    Returns
    -------
    Array
        Boolean array of the broadcast shape: True where the optimum is the ETF.

    Raises
    ------
    TypeError
        As :func:`sigref.ccem.etf_loss`.
    ValueError
        As :func:`sigref.ccem.etf_loss`.

    See Also
    --------
    sigref.ccem.antipodal_condition : The condition for delta* = inf.
    sigref.ccem.etf_threshold : The threshold at t = b.

    References
    ----------
    .. [1] C. Lee, J. Chang, J. Sohn, "Analysis of Using Sigmoid Loss for Contrastive Learning",
       arXiv:2402.12613, https://arxiv.org/abs/2402.12613

    Examples
    --------
    For N = 8, :math:`T_{etf} = (7/8) \log 5 \approx 1.408`:

    >>> import numpy as np
    >>> from sigref.ccem import etf_condition
    >>> etf_condition(8, np.array([1.0, 1.5])).tolist()
    [False, True]
    """
    xp, Na, ta, ba = _params(N, t, b)
    return _etf_condition(xp, Na, ta, ba)


def _etf_condition(xp: Any, Na: Any, ta: Any, ba: Any) -> Any:
    # the logs of both sides, log(1 + e^x) = softplus(x): no overflow of e^(t-b) or e^(b + t/(N-1)) for large logits
    return xp.log((Na - 2.0) / 2.0) + softplus(ta - ba) <= softplus(ba + ta / (Na - 1.0))


def antipodal_condition(N: Scalar | Array, t: Scalar | Array, b: Scalar | Array | None = None) -> Array:
    r"""Decide whether the optimal CCEM is antipodal (delta* = inf).

    .. math::

        \delta^* = \infty \iff F'(-1) \ge 0 \iff t + b \le \log\frac{N-2}{2};

    at t = b it reads :math:`t \le T_{anti}(N)` (:func:`~sigref.ccem.antipodal_threshold`).
    ``b = None`` means b = t.

    Parameters
    ----------
    N : float or Array
        Number of pairs, integer-valued, >= 3.
    t : float or Array
        Inverse temperature :math:`t > 0`.
    b : float or Array or None, optional
        Bias :math:`b` (default None: b = t).

    Returns
    -------
    Array
        Boolean array of the broadcast shape: True where the optimum is antipodal.

    Raises
    ------
    TypeError
        As :func:`sigref.ccem.etf_loss`.
    ValueError
        As :func:`sigref.ccem.etf_loss`.

    See Also
    --------
    sigref.ccem.etf_condition : The condition for delta* = 0.

    Examples
    --------
    For N = 8, :math:`T_{anti} = \frac12 \log 3 \approx 0.549`:

    >>> import numpy as np
    >>> from sigref.ccem import antipodal_condition
    >>> antipodal_condition(8, np.array([0.5, 0.6])).tolist()
    [True, False]
    """
    xp, Na, ta, ba = _params(N, t, b)
    return _antipodal_condition(xp, Na, ta, ba)


def _antipodal_condition(xp: Any, Na: Any, ta: Any, ba: Any) -> Any:
    return ta + ba <= xp.log((Na - 2.0) / 2.0)


def etf_threshold(N: Scalar | Array) -> Array:
    r"""Compute the ETF threshold :math:`T_{etf}(N)` of the t = b case.

    .. math::

        T_{etf}(N) = \frac{N-1}{N} \log(N - 3):

    at t = b the optimum is the simplex ETF iff :math:`t \ge T_{etf}(N)` (the theorem
    ``thm:logsig`` of Lee et al. [1]_). :math:`-\infty` for N = 3 (ETF for every t > 0). Real
    N >= 3 are accepted (to draw the curve).

    Parameters
    ----------
    N : float or Array
        Batch size, >= 3 (real values allowed).

    Returns
    -------
    Array
        :math:`T_{etf}(N)`, of the shape of ``N``.

    Raises
    ------
    TypeError
        If ``N`` is a bool, a non-real array, or neither a number nor an array.
    ValueError
        If some N is < 3 or not finite (for concrete arrays).

    See Also
    --------
    sigref.ccem.antipodal_threshold : The lower threshold.
    sigref.ccem.etf_condition : The condition for any (t, b).

    References
    ----------
    .. [1] C. Lee, J. Chang, J. Sohn, "Analysis of Using Sigmoid Loss for Contrastive Learning",
       arXiv:2402.12613, https://arxiv.org/abs/2402.12613

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.ccem import etf_threshold
    >>> [round(float(x), 6) for x in etf_threshold(np.array([3.0, 4.0, 8.0, 16.0]))]
    [-inf, 0.0, 1.408258, 2.40464]
    """
    xp, Na = _unary(N, "N")
    _check_N(xp, Na, integer=False)
    big = Na > 3.0
    safe = xp.where(big, Na - 3.0, xp.ones_like(Na))
    return xp.where(big, (Na - 1.0) / Na * xp.log(safe), xp.full_like(Na, -math.inf))


def antipodal_threshold(N: Scalar | Array) -> Array:
    r"""Compute the antipodal threshold :math:`T_{anti}(N)` of the t = b case.

    .. math::

        T_{anti}(N) = \frac12 \log\frac{N-2}{2}:

    at t = b the optimum is antipodal iff :math:`t \le T_{anti}(N)` (the theorem ``thm:logsig``
    of Lee et al. [1]_); :math:`T_{anti} \le T_{etf}` for N >= 4. Real N >= 3 are accepted (to
    draw the curve).

    Parameters
    ----------
    N : float or Array
        Batch size, >= 3 (real values allowed).

    Returns
    -------
    Array
        :math:`T_{anti}(N)`, of the shape of ``N``.

    Raises
    ------
    TypeError
        If ``N`` is a bool, a non-real array, or neither a number nor an array.
    ValueError
        If some N is < 3 or not finite (for concrete arrays).

    See Also
    --------
    sigref.ccem.etf_threshold : The upper threshold.
    sigref.ccem.antipodal_condition : The condition for any (t, b).

    References
    ----------
    .. [1] C. Lee, J. Chang, J. Sohn, "Analysis of Using Sigmoid Loss for Contrastive Learning",
       arXiv:2402.12613, https://arxiv.org/abs/2402.12613

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.ccem import antipodal_threshold
    >>> [round(float(x), 6) for x in antipodal_threshold(np.array([4.0, 8.0, 10.0, 16.0]))]
    [0.0, 0.549306, 0.693147, 0.972955]
    """
    xp, Na = _unary(N, "N")
    _check_N(xp, Na, integer=False)
    return 0.5 * xp.log((Na - 2.0) / 2.0)


# --------------------------------------------------------------------------------------------
# solver


@dataclass(frozen=True)
class CCEMOptimum:
    r"""The optimal CCEM for each (N, t, b), as returned by :func:`~sigref.ccem.delta_star`.

    All fields have the broadcast shape of (N, t, b):

    .. math::

        s^* = \frac{1}{1 + \delta^{*2}}, \qquad a^* = 2 s^* - 1, \qquad c^* = c(a^*), \qquad
        L^* = F(a^*),

    with :math:`L^*` the minimum of the sigmoid loss (1/N normalisation) over unit embeddings for
    d >= N (Theorem 1 of Lee et al., arXiv:2402.12613).

    Parameters
    ----------
    delta : Array
        :math:`\delta^* \in [0, \infty]`.
    s : Array
        :math:`s^* \in [0, 1]`.
    a : Array
        Positive similarity :math:`a^* \in [-1, 1]`.
    c : Array
        Negative similarity :math:`c^* = ((N-2) a^* - N) / (2 (N-1))`.
    loss : Array
        :math:`L^* = F(a^*)`.
    etf : Array
        Boolean: :math:`\delta^* = 0` exactly (the simplex ETF).
    antipodal : Array
        Boolean: :math:`\delta^* = \infty` exactly.

    See Also
    --------
    sigref.ccem.delta_star : The solver.

    Examples
    --------
    >>> from sigref.ccem import delta_star
    >>> opt = delta_star(8, 1.0)
    >>> print(f"{float(opt.s):.6f} {float(opt.delta):.6f} {float(opt.loss):.6f}", bool(opt.etf), bool(opt.antipodal))
    0.759368 0.562925 2.577294 False False
    """

    delta: Array
    s: Array
    a: Array
    c: Array
    loss: Array
    etf: Array
    antipodal: Array


def delta_star(N: Scalar | Array, t: Scalar | Array, b: Scalar | Array | None = None, *, iterations: int = NEWTON_ITERATIONS) -> CCEMOptimum:
    r"""Solve for the optimal CCEM of every (N, t, b) of broadcastable arrays, as one batched computation.

    The minimiser :math:`a^*` of the strictly convex :math:`F` (:func:`~sigref.ccem.reduced_loss`)
    over :math:`[-1, 1]`, reported as :math:`\delta^*`, :math:`s^*`, :math:`a^*`, :math:`c^*` and
    :math:`L^* = F(a^*)`; ``b = None`` means b = t. By Theorem 1 of Lee et al. [1]_,
    :math:`(U^{\delta^*}, V^{\delta^*})` minimises the sigmoid loss (1/N normalisation) over unit
    embeddings for d >= N.

    The regime comes first from the exact conditions (:func:`~sigref.ccem.etf_condition`,
    :func:`~sigref.ccem.antipodal_condition`), so :math:`\delta^*` is exactly 0 or inf there.
    Inside, with

    .. math::

        m = \frac{N-2}{2}, \qquad \kappa = \frac{N-2}{2(N-1)}, \qquad
        \beta = \frac{t N}{2(N-1)} + b, \qquad p = t a = t (2 s - 1),

    :math:`F'(a) = 0` reads :math:`m (1 + e^{p - b}) = 1 + e^{\beta - \kappa p}`. Multiplying by
    :math:`e^{\kappa p}` and taking logs:

    .. math::

        N \ge 4 \ (m \ge 1): \quad & \Psi(s) = \log\big[ m\, e^{(1+\kappa) p - b - \beta}
            + (m-1)\, e^{\kappa p - \beta} \big] = 0, \\
        N = 3 \ (m = 1/2): \quad & \Psi(s) = \log\big[ 2\, e^{\beta - (1+\kappa) p + b} + e^{b - p} \big] = 0.

    :math:`\Psi = \operatorname{logaddexp}(E_1(s), E_2(s))` with :math:`E_1, E_2` affine in s, so
    :math:`\Psi` is convex in s and has the sign of :math:`F'` (resp. of :math:`-F'`). Newton's
    method on a convex function started where it is >= 0 moves monotonically to the root without
    overshooting; the start is the smaller (N >= 4) or larger (N = 3) root of the lines
    :math:`E_1, E_2`, where :math:`\Psi \ge 0` because :math:`\Psi \ge \max(E_1, E_2)`. Each
    iterate is clipped to [0, 1] (the bracket). Iterating in s keeps :math:`s^*` accurate near the
    antipodal end.

    Parameters
    ----------
    N : float or Array
        Number of pairs, integer-valued, >= 3.
    t : float or Array
        Inverse temperature :math:`t > 0`.
    b : float or Array or None, optional
        Bias :math:`b` (default None: b = t).
    iterations : int, optional
        Newton steps (default ``NEWTON_ITERATIONS`` = 5), >= 1.

    Returns
    -------
    CCEMOptimum
        :math:`\delta^*, s^*, a^*, c^*, L^*` and the regime flags, each of the broadcast shape of
        (N, t, b).

    Raises
    ------
    TypeError
        If an input is a bool, a non-real array, neither a number nor an array, or the inputs come
        from different array libraries.
    ValueError
        If ``iterations`` is not an integer >= 1, some N is < 3 or not an integer, t is not > 0,
        an input is not finite (for concrete arrays), or N, t and b do not broadcast.

    See Also
    --------
    sigref.ccem.ccem : The optimal embeddings from :math:`\delta^*`.
    sigref.ccem.ccem_lower_bound : :math:`L^*` alone.

    References
    ----------
    .. [1] C. Lee, J. Chang, J. Sohn, "Analysis of Using Sigmoid Loss for Contrastive Learning",
       arXiv:2402.12613, https://arxiv.org/abs/2402.12613

    Examples
    --------
    The three regimes at N = 16, t = b: antipodal, interior and ETF:

    >>> import numpy as np
    >>> from sigref.ccem import ccem, delta_star
    >>> from sigref.losses import sigmoid_loss
    >>> t = np.array([0.5, 1.25, 3.0])
    >>> opt = delta_star(16, t)
    >>> [round(float(x), 6) for x in opt.s], [round(float(x), 6) for x in opt.delta]
    ([0.0, 0.406055, 1.0], [inf, 1.20943, 0.0])
    >>> opt.antipodal.tolist(), opt.etf.tolist()
    ([True, False, False], [False, False, True])

    The loss of the optimal CCEM equals the closed form :math:`L^*`:

    >>> U, V = ccem(16, opt.delta)
    >>> [round(float(x), 6) for x in sigmoid_loss(U, V, t, t)], [round(float(x), 6) for x in opt.loss]
    ([6.012187, 3.546544, 1.292447], [6.012187, 3.546544, 1.292447])
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
        e = xp.exp(-xp.abs(diff))  # logaddexp(E1, E2) = max + log1p(exp(-|E1 - E2|)): the exponent is <= 0, no overflow
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


def critical_batch_sizes(t: Scalar | Array, b: Scalar | Array | None = None, *, n_max: float = 2.0**52) -> tuple[Array, Array]:
    r"""Find the batch sizes at which the optimal CCEM leaves the ETF and becomes antipodal.

    For each (t, b): the smallest N >= 3 at which :func:`~sigref.ccem.etf_condition` fails, and
    the smallest at which :func:`~sigref.ccem.antipodal_condition` holds (inf when beyond
    ``n_max``). Both conditions are monotone in N (:math:`(N-2)(1 + e^{t-b})` grows and
    :math:`2 (1 + e^{b + t/(N-1)})` shrinks with N; :math:`\log((N-2)/2)` grows), so a batched
    integer bisection on [3, ``n_max``] finds them exactly with respect to the two conditions. At
    t = b they are about

    .. math::

        N_{etf} \approx e^{t} + 3, \qquad N_{anti} \approx 2 e^{2t} + 2.

    ``b = None`` means b = t.

    Parameters
    ----------
    t : float or Array
        Inverse temperature :math:`t > 0`.
    b : float or Array or None, optional
        Bias :math:`b` (default None: b = t).
    n_max : float, optional
        The largest batch size searched (default :math:`2^{52}`).

    Returns
    -------
    leave_etf : Array
        The smallest N at which the optimum is no longer the ETF (float, inf if none up to
        ``n_max``), of the broadcast shape of (t, b).
    antipodal : Array
        The smallest N at which the optimum is antipodal (float, inf if none up to ``n_max``).

    Raises
    ------
    TypeError
        If ``t`` or ``b`` is a bool, a non-real array, neither a number nor an array, or they come
        from different array libraries.
    ValueError
        If ``t`` is not > 0 or an input is not finite (for concrete arrays), or t and b do not
        broadcast.

    See Also
    --------
    sigref.ccem.delta_star : The optimum at a given N.

    References
    ----------
    .. [1] C. Lee, J. Chang, J. Sohn, "Analysis of Using Sigmoid Loss for Contrastive Learning",
       arXiv:2402.12613, https://arxiv.org/abs/2402.12613

    Examples
    --------
    SigLIP's initialisation t = b = 10 leaves the ETF regime at N = 22,040:

    >>> from sigref.ccem import critical_batch_sizes
    >>> leave, anti = critical_batch_sizes(10.0)
    >>> int(leave), int(anti)
    (22040, 970330393)
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


def lemma_slack(U: Array, V: Array) -> Array:
    r"""Compute the slack of the key lemma of Lee et al. for unit rows U, V.

    .. math::

        \sum_{i \ne j} \langle u_i, v_j \rangle - \frac{N-2}{2} \sum_i \langle u_i, v_i \rangle
            + \frac{N^2}{2} \;\ge\; 0,

    with equality iff :math:`\sum_i (u_i + v_i) = 0` and :math:`u_i - v_i` is the same for every
    i (every CCEM). Computed in :math:`O(N d)` as
    :math:`\langle \sum_i u_i, \sum_j v_j \rangle - \frac N2 \sum_i \langle u_i, v_i \rangle + \frac{N^2}{2}`.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Unit rows :math:`u_i`.
    V : Array, shape (..., N, d)
        Unit rows :math:`v_i`, the same N and d.

    Returns
    -------
    Array, shape (...)
        The slack, >= 0 up to rounding.

    Raises
    ------
    TypeError
        If the arrays come from different array libraries or are not real floating.
    ValueError
        If ``U`` or ``V`` has fewer than two axes, their (N, d) differ, or (for concrete arrays)
        they hold NaN or infinity or rows that are not of unit norm (to 1000 eps).

    See Also
    --------
    sigref.ccem.bound_gap : The gap to the CCEM lower bound of the loss.

    References
    ----------
    .. [1] C. Lee, J. Chang, J. Sohn, "Analysis of Using Sigmoid Loss for Contrastive Learning",
       arXiv:2402.12613, https://arxiv.org/abs/2402.12613

    Examples
    --------
    >>> from sigref.ccem import ccem, lemma_slack
    >>> from sigref.sampling import uniform_sphere
    >>> print(f"{float(lemma_slack(uniform_sphere(0, (8, 5)), uniform_sphere(1, (8, 5)))):.6f}")
    34.268532
    >>> bool(abs(float(lemma_slack(*ccem(8, 0.7)))) < 1e-12)
    True
    """
    xp = namespace(U=U, V=V)
    check_unit_rows(xp, "U", U)
    check_unit_rows(xp, "V", V)
    if U.shape[-2:] != V.shape[-2:]:
        raise ValueError(f"U and V must both have shape (..., N, d) with the same N and d, got {U.shape} and {V.shape}")
    n = U.shape[-2]
    positives = xp.sum(U * V, axis=(-2, -1))
    total = xp.sum(xp.sum(U, axis=-2) * xp.sum(V, axis=-2), axis=-1)
    return total - positives - (n - 2) / 2.0 * positives + n * n / 2.0


def ccem_lower_bound(N: Scalar | Array, t: Scalar | Array, b: Scalar | Array | None = None) -> Array:
    r"""Compute the CCEM lower bound :math:`\min_\delta F` of the sigmoid loss of N unit pairs.

    .. math::

        L(U, V; t, b) \;\ge\; \min_{a \in [-1, 1]} F(a) = L(U^{\delta^*}, V^{\delta^*}; t, b)

    for any unit :math:`U, V` with N pairs in any dimension d (1/N normalisation), attained for
    d >= N (Theorem 1 of Lee et al. [1]_). ``b = None`` means b = t.

    Parameters
    ----------
    N : float or Array
        Number of pairs, integer-valued, >= 3.
    t : float or Array
        Inverse temperature :math:`t > 0`.
    b : float or Array or None, optional
        Bias :math:`b` (default None: b = t).

    Returns
    -------
    Array
        :math:`L^*`, of the broadcast shape of the inputs.

    Raises
    ------
    TypeError
        As :func:`sigref.ccem.delta_star`.
    ValueError
        As :func:`sigref.ccem.delta_star`.

    See Also
    --------
    sigref.ccem.delta_star : The full optimum.
    sigref.ccem.bound_gap : A configuration's distance to the bound.

    References
    ----------
    .. [1] C. Lee, J. Chang, J. Sohn, "Analysis of Using Sigmoid Loss for Contrastive Learning",
       arXiv:2402.12613, https://arxiv.org/abs/2402.12613

    Examples
    --------
    >>> from sigref.ccem import ccem_lower_bound
    >>> print(f"{float(ccem_lower_bound(8, 1.0)):.6f}")
    2.577294
    """
    return delta_star(N, t, b).loss


def bound_gap(U: Array, V: Array, t: Scalar | Array, b: Scalar | Array | None = None) -> Array:
    r"""Compute how far the sigmoid loss of unit rows U, V lies above the CCEM lower bound.

    .. math::

        L(U, V; t, b) - \min_\delta F \;\ge\; 0,

    with :math:`L` the per-anchor sigmoid loss (:func:`sigref.losses.sigmoid_loss`) and
    :math:`\min_\delta F` the bound of :func:`~sigref.ccem.ccem_lower_bound` for the same N;
    0 exactly at the optimal CCEM. ``b = None`` means b = t.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Unit rows :math:`u_i`, N >= 3.
    V : Array, shape (..., N, d)
        Unit rows :math:`v_i`.
    t : float or Array
        Inverse temperature :math:`t > 0`.
    b : float or Array or None, optional
        Bias :math:`b` (default None: b = t).

    Returns
    -------
    Array, shape (...)
        The gap, >= 0 up to rounding.

    Raises
    ------
    TypeError
        As :func:`sigref.ccem.lemma_slack` and :func:`sigref.losses.sigmoid_loss`.
    ValueError
        As :func:`sigref.ccem.lemma_slack` and :func:`sigref.losses.sigmoid_loss`; also if N < 3.

    See Also
    --------
    sigref.ccem.ccem_lower_bound : The bound.

    Examples
    --------
    >>> from sigref.ccem import bound_gap, ccem, delta_star
    >>> from sigref.sampling import uniform_sphere
    >>> print(f"{float(bound_gap(uniform_sphere(0, (8, 5)), uniform_sphere(1, (8, 5)), 1.0)):.6f}")
    1.147969
    >>> U, V = ccem(8, delta_star(8, 1.0).delta)
    >>> bool(abs(float(bound_gap(U, V, 1.0))) < 1e-12)
    True
    """
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


def infonce_etf_loss(N: Scalar | Array, tau: Scalar | Array) -> Array:
    r"""Compute the symmetric InfoNCE loss at the simplex ETF with U = V, its minimiser.

    For a dividing temperature :math:`\tau` and 1/N per direction, the ETF with :math:`U = V`
    minimises the InfoNCE loss for every :math:`\tau > 0` when d >= N-1 (Lu & Steinerberger 2022,
    Thm 1, quoted as Corollary 1 in Lee et al. [1]_), with the value

    .. math::

        L = 2 \log\Big(1 + (N-1) \exp\Big(-\frac{N}{(N-1)\tau}\Big)\Big)
          = 2\, \ell\Big(\log(N-1) - \frac{N}{(N-1)\tau}\Big).

    Parameters
    ----------
    N : float or Array
        Number of pairs, integer-valued, >= 2.
    tau : float or Array
        Temperature :math:`\tau > 0`.

    Returns
    -------
    Array
        The loss, of the broadcast shape of (N, tau).

    Raises
    ------
    TypeError
        If an input is a bool, a non-real array, neither a number nor an array, or they come from
        different array libraries.
    ValueError
        If some N is < 2, not finite or not an integer, or tau is not > 0 (for concrete arrays).

    See Also
    --------
    sigref.losses.infonce_loss : The loss of any configuration.

    References
    ----------
    .. [1] C. Lee, J. Chang, J. Sohn, "Analysis of Using Sigmoid Loss for Contrastive Learning",
       arXiv:2402.12613, https://arxiv.org/abs/2402.12613

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.ccem import infonce_etf_loss, simplex_etf
    >>> from sigref.losses import infonce_loss
    >>> W = simplex_etf(4)
    >>> print(f"{float(infonce_etf_loss(4, 0.5)):.6f} {float(infonce_loss(W, W, 0.5)):.6f}")
    0.378678 0.378678
    """
    N, tau = _scalars_as_numpy(N), _scalars_as_numpy(tau)
    xp, dtype, device = _namespace_of(N=N, tau=tau)
    Na = _as_float(xp, "N", N, dtype, device)
    ta = _as_float(xp, "tau", tau, dtype, device)
    _check_N(xp, Na, minimum=2)
    check_positive(xp, "tau", ta)
    return 2.0 * softplus(xp.log(Na - 1.0) - Na / ((Na - 1.0) * ta))
