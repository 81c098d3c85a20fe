r"""Numerically stable logistic functions on any array-API namespace.

Everything is built on ``logaddexp`` (in the standard) or on :math:`e^{-|x|}`, so results stay
finite and accurate for logits of :math:`\pm 10^9` in float32 and float64, and derivatives never
form ``inf * 0``:

.. math::

    \operatorname{softplus}(x) &= \log(1 + e^{x}) = \operatorname{logaddexp}(0, x), \\
    \log\sigma(x) &= -\operatorname{softplus}(-x), \\
    \sigma(x) &= \exp(\log\sigma(x)).

The sigmoid losses use :func:`~sigref.numerics.logistic_parts`, which gives all three (and :math:`\sigma(-x)`)
from one ``exp`` and one ``log`` per entry.
"""

from __future__ import annotations

import array_api_compat

from sigref.types import Array

__all__ = ["log_sigmoid", "logistic_parts", "logsumexp", "sigmoid", "softplus"]


def softplus(x: Array) -> Array:
    r"""Compute the softplus :math:`\log(1 + e^{x})`, elementwise.

    .. math::

        \operatorname{softplus}(x) = \log(1 + e^{x}) = \operatorname{logaddexp}(0, x),

    the per-pair loss :math:`\ell` of the sigmoid loss. Its derivative is :math:`\sigma(x)`
    (:func:`~sigref.numerics.sigmoid`). Evaluated with ``logaddexp``: no overflow of :math:`e^{x}` for large
    :math:`x` and no loss of accuracy for very negative :math:`x`.

    Parameters
    ----------
    x : Array
        Real floating array of any shape, of any array-API library.

    Returns
    -------
    Array
        :math:`\log(1 + e^{x})`, of the shape, dtype and library of ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not an array of an array-API library (e.g. a Python float).

    See Also
    --------
    sigref.numerics.log_sigmoid : :math:`\log\sigma(x) = -\operatorname{softplus}(-x)`.
    sigref.numerics.logistic_parts : The same quantity from one ``exp`` and one ``log``.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.numerics import softplus
    >>> y = softplus(np.array([-1000.0, 0.0, 1000.0]))
    >>> print([round(float(v), 6) for v in y])
    [0.0, 0.693147, 1000.0]
    """
    xp = array_api_compat.array_namespace(x)
    # log(1 + e^x) = logaddexp(0, x): exp(x) never overflows and tiny e^x keeps its relative accuracy
    return xp.logaddexp(xp.zeros_like(x), x)


def log_sigmoid(x: Array) -> Array:
    r"""Log-sigmoid :math:`\log\sigma(x) = -\log(1 + e^{-x})`, elementwise.

    .. math::

        \log\sigma(x) = -\operatorname{softplus}(-x) = -\operatorname{logaddexp}(0, -x),

    whose derivative is :math:`\sigma(-x) = 1 - \sigma(x)`. Computing
    :math:`\log(\sigma(x))` directly would give :math:`\log 0 = -\infty` once :math:`\sigma(x)`
    underflows; this form stays finite (:math:`\approx x` for :math:`x \to -\infty`).

    Parameters
    ----------
    x : Array
        Real floating array of any shape, of any array-API library.

    Returns
    -------
    Array
        :math:`\log\sigma(x)`, of the shape, dtype and library of ``x``; always :math:`\le 0`.

    Raises
    ------
    TypeError
        If ``x`` is not an array of an array-API library (e.g. a Python float).

    See Also
    --------
    sigref.numerics.softplus : :math:`\log(1 + e^{x})`.
    sigref.numerics.sigmoid : :math:`\sigma(x) = \exp(\log\sigma(x))`.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.numerics import log_sigmoid
    >>> y = log_sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    >>> print([round(float(v), 6) for v in y])
    [-1000.0, -0.693147, -0.0]
    """
    xp = array_api_compat.array_namespace(x)
    # log sigma(x) = -log(1 + e^-x) = -logaddexp(0, -x): finite where sigma(x) itself underflows to 0
    return -xp.logaddexp(xp.zeros_like(x), -x)


def sigmoid(x: Array) -> Array:
    r"""Logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})`, elementwise.

    .. math::

        \sigma(x) = \frac{1}{1 + e^{-x}} = \exp(\log\sigma(x)),

    evaluated through :func:`~sigref.numerics.log_sigmoid`: :math:`e^{-x}` is never formed, so there is no
    overflow on either tail (the result underflows harmlessly to 0 for very negative :math:`x`).

    Parameters
    ----------
    x : Array
        Real floating array of any shape, of any array-API library.

    Returns
    -------
    Array
        :math:`\sigma(x)` in :math:`[0, 1]`, of the shape, dtype and library of ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not an array of an array-API library (e.g. a Python float).

    See Also
    --------
    sigref.numerics.log_sigmoid : Its logarithm.
    sigref.numerics.logistic_parts : :math:`\sigma(x)` and :math:`\sigma(-x)` from one ``exp``.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.numerics import sigmoid
    >>> y = sigmoid(np.array([-1000.0, 0.0, 2.0, 1000.0]))
    >>> print([round(float(v), 6) for v in y])
    [0.0, 0.5, 0.880797, 1.0]
    """
    xp = array_api_compat.array_namespace(x)
    # exp(log sigma(x)): no 1 / (1 + exp(-x)) overflow for x -> -inf
    return xp.exp(log_sigmoid(x))


def logistic_parts(x: Array) -> tuple[Array, Array, Array]:
    r"""The pieces :math:`(e, r, \operatorname{log1p}(e))` from which every logistic quantity follows.

    With :math:`e = e^{-|x|} \in (0, 1]` and :math:`r = 1 / (1 + e)`, everything the loss
    kernels need comes from one ``exp`` and one ``log``, with full relative accuracy on both tails:

    .. math::

        \operatorname{softplus}(x) &= \max(x, 0) + \log(1 + e), \qquad
        \log\sigma(x) = \min(x, 0) - \log(1 + e), \\
        \sigma(x) &= \max(e, \operatorname{sign} x)\, r, \qquad
        \sigma(-x) = \max(e, -\operatorname{sign} x)\, r.

    With :math:`u = \operatorname{fl}(1 + e)` and :math:`\delta = e - (u - 1)` (exact),
    :math:`\log(1 + e) = \log u + \delta` to within 1.5 ulp of 1 relative, also for :math:`e`
    below the machine epsilon (then :math:`u = 1` and the result is :math:`e`). NumPy's
    ``log1p`` and ``logaddexp`` are several times slower than ``exp`` and ``log``.

    Parameters
    ----------
    x : Array
        Real floating array of any shape, of any array-API library.

    Returns
    -------
    e : Array
        :math:`e^{-|x|}`, in :math:`(0, 1]` (0 only where it underflows).
    r : Array
        :math:`1 / (1 + e)`, in :math:`[1/2, 1)`.
    log1p_e : Array
        :math:`\log(1 + e)`, in :math:`[0, \log 2]`.

    Raises
    ------
    TypeError
        If ``x`` is not an array of an array-API library (e.g. a Python float).

    See Also
    --------
    sigref.numerics.softplus, sigref.numerics.log_sigmoid, sigref.numerics.sigmoid : The same functions, each on its own.

    Examples
    --------
    Softplus and the sigmoid from the parts agree with the direct functions:

    >>> import numpy as np
    >>> from sigref.numerics import logistic_parts, sigmoid, softplus
    >>> x = np.array([-30.0, -2.0, 0.0, 3.0])
    >>> e, r, log1p_e = logistic_parts(x)
    >>> sp = np.maximum(x, 0.0) + log1p_e
    >>> sg = np.maximum(e, np.sign(x)) * r
    >>> print([round(float(v), 6) for v in sp])
    [0.0, 0.126928, 0.693147, 3.048587]
    >>> bool(np.allclose(sp, softplus(x), rtol=1e-15) and np.allclose(sg, sigmoid(x), rtol=1e-15))
    True
    """
    xp = array_api_compat.array_namespace(x)
    # e = exp(-|x|) <= 1 never overflows; log1p(e) = log(u) + (e - (u - 1)) recovers the bits that u = fl(1 + e) rounds away
    e = xp.exp(-xp.abs(x))
    u = 1.0 + e
    return e, 1.0 / u, xp.log(u) + (e - (u - 1.0))


def logsumexp(x: Array, axis: int, keepdims: bool = False) -> Array:
    r"""Log-sum-exp :math:`\log \sum_k e^{x_k}` along one axis, shifted by the maximum.

    .. math::

        \operatorname{logsumexp}(x) = m + \log \sum_k e^{x_k - m}, \qquad m = \max_k x_k,

    so every exponent is :math:`\le 0`: finite for finite :math:`x`. The InfoNCE and ReLIC
    losses take their log-softmaxes from it.

    Parameters
    ----------
    x : Array
        Real floating array of any shape (at least one dimension), of any array-API library.
    axis : int
        The axis to reduce.
    keepdims : bool, optional
        Keep the reduced axis with length 1 (default: drop it).

    Returns
    -------
    Array
        The log-sum-exp, of the shape of ``x`` without ``axis`` (or with length 1 there when
        ``keepdims``).

    Raises
    ------
    TypeError
        If ``x`` is not an array of an array-API library (e.g. a Python float).

    See Also
    --------
    sigref.numerics.softplus : The two-term case, :math:`\operatorname{logsumexp}(0, x)`.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.numerics import logsumexp
    >>> x = np.array([[1000.0, 1000.0], [0.0, 1.0]])
    >>> print([round(float(v), 6) for v in logsumexp(x, axis=-1)])
    [1000.693147, 1.313262]
    >>> logsumexp(x, axis=0, keepdims=True).shape
    (1, 2)
    """
    xp = array_api_compat.array_namespace(x)
    m = xp.max(x, axis=axis, keepdims=True)
    # subtract the maximum first: every exp(x - m) <= 1 cannot overflow, and the largest term is exactly 1
    out = m + xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else xp.squeeze(out, axis=axis)
