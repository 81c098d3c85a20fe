r"""Symmetric InfoNCE with a dividing temperature, as in Lee et al.'s comparison (arXiv 2402.12613).

With :math:`A = U V^\top / \tau` (rows of :math:`U` and :math:`V` unit vectors, leading batch axes
allowed),

.. math::

    L(U, V; \tau) = -\frac1N \sum_i \log \operatorname{softmax}_j(A_{ij})\big|_{j=i}
        - \frac1N \sum_i \log \operatorname{softmax}_j(A_{ji})\big|_{j=i},

the second (column) term only when ``symmetric``. With :math:`P` the row softmax and :math:`Q` the
column softmax of :math:`A`, :math:`\partial L / \partial A = ((P - I) + (Q - I)) / N`, so

.. math::

    \frac{\partial L}{\partial U} = \frac{\partial L}{\partial A} \frac{V}{\tau}, \qquad
    \frac{\partial L}{\partial V} = \Big(\frac{\partial L}{\partial A}\Big)^{\!\top} \frac{U}{\tau}, \qquad
    \frac{\partial L}{\partial \tau} = -\frac1\tau \sum_{ij} \frac{\partial L}{\partial A_{ij}} A_{ij}.

At the simplex ETF with :math:`U = V`:
:math:`L = 2 \log(1 + (N-1) \exp(-N / ((N-1) \tau)))` (Lu & Steinerberger 2022, Thm 1, quoted as
Corollary 1 in arXiv 2402.12613).
"""

from __future__ import annotations

from typing import Any

import array_api_compat

from sigref._arrays import check_embeddings, namespace, param
from sigref.losses._result import LossResult, sum_to_shape
from sigref.numerics import logsumexp
from sigref.types import Array, Scalar

__all__ = ["infonce_loss", "infonce_loss_and_grad"]


def _evaluate(U: Any, V: Any, tau: Any, symmetric: bool, want_grad: bool) -> LossResult:
    xp = namespace(U=U, V=V, tau=tau)
    check_embeddings(xp, U, V)
    n = U.shape[-2]
    tau_arr = param(xp, "tau", tau, U, positive=True)
    tau4 = tau_arr[..., None, None]
    A = (U @ xp.matrix_transpose(V)) / tau4
    diag = xp.linalg.diagonal(A)
    row_lse = logsumexp(A, axis=-1)  # log-softmax through the max-shifted logsumexp: no exp(A) overflow for small tau
    value = xp.sum(row_lse - diag, axis=-1) / n
    if symmetric:
        col_lse = logsumexp(A, axis=-2)
        value = value + xp.sum(col_lse - diag, axis=-1) / n
    if not want_grad:
        return LossResult(value=value, grad={})
    eye = xp.eye(n, dtype=U.dtype, device=array_api_compat.device(U))
    dA = xp.exp(A - row_lse[..., :, None]) - eye
    if symmetric:
        dA = dA + xp.exp(A - col_lse[..., None, :]) - eye
    dA = dA / n
    grad = {
        "U": sum_to_shape(xp, (dA @ V) / tau4, U.shape),
        "V": sum_to_shape(xp, (xp.matrix_transpose(dA) @ U) / tau4, V.shape),
        "tau": sum_to_shape(xp, -xp.sum(dA * A, axis=(-2, -1)) / tau_arr, tau_arr.shape),
    }
    return LossResult(value=value, grad=grad)


def infonce_loss(U: Array, V: Array, tau: Scalar | Array, *, symmetric: bool = True) -> Array:
    r"""Compute the symmetric (or one-sided) InfoNCE loss with a dividing temperature.

    With :math:`A_{ij} = \langle u_i, v_j \rangle / \tau`,

    .. math::

        L(U, V; \tau) = \frac1N \sum_i \Big[ \log \sum_j e^{A_{ij}} - A_{ii} \Big]
            + \frac1N \sum_i \Big[ \log \sum_j e^{A_{ji}} - A_{ii} \Big],

    the second (column) term only when ``symmetric``: the InfoNCE of Lee et al.'s comparison [1]_.
    Its minimiser for :math:`d \ge N - 1` is the simplex ETF with :math:`U = V` for every
    :math:`\tau > 0` (Lu & Steinerberger 2022, Thm 1; Corollary 1 of [1]_).

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Embeddings :math:`u_i` as unit rows, real floating.
    V : Array, shape (..., N, d)
        Paired embeddings :math:`v_j` (the same dtype and d; batch shapes broadcast).
    tau : float or Array
        Temperature :math:`\tau > 0` (it divides the similarities): a number or batch-shaped.
    symmetric : bool, optional
        Add the column (V-to-U) term (default True).

    Returns
    -------
    Array, shape (...)
        The loss for each batch index.

    Raises
    ------
    TypeError
        If the arrays come from different array libraries, ``U`` or ``V`` is not real floating,
        their dtypes differ, or ``tau`` is a bool or a non-floating array.
    ValueError
        If the shapes are not (..., N, d) with one N >= 2 and one d, the batch shapes do not
        broadcast, ``tau`` is not > 0, or an input holds NaN or infinity (value checks, skipped
        for traced arrays).

    See Also
    --------
    sigref.losses.infonce_loss_and_grad : The value with its gradients.
    sigref.ccem.infonce_etf_loss : The closed form at the simplex ETF.

    References
    ----------
    .. [1] C. Lee, J. Chang, J. Sohn, "Analysis of Using Sigmoid Loss for Contrastive Learning",
       arXiv:2402.12613, https://arxiv.org/abs/2402.12613

    Examples
    --------
    At the simplex ETF with :math:`U = V` the loss is :math:`2 \log(1 + (N-1) e^{-N / ((N-1) \tau)})`:

    >>> import numpy as np
    >>> from sigref.ccem import infonce_etf_loss, simplex_etf
    >>> from sigref.losses import infonce_loss
    >>> W = simplex_etf(4)
    >>> print(f"{float(infonce_loss(W, W, 0.5)):.6f} {float(infonce_etf_loss(4, 0.5)):.6f}")
    0.378678 0.378678

    The one-sided loss is half of it here, the two directions being equal:

    >>> print(f"{float(infonce_loss(W, W, 0.5, symmetric=False)):.6f}")
    0.189339
    """
    return _evaluate(U, V, tau, symmetric, False).value


def infonce_loss_and_grad(U: Array, V: Array, tau: Scalar | Array, *, symmetric: bool = True) -> LossResult:
    r"""Compute the InfoNCE loss and its analytic gradients.

    With :math:`A = U V^\top / \tau`, :math:`P` its row softmax and :math:`Q` its column softmax,

    .. math::

        G = \frac{\partial L}{\partial A} = \frac{(P - I) + (Q - I)}{N}, \qquad
        \frac{\partial L}{\partial U} = \frac{G V}{\tau}, \qquad
        \frac{\partial L}{\partial V} = \frac{G^\top U}{\tau}, \qquad
        \frac{\partial L}{\partial \tau} = -\frac1\tau \sum_{ij} G_{ij} A_{ij},

    without the :math:`Q` term when not ``symmetric``.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Embeddings as unit rows, as in :func:`sigref.losses.infonce_loss`.
    V : Array, shape (..., N, d)
        Paired embeddings.
    tau : float or Array
        Temperature :math:`\tau > 0`.
    symmetric : bool, optional
        Add the column term (default True).

    Returns
    -------
    LossResult
        ``value`` of shape (...) and ``grad`` with keys ``"U"``, ``"V"`` and ``"tau"`` (each of its
        argument's shape); no diagnostics.

    Raises
    ------
    TypeError
        As :func:`sigref.losses.infonce_loss`.
    ValueError
        As :func:`sigref.losses.infonce_loss`.

    See Also
    --------
    sigref.losses.infonce_loss : The value alone.

    Examples
    --------
    >>> from sigref.losses import infonce_loss, infonce_loss_and_grad
    >>> from sigref.optim import project_to_sphere
    >>> from sigref.sampling import uniform_sphere
    >>> U = uniform_sphere(0, (4, 3))
    >>> V = project_to_sphere(U + 0.3 * uniform_sphere(1, (4, 3)))
    >>> res = infonce_loss_and_grad(U, V, 0.5)
    >>> sorted(res.grad)
    ['U', 'V', 'tau']
    >>> h = 1e-6
    >>> fd = (infonce_loss(U, V, 0.5 + h) - infonce_loss(U, V, 0.5 - h)) / (2 * h)
    >>> print(f"{float(res.grad['tau']):.6f} {float(fd):.6f}")
    1.704369 1.704369
    """
    return _evaluate(U, V, tau, symmetric, True)
