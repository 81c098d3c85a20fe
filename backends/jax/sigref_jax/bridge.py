r"""The losses of sigref as ``jax.custom_vjp`` functions whose backward is sigref's analytic gradient.

For unit rows :math:`U = (u_1, \dots, u_N)`, :math:`V = (v_1, \dots, v_N)` and logits
:math:`z_{ij} = t\langle u_i, v_j\rangle - b` (SigLIP [1]_; :math:`b` subtracted, as in the papers),
the forward pass runs sigref's chunked array-API kernel on ``jax.numpy`` arrays and, under
differentiation, also its analytic gradients

.. math::

    \frac{\partial L}{\partial U} = t\, G V, \qquad
    \frac{\partial L}{\partial V} = t\, G^\top U, \qquad
    \frac{\partial L}{\partial t} = \sum_{ij} G_{ij} \langle u_i, v_j\rangle, \qquad
    \frac{\partial L}{\partial b} = -\sum_{ij} G_{ij},

with :math:`G = \partial L / \partial z`. Those gradients are the saved residuals:
:math:`O(N d + \text{batch})`, never the :math:`N \times N` logits that reverse-mode autodiff of a
dense loss keeps (big_vision issues 130, 132, 170 ask for this). The backward multiplies them by
the incoming cotangent. The functions compose with ``jax.jit`` (the row blocks run in one
``lax.scan``), ``jax.grad`` and ``jax.vmap`` (sigref's kernels handle leading batch axes; vmap
adds one more). Second derivatives are not defined (the backward is not itself differentiated).

Inputs: ``U``, ``V`` of shape (..., N, d) with a real floating dtype (float16/bfloat16 are
evaluated in float32, and the value and gradients cast back); ``t``, ``b`` Python numbers or arrays
broadcastable to the batch shape. Wrong shapes, integer dtypes and inputs from two array libraries
raise sigref's errors, eagerly and under ``jax.jit`` alike; value checks (:math:`t > 0`, finite
inputs) only run on concrete arrays, not on traced ones.

References
----------
.. [1] X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
   Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343
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


def sigmoid_loss(U: jax.Array, V: jax.Array, t: float | jax.Array, b: float | jax.Array | None = None, *,
                 b_rel: float | jax.Array | None = None, **options: Any) -> jax.Array:
    r"""Sigmoid contrastive loss on JAX arrays, differentiable in U, V, t and b (or ``b_rel``).

    The value of :func:`sigref.losses.sigmoid_loss`: with logits
    :math:`z_{ij} = t\langle u_i, v_j\rangle - b` (SigLIP [1]_, bias subtracted),
    :math:`q_{ii} = -z_{ii}` on the positives and :math:`q_{ij} = z_{ij}` on the negatives,

    .. math::

        L(U, V; t, b) = r \sum_{i,j} w(q_{ij}) \operatorname{softplus}(q_{ij}),

    with :math:`w = 1` (plain) or :math:`w = \sigma(q)^\gamma` (MSCL) and :math:`r` the reduction
    factor (1, :math:`1/N` or :math:`1/N^2`). With ``b_rel`` the relative-bias form
    :math:`L(U, V; t, t\, b_{\mathrm{rel}})` [2]_ is evaluated. Differentiation (``jax.grad``,
    ``jax.vjp``) uses sigref's analytic gradients (module docstring).

    Parameters
    ----------
    U, V : jax.Array, shape (..., N, d)
        Paired unit rows with a real floating dtype (half precision is evaluated in float32).
    t : float or jax.Array
        Inverse temperature :math:`t > 0`, broadcastable to the batch shape.
    b : float or jax.Array, optional
        Bias, subtracted from :math:`t\langle u, v\rangle`. Give exactly one of ``b`` and ``b_rel``.
    b_rel : float or jax.Array, optional
        Relative bias, :math:`b = t\, b_{\mathrm{rel}}` (keyword only).
    **options
        The keyword options of :func:`sigref.losses.sigmoid_loss`: ``reduction`` (``"sum"``,
        ``"per_anchor"`` (default) or ``"mean"``), ``gamma`` (MSCL weight
        :math:`\sigma(q)^\gamma`), ``detach_weight``, ``filter_threshold``, ``negatives_only`` and
        ``chunk_size`` (rows per block; memory :math:`O(\text{chunk} \cdot N)`). They are static
        under ``jax.jit`` (Python values, not traced).

    Returns
    -------
    jax.Array, shape (...)
        The loss per batch element, in the dtype of ``U``.

    Raises
    ------
    TypeError
        If both or neither of ``b`` and ``b_rel`` are given, the inputs come from different array
        libraries, a parameter is a bool, or for the core's dtype errors.
    ValueError
        If ``U`` or ``V`` is not of shape (..., N, d) with N >= 2, for options out of range, and
        (on concrete arrays) for ``t <= 0`` or non-finite inputs.

    See Also
    --------
    sigref.losses.sigmoid_loss : The array-API kernel evaluated here.
    sigref_torch.bridge.sigmoid_loss : The torch autograd counterpart.

    References
    ----------
    .. [1] X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
       Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343
    .. [2] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> import jax
    >>> from sigref.backend import get_backend
    >>> from sigref.sampling import uniform_sphere
    >>> jx = get_backend("jax", dtype="float64")
    >>> U, V = jx.asarray(uniform_sphere(0, (4, 3))), jx.asarray(uniform_sphere(1, (4, 3)))
    >>> from sigref_jax import sigmoid_loss
    >>> step = jax.jit(jax.value_and_grad(sigmoid_loss, argnums=(0, 2, 3)))
    >>> loss, (dU, dt, db) = step(U, V, 10.0, 10.0)
    >>> print(f"{float(loss):.6f} {float(dt):.6f} {float(db):.6f}", dU.shape)
    12.303664 0.299148 0.910936 (4, 3)

    Small examples run faster compiled (``jax.jit``) than eagerly, where JAX compiles every
    operation on its own. Options are Python values, fixed at tracing:

    >>> summed = jax.jit(lambda U, V, t, b: sigmoid_loss(U, V, t, b, reduction="sum"))
    >>> print(f"{float(summed(U, V, 10.0, 10.0)):.4f}")
    49.2147
    """
    if (b is None) == (b_rel is None):
        raise TypeError("give exactly one of b (bias) and b_rel (relative bias, b = t * b_rel)")
    if b is not None:
        return _call(losses.sigmoid_loss, losses.sigmoid_loss_and_grad, {"U": U, "V": V, "t": t, "b": b}, options)
    return _call(losses.relative_bias_loss, losses.relative_bias_loss_and_grad, {"U": U, "V": V, "t": t, "b_rel": b_rel}, options)


def relative_bias_loss(U: jax.Array, V: jax.Array, t: float | jax.Array, b_rel: float | jax.Array, **options: Any) -> jax.Array:
    r"""The relative-bias sigmoid loss on JAX arrays, differentiable in U, V, t and b_rel.

    Definition 1 of Bangachev et al. [1]_:

    .. math::

        L_{\mathrm{RB}}(U, V; t, b_{\mathrm{rel}}) = L(U, V; t, t\, b_{\mathrm{rel}}),

    :func:`sigmoid_loss` at the bias :math:`b = t\, b_{\mathrm{rel}}`; the gradient in ``t`` is
    taken at fixed ``b_rel``.

    Parameters
    ----------
    U, V : jax.Array, shape (..., N, d)
        Paired unit rows.
    t : float or jax.Array
        Inverse temperature :math:`t > 0`.
    b_rel : float or jax.Array
        Relative bias.
    **options
        The keyword options of :func:`sigref.losses.sigmoid_loss`.

    Returns
    -------
    jax.Array, shape (...)
        The loss per batch element.

    Raises
    ------
    TypeError
        For inputs from different array libraries or the core's dtype errors.
    ValueError
        For wrong shapes, options out of range, and (on concrete arrays) ``t <= 0`` or non-finite
        inputs.

    See Also
    --------
    sigref.losses.relative_bias_loss : The array-API kernel evaluated here.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> import jax
    >>> from sigref.backend import get_backend
    >>> from sigref.sampling import uniform_sphere
    >>> jx = get_backend("jax", dtype="float64")
    >>> U, V = jx.asarray(uniform_sphere(0, (4, 3))), jx.asarray(uniform_sphere(1, (4, 3)))
    >>> from sigref_jax import relative_bias_loss
    >>> loss, db_rel = jax.jit(jax.value_and_grad(relative_bias_loss, argnums=3))(U, V, 10.0, 1.0)
    >>> print(f"{float(loss):.6f} {float(db_rel):.4f}")
    12.303664 9.1094
    """
    return sigmoid_loss(U, V, t, b_rel=b_rel, **options)


def siglip_loss(image_features: jax.Array, text_features: jax.Array, logit_scale: float | jax.Array, logit_bias: float | jax.Array, *,
                chunk_size: int | str | None = None) -> jax.Array:
    r"""Sigmoid loss in the big_vision / open_clip convention, differentiable in all four inputs.

    SigLIP [1]_, big_vision and open_clip add the bias and divide by the number of rows:

    .. math::

        L = -\frac{1}{N} \sum_{i,j} \log\sigma\bigl(y_{ij}\,(s \langle x_i, y_j\rangle + \beta)\bigr),
        \qquad y_{ii} = 1,\ y_{ij} = -1\ (i \ne j),

    with ``logit_scale`` :math:`s` already exponentiated and ``logit_bias`` :math:`\beta`:
    :func:`sigmoid_loss` with :math:`t = s`, :math:`b = -\beta` and ``reduction="per_anchor"``.

    Parameters
    ----------
    image_features, text_features : jax.Array, shape (..., N, d)
        Paired unit rows :math:`x_i` and :math:`y_j`.
    logit_scale : float or jax.Array
        The exponentiated scale :math:`s > 0`.
    logit_bias : float or jax.Array
        The bias :math:`\beta`, added to the scaled similarities.
    chunk_size : int or "auto" or None, optional
        Anchors per row block; ``"auto"`` picks about :math:`2^{22} / N` rows, None one block.

    Returns
    -------
    jax.Array, shape (...)
        The loss per batch element.

    Raises
    ------
    TypeError
        For inputs from different array libraries or the core's dtype errors.
    ValueError
        For wrong shapes, a bad ``chunk_size``, and (on concrete arrays) ``logit_scale <= 0`` or
        non-finite inputs.

    See Also
    --------
    sigref.losses.siglip_loss : The array-API kernel of this convention.

    References
    ----------
    .. [1] X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
       Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343

    Examples
    --------
    >>> from sigref.backend import get_backend
    >>> from sigref.sampling import uniform_sphere
    >>> jx = get_backend("jax", dtype="float64")
    >>> U, V = jx.asarray(uniform_sphere(0, (4, 3))), jx.asarray(uniform_sphere(1, (4, 3)))
    >>> import jax
    >>> from sigref_jax import siglip_loss
    >>> print(f"{float(jax.jit(siglip_loss)(U, V, 10.0, -10.0)):.6f}")
    12.303664
    """
    return sigmoid_loss(image_features, text_features, logit_scale, -logit_bias, reduction="per_anchor", chunk_size=chunk_size)


def _mscl_value(U: Any, V: Any, t: Any, b: Any, *, gamma: float, alpha: float, filter_threshold: float | None,
                detach_weight: bool, chunk_size: int | str | None) -> Any:
    value = losses.sigmoid_loss(U, V, t, b, reduction="per_anchor", gamma=gamma, filter_threshold=filter_threshold,
                                detach_weight=detach_weight, chunk_size=chunk_size)
    return value + alpha * losses.relic_kl(U, V, t) if alpha else value


def mscl_loss(U: jax.Array, V: jax.Array, t: float | jax.Array, b: float | jax.Array, *, gamma: float = 1.0, alpha: float = 0.0,
              filter_threshold: float | None = None, detach_weight: bool = False, chunk_size: int | str | None = None) -> jax.Array:
    r"""The MSCL objective of unit rows, per anchor, differentiable in U, V, t and b.

    The modulated sigmoid contrastive loss (MSCL, Basara) plus the ReLIC invariance term of its
    reference code:

    .. math::

        L = \frac{1}{N} \sum_{i,j} \sigma(q_{ij})^\gamma \operatorname{softplus}(q_{ij})
            + \alpha\, \mathrm{KL}(U, V; t),

    with :math:`q_{ii} = -z_{ii}`, :math:`q_{ij} = z_{ij}`, :math:`z_{ij} = t\langle u_i, v_j\rangle - b`
    and :math:`\mathrm{KL}` of :func:`sigref.losses.relic_kl`. With ``filter_threshold`` the first
    term is the plain loss over the positives and the negatives with :math:`\sigma(q)^\gamma` above
    the threshold, still divided by :math:`N`. The backward is that of
    :func:`sigref.losses.mscl_loss_and_grad`.

    Parameters
    ----------
    U : jax.Array, shape (..., N, d)
        Unit rows of the online network.
    V : jax.Array, shape (..., N, d)
        Unit rows of the target network.
    t : float or jax.Array
        Inverse temperature :math:`t > 0`.
    b : float or jax.Array
        Bias, subtracted.
    gamma : float, default 1.0
        Confidence penalty :math:`\gamma \ge 0`; 0 is the plain sigmoid loss.
    alpha : float, default 0.0
        Weight :math:`\alpha \ge 0` of the KL term; 0 skips it.
    filter_threshold : float, optional
        Hard-negative filtering threshold in (0, 1), or None.
    detach_weight : bool, default False
        Treat :math:`\sigma(q)^\gamma` as a constant in the gradient.
    chunk_size : int or "auto" or None, optional
        Anchors per row block of the sigmoid term.

    Returns
    -------
    jax.Array, shape (...)
        The objective per batch element.

    Raises
    ------
    ValueError
        If ``alpha`` is not a number :math:`\ge 0`, ``gamma`` or ``filter_threshold`` is out of
        range, or for wrong shapes (and, on concrete arrays, bad values).
    TypeError
        For inputs from different array libraries or the core's dtype errors.

    See Also
    --------
    sigref.losses.mscl_loss_and_grad : The array-API kernel of the value and gradients.

    Examples
    --------
    >>> from sigref.backend import get_backend
    >>> from sigref.sampling import uniform_sphere
    >>> jx = get_backend("jax", dtype="float64")
    >>> U, V = jx.asarray(uniform_sphere(0, (4, 3))), jx.asarray(uniform_sphere(1, (4, 3)))
    >>> import jax
    >>> from sigref_jax import mscl_loss
    >>> modulated = jax.jit(lambda U, V, t, b: mscl_loss(U, V, t, b, gamma=1.0, alpha=0.5))
    >>> print(f"{float(modulated(U, V, 10.0, 10.0)):.6f}")
    15.101008
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
        raise ValueError(f"alpha must be a number >= 0, got {alpha!r}")
    options = dict(gamma=gamma, alpha=alpha, filter_threshold=filter_threshold, detach_weight=detach_weight, chunk_size=chunk_size)
    return _call(_mscl_value, losses.mscl_loss_and_grad, {"U": U, "V": V, "t": t, "b": b}, options)
