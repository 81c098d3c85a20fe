r"""The full MSCL objective of the reference code: modulated (or filtered) sigmoid loss plus the
ReLIC invariance term.

.. math::

    L = L_{sig}(U, V; t, b; \gamma, \text{threshold}) + \alpha\, \mathrm{KL}(U, V; t),

as in ``scl/scl.py::scl_loss`` of github.com/filipbasara0/sigmoid-contrastive-loss, with
:math:`L_{sig}` the per-anchor sigmoid loss (:func:`sigref.losses.sigmoid_loss`) and KL the
invariance term (:func:`sigref.losses.relic_kl`).

Inputs are unit rows (the reference normalises inside its loss; do it before calling).
"""

from __future__ import annotations

from sigref.losses._result import LossResult
from sigref.losses.relic import relic_kl_and_grad
from sigref.losses.sigmoid import sigmoid_loss_and_grad
from sigref.types import Array, Scalar

__all__ = ["mscl_loss_and_grad"]


def mscl_loss_and_grad(U: Array, V: Array, t: Scalar | Array, b: Scalar | Array, *, gamma: float = 1.0, alpha: float = 0.0,
                       filter_threshold: float | None = None, detach_weight: bool = False,
                       chunk_size: int | str | None = None, diagnostics: bool = False) -> LossResult:
    r"""Compute the per-anchor MSCL loss of online ``U`` against target ``V``, with its gradients.

    With logits :math:`z_{ij} = t \langle u_i, v_j \rangle - b`, :math:`q = -z` on the positive
    pairs and :math:`q = z` on the negative ones, the modulated sigmoid loss of Basara [1]_ is

    .. math::

        L_{sig} = \frac1N \sum_{i, j} \sigma(q_{ij})^{\gamma} \operatorname{softplus}(q_{ij}),
        \qquad \sigma(q)^{\gamma} = (1 - \sigma(y z))^{\gamma},

    or, with hard-negative filtering, the plain loss over every positive and the negatives with
    :math:`\sigma(q_{ij})^{\gamma} > \text{threshold}`, still divided by N. The objective adds the
    ReLIC invariance term :math:`\alpha\, \mathrm{KL}(U, V; t)` (:func:`sigref.losses.relic_kl`),
    on by default in the reference code (``alpha = 1``) though absent from its poster's formula.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Online embeddings :math:`u_i` as unit rows.
    V : Array, shape (..., N, d)
        Target embeddings :math:`v_j` as unit rows (the same dtype and d).
    t : float or Array
        Inverse temperature :math:`t > 0` (the reference's clamped ``exp(tau)``).
    b : float or Array
        Bias :math:`b`, subtracted (the reference adds ``b``: pass minus its value).
    gamma : float, optional
        Confidence penalty :math:`\gamma \ge 0` (default 1).
    alpha : float, optional
        Weight :math:`\alpha \ge 0` of the KL term; 0 (default) skips it.
    filter_threshold : float or None, optional
        Hard-negative filtering threshold in (0, 1) (the reference's default is 0.05), or None.
    detach_weight : bool, optional
        Treat :math:`\sigma(q)^{\gamma}` as a constant in the gradient (the reference does not).
    chunk_size : int or "auto" or None, optional
        Anchors per row block of the sigmoid term, as in :func:`sigref.losses.sigmoid_loss`.
    diagnostics : bool, optional
        Also return the logit diagnostics of :func:`sigref.losses.sigmoid_loss_and_grad`, and
        ``"kl"`` (the KL value) when ``alpha > 0``.

    Returns
    -------
    LossResult
        ``value`` of shape (...); ``grad`` with keys ``"U"``, ``"V"``, ``"t"``, ``"log_t"``
        and ``"b"`` (the KL term does not depend on ``b``); ``diagnostics`` or None.

    Raises
    ------
    ValueError
        If ``alpha`` is not a number >= 0 (a bool included); and as
        :func:`sigref.losses.sigmoid_loss` for bad shapes, options or values.
    TypeError
        As :func:`sigref.losses.sigmoid_loss` (array libraries, dtypes).

    See Also
    --------
    sigref.losses.sigmoid_loss_and_grad : The sigmoid term alone.
    sigref.losses.relic_kl_and_grad : The KL term alone.
    sigref.losses.cosine_gamma : MSCL's schedule of :math:`\gamma`.
    sigref.losses.filter_threshold_at : MSCL's filtering warm-up.

    References
    ----------
    .. [1] F. Basara, "Modulated Sigmoid Contrastive Loss for Vision" (MSCL), reference code at
       https://github.com/filipbasara0/sigmoid-contrastive-loss

    Examples
    --------
    MSCL's initialisation, :math:`t = 5` and logit bias :math:`-5` (so :math:`b = 5`):

    >>> import numpy as np
    >>> from sigref.losses import mscl_loss_and_grad, relic_kl, sigmoid_loss
    >>> from sigref.optim import project_to_sphere
    >>> from sigref.sampling import uniform_sphere
    >>> U = uniform_sphere(0, (4, 3))
    >>> V = project_to_sphere(U + 0.3 * uniform_sphere(1, (4, 3)))
    >>> res = mscl_loss_and_grad(U, V, 5.0, 5.0, gamma=1.0, alpha=0.5)
    >>> parts = sigmoid_loss(U, V, 5.0, 5.0, gamma=1.0) + 0.5 * relic_kl(U, V, 5.0)
    >>> print(f"{float(res.value):.6f} {float(parts):.6f}")
    0.508607 0.508607

    Filtering keeps the positives and the negatives with :math:`\sigma(q)^{\gamma} > 0.05`:

    >>> z = 5.0 * U @ V.T - 5.0
    >>> q = np.where(np.eye(4, dtype=bool), -z, z)
    >>> keep = np.eye(4, dtype=bool) | (1.0 / (1.0 + np.exp(-q)) > 0.05)
    >>> filtered = mscl_loss_and_grad(U, V, 5.0, 5.0, gamma=1.0, filter_threshold=0.05)
    >>> print(int(keep.sum()), f"{float(filtered.value):.6f}", f"{np.logaddexp(0.0, q)[keep].sum() / 4:.6f}")
    8 0.931717 0.931717
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
        raise ValueError(f"alpha must be a number >= 0, got {alpha!r}")
    res = sigmoid_loss_and_grad(U, V, t, b, reduction="per_anchor", gamma=gamma, filter_threshold=filter_threshold,
                                detach_weight=detach_weight, chunk_size=chunk_size, diagnostics=diagnostics)
    if alpha == 0:
        return res
    kl = relic_kl_and_grad(U, V, t)
    grad = dict(res.grad)
    for name in ("U", "V", "t", "log_t"):
        grad[name] = grad[name] + alpha * kl.grad[name]
    diag = None if res.diagnostics is None else {**res.diagnostics, "kl": kl.value}
    return LossResult(value=res.value + alpha * kl.value, grad=grad, diagnostics=diag)
