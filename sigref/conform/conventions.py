r"""How an implementation's arguments and loss map onto the papers' :math:`L(U, V; t, b)`.

sigref's goldens are written in the papers' convention: logits
:math:`z_{ij} = t \langle u_i, v_j \rangle - b` (:math:`t` an inverse temperature, :math:`b`
subtracted) and the per-anchor loss

.. math::

    L(U, V; t, b) = \frac{1}{N} \sum_{i,j} w\,\operatorname{softplus}(q_{ij})

(SigLIP, Zhai et al. arXiv:2303.15343, Sec. 3; Lee et al. arXiv:2402.12613). An implementation
under test takes four positional arguments, two :math:`(N, d)` embedding arrays, a scale and a
bias, in its own convention (:class:`Convention`):

* the scale argument is :math:`t` itself, or its logarithm (the model's parameter,
  exponentiated inside the loss);
* its bias is ``bias_sign`` :math:`\cdot\, b`: +1 where the bias is subtracted, -1 where it is
  added (SigLIP's ``logit_scale * s + logit_bias``, i.e. :math:`b = -` ``logit_bias``);
* its loss is the per-anchor sum (divided by :math:`N`), the plain sum, or the mean over the
  :math:`N^2` pairs.

The inputs are mapped into the convention (:meth:`Convention.arguments_for`), and the expected
gradients follow by the chain rule (:meth:`Convention.expected`):

.. math::

    \frac{\partial L}{\partial \log t} = t\,\frac{\partial L}{\partial t}, \qquad
    \frac{\partial L}{\partial\,\mathrm{bias}} = \mathrm{bias\_sign}\,\frac{\partial L}{\partial b},

and the reduction multiplies the value and every gradient by :math:`N` (sum) or :math:`1/N`
(mean).

.. rubric:: The registered conventions

==============  ===============================================  ===============  ==========
name            arguments                                        scale            bias
==============  ===============================================  ===============  ==========
``paper``       ``U, V, t, b``                                   :math:`t`        :math:`b`
``siglip``      ``zimg, ztxt, t_prime, bias``                    :math:`\log t`   :math:`-b`
``open_clip``   ``image_features, text_features, logit_scale,``  :math:`t`        :math:`-b`
\               ``logit_bias``
``mscl``        ``x, x_target, tau, beta`` (and ``gamma=``)      :math:`\log t`   :math:`-b`
==============  ===============================================  ===============  ==========

All four use the per-anchor reduction; ``mscl`` is checked at :math:`\gamma = 1` and
:math:`\gamma = 0.5` of MSCL's modulated loss (weight :math:`(1 - \sigma(y z))^{\gamma}`, not
detached), the others on the plain loss.

Examples
--------
>>> from sigref.conform import get_convention
>>> print(get_convention("open_clip").mapping())
logits logit_scale <image_features_i, text_features_j> + logit_bias (t = logit_scale, b = -logit_bias); sum over pairs / N
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["CONVENTIONS", "REDUCTIONS", "Convention", "describe_conventions", "get_convention"]

#: The loss reductions a convention can have: the per-anchor sum (divided by N), the sum, and the
#: mean over the N^2 pairs.
REDUCTIONS = ("per_anchor", "sum", "mean")


@dataclass(frozen=True)
class Convention:
    r"""A loss's calling convention relative to the papers' :math:`L(U, V; t, b)`.

    The registered ones are in :data:`CONVENTIONS`; a new one can be passed to
    :func:`sigref.conform.conform` directly.

    Parameters
    ----------
    name : str
        Short name (the ``--convention`` value).
    arguments : tuple of str
        Names of the four positional arguments: two embeddings, the scale, the bias.
    log_scale : bool
        The scale argument is :math:`\log t` (exponentiated by the loss) instead of :math:`t`.
    bias_sign : int
        The bias argument is ``bias_sign * b``: +1 where it is subtracted as in the papers, -1
        where it is added.
    gammas : tuple of float, default (0.0,)
        The loss variants checked: 0 is the plain sigmoid loss; :math:`\gamma > 0` is MSCL's
        modulated loss with weight :math:`(1 - \sigma(y z))^{\gamma}`, passed to the callable as
        the keyword ``gamma``.
    reduction : str, default "per_anchor"
        ``"per_anchor"`` (sum / :math:`N`), ``"sum"`` or ``"mean"`` (sum / :math:`N^2`).
    source : str, default ""
        Where the convention comes from.

    Raises
    ------
    ValueError
        When ``bias_sign`` is not +1 or -1, ``reduction`` is not in :data:`REDUCTIONS`,
        ``arguments`` does not name four arguments, or ``gammas`` is empty or holds a value that is
        not a finite number :math:`\ge 0`.

    Examples
    --------
    >>> from sigref.conform import Convention
    >>> mine = Convention("mine", ("a", "b", "log_scale", "bias"), log_scale=True, bias_sign=-1, reduction="mean")
    >>> print(mine.signature()); print(mine.mapping())
    loss(a, b, log_scale, bias)
    logits exp(log_scale) <a_i, b_j> + bias (t = exp(log_scale), b = -bias); sum over pairs / N^2
    """

    name: str
    arguments: tuple[str, str, str, str]
    log_scale: bool
    bias_sign: int
    gammas: tuple[float, ...] = (0.0,)
    reduction: str = "per_anchor"
    source: str = ""

    def __post_init__(self) -> None:
        if self.bias_sign not in (1, -1):
            raise ValueError(f"bias_sign must be +1 or -1, got {self.bias_sign!r}")
        if self.reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {self.reduction!r}")
        if len(self.arguments) != 4:
            raise ValueError(f"arguments must name 4 positional arguments (two embeddings, scale, bias), got {self.arguments!r}")
        if not self.gammas or any(not (isinstance(g, (int, float)) and 0 <= g < math.inf) for g in self.gammas):
            raise ValueError(f"gammas must be finite numbers >= 0, got {self.gammas!r}")

    def with_reduction(self, reduction: str | None) -> Convention:
        """Return a copy of this convention with another reduction (the ``--reduction`` option).

        Only the reduction changes: the expected values and gradients scale with it.

        Parameters
        ----------
        reduction : str or None
            A value of :data:`REDUCTIONS`; None keeps this convention.

        Returns
        -------
        Convention
            ``self`` when ``reduction`` is None, else a copy with that reduction.

        Raises
        ------
        ValueError
            When ``reduction`` is not in :data:`REDUCTIONS`.

        Examples
        --------
        >>> from sigref.conform import get_convention
        >>> get_convention("paper").with_reduction("sum").reduction
        'sum'
        """
        return self if reduction is None else dataclasses.replace(self, reduction=reduction)

    def scale_of(self, t: float) -> float:
        """The scale argument for the inverse temperature ``t``: ``log(t)`` or ``t``.

        ``log(t)`` when :attr:`log_scale` is set.

        Parameters
        ----------
        t : float
            The papers' inverse temperature, > 0.

        Returns
        -------
        float
            What the callable receives as its scale.

        Examples
        --------
        >>> from sigref.conform import get_convention
        >>> round(get_convention("siglip").scale_of(10.0), 6), get_convention("open_clip").scale_of(10.0)
        (2.302585, 10.0)
        """
        return math.log(t) if self.log_scale else t

    def arguments_for(self, U: np.ndarray, V: np.ndarray, t: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
        """The callable's four arguments for the papers' ``(U, V, t, b)``.

        The embeddings are passed unchanged; the scale becomes ``log(t)`` or ``t`` and the bias
        ``bias_sign * b``, as host float64 arrays.

        Parameters
        ----------
        U, V : numpy.ndarray, shape (..., N, d)
            The embeddings.
        t : numpy.ndarray, shape (...)
            The inverse temperature.
        b : numpy.ndarray, shape (...)
            The bias, subtracted from the logits.

        Returns
        -------
        tuple of numpy.ndarray
            ``(U, V, scale, bias)`` in this convention.

        Examples
        --------
        >>> import numpy as np
        >>> from sigref.conform import get_convention
        >>> U = np.eye(2)
        >>> _, _, scale, bias = get_convention("siglip").arguments_for(U, U, np.float64(10.0), np.float64(10.0))
        >>> round(float(scale), 6), float(bias)
        (2.302585, -10.0)
        """
        scale = np.log(t) if self.log_scale else np.asarray(t, dtype=np.float64)
        return U, V, scale, self.bias_sign * np.asarray(b, dtype=np.float64)

    def expected(self, golden: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """The expected value and gradients in this convention, from the golden per-anchor outputs.

        The value and every gradient are multiplied by the reduction's factor (1, :math:`N` or
        :math:`1/N`); the scale's gradient is ``grad_log_t`` or ``grad_t``, and the bias's
        ``bias_sign * grad_b``.

        Parameters
        ----------
        golden : dict of str to numpy.ndarray
            The outputs ``value``, ``grad_U``, ``grad_V``, ``grad_t``, ``grad_log_t`` and
            ``grad_b`` of one loss variant and configuration.
        n : int
            The number of pairs :math:`N`.

        Returns
        -------
        dict of str to numpy.ndarray
            ``"value"`` and, for each of the four argument names, the derivative of the value
            in that argument.

        Examples
        --------
        >>> import numpy as np
        >>> from sigref.conform import get_convention
        >>> golden = {"value": 0.5, "grad_U": np.zeros((2, 2)), "grad_V": np.zeros((2, 2)),
        ...           "grad_t": 0.1, "grad_log_t": 1.0, "grad_b": 0.2}
        >>> expected = get_convention("open_clip").with_reduction("mean").expected(golden, 2)
        >>> {k: float(v) for k, v in expected.items() if np.ndim(v) == 0}
        {'value': 0.25, 'logit_scale': 0.05, 'logit_bias': -0.1}
        """
        factor = {"per_anchor": 1.0, "sum": float(n), "mean": 1.0 / n}[self.reduction]
        u, v, scale, bias = self.arguments
        return {
            "value": factor * golden["value"],
            u: factor * golden["grad_U"],
            v: factor * golden["grad_V"],
            scale: factor * golden["grad_log_t" if self.log_scale else "grad_t"],
            bias: factor * self.bias_sign * golden["grad_b"],
        }

    def signature(self) -> str:
        """The call the convention expects, e.g. ``loss(U, V, t, b)``.

        ``gamma=...`` is appended when a modulated variant is checked.

        Returns
        -------
        str
            The signature.

        Examples
        --------
        >>> from sigref.conform import get_convention
        >>> get_convention("mscl").signature()
        'loss(x, x_target, tau, beta, gamma=...)'
        """
        gamma = ", gamma=..." if any(self.gammas) else ""
        return f"loss({', '.join(self.arguments)}{gamma})"

    def mapping(self) -> str:
        """One line: the logits, the papers' t and b in the arguments, the reduction, the weight.

        This is what ``sigref conform --conventions`` and the report's header print.

        Returns
        -------
        str
            The mapping.

        Examples
        --------
        >>> from sigref.conform import get_convention
        >>> get_convention("siglip").mapping()
        'logits exp(t_prime) <zimg_i, ztxt_j> + bias (t = exp(t_prime), b = -bias); sum over pairs / N'
        """
        u, v, scale, bias = self.arguments
        t = f"exp({scale})" if self.log_scale else scale
        logits = f"{t} <{u}_i, {v}_j> {'-' if self.bias_sign > 0 else '+'} {bias}"
        parts = [f"t = {t}"] if t != "t" else []
        parts += [f"b = {'' if self.bias_sign > 0 else '-'}{bias}"] if (bias, self.bias_sign) != ("b", 1) else []
        papers = ", ".join(parts) or "the papers' t and b"
        reduction = {"per_anchor": "sum over pairs / N", "sum": "sum over pairs", "mean": "sum over pairs / N^2"}[self.reduction]
        weight = f"; weight (1 - sigma(y z))^gamma, gamma in {list(self.gammas)}" if any(self.gammas) else ""
        return f"logits {logits} ({papers}); {reduction}{weight}"


#: The registered conventions by name: ``paper``, ``siglip``, ``open_clip`` and ``mscl`` (see the
#: table in :mod:`sigref.conform.conventions`).
CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention("paper", ("U", "V", "t", "b"), log_scale=False, bias_sign=1,
                   source="Lee et al. arXiv 2402.12613, Bangachev et al. arXiv 2509.18552; sigref.losses.sigmoid_loss"),
        Convention("siglip", ("zimg", "ztxt", "t_prime", "bias"), log_scale=True, bias_sign=-1,
                   source="SigLIP, Zhai et al. arXiv 2303.15343, Algorithm 1 (big_vision: t = exp(t'), learned bias added)"),
        Convention("open_clip", ("image_features", "text_features", "logit_scale", "logit_bias"), log_scale=False, bias_sign=-1,
                   source="open_clip SigLipLoss.forward: logit_scale is passed already exponentiated (model.logit_scale.exp())"),
        Convention("mscl", ("x", "x_target", "tau", "beta"), log_scale=True, bias_sign=-1, gammas=(1.0, 0.5),
                   source="Basara's MSCL scl_loss (its bias beta added), modulated, weight not detached; pass max_tau = inf (no clamp)"),
    )
}


def get_convention(convention: str | Convention) -> Convention:
    """The convention called ``convention``, or ``convention`` itself when it is one.

    This is how :func:`sigref.conform.conform` reads its ``convention`` argument.

    Parameters
    ----------
    convention : str or Convention
        A name of :data:`CONVENTIONS`, or a :class:`Convention`.

    Returns
    -------
    Convention
        The convention.

    Raises
    ------
    ValueError
        When the name is not registered; the message lists the names.

    Examples
    --------
    >>> from sigref.conform import get_convention
    >>> paper = get_convention("paper")
    >>> paper.arguments, paper.log_scale, paper.bias_sign, get_convention(paper) is paper
    (('U', 'V', 't', 'b'), False, 1, True)
    """
    if isinstance(convention, Convention):
        return convention
    if convention not in CONVENTIONS:
        raise ValueError(f"convention: expected one of {list(CONVENTIONS)} or a sigref.conform.Convention, got {convention!r}")
    return CONVENTIONS[convention]


def describe_conventions() -> str:
    """Every registered convention: its signature, its mapping onto the papers' (t, b) and its source.

    Three lines per convention, as ``sigref conform --conventions`` prints them.

    Returns
    -------
    str
        The description, without a trailing newline.

    Examples
    --------
    >>> from sigref.conform import describe_conventions
    >>> print(describe_conventions().splitlines()[0])
    paper: loss(U, V, t, b)
    """
    lines = []
    for c in CONVENTIONS.values():
        lines += [f"{c.name}: {c.signature()}", f"    {c.mapping()}", f"    {c.source}"]
    return "\n".join(lines)
