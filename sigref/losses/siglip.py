r"""The SigLIP / open_clip convention and initialisation helpers.

SigLIP (Zhai et al. arXiv 2303.15343), big_vision, open_clip and Hugging Face write the logits
as ``logit_scale * <x, y> + logit_bias`` and the loss as the sum over pairs divided by the
number of rows. sigref's papers write :math:`t \langle u, v \rangle - b`, so, with
:math:`\text{scale}` = ``logit_scale`` (already exponentiated, as open_clip's ``SigLipLoss``
receives it) and :math:`\text{bias}` = ``logit_bias``,

.. math::

    t = \text{scale}, \qquad b = -\text{bias},

and :func:`sigref.losses.siglip_loss` is :func:`sigref.losses.sigmoid_loss` with
``reduction="per_anchor"`` under that map. SigLIP's initialisation :math:`t' = \log 10`,
bias :math:`= -10` is :math:`t = b = 10` here.
"""

from __future__ import annotations

import math

from sigref._arrays import positive_int
from sigref.losses._result import LossResult
from sigref.losses.sigmoid import sigmoid_loss, sigmoid_loss_and_grad
from sigref.types import Array, Scalar

__all__ = ["SIGLIP_INIT", "batch_aware_bias", "paper_from_siglip", "siglip_from_paper", "siglip_loss", "siglip_loss_and_grad"]

#: SigLIP's initial (t, b) in the papers' convention: logit_scale = 10, logit_bias = -10.
SIGLIP_INIT = (10.0, 10.0)

def paper_from_siglip(logit_scale: Scalar | Array, logit_bias: Scalar | Array) -> tuple[Scalar | Array, Scalar | Array]:
    r"""Convert SigLIP's ``(logit_scale, logit_bias)`` into the papers' :math:`(t, b)`.

    SigLIP's logits :math:`\text{scale} \langle x, y \rangle + \text{bias}` (``logit_scale``,
    ``logit_bias``) equal the papers' :math:`t \langle u, v \rangle - b` for

    .. math::

        t = \text{scale}, \qquad b = -\text{bias}.

    Parameters
    ----------
    logit_scale : float or Array
        SigLIP's (exponentiated) logit scale.
    logit_bias : float or Array
        SigLIP's logit bias, added to the scaled similarity.

    Returns
    -------
    t : float or Array
        The inverse temperature, ``logit_scale`` itself.
    b : float or Array
        The subtracted bias, ``-logit_bias``.

    See Also
    --------
    sigref.losses.siglip_from_paper : The inverse map.

    References
    ----------
    .. [1] X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
       Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343

    Examples
    --------
    >>> from sigref.losses import paper_from_siglip
    >>> paper_from_siglip(10.0, -10.0)
    (10.0, 10.0)
    """
    return logit_scale, -logit_bias


def siglip_from_paper(t: Scalar | Array, b: Scalar | Array) -> tuple[Scalar | Array, Scalar | Array]:
    r"""Convert the papers' :math:`(t, b)` into SigLIP's ``(logit_scale, logit_bias)``.

    The inverse of :func:`sigref.losses.paper_from_siglip`:
    ``logit_scale`` :math:`= t` and ``logit_bias`` :math:`= -b`.

    Parameters
    ----------
    t : float or Array
        Inverse temperature :math:`t`.
    b : float or Array
        Bias :math:`b`, subtracted from :math:`t \langle u, v \rangle`.

    Returns
    -------
    logit_scale : float or Array
        SigLIP's logit scale, ``t`` itself.
    logit_bias : float or Array
        SigLIP's logit bias, ``-b``.

    See Also
    --------
    sigref.losses.paper_from_siglip : The inverse map.

    Examples
    --------
    >>> from sigref.losses import SIGLIP_INIT, siglip_from_paper
    >>> siglip_from_paper(*SIGLIP_INIT)
    (10.0, -10.0)
    """
    return t, -b


def batch_aware_bias(n: int) -> float:
    r"""Return the bias at which the mean predicted probability is the positive rate :math:`1/N`.

    In the papers' convention

    .. math::

        b = \log(N - 1), \qquad \text{i.e.} \quad -b = \log\frac{p}{1 - p}, \quad p = \frac{1}{N},

    SigLIP's ``logit_bias`` :math:`= -b` being the prior log-odds of a pair being positive
    (open_clip issue 650): at initialisation, with similarities near 0, every pair is predicted
    positive with probability :math:`1/N`.

    Parameters
    ----------
    n : int
        Batch size N >= 2.

    Returns
    -------
    float
        :math:`\log(N - 1)`.

    Raises
    ------
    ValueError
        If ``n`` is not an integer >= 2.

    See Also
    --------
    sigref.losses.siglip_from_paper : SigLIP's ``logit_bias = -b``.

    Examples
    --------
    >>> import math
    >>> from sigref.losses import batch_aware_bias
    >>> b = batch_aware_bias(8)
    >>> print(f"{b:.6f}", f"{1.0 / (1.0 + math.exp(b)):.6f}")
    1.945910 0.125000
    """
    positive_int("N (batch size)", n, minimum=2)
    return math.log(n - 1)


def siglip_loss(image_features: Array, text_features: Array, logit_scale: Scalar | Array, logit_bias: Scalar | Array, *,
                chunk_size: int | str | None = None) -> Array:
    r"""Compute open_clip's ``SigLipLoss`` value in SigLIP's convention.

    With labels :math:`\epsilon_{ij} = 1` for :math:`i = j` and :math:`-1` otherwise, image
    features :math:`x_i`, text features :math:`y_j`, :math:`\text{scale}` = ``logit_scale`` and
    :math:`\text{bias}` = ``logit_bias``,

    .. math::

        L = -\frac1N \sum_{i, j} \log\sigma\big(\epsilon_{ij} (\text{scale} \langle x_i, y_j \rangle
            + \text{bias})\big),

    which is :func:`sigref.losses.sigmoid_loss` with :math:`t = \text{scale}`,
    :math:`b = -\text{bias}` and ``reduction="per_anchor"`` [1]_.

    Parameters
    ----------
    image_features : Array, shape (..., N, d)
        Image embeddings :math:`x_i` as unit rows.
    text_features : Array, shape (..., N, d)
        Text embeddings :math:`y_j` as unit rows (same dtype and d).
    logit_scale : float or Array
        Exponentiated logit scale, > 0 (a number or batch-shaped).
    logit_bias : float or Array
        Logit bias (a number or batch-shaped).
    chunk_size : int or "auto" or None, optional
        Anchors per row block, as in :func:`sigref.losses.sigmoid_loss`.

    Returns
    -------
    Array, shape (...)
        The loss for each batch index.

    Raises
    ------
    TypeError
        As :func:`sigref.losses.sigmoid_loss` (array libraries, dtypes).
    ValueError
        As :func:`sigref.losses.sigmoid_loss` (shapes, ``logit_scale`` not > 0, NaN, infinity).

    See Also
    --------
    sigref.losses.siglip_loss_and_grad : The value with its gradients.
    sigref.losses.sigmoid_loss : The loss in the papers' convention.

    References
    ----------
    .. [1] X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
       Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.losses import siglip_loss, sigmoid_loss
    >>> from sigref.optim import project_to_sphere
    >>> from sigref.sampling import uniform_sphere
    >>> x = uniform_sphere(0, (4, 3))
    >>> y = project_to_sphere(x + 0.3 * uniform_sphere(1, (4, 3)))
    >>> L = siglip_loss(x, y, 10.0, -10.0)
    >>> labels = 2.0 * np.eye(4) - 1.0
    >>> direct = -np.sum(np.log(1.0 / (1.0 + np.exp(-labels * (10.0 * x @ y.T - 10.0))))) / 4
    >>> print(f"{float(L):.6f} {direct:.6f} {float(sigmoid_loss(x, y, 10.0, 10.0)):.6f}")
    0.964501 0.964501 0.964501
    """
    t, b = paper_from_siglip(logit_scale, logit_bias)
    return sigmoid_loss(image_features, text_features, t, b, reduction="per_anchor", chunk_size=chunk_size)


def siglip_loss_and_grad(image_features: Array, text_features: Array, logit_scale: Scalar | Array, logit_bias: Scalar | Array, *,
                         chunk_size: int | str | None = None) -> LossResult:
    r"""Compute :func:`sigref.losses.siglip_loss` and its gradients in SigLIP's names.

    The gradients of :func:`sigref.losses.sigmoid_loss_and_grad` under
    :math:`t` = ``logit_scale`` and :math:`b` = ``-logit_bias``: the derivative in ``logit_scale``
    is :math:`\partial L / \partial t` and the derivative in ``logit_bias`` is
    :math:`-\partial L / \partial b`.

    Parameters
    ----------
    image_features : Array, shape (..., N, d)
        Image embeddings as unit rows.
    text_features : Array, shape (..., N, d)
        Text embeddings as unit rows.
    logit_scale : float or Array
        Exponentiated logit scale, > 0.
    logit_bias : float or Array
        Logit bias.
    chunk_size : int or "auto" or None, optional
        Anchors per row block, as in :func:`sigref.losses.sigmoid_loss`.

    Returns
    -------
    LossResult
        ``value`` of shape (...) and ``grad`` with keys ``"image_features"``,
        ``"text_features"``, ``"logit_scale"`` and ``"logit_bias"`` (each of its argument's
        shape); no diagnostics.

    Raises
    ------
    TypeError
        As :func:`sigref.losses.sigmoid_loss`.
    ValueError
        As :func:`sigref.losses.sigmoid_loss`.

    See Also
    --------
    sigref.losses.siglip_loss : The value alone.

    Examples
    --------
    >>> from sigref.losses import siglip_loss, siglip_loss_and_grad
    >>> from sigref.optim import project_to_sphere
    >>> from sigref.sampling import uniform_sphere
    >>> x = uniform_sphere(0, (4, 3))
    >>> y = project_to_sphere(x + 0.3 * uniform_sphere(1, (4, 3)))
    >>> res = siglip_loss_and_grad(x, y, 10.0, -10.0)
    >>> sorted(res.grad)
    ['image_features', 'logit_bias', 'logit_scale', 'text_features']
    >>> h = 1e-6
    >>> fd = (siglip_loss(x, y, 10.0, -10.0 + h) - siglip_loss(x, y, 10.0, -10.0 - h)) / (2 * h)
    >>> print(f"{float(res.grad['logit_bias']):.6f} {float(fd):.6f}")
    -0.573727 -0.573727
    """
    t, b = paper_from_siglip(logit_scale, logit_bias)
    res = sigmoid_loss_and_grad(image_features, text_features, t, b, reduction="per_anchor", chunk_size=chunk_size)
    grad = {
        "image_features": res.grad["U"],
        "text_features": res.grad["V"],
        "logit_scale": res.grad["t"],
        "logit_bias": -res.grad["b"],
    }
    return LossResult(value=res.value, grad=grad)
