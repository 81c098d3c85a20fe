"""JAX measurements for ``sigref bench`` (discovered by :mod:`sigref.bench` when this plugin is installed).

Every row is one ``jax.jit``-compiled forward + backward, compiled ahead of time in the row's setup
(``jit(...).lower(...).compile()``), so the timed calls exclude compilation; the compile time is
reported apart, in the row's ``compile_s`` field, with XLA's own account of the program's memory
(``xla_bytes``: temporary and output buffers) beside the measured resident peak. Registers, for ``jax``:

``floor``
    the three products S = U V^T, S V, S^T U, jitted (the generic floor, compiled);
``sigref``, ``sigref_gamma``, ``sigref_filter``
    ``jax.value_and_grad`` of the custom_vjp bridge :func:`sigref_jax.sigmoid_loss` (analytic
    backward, chunked forward in one ``lax.scan``), plain and with the MSCL options;
``mscl``
    :func:`sigref_jax.mscl_loss` (gamma = 1, no KL term: the modulated loss through its own entry point);
``big_vision``
    the dense JAX peer :func:`dense_peer`, written here from the paper (SigLIP, Zhai et al.
    arXiv:2303.15343, and the form of big_vision's trainer): full N x N logits ``z = t U V^T - b``,
    labels ``2 I - 1``, ``-sum log_sigmoid(labels * z) / N``, differentiated by
    ``jax.value_and_grad``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

import sigref_jax
from sigref import bench as _bench

__all__ = ["dense_peer"]

_JAX = frozenset({"jax"})


def _compiled(fn: Callable[..., Any], *args: Any) -> tuple[Callable[[], Any], float]:
    """``fn`` compiled ahead of time for ``args``; the call's ``compile_s`` and ``xla_bytes`` (XLA's temporary plus
    output buffers: the compiled program's own peak above its arguments) are attributes of the returned call."""
    started = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    seconds = time.perf_counter() - started
    memory = compiled.memory_analysis()

    def run() -> Any:
        return jax.block_until_ready(compiled(*args))

    run.compile_s = seconds
    run.xla_bytes = int(memory.temp_size_in_bytes + memory.output_size_in_bytes) if memory is not None else None
    return run, seconds


def _loss_row(loss: Callable[..., Any]) -> Callable[..., Callable[[], Any]]:
    def setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
        U, V, t, b = (inputs[k] for k in ("U", "V", "t", "b"))
        step = jax.value_and_grad(lambda U, V, t, b: loss(U, V, t, b, options), argnums=(0, 1, 2, 3))
        compiled, seconds = _compiled(step, U, V, t, b)

        def run() -> dict[str, Any]:
            value, (gU, _, gt, gb) = compiled()
            return {"loss": value, "U": gU, "t": gt, "b": gb}

        run.elementwise = "jax.jit (XLA), compiled ahead of the timed calls"
        run.compile_s, run.xla_bytes = seconds, compiled.xla_bytes
        return run

    return setup


def _sigref(name: str) -> Callable[..., Any]:
    return lambda U, V, t, b, options: sigref_jax.sigmoid_loss(U, V, t, b, **_bench.variant_kwargs(name, options))


def _mscl(U: Any, V: Any, t: Any, b: Any, options: dict[str, Any]) -> Any:
    return sigref_jax.mscl_loss(U, V, t, b, gamma=options["gamma"], chunk_size=options.get("chunk_size"))


def dense_peer(U: jax.Array, V: jax.Array, t: float | jax.Array, b: float | jax.Array, options: dict[str, Any] | None = None) -> jax.Array:
    r"""Evaluate the big_vision-style dense sigmoid loss, the peer of the ``big_vision`` row.

    .. math::

        L = -\frac{1}{N} \sum_{i,j} \log\sigma\bigl(y_{ij}\,(t\langle u_i, v_j\rangle - b)\bigr),
        \qquad y = 2I - 1,

    from the full :math:`N \times N` logits (SigLIP [1]_), so that ``jax.value_and_grad`` of it
    keeps them for the backward pass: the memory that sigref's chunked bridge avoids.

    Parameters
    ----------
    U, V : jax.Array, shape (N, d)
        Paired unit rows.
    t : float or jax.Array
        Inverse temperature.
    b : float or jax.Array
        Bias, subtracted.
    options : dict, optional
        The row's benchmark options (ignored: the dense loss has none).

    Returns
    -------
    jax.Array
        The per-anchor loss :math:`L`, 0-d.

    See Also
    --------
    sigref_jax.bridge.sigmoid_loss : The same value, chunked, with an analytic backward.

    References
    ----------
    .. [1] X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
       Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343

    Examples
    --------
    >>> import jax
    >>> from sigref.backend import get_backend
    >>> from sigref.sampling import uniform_sphere
    >>> from sigref_jax.bench import dense_peer
    >>> jx = get_backend("jax", dtype="float64")
    >>> U, V = jx.asarray(uniform_sphere(0, (4, 3))), jx.asarray(uniform_sphere(1, (4, 3)))
    >>> print(f"{float(jax.jit(dense_peer)(U, V, 10.0, 10.0)):.6f}")
    12.303664
    """
    logits = t * (U @ V.T) - b
    labels = 2.0 * jnp.eye(U.shape[0], dtype=U.dtype) - 1.0
    return -jnp.sum(jax.nn.log_sigmoid(labels * logits)) / U.shape[0]


def _floor_setup(backend: Any, inputs: dict[str, Any] | None, options: dict[str, Any]) -> Callable[[], Any]:
    run, seconds = _compiled(_bench.floor_products, inputs["U"], inputs["V"])
    wrapped = lambda: run() and None
    wrapped.elementwise = "jax.jit (XLA), compiled ahead of the timed calls"
    wrapped.compile_s, wrapped.xla_bytes = seconds, run.xla_bytes
    return wrapped


_bench.register(_bench.Measurement("floor", "U V^T, S V, S^T U (jax.jit; lower bound)", _floor_setup, kind="floor",
                                   libraries=_JAX, n2_memory=1.0, order=0))
for _name, _order, _desc in (
    ("sigref", 20, "jax.value_and_grad of sigref_jax.sigmoid_loss (custom_vjp, analytic backward), jitted"),
    ("sigref_gamma", 21, "sigref_jax.sigmoid_loss, MSCL gamma > 0, jitted"),
    ("sigref_filter", 22, "sigref_jax.sigmoid_loss, MSCL gamma + filter_threshold, jitted"),
):
    _bench.register(_bench.Measurement(_name, _desc, _loss_row(_sigref(_name)), libraries=_JAX, n2_memory=8.0, chunked=True,
                                       order=_order))
_bench.register(_bench.Measurement("mscl", "sigref_jax.mscl_loss (gamma = 1, alpha = 0), jitted", _loss_row(_mscl), libraries=_JAX,
                                   n2_memory=8.0, chunked=True, order=23))
_bench.register(_bench.Measurement("big_vision", "dense jnp loss from the paper (full N x N logits) + jax.value_and_grad, jitted",
                                   _loss_row(dense_peer), libraries=_JAX, n2_memory=6.0, order=30))
