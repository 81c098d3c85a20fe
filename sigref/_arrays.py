"""Input validation and namespace helpers shared by every kernel.

Errors name the argument, what was expected and what was given.

Two kinds of checks. *Static* checks (array library, dtype, shape, Python options) read only
metadata and always run, also on arrays traced by a compiler (``jax.jit``, ``jax.vmap``).
*Value* checks (finite entries, t > 0, unit rows, ranges) need the array's numbers: they run
when those are known now (:func:`is_concrete`) and are skipped for traced or lazy arrays, whose
values do not exist yet; under ``jax.jit`` bad values then give NaN or infinite results instead
of an error. Every value check goes through :func:`known_true`, the one place that decides.
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

__all__ = ["check_embeddings", "check_finite", "check_floating", "check_positive", "check_unit_rows", "is_concrete", "known_true", "namespace",
           "param", "positive_int", "to_host"]

#: array libraries whose arrays always hold their values (no tracing, no deferred evaluation)
_EAGER_LIBRARIES = frozenset({"numpy", "torch", "cupy", "array_api_strict"})


def known_true(condition: Any) -> bool | None:
    """``bool(condition)`` for a 0-d boolean array whose value is known now, ``None`` when it is not.

    A traced array (inside ``jax.jit``, ``jax.grad``, ``jax.vmap``) or a lazy one (dask) has no
    value yet: its ``__bool__`` raises, as the array API standard allows, a ``TypeError`` (JAX's
    ``ConcretizationTypeError`` family) and this returns ``None``, so that the caller skips the
    check. Value checks read ``if known_true(ok) is False: raise ...``.
    """
    if isinstance(condition, (bool, np.bool_)):
        return bool(condition)
    if array_api_compat.is_dask_array(condition):  # bool() would compute the whole graph
        return None
    try:
        return bool(condition)
    except TypeError:
        return None


def is_concrete(x: Any) -> bool:
    """Whether the values of array ``x`` can be read now (``bool(x)``, ``float(x)`` succeed).

    True for NumPy, CuPy, torch and array-api-strict arrays and Python numbers; False for arrays
    traced by a transformation (``jax.jit``, ``jax.grad``, ``jax.vmap``) and lazy arrays (dask).
    Decided without importing any other library: for other array types, by reading one element.
    """
    if x is None or isinstance(x, (int, float, np.ndarray, np.generic)):
        return True
    if type(x).__module__.split(".")[0] in _EAGER_LIBRARIES:
        return True
    xp = array_api_compat.array_namespace(x)
    probe = xp.reshape(x, (-1,))[:1] if x.ndim else x
    return known_true(xp.any(probe != 0)) is not None


def namespace(**arrays: Any) -> Any:
    """Array-API namespace of the named inputs (``None`` entries skipped).

    Raises a TypeError naming the arguments when they come from different array libraries.
    """
    present = {name: a for name, a in arrays.items() if a is not None and not isinstance(a, (int, float))}
    try:
        return array_api_compat.array_namespace(*present.values())
    except TypeError as exc:
        kinds = ", ".join(f"{name}: {type(a).__module__}.{type(a).__name__}" for name, a in present.items())
        raise TypeError(f"inputs must come from one array library, got {kinds}") from exc


def check_floating(xp: Any, name: str, x: Any) -> None:
    """``x`` has a real floating dtype (a static check: always runs)."""
    if not xp.isdtype(x.dtype, "real floating"):
        raise TypeError(f"{name} must be a real floating array, got dtype {x.dtype}")


def check_finite(xp: Any, name: str, x: Any) -> None:
    """``x`` has no NaN or infinity (a value check: skipped when ``x`` is traced, see :func:`known_true`)."""
    # a NaN or infinity anywhere makes the sum non-finite: one cheap reduction decides the common case
    with np.errstate(over="ignore", invalid="ignore"):
        if known_true(xp.isfinite(xp.sum(x))) is not False:
            return
    if known_true(xp.all(xp.isfinite(x))) is False:
        raise ValueError(f"{name} must be finite, got NaN or infinity")


def check_embeddings(xp: Any, U: Any, V: Any, *, paired: bool = True, min_pairs: int = 2) -> None:
    """``U``, ``V``: finite real floating arrays (..., N, d) of one dtype and dimension d whose batch
    shapes broadcast; ``paired``: the same number N >= ``min_pairs`` of rows (pair i is (u_i, v_i)).

    Dtypes and shapes are always checked; finiteness only for concrete arrays (:func:`known_true`)."""
    for name, x in (("U", U), ("V", V)):
        check_floating(xp, name, x)
        if x.ndim < 2:
            raise ValueError(f"{name} must have shape (..., N, d), got shape {tuple(x.shape)}")
    if U.dtype != V.dtype:
        raise TypeError(f"U and V must share a dtype, got {U.dtype} and {V.dtype}")
    if U.shape[-1] != V.shape[-1]:
        raise ValueError(f"U and V must have the same embedding dimension d, got U {tuple(U.shape)} and V {tuple(V.shape)}")
    if paired and U.shape[-2] != V.shape[-2]:
        raise ValueError(f"U and V must hold the same number N of pairs, got U {tuple(U.shape)} and V {tuple(V.shape)}")
    if paired and U.shape[-2] < min_pairs:
        raise ValueError(f"need N >= {min_pairs} pairs (one positive and at least one negative per anchor), got N = {U.shape[-2]}")
    try:
        np.broadcast_shapes(tuple(U.shape[:-2]), tuple(V.shape[:-2]))
    except ValueError as exc:
        raise ValueError(f"batch shapes of U {tuple(U.shape)} and V {tuple(V.shape)} do not broadcast") from exc
    check_finite(xp, "U", U)
    check_finite(xp, "V", V)


def param(xp: Any, name: str, value: Any, like: Any, *, positive: bool = False, nonnegative: bool = False) -> Any:
    """A scalar or batch-shaped parameter as an array of ``like``'s dtype and device, validated.

    Array values must already belong to ``xp`` (check with :func:`namespace` first). The dtype is
    always checked; ``positive`` (> 0), finiteness and ``nonnegative`` (>= 0) only when the value
    is concrete: a traced t or b (under ``jax.jit``) passes unchecked."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number or floating array, got bool")
    if isinstance(value, (int, float)):
        arr = xp.asarray(float(value), dtype=like.dtype, device=array_api_compat.device(like))
    else:
        check_floating(xp, name, value)
        arr = value if value.dtype == like.dtype else xp.astype(value, like.dtype)
    if positive:
        check_positive(xp, name, arr)
    else:
        check_finite(xp, name, arr)
    if nonnegative and known_true(xp.all(arr >= 0)) is False:
        raise ValueError(f"{name} must be >= 0, got {_show(arr)}")
    return arr


def check_positive(xp: Any, name: str, x: Any) -> None:
    """``x``: finite and > 0 everywhere (value checks: skipped for traced ``x``)."""
    check_finite(xp, name, x)
    if known_true(xp.all(x > 0)) is False:
        raise ValueError(f"{name} must be > 0, got {_show(x)}")


def _show(arr: Any) -> str:
    return str(float(arr)) if arr.ndim == 0 else f"an array with minimum {float(array_api_compat.array_namespace(arr).min(arr))}"


def positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_unit_rows(xp: Any, name: str, X: Any) -> None:
    """``X``: a finite real floating array (..., N, d) whose rows have unit norm (to 1000 eps).

    Dtype and shape are always checked; finiteness and the norms only for concrete ``X``."""
    check_floating(xp, name, X)
    if X.ndim < 2:
        raise ValueError(f"{name} must have shape (..., N, d), got shape {tuple(X.shape)}")
    check_finite(xp, name, X)
    if not is_concrete(X):
        return
    tol = 1000.0 * float(xp.finfo(X.dtype).eps)
    err = xp.max(xp.abs(xp.linalg.vector_norm(X, axis=-1) - 1.0)) if math.prod(X.shape) else 0.0
    if float(err) > tol:
        raise ValueError(f"rows of {name} must have unit norm (to {tol:.1e}); the largest deviation is {float(err):.3e}")


def to_host(x: Any, dtype: Any = np.float64) -> np.ndarray:
    """A NumPy copy of ``x`` in ``dtype``, through the registered backend of its library
    (:func:`sigref.backend.to_numpy`: GPU arrays and tensors that require grad included)."""
    if isinstance(x, np.ndarray):
        return x.astype(dtype)
    from sigref.backend import to_numpy

    return np.asarray(to_numpy(x), dtype=dtype)
