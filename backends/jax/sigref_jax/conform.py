"""``sigref conform`` on JAX: gradients by ``jax.grad`` (arXiv 2303.15343's loss as anyone writes it in JAX).

Registered as the ``jax`` hook of the entry-point group ``sigref.conform``
(:class:`sigref.conform.Framework`): a JAX callable's value and its gradients with respect to the
embeddings, t (or ``logit_scale``) and b (or ``logit_bias``) are compared with the goldens. There is
no multi-process launch: a JAX loss spread over devices (``jax.shard_map``) is one program, checked
as a single call.

Examples
--------
>>> import jax.numpy as jnp
>>> from sigref_jax.conform import value_and_grad
>>> value, (gU, gV, gt, gb) = value_and_grad(lambda U, V, t, b: jnp.sum(t * U @ V.T - b),
...                                          (jnp.eye(2), jnp.eye(2), jnp.asarray(2.0), jnp.asarray(1.0)), {})
>>> float(value), float(gt), float(gb)
(0.0, 2.0, -4.0)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from sigref.conform.target import Framework

__all__ = ["FRAMEWORK", "recognise", "value_and_grad"]


def _differentiable(x: Any) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.floating)


def value_and_grad(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[jax.Array, tuple[jax.Array, ...]]:
    """``fn(*args, **kwargs)`` and the gradient of its sum in each floating-array argument.

    Parameters
    ----------
    fn : callable
        The loss, taking JAX arrays.
    args : tuple
        Its positional arguments; the floating ``jax.Array`` ones are differentiated.
    kwargs : dict
        Keyword arguments passed through.

    Returns
    -------
    value : jax.Array
        The loss value (batched values keep their shape).
    grads : tuple of jax.Array
        d sum(value) / d args[k] for each argument (zeros for an argument that is not a floating array).

    Raises
    ------
    TypeError
        When the loss does not return a JAX array.
    """
    wrt = tuple(k for k, a in enumerate(args) if _differentiable(a))

    def total(*xs: Any) -> tuple[Any, Any]:
        full = list(args)
        for k, x in zip(wrt, xs):
            full[k] = x
        value = fn(*full, **kwargs)
        if not isinstance(value, jax.Array):
            raise TypeError(f"the loss must return a jax.Array, got {type(value).__name__}")
        return jnp.sum(value), value

    (_, value), grads = jax.value_and_grad(total, argnums=tuple(range(len(wrt))), has_aux=True)(*(args[k] for k in wrt))
    by_position = dict(zip(wrt, grads))
    return value, tuple(by_position.get(k, jnp.zeros_like(jnp.asarray(a, dtype=float))) for k, a in enumerate(args))


def recognise(obj: Any) -> dict[str, Any] | None:
    """The declaration of sigref_jax's own losses (framework, convention, batch axes); None for other callables."""
    from sigref_jax import bridge

    own = ((bridge.sigmoid_loss, "paper"), (bridge.siglip_loss, "open_clip"))
    for fn, convention in own:
        if obj is fn:
            return {"framework": "jax", "convention": convention, "batch_axes": True}
    return None


#: The ``jax`` hook of the ``sigref.conform`` entry-point group.
FRAMEWORK = Framework("jax", value_and_grad, recognise=recognise)
