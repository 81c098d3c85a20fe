"""sigref's losses as ``jax.custom_vjp`` functions whose backward is sigref's analytic gradient.

For unit rows U = (u_1..u_N), V = (v_1..v_N), logits z_ij = t <u_i, v_j> - b (SigLIP, Zhai et al.
arXiv 2303.15343; b subtracted, as in the papers), the forward pass runs sigref's chunked
array-API kernel on ``jax.numpy`` arrays and, under differentiation, also its analytic gradients

    dL/dU = t G V,   dL/dV = t G^T U,   dL/dt = sum_ij G_ij <u_i, v_j>,   dL/db = -sum_ij G_ij,

with G = dL/dz. Those gradients are the saved residuals: O(N d + batch), never the N x N logits
that reverse-mode autodiff of a dense loss keeps (big_vision issues 130, 132, 170 ask for this).
The backward multiplies them by the incoming cotangent. The functions compose with ``jax.jit``
(the row blocks run in one ``lax.scan``), ``jax.grad`` and ``jax.vmap`` (sigref's kernels handle
leading batch axes; vmap adds one more). Second derivatives are not defined (the backward is not
itself differentiated).

Inputs: U, V of shape (..., N, d) with a real floating dtype (float16/bfloat16 are evaluated in
float32 and their gradients cast back); t, b Python numbers or arrays broadcastable to the batch
shape. Wrong shapes, integer dtypes and inputs from two array libraries raise sigref's errors,
eagerly and under ``jax.jit`` alike; value checks (t > 0, finite inputs) only run on concrete
arrays (see :mod:`sigref._arrays`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from sigref import losses
from sigref._arrays import namespace

__all__ = ["mscl_loss", "relative_bias_loss", "siglip_loss", "sigmoid_loss"]

_EMBEDDINGS = ("U", "V")
_HALF = (jnp.float16, jnp.bfloat16)


def _analytic(value_kernel: Callable[..., Any], grad_kernel: Callable[..., Any], names: tuple[str, ...],
              options: tuple[tuple[str, Any], ...]) -> Callable[..., Any]:
    """A custom_vjp function of the arrays ``names`` whose backward is ``grad_kernel(...).grad``."""
    opts = dict(options)

    @jax.custom_vjp
    def loss(*arrays: Any) -> Any:
        return value_kernel(**dict(zip(names, arrays)), **opts)

    def forward(*arrays: Any) -> tuple[Any, tuple[Any, ...]]:
        res = grad_kernel(**dict(zip(names, arrays)), **opts)
        return res.value, tuple(res.grad[n] for n in names)

    def backward(saved: tuple[Any, ...], cotangent: Any) -> tuple[Any, ...]:
        out = []
        for name, g in zip(names, saved):
            weight = cotangent[..., None, None] if name in _EMBEDDINGS else cotangent
            out.append(g * weight)
        return tuple(out)

    loss.defvjp(forward, backward)
    return loss


@functools.cache
def _cached(value_kernel: Callable[..., Any], grad_kernel: Callable[..., Any], names: tuple[str, ...],
            options: tuple[tuple[str, Any], ...]) -> Callable[..., Any]:
    return _analytic(value_kernel, grad_kernel, names, options)


def _prepare(arrays: dict[str, Any]) -> dict[str, Any]:
    """Numbers as arrays of the embeddings' dtype; half precision promoted to float32; everything
    broadcast to the common batch shape, so that the saved gradients are per batch element (the
    broadcasts are ordinary jnp ops: autodiff sums their cotangents back to the input shapes)."""
    present = {k: v for k, v in arrays.items() if v is not None}
    namespace(**present)  # mixed libraries: sigref's TypeError, before anything is converted
    U = present["U"]
    for name in _EMBEDDINGS:
        x = present[name]
        if getattr(x, "ndim", 0) < 2:
            raise ValueError(f"{name} must have shape (..., N, d), got shape {tuple(getattr(x, 'shape', ()))}")
    floating = jnp.issubdtype(U.dtype, jnp.floating)
    dtype = jnp.float32 if U.dtype in _HALF else U.dtype
    out: dict[str, Any] = {}
    for name, x in present.items():
        if isinstance(x, bool):
            raise TypeError(f"{name} must be a real number or floating array, got bool")
        if isinstance(x, (int, float)):
            x = jnp.asarray(float(x), dtype=dtype if floating else jnp.float32)
        elif floating and x.dtype in _HALF:
            x = x.astype(jnp.float32)
        out[name] = x
    batch = jnp.broadcast_shapes(*(out[n].shape[:-2] for n in _EMBEDDINGS),
                                 *(x.shape for n, x in out.items() if n not in _EMBEDDINGS))
    for name, x in out.items():
        shape = (*batch, *x.shape[-2:]) if name in _EMBEDDINGS else batch
        out[name] = jnp.broadcast_to(x, shape) if x.shape != shape else x
    return out


def _call(value_kernel: Callable[..., Any], grad_kernel: Callable[..., Any], arrays: dict[str, Any], options: dict[str, Any]) -> Any:
    dtype = arrays["U"].dtype if hasattr(arrays["U"], "dtype") else None
    prepared = _prepare(arrays)
    fn = _cached(value_kernel, grad_kernel, tuple(prepared), tuple(sorted(options.items())))
    value = fn(*prepared.values())
    return value.astype(dtype) if dtype in _HALF else value


def sigmoid_loss(U: Any, V: Any, t: Any, b: Any = None, *, b_rel: Any = None, **options: Any) -> Any:
    """:func:`sigref.losses.sigmoid_loss` on JAX arrays, differentiable in U, V, t and b (or ``b_rel``).

    L = r sum_ij w(q_ij) softplus(q_ij), q_ij = -z_ii on positives and z_ij on negatives,
    z_ij = t <u_i, v_j> - b; options as in the core: ``reduction`` ("sum" | "per_anchor" |
    "mean"), ``gamma`` (MSCL weight w = sigma(q)^gamma), ``detach_weight``, ``filter_threshold``,
    ``negatives_only``, ``chunk_size`` (rows per block; memory O(chunk_size N)).
    """
    if (b is None) == (b_rel is None):
        raise TypeError("give exactly one of b (bias) and b_rel (relative bias, b = t * b_rel)")
    if b is not None:
        return _call(losses.sigmoid_loss, losses.sigmoid_loss_and_grad, {"U": U, "V": V, "t": t, "b": b}, options)
    return _call(losses.relative_bias_loss, losses.relative_bias_loss_and_grad, {"U": U, "V": V, "t": t, "b_rel": b_rel}, options)


def relative_bias_loss(U: Any, V: Any, t: Any, b_rel: Any, **options: Any) -> Any:
    """L_RB(U, V; t, b_rel) = L(U, V; t, t b_rel) (arXiv 2509.18552 Def. 1), differentiable."""
    return sigmoid_loss(U, V, t, b_rel=b_rel, **options)


def siglip_loss(image_features: Any, text_features: Any, logit_scale: Any, logit_bias: Any, *, chunk_size: int | str | None = None) -> Any:
    """big_vision / open_clip convention: -(1/N) sum_ij log sigmoid(y_ij (scale <x_i, y_j> + bias)),
    ``logit_scale`` already exponentiated (t = scale, b = -bias), differentiable in all four."""
    return sigmoid_loss(image_features, text_features, logit_scale, -logit_bias, reduction="per_anchor", chunk_size=chunk_size)


def _mscl_value(U: Any, V: Any, t: Any, b: Any, *, gamma: float, alpha: float, filter_threshold: float | None,
                detach_weight: bool, chunk_size: int | str | None) -> Any:
    value = losses.sigmoid_loss(U, V, t, b, reduction="per_anchor", gamma=gamma, filter_threshold=filter_threshold,
                                detach_weight=detach_weight, chunk_size=chunk_size)
    return value + alpha * losses.relic_kl(U, V, t) if alpha else value


def mscl_loss(U: Any, V: Any, t: Any, b: Any, *, gamma: float = 1.0, alpha: float = 0.0, filter_threshold: float | None = None,
              detach_weight: bool = False, chunk_size: int | str | None = None) -> Any:
    """MSCL objective (Basara): modulated or filtered sigmoid loss per anchor + alpha * ReLIC KL
    (:func:`sigref.losses.mscl_loss_and_grad`), differentiable in U, V, t and b."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
        raise ValueError(f"alpha must be a number >= 0, got {alpha!r}")
    options = dict(gamma=gamma, alpha=alpha, filter_threshold=filter_threshold, detach_weight=detach_weight, chunk_size=chunk_size)
    return _call(_mscl_value, losses.mscl_loss_and_grad, {"U": U, "V": V, "t": t, "b": b}, options)
