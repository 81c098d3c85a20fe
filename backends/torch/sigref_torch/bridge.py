r"""Autograd bridge: sigref's losses as differentiable torch functions with an analytic backward.

Each function wraps one of sigref's array-API kernels (:mod:`sigref.losses`) in a
``torch.autograd.Function``. The forward pass runs the kernel on detached tensors and, when any
input needs a gradient, also its analytic gradients, for the logits
:math:`z_{ij} = t\langle u_i, v_j\rangle - b` (SigLIP [1]_; the papers' convention, :math:`b`
subtracted)

.. math::

    \frac{\partial L}{\partial U} = t\, G V, \qquad
    \frac{\partial L}{\partial V} = t\, G^\top U, \qquad
    \frac{\partial L}{\partial t} = \sum_{ij} G_{ij} \langle u_i, v_j\rangle, \qquad
    \frac{\partial L}{\partial b} = -\sum_{ij} G_{ij},

with :math:`G = \partial L / \partial z`. Those gradients are what the backward pass keeps; it
multiplies them by the incoming gradient. Nothing :math:`N \times N` is saved: with
``chunk_size`` :math:`= c` both passes stay :math:`O(c N)` in memory (open_clip's chunked loss keeps
every block's logits for autograd; see ``SigLipLoss`` in open_clip's ``src/open_clip/loss.py``,
PR 1214). The relative-bias form [2]_ and the MSCL objective are bridged the same way.
Second derivatives are not supported: the saved gradients are constants of the autograd graph.

Half-precision inputs (autocast) are evaluated in float32, the value is returned in float32 and
the gradients are cast back to the inputs' dtypes. Parameters that broadcast over batch axes get
gradients weighted per batch element.

References
----------
.. [1] X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
   Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343
.. [2] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
   Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from sigref import losses

__all__ = ["SigmoidLoss", "mscl_loss", "relic_kl", "relative_bias_loss", "siglip_loss", "sigmoid_loss"]

_EMBEDDINGS = ("U", "V", "X")


class _Analytic(torch.autograd.Function):
    """Applies ``kernel(**tensors, **options) -> LossResult`` and backpropagates its ``grad``."""

    @staticmethod
    def forward(ctx: Any, kernel: Callable[..., Any], names: tuple[str, ...], options: dict[str, Any], *tensors: torch.Tensor) -> torch.Tensor:
        inputs = dict(zip(names, (x.detach() for x in tensors)))
        needs = any(ctx.needs_input_grad[3:])
        with torch.no_grad():
            if needs:
                res = kernel(**inputs, **options)
                ctx.save_for_backward(*(res.grad[n] for n in names))
                ctx.shapes = [x.shape for x in tensors]
                ctx.dtypes = [x.dtype for x in tensors]
                value = res.value
            else:
                value = kernel(**inputs, **options).value
        return value

    @staticmethod
    def backward(ctx: Any, gout: torch.Tensor) -> tuple[Any, ...]:
        grads: list[torch.Tensor | None] = [None, None, None]
        for g, shape, dtype, need in zip(ctx.saved_tensors, ctx.shapes, ctx.dtypes, ctx.needs_input_grad[3:]):
            if not need:
                grads.append(None)
                continue
            weight = gout if g.ndim == gout.ndim else gout[..., None, None]
            grads.append((g * weight).sum_to_size(shape).to(dtype))
        return tuple(grads)


def _prepare(tensors: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Promote to a common float dtype (at least float32), make scalars tensors, expand
    everything to the common batch shape so that backward can weight per batch element."""
    emb = {n: x for n, x in tensors.items() if n in _EMBEDDINGS}
    ref = next(iter(emb.values()))
    for name, x in emb.items():
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim < 2:
            raise ValueError(f"{name} must have shape (..., N, d), got shape {tuple(x.shape)}")
    dtype = torch.promote_types(ref.dtype, torch.float32) if ref.is_floating_point() else ref.dtype
    out: dict[str, torch.Tensor] = {}
    for name, x in tensors.items():
        if x is None:
            continue
        if not isinstance(x, torch.Tensor):
            x = torch.tensor(float(x), dtype=dtype, device=ref.device)
        if x.is_floating_point() and x.dtype != dtype:
            x = x.to(dtype)
        out[name] = x
    lead = {"X": 1}
    batch = torch.broadcast_shapes(
        *(x.shape[lead.get(n, 0) : -2] for n, x in out.items() if n in _EMBEDDINGS),
        *(x.shape for n, x in out.items() if n not in _EMBEDDINGS),
    )
    for name, x in out.items():
        if name in _EMBEDDINGS:
            out[name] = x.expand(*x.shape[: lead.get(name, 0)], *batch, *x.shape[-2:])
        else:
            out[name] = x.expand(batch)
    return out


def _call(kernel: Callable[..., Any], tensors: dict[str, Any], options: dict[str, Any]) -> torch.Tensor:
    prepared = _prepare(tensors)
    return _Analytic.apply(kernel, tuple(prepared), options, *prepared.values())


def sigmoid_loss(U: torch.Tensor, V: torch.Tensor, t: float | torch.Tensor, b: float | torch.Tensor | None = None, *,
                 b_rel: float | torch.Tensor | None = None, **options: Any) -> torch.Tensor:
    r"""Sigmoid contrastive loss on torch tensors, differentiable in U, V, t and b (or b_rel).

    The value of :func:`sigref.losses.sigmoid_loss`: with logits
    :math:`z_{ij} = t\langle u_i, v_j\rangle - b` (SigLIP [1]_, the papers' convention with the
    bias subtracted), :math:`q_{ii} = -z_{ii}` on the positive pairs and :math:`q_{ij} = z_{ij}` on
    the negatives,

    .. math::

        L(U, V; t, b) = r \sum_{i,j} w(q_{ij}) \operatorname{softplus}(q_{ij}),

    with :math:`w = 1` for the plain loss and :math:`w = \sigma(q)^\gamma` for the modulated loss
    (MSCL), and :math:`r` the reduction factor. With ``b_rel`` the relative-bias form
    :math:`L(U, V; t, t\, b_{\mathrm{rel}})` [2]_ is evaluated. The backward pass applies sigref's
    analytic gradients (module docstring); gradients of parameters broadcast over batch axes are
    summed back to their shapes.

    Parameters
    ----------
    U, V : torch.Tensor, shape (..., N, d)
        Paired unit rows (anchor ``i`` pairs positively with ``V[..., i, :]``), floating
        tensors of one dtype and device; leading batch axes broadcast. Half precision is
        evaluated in float32.
    t : float or torch.Tensor
        Inverse temperature :math:`t > 0`, a number or a tensor broadcastable to the batch shape.
    b : float or torch.Tensor, optional
        Bias, subtracted from :math:`t\langle u, v\rangle`. Give exactly one of ``b`` and ``b_rel``.
    b_rel : float or torch.Tensor, optional
        Relative bias, :math:`b = t\, b_{\mathrm{rel}}` (keyword only).
    **options
        The keyword options of :func:`sigref.losses.sigmoid_loss`: ``reduction`` (``"sum"``,
        ``"per_anchor"`` (default) or ``"mean"``), ``gamma``, ``detach_weight``,
        ``filter_threshold``, ``negatives_only`` and ``chunk_size``.

    Returns
    -------
    torch.Tensor, shape (...)
        The loss per batch element, in the inputs' floating dtype (at least float32), with a
        ``grad_fn`` when any input requires grad.

    Raises
    ------
    TypeError
        If both or neither of ``b`` and ``b_rel`` are given, if ``U`` or ``V`` is not a
        ``torch.Tensor``, or for the core's type errors (dtypes that differ, a bool parameter).
    ValueError
        If ``U`` or ``V`` is not of shape (..., N, d) with N >= 2, or for the core's value
        errors (``t <= 0``, non-finite inputs, an unknown reduction, an option out of range).

    See Also
    --------
    sigref.losses.sigmoid_loss : The array-API kernel evaluated here.
    relative_bias_loss : The same loss in the relative bias.
    siglip_loss : The loss in open_clip's convention.

    References
    ----------
    .. [1] X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
       Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343
    .. [2] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> import torch
    >>> from sigref.sampling import uniform_sphere
    >>> from sigref_torch import sigmoid_loss
    >>> U = torch.tensor(uniform_sphere(0, (4, 3)), requires_grad=True)
    >>> V = torch.tensor(uniform_sphere(1, (4, 3)))
    >>> t = torch.tensor(10.0, dtype=torch.float64, requires_grad=True)
    >>> b = torch.tensor(10.0, dtype=torch.float64, requires_grad=True)
    >>> loss = sigmoid_loss(U, V, t, b)
    >>> loss.backward()
    >>> print(f"{loss.item():.6f} {t.grad.item():.6f} {b.grad.item():.6f}", tuple(U.grad.shape))
    12.303664 0.299148 0.910936 (4, 3)

    The relative bias ``b_rel = 1`` is the same point as ``b = t b_rel = 10``:

    >>> print(f"{sigmoid_loss(U, V, 10.0, b_rel=1.0).item():.6f}")
    12.303664
    """
    if (b is None) == (b_rel is None):
        raise TypeError("give exactly one of b (bias) and b_rel (relative bias, b = t * b_rel)")
    if b is not None:
        return _call(losses.sigmoid_loss_and_grad, {"U": U, "V": V, "t": t, "b": b}, options)
    return _call(losses.relative_bias_loss_and_grad, {"U": U, "V": V, "t": t, "b_rel": b_rel}, options)


def relative_bias_loss(U: torch.Tensor, V: torch.Tensor, t: float | torch.Tensor, b_rel: float | torch.Tensor,
                       **options: Any) -> torch.Tensor:
    r"""The relative-bias sigmoid loss on torch tensors, differentiable in U, V, t and b_rel.

    Definition 1 of Bangachev et al. [1]_:

    .. math::

        L_{\mathrm{RB}}(U, V; t, b_{\mathrm{rel}}) = L(U, V; t, t\, b_{\mathrm{rel}}),

    the sigmoid loss of :func:`sigmoid_loss` with the bias :math:`b = t\, b_{\mathrm{rel}}`, so that
    :math:`z_{ij} = t(\langle u_i, v_j\rangle - b_{\mathrm{rel}})`. The gradient in ``t`` is taken at
    fixed ``b_rel``.

    Parameters
    ----------
    U, V : torch.Tensor, shape (..., N, d)
        Paired unit rows, floating tensors of one dtype and device.
    t : float or torch.Tensor
        Inverse temperature :math:`t > 0`, broadcastable to the batch shape.
    b_rel : float or torch.Tensor
        Relative bias, broadcastable to the batch shape.
    **options
        The keyword options of :func:`sigref.losses.sigmoid_loss` (``reduction``, ``gamma``,
        ``detach_weight``, ``filter_threshold``, ``negatives_only``, ``chunk_size``).

    Returns
    -------
    torch.Tensor, shape (...)
        The loss per batch element.

    Raises
    ------
    TypeError
        If ``U`` or ``V`` is not a ``torch.Tensor``, or for the core's type errors.
    ValueError
        For wrong shapes, ``t <= 0``, non-finite inputs or options out of range.

    See Also
    --------
    sigref.losses.relative_bias_loss : The array-API kernel evaluated here.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> import torch
    >>> from sigref.sampling import uniform_sphere
    >>> from sigref_torch import relative_bias_loss
    >>> U = torch.tensor(uniform_sphere(0, (4, 3)))
    >>> V = torch.tensor(uniform_sphere(1, (4, 3)))
    >>> b_rel = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    >>> loss = relative_bias_loss(U, V, 10.0, b_rel)
    >>> loss.backward()
    >>> print(f"{loss.item():.6f} {b_rel.grad.item():.4f}")
    12.303664 9.1094
    """
    return sigmoid_loss(U, V, t, b_rel=b_rel, **options)


def siglip_loss(image_features: torch.Tensor, text_features: torch.Tensor, logit_scale: float | torch.Tensor,
                logit_bias: float | torch.Tensor, *, chunk_size: int | None = None) -> torch.Tensor:
    r"""Sigmoid loss in open_clip's ``SigLipLoss`` convention, differentiable in all four inputs.

    SigLIP [1]_, big_vision and open_clip add the bias and divide by the number of rows:

    .. math::

        L = -\frac{1}{N} \sum_{i,j} \log\sigma\bigl(y_{ij}\,(s \langle x_i, y_j\rangle + \beta)\bigr),
        \qquad y_{ii} = 1,\ y_{ij} = -1\ (i \ne j),

    with ``logit_scale`` :math:`s` already exponentiated (as ``SigLipLoss`` receives it) and
    ``logit_bias`` :math:`\beta`. This is :func:`sigmoid_loss` with :math:`t = s`,
    :math:`b = -\beta` and ``reduction="per_anchor"``; SigLIP's initialisation
    :math:`s = 10`, :math:`\beta = -10` is :math:`t = b = 10`.

    Parameters
    ----------
    image_features, text_features : torch.Tensor, shape (..., N, d)
        Paired unit rows :math:`x_i` and :math:`y_j`.
    logit_scale : float or torch.Tensor
        The exponentiated scale :math:`s > 0`.
    logit_bias : float or torch.Tensor
        The bias :math:`\beta`, added to the scaled similarities.
    chunk_size : int, optional
        Anchors per row block (memory :math:`O(\text{chunk} \cdot N)`); None evaluates one block.

    Returns
    -------
    torch.Tensor, shape (...)
        The loss per batch element; its gradients in ``logit_scale`` and ``logit_bias`` are those
        of open_clip's parameters.

    Raises
    ------
    TypeError
        If the features are not tensors, or for the core's type errors.
    ValueError
        For wrong shapes, ``logit_scale <= 0``, non-finite inputs or a bad ``chunk_size``.

    See Also
    --------
    sigref.losses.siglip_loss : The array-API kernel of this convention.
    sigref.losses.paper_from_siglip : The map :math:`(s, \beta) \mapsto (t, b)`.

    References
    ----------
    .. [1] X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
       Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343

    Examples
    --------
    >>> import torch
    >>> from sigref.sampling import uniform_sphere
    >>> from sigref_torch import siglip_loss, sigmoid_loss
    >>> x = torch.tensor(uniform_sphere(0, (4, 3)))
    >>> y = torch.tensor(uniform_sphere(1, (4, 3)))
    >>> print(f"{siglip_loss(x, y, 10.0, -10.0).item():.6f}")
    12.303664
    >>> print(f"{sigmoid_loss(x, y, 10.0, 10.0).item():.6f}")
    12.303664
    """
    return sigmoid_loss(image_features, text_features, logit_scale, -logit_bias, reduction="per_anchor", chunk_size=chunk_size)


def relic_kl(U: torch.Tensor, V: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    r"""The ReLIC invariance KL term of the MSCL reference code, differentiable in U, V and t.

    With logits :math:`Z = t\, U V^\top` (a bias cancels in both softmaxes), :math:`P` the row
    softmax of :math:`Z` (online row :math:`i` over targets :math:`j`) and :math:`C` its column
    softmax,

    .. math::

        \mathrm{KL}(U, V; t) = \frac{1}{N} \sum_{i,j} C_{ji} \,(\log C_{ji} - \log P_{ij}),

    as ``kl_div(log P, C^T, reduction="batchmean")`` in ``scl/scl.py::scl_loss`` of
    github.com/filipbasara0/sigmoid-contrastive-loss; gradients flow through both distributions.

    Parameters
    ----------
    U : torch.Tensor, shape (..., N, d)
        Unit rows of the online network.
    V : torch.Tensor, shape (..., N, d)
        Unit rows of the target network.
    t : float or torch.Tensor
        Inverse temperature :math:`t > 0`, broadcastable to the batch shape.

    Returns
    -------
    torch.Tensor, shape (...)
        The KL term per batch element (:math:`\ge 0`).

    Raises
    ------
    TypeError
        If ``U`` or ``V`` is not a ``torch.Tensor``, or for the core's type errors.
    ValueError
        For wrong shapes, ``t <= 0`` or non-finite inputs.

    See Also
    --------
    sigref.losses.relic_kl : The array-API kernel evaluated here.
    mscl_loss : The MSCL objective that adds this term.

    Examples
    --------
    >>> import torch
    >>> from sigref.sampling import uniform_sphere
    >>> from sigref_torch import relic_kl
    >>> U = torch.tensor(uniform_sphere(0, (4, 3)))
    >>> V = torch.tensor(uniform_sphere(1, (4, 3)))
    >>> print(f"{relic_kl(U, V, 10.0).item():.6f}")
    5.744660
    """
    return _call(losses.relic_kl_and_grad, {"U": U, "V": V, "t": t}, {})


def mscl_loss(U: torch.Tensor, V: torch.Tensor, t: float | torch.Tensor, b: float | torch.Tensor, *, gamma: float = 1.0,
              alpha: float = 0.0, filter_threshold: float | None = None, detach_weight: bool = False,
              chunk_size: int | None = None) -> torch.Tensor:
    r"""The MSCL objective of unit rows, per anchor, differentiable in U, V, t and b.

    The modulated sigmoid contrastive loss (MSCL, Basara) plus the ReLIC term:

    .. math::

        L = \frac{1}{N} \sum_{i,j} \sigma(q_{ij})^\gamma \operatorname{softplus}(q_{ij})
            + \alpha\, \mathrm{KL}(U, V; t),

    with :math:`q_{ii} = -z_{ii}`, :math:`q_{ij} = z_{ij}` and
    :math:`z_{ij} = t\langle u_i, v_j\rangle - b` (:func:`sigmoid_loss` with ``gamma``;
    :func:`relic_kl`). With ``filter_threshold`` the first term is instead the plain loss over
    the positives and the negatives with :math:`\sigma(q)^\gamma` above the threshold (hard-negative
    filtering), still divided by :math:`N`.

    Parameters
    ----------
    U : torch.Tensor, shape (..., N, d)
        Unit rows of the online network (the reference normalises inside its loss; do it before
        calling).
    V : torch.Tensor, shape (..., N, d)
        Unit rows of the target network.
    t : float or torch.Tensor
        Inverse temperature :math:`t > 0`.
    b : float or torch.Tensor
        Bias, subtracted from :math:`t\langle u, v\rangle`.
    gamma : float, default 1.0
        Confidence penalty :math:`\gamma \ge 0`; 0 is the plain sigmoid loss.
    alpha : float, default 0.0
        Weight :math:`\alpha \ge 0` of the KL term; 0 skips it.
    filter_threshold : float, optional
        Hard-negative filtering threshold in (0, 1), or None for no filtering.
    detach_weight : bool, default False
        Treat :math:`\sigma(q)^\gamma` as a constant in the gradient.
    chunk_size : int, optional
        Anchors per row block of the sigmoid term; None evaluates one block.

    Returns
    -------
    torch.Tensor, shape (...)
        The objective per batch element.

    Raises
    ------
    TypeError
        If ``U`` or ``V`` is not a ``torch.Tensor``, or for the core's type errors.
    ValueError
        If ``alpha`` is not a number :math:`\ge 0`, ``gamma`` is negative or not finite,
        ``filter_threshold`` is outside (0, 1), or for wrong shapes and values.

    See Also
    --------
    sigref.losses.mscl_loss_and_grad : The array-API kernel evaluated here.

    Examples
    --------
    >>> import torch
    >>> from sigref.sampling import uniform_sphere
    >>> from sigref_torch import mscl_loss
    >>> U = torch.tensor(uniform_sphere(0, (4, 3)))
    >>> V = torch.tensor(uniform_sphere(1, (4, 3)))
    >>> print(f"{mscl_loss(U, V, 10.0, 10.0, gamma=1.0).item():.6f}")
    12.228677
    >>> print(f"{mscl_loss(U, V, 10.0, 10.0, gamma=1.0, alpha=0.5).item():.6f}")
    15.101008
    """
    options = dict(gamma=gamma, alpha=alpha, filter_threshold=filter_threshold, detach_weight=detach_weight, chunk_size=chunk_size)
    return _call(losses.mscl_loss_and_grad, {"U": U, "V": V, "t": t, "b": b}, options)


class SigmoidLoss(nn.Module):
    r"""Sigmoid contrastive loss with a learnable log-temperature and bias (papers' convention).

    The module holds :math:`\log t` and :math:`b` as parameters and evaluates :func:`sigmoid_loss`
    with :math:`t = \exp(\log t)`, optionally capped at ``t_max`` by a clamp in :meth:`forward` (as
    MSCL does), and the bias :math:`b` (or the relative bias :math:`b_{\mathrm{rel}}`, with
    :math:`b = t\, b_{\mathrm{rel}}`, when ``relative_bias``). The defaults are SigLIP's
    initialisation [1]_ :math:`t = 10`, :math:`b = 10` (open_clip's ``logit_scale`` 10 and
    ``logit_bias`` -10).

    Parameters
    ----------
    t_init : float, default 10.0
        Initial inverse temperature :math:`t > 0` (the parameter is :math:`\log t`).
    b_init : float, default 10.0
        Initial bias :math:`b` (or :math:`b_{\mathrm{rel}}` when ``relative_bias``).
    relative_bias : bool, default False
        Learn the relative bias :math:`b_{\mathrm{rel}}` [2]_ instead of :math:`b`.
    learn_t, learn_b : bool, default True
        Whether :math:`\log t` and the bias require grad.
    t_max : float, optional
        Upper bound on :math:`t`, applied by a clamp; None for no bound.
    normalize : bool, default False
        L2-normalise the inputs first (for raw projections).
    **options
        Passed to :func:`sigmoid_loss` on every call (``reduction``, ``gamma``, ``detach_weight``,
        ``filter_threshold``, ``negatives_only``, ``chunk_size``).

    Attributes
    ----------
    log_t : torch.nn.Parameter
        The log inverse temperature, a 0-d float32 parameter.
    bias : torch.nn.Parameter
        The bias :math:`b` (or :math:`b_{\mathrm{rel}}`), a 0-d float32 parameter.

    Raises
    ------
    ValueError
        If ``t_init`` is not :math:`> 0`, or ``t_max`` is neither None nor :math:`> 0`.

    See Also
    --------
    sigmoid_loss : The function this module evaluates.

    References
    ----------
    .. [1] X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
       Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343
    .. [2] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> import torch
    >>> from sigref.sampling import uniform_sphere
    >>> from sigref_torch import SigmoidLoss
    >>> criterion = SigmoidLoss()
    >>> criterion
    SigmoidLoss(t=10, b=10, t_max=None, options={})
    >>> U = torch.tensor(uniform_sphere(0, (4, 3)), dtype=torch.float32)
    >>> V = torch.tensor(uniform_sphere(1, (4, 3)), dtype=torch.float32)
    >>> loss = criterion(U, V)
    >>> loss.backward()
    >>> print(f"{loss.item():.4f} {criterion.bias.grad.item():.4f}")
    12.3037 0.9109
    """

    def __init__(self, t_init: float = 10.0, b_init: float = 10.0, *, relative_bias: bool = False,
                 learn_t: bool = True, learn_b: bool = True, t_max: float | None = None, normalize: bool = False,
                 **options: Any) -> None:
        super().__init__()
        if not t_init > 0:
            raise ValueError(f"t_init must be > 0, got {t_init!r}")
        if t_max is not None and not t_max > 0:
            raise ValueError(f"t_max must be > 0 or None, got {t_max!r}")
        self.log_t = nn.Parameter(torch.tensor(math.log(t_init)), requires_grad=learn_t)
        self.bias = nn.Parameter(torch.tensor(float(b_init)), requires_grad=learn_b)
        self.relative_bias = relative_bias
        self.t_max = t_max
        self.normalize = normalize
        self.options = options

    @classmethod
    def batch_aware(cls, batch_size: int, t_init: float = 10.0, **kwargs: Any) -> SigmoidLoss:
        r"""A module whose bias starts at the prior log-odds :math:`b = \log(N - 1)`.

        At this bias the mean predicted probability of a pair matches the positive rate
        :math:`1/N` at initialisation (open_clip issue 650; :func:`sigref.losses.batch_aware_bias`).

        Parameters
        ----------
        batch_size : int
            The batch size :math:`N \ge 2`.
        t_init : float, default 10.0
            Initial inverse temperature.
        **kwargs
            The other keyword arguments of :class:`SigmoidLoss`.

        Returns
        -------
        SigmoidLoss
            The module, with ``b_init = log(batch_size - 1)``.

        Raises
        ------
        ValueError
            If ``batch_size`` is not an integer :math:`\ge 2`.

        Examples
        --------
        >>> from sigref_torch import SigmoidLoss
        >>> criterion = SigmoidLoss.batch_aware(4)
        >>> print(f"{criterion.bias.item():.6f}")
        1.098612
        """
        return cls(t_init, losses.batch_aware_bias(batch_size), **kwargs)

    @property
    def t(self) -> torch.Tensor:
        r"""The inverse temperature :math:`t = \exp(\log t)`, clamped at ``t_max`` when set (0-d tensor).

        Examples
        --------
        >>> from sigref_torch import SigmoidLoss
        >>> print(round(SigmoidLoss(t_init=50.0, t_max=30.0).t.item(), 4))
        30.0
        """
        t = self.log_t.exp()
        return t.clamp(max=self.t_max) if self.t_max is not None else t

    def forward(self, U: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
        """Evaluate the loss of paired rows with the module's temperature and bias.

        Parameters
        ----------
        U, V : torch.Tensor, shape (..., N, d)
            Paired rows: unit rows, or raw projections when the module normalises.

        Returns
        -------
        torch.Tensor, shape (...)
            :func:`sigmoid_loss` of ``U`` and ``V`` at :attr:`t` and the bias.

        Examples
        --------
        >>> import torch
        >>> from sigref_torch import SigmoidLoss
        >>> raw = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
        >>> criterion = SigmoidLoss(normalize=True)
        >>> print(f"{criterion(raw, raw).item():.6f}")
        0.820075
        """
        if self.normalize:
            U, V = nn.functional.normalize(U, dim=-1), nn.functional.normalize(V, dim=-1)
        if self.relative_bias:
            return sigmoid_loss(U, V, self.t, b_rel=self.bias, **self.options)
        return sigmoid_loss(U, V, self.t, self.bias, **self.options)

    def extra_repr(self) -> str:
        """The current :math:`t`, bias, ``t_max`` and options, for ``repr(module)``.

        Returns
        -------
        str
            The text inside the parentheses of the module's ``repr``.

        Examples
        --------
        >>> from sigref_torch import SigmoidLoss
        >>> SigmoidLoss(relative_bias=True, b_init=1.0, gamma=1.0).extra_repr()
        "t=10, b_rel=1, t_max=None, options={'gamma': 1.0}"
        """
        kind = "b_rel" if self.relative_bias else "b"
        return f"t={float(self.t.detach()):.4g}, {kind}={float(self.bias.detach()):.4g}, t_max={self.t_max}, options={self.options}"
