r"""ReLIC-style invariance term of the MSCL reference code (``scl/scl.py::scl_loss`` of
github.com/filipbasara0/sigmoid-contrastive-loss).

With logits :math:`Z = t\, U V^\top` (online rows i, target columns j; a bias cancels in both
softmaxes), :math:`P` the row softmax of :math:`Z` (online i over targets j) and :math:`C` the
column softmax of :math:`Z`, the target distribution of row i is column i of :math:`C` (target i
over online samples), and

.. math::

    \mathrm{KL}(U, V; t) = \frac1N \sum_{ij} C_{ji} (\log C_{ji} - \log P_{ij})

(``kl_div(log P, C^T, reduction="batchmean")``). Gradients flow through both distributions, as
in the reference. With :math:`W = \log C - (\log P)^\top`,

.. math::

    G = \frac{\partial\, \mathrm{KL}}{\partial Z}
      = \frac1N \Big[ C \odot \big(W - \mathbf{1}\mathbf{1}^\top (C \odot W)\big) - (C^\top - P) \Big],

then :math:`\partial\mathrm{KL}/\partial U = t\, G V`, :math:`\partial\mathrm{KL}/\partial V = t\, G^\top U`
and :math:`\partial\mathrm{KL}/\partial t = \sum_{ij} G_{ij} (U V^\top)_{ij}`.
"""

from __future__ import annotations

from typing import Any

from sigref._arrays import check_embeddings, namespace, param
from sigref.losses._result import LossResult, sum_to_shape
from sigref.numerics import logsumexp
from sigref.types import Array, Scalar

__all__ = ["relic_kl", "relic_kl_and_grad"]


def _evaluate(U: Any, V: Any, t: Any, want_grad: bool) -> LossResult:
    xp = namespace(U=U, V=V, t=t)
    check_embeddings(xp, U, V)
    n = U.shape[-2]
    t_arr = param(xp, "t", t, U, positive=True)
    t4 = t_arr[..., None, None]
    S = U @ xp.matrix_transpose(V)
    Z = t4 * S
    log_p = Z - logsumexp(Z, axis=-1, keepdims=True)  # log-softmax as Z - logsumexp(Z): never log(exp(Z) / sum), no overflow
    log_c = Z - logsumexp(Z, axis=-2, keepdims=True)
    C = xp.exp(log_c)
    CW = C * (log_c - xp.matrix_transpose(log_p))
    value = xp.sum(CW, axis=(-2, -1)) / n
    if not want_grad:
        return LossResult(value=value, grad={})
    G = (C * (log_c - xp.matrix_transpose(log_p)) - C * xp.sum(CW, axis=-2, keepdims=True)
         - (xp.matrix_transpose(C) - xp.exp(log_p))) / n
    grad = {
        "U": sum_to_shape(xp, t4 * (G @ V), U.shape),
        "V": sum_to_shape(xp, t4 * (xp.matrix_transpose(G) @ U), V.shape),
        "t": sum_to_shape(xp, xp.sum(G * S, axis=(-2, -1)), t_arr.shape),
    }
    grad["log_t"] = t_arr * grad["t"]
    return LossResult(value=value, grad=grad)


def relic_kl(U: Array, V: Array, t: Scalar | Array) -> Array:
    r"""Compute the ReLIC invariance KL term of MSCL's reference code.

    With :math:`Z = t\, U V^\top`, :math:`P` its row softmax and :math:`C` its column softmax,

    .. math::

        \mathrm{KL}(U, V; t) = \frac1N \sum_{i, j} C_{ji} \big(\log C_{ji} - \log P_{ij}\big),

    the divergence :math:`\mathrm{KL}(C_{\cdot i} \,\|\, P_{i \cdot})` of the online distribution
    :math:`P_{i \cdot}` (online i over targets) from the target distribution :math:`C_{\cdot i}`
    (target i over online samples), averaged over the N anchors: ``kl_div(log P, C^T, reduction="batchmean")`` of the MSCL code [1]_. It vanishes
    when :math:`U V^\top` is symmetric, e.g. for :math:`U = V`.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Online embeddings as unit rows, real floating.
    V : Array, shape (..., N, d)
        Target embeddings as unit rows (the same dtype and d).
    t : float or Array
        Inverse temperature :math:`t > 0`, a number or batch-shaped.

    Returns
    -------
    Array, shape (...)
        The KL term for each batch index, :math:`\ge 0`.

    Raises
    ------
    TypeError
        If the arrays come from different array libraries, ``U`` or ``V`` is not real floating,
        their dtypes differ, or ``t`` is a bool or a non-floating array.
    ValueError
        If the shapes are not (..., N, d) with one N >= 2 and one d, the batch shapes do not
        broadcast, ``t`` is not > 0, or an input holds NaN or infinity (value checks, skipped
        for traced arrays).

    See Also
    --------
    sigref.losses.relic_kl_and_grad : The value with its gradients.
    sigref.losses.mscl_loss_and_grad : The MSCL objective that adds it with weight alpha.

    References
    ----------
    .. [1] F. Basara, "Modulated Sigmoid Contrastive Loss for Vision" (MSCL), reference code at
       https://github.com/filipbasara0/sigmoid-contrastive-loss

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.losses import relic_kl
    >>> from sigref.optim import project_to_sphere
    >>> from sigref.sampling import uniform_sphere
    >>> U = uniform_sphere(0, (4, 3))
    >>> V = project_to_sphere(U + 0.3 * uniform_sphere(1, (4, 3)))
    >>> print(f"{float(relic_kl(U, V, 5.0)):.6f}")
    0.077767

    The definition with explicit softmaxes (rows of P, columns of C):

    >>> Z = 5.0 * U @ V.T
    >>> P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    >>> C = np.exp(Z) / np.exp(Z).sum(axis=0, keepdims=True)
    >>> print(f"{np.sum(C.T * (np.log(C.T) - np.log(P))) / 4:.6f}")
    0.077767
    >>> bool(abs(float(relic_kl(U, U, 5.0))) < 1e-12)
    True
    """
    return _evaluate(U, V, t, False).value


def relic_kl_and_grad(U: Array, V: Array, t: Scalar | Array) -> LossResult:
    r"""Compute the ReLIC KL term and its analytic gradients.

    Gradients flow through both softmaxes, as in the reference code. With
    :math:`W = \log C - (\log P)^\top`,

    .. math::

        G = \frac{\partial\, \mathrm{KL}}{\partial Z}
          = \frac1N \Big[ C \odot \big(W - \mathbf{1}\mathbf{1}^\top (C \odot W)\big) - (C^\top - P) \Big],

    :math:`\partial\mathrm{KL}/\partial U = t\, G V`, :math:`\partial\mathrm{KL}/\partial V = t\, G^\top U`,
    :math:`\partial\mathrm{KL}/\partial t = \sum_{ij} G_{ij} (U V^\top)_{ij}` and
    :math:`\partial\mathrm{KL}/\partial \log t = t\, \partial\mathrm{KL}/\partial t`.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Online embeddings as unit rows.
    V : Array, shape (..., N, d)
        Target embeddings as unit rows.
    t : float or Array
        Inverse temperature :math:`t > 0`.

    Returns
    -------
    LossResult
        ``value`` of shape (...) and ``grad`` with keys ``"U"``, ``"V"``, ``"t"`` and
        ``"log_t"``; no diagnostics.

    Raises
    ------
    TypeError
        As :func:`sigref.losses.relic_kl`.
    ValueError
        As :func:`sigref.losses.relic_kl`.

    See Also
    --------
    sigref.losses.relic_kl : The value alone.

    Examples
    --------
    >>> from sigref.losses import relic_kl, relic_kl_and_grad
    >>> from sigref.optim import project_to_sphere
    >>> from sigref.sampling import uniform_sphere
    >>> U = uniform_sphere(0, (4, 3))
    >>> V = project_to_sphere(U + 0.3 * uniform_sphere(1, (4, 3)))
    >>> res = relic_kl_and_grad(U, V, 5.0)
    >>> sorted(res.grad)
    ['U', 'V', 'log_t', 't']
    >>> h = 1e-6
    >>> fd = (relic_kl(U, V, 5.0 + h) - relic_kl(U, V, 5.0 - h)) / (2 * h)
    >>> print(f"{float(res.grad['t']):.6f} {float(fd):.6f}")
    0.009771 0.009771
    """
    return _evaluate(U, V, t, True)
