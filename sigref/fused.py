r"""The elementwise pass of the sigmoid loss, and the contract for plugins that fuse it.

The chunked kernel of :func:`sigref.losses.sigmoid_loss` spends its time outside the matrix
products in one elementwise pass over each block of logits. With :math:`q` the logit seen as a
negative (:math:`q = z_{ij}` off the diagonal, :math:`q = -z_{ii}` on it), the pass computes for
every pair

.. math::

    f(q) = w(q)\,\operatorname{softplus}(q), \qquad
    w(q) = \sigma(q)^{\gamma},

    f'(q) = w(q)\,\bigl(\gamma\,\sigma(-q)\,\operatorname{softplus}(q) + \sigma(q)\bigr),

where :math:`w` is the weight of the modulated sigmoid contrastive loss (MSCL, Basara) with
confidence penalty :math:`\gamma` (:math:`w = 1` at :math:`\gamma = 0`: the plain sigmoid loss of
SigLIP [1]_). With the weight detached from the gradient, :math:`f'(q) = \sigma(q)^{\gamma}\,\sigma(q)`.
Under MSCL hard-negative filtering the pass computes instead

.. math::

    f(q) = \operatorname{softplus}(q)\,[q > q_0], \qquad f'(q) = \sigma(q)\,[q > q_0],

with :math:`q_0` the filtering logit of :func:`filter_logit`, and returns the kept-pair indicator
:math:`[q > q_0]` beside them.

.. rubric:: The contract

A pass is a callable ``pass(xp, q, opt, want_grad) -> (f, fp, keep)`` (:data:`PairPass`):

* ``xp`` is the array-API namespace of ``q`` (``array_api_compat.array_namespace(q)``), ``q`` a
  block of logits of any shape and floating dtype, ``opt`` a :class:`PairOptions` and ``want_grad``
  whether :math:`f'` is needed;
* ``f`` and ``fp`` have the shape, dtype and device of ``q``; ``fp`` is None unless ``want_grad``;
  ``keep`` is a boolean array of that shape when ``opt.keep_above`` is set and None otherwise;
* ``q`` must not be written to: the kernel reads the block again for the positive pairs;
* the values must be those of :func:`reference_pass` to rounding (a plugin's tests compare the two).

:func:`reference_pass` is the array-API implementation. A plugin makes a faster one the default
for one array library with :func:`register`; :func:`pass_for` is what the kernel calls to pick one.

.. rubric:: Discovery

An entry point of the group ``sigref.fused`` (:data:`ENTRY_POINT_GROUP`), named after the array
library (the top-level module of the array type: ``numpy``, ``torch``), points at a module that
calls :func:`register` when imported::

    [project.entry-points."sigref.fused"]
    torch = "sigref_torch.fused"

It is imported the first time a block of that library reaches the kernel. ``SIGREF_FUSED=0`` in
the environment keeps every library on the reference.

References
----------
.. [1] X. Zhai, B. Mustafa, A. Kolesnikov and L. Beyer, "Sigmoid Loss for Language Image
   Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import math
import os
from collections.abc import Callable
from typing import Any

from sigref.numerics import logistic_parts
from sigref.types import Array

__all__ = ["ENTRY_POINT_GROUP", "REGISTRY", "PairOptions", "PairPass", "filter_logit", "load", "pass_for",
           "reference_pass", "register"]

#: The entry-point group through which plugins declare fused passes (``"sigref.fused"``); each
#: entry point is named after an array library and points at a module that calls :func:`register`.
ENTRY_POINT_GROUP = "sigref.fused"

#: The type of an elementwise pass: ``pass(xp, q, opt, want_grad) -> (f, f' or None, kept-pair
#: indicator or None)``, with ``xp`` the namespace of ``q`` and ``opt`` a :class:`PairOptions`
#: (the contract is in the module docstring).
PairPass = Callable[[Any, Array, "PairOptions", bool], tuple[Array, Array | None, Array | None]]

#: The registered passes: array library name (top-level module of the array type, e.g.
#: ``"torch"``) -> its pass. Filled by :func:`register`; a library absent here uses
#: :func:`reference_pass`.
REGISTRY: dict[str, PairPass] = {}
_looked_up: set[str] = set()


def filter_logit(gamma: float, threshold: float) -> float:
    r"""The logit above which MSCL hard-negative filtering keeps a pair.

    Since :math:`\sigma` is increasing, :math:`\sigma(q)^{\gamma} > \theta` (the weight above the
    threshold :math:`\theta`) holds exactly when

    .. math::

        q > \operatorname{logit}\bigl(\theta^{1/\gamma}\bigr) = c - \log\bigl(1 - e^{c}\bigr),
        \qquad c = \frac{\log \theta}{\gamma},

    so that the pass needs one comparison per pair instead of a log-sigmoid, a product and a
    comparison. The right-hand side is computed in float64 without overflow (``log1p``). At
    :math:`\gamma = 0` every weight is 1 and the result is :math:`-\infty`: every pair is kept.

    Parameters
    ----------
    gamma : float
        The MSCL confidence penalty :math:`\gamma \ge 0`.
    threshold : float
        The weight threshold :math:`\theta`, in (0, 1).

    Returns
    -------
    float
        The filtering logit :math:`q_0`: a pair is kept when :math:`q > q_0`.

    Raises
    ------
    ValueError
        From :mod:`math` (``math domain error``) when ``gamma > 0`` and ``threshold`` is not in
        (0, 1).

    Examples
    --------
    >>> from sigref.fused import filter_logit
    >>> filter_logit(1.0, 0.5)  # sigma(q) > 1/2 exactly when q > 0
    0.0
    >>> filter_logit(2.0, 0.25)  # sigma(q)^2 > 1/4: the same pairs
    0.0
    >>> round(filter_logit(1.0, 0.1), 6)  # logit(0.1)
    -2.197225
    >>> filter_logit(0.0, 0.3)
    -inf
    """
    if gamma == 0.0:
        return -math.inf
    c = math.log(threshold) / gamma
    return c - math.log1p(-math.exp(c))


@dataclasses.dataclass(frozen=True)
class PairOptions:
    r"""What the elementwise pass needs to know about the loss.

    The kernel builds one per call of the loss (:meth:`mscl`) and hands it to the pass unchanged;
    a pass reads only these three fields.

    Parameters
    ----------
    gamma : float, default 0.0
        The MSCL confidence penalty: the weight is :math:`w(q) = \sigma(q)^{\gamma}` (0: the
        plain sigmoid loss). Ignored when ``keep_above`` is set.
    detach_weight : bool, default False
        Whether the weight is treated as a constant in the gradient (:math:`f' = w\,\sigma(q)`).
    keep_above : float or None, default None
        The filtering logit :math:`q_0` (:func:`filter_logit`): only pairs with :math:`q > q_0`
        contribute, unweighted. None: no filtering.

    See Also
    --------
    reference_pass : The pass these options drive.

    Examples
    --------
    >>> from sigref.fused import PairOptions
    >>> PairOptions()
    PairOptions(gamma=0.0, detach_weight=False, keep_above=None)
    >>> PairOptions(gamma=1.0, detach_weight=True)
    PairOptions(gamma=1.0, detach_weight=True, keep_above=None)
    """

    gamma: float = 0.0
    detach_weight: bool = False
    keep_above: float | None = None

    @classmethod
    def mscl(cls, gamma: float = 0.0, *, filter_threshold: float | None = None, detach_weight: bool = False) -> PairOptions:
        r"""The options of the MSCL loss with confidence penalty ``gamma`` and filtering threshold ``filter_threshold``.

        The threshold is converted once into the filtering logit ``keep_above`` by
        :func:`filter_logit`; ``gamma`` and ``detach_weight`` are stored as float and bool.

        Parameters
        ----------
        gamma : float, default 0.0
            The confidence penalty :math:`\gamma \ge 0`.
        filter_threshold : float or None, default None
            Keep only the pairs whose weight :math:`\sigma(q)^{\gamma}` exceeds this threshold in
            (0, 1); None: no filtering.
        detach_weight : bool, default False
            Whether the weight is a constant in the gradient.

        Returns
        -------
        PairOptions
            The options for the pass.

        Raises
        ------
        ValueError
            From :func:`filter_logit` when ``gamma > 0`` and ``filter_threshold`` is not in (0, 1).

        Examples
        --------
        >>> from sigref.fused import PairOptions
        >>> PairOptions.mscl(1.0, filter_threshold=0.5)
        PairOptions(gamma=1.0, detach_weight=False, keep_above=0.0)
        >>> PairOptions.mscl(2, detach_weight=True)
        PairOptions(gamma=2.0, detach_weight=True, keep_above=None)
        """
        keep_above = None if filter_threshold is None else filter_logit(float(gamma), filter_threshold)
        return cls(float(gamma), bool(detach_weight), keep_above)


def reference_pass(xp: Any, q: Array, opt: PairOptions, want_grad: bool) -> tuple[Array, Array | None, Array | None]:
    r"""The array-API elementwise pass: :math:`f(q)`, :math:`f'(q)` and the kept-pair indicator.

    Implements the formulas of the module docstring from the parts :math:`e = e^{-|q|}`,
    :math:`1/(1 + e)` and :math:`\log(1 + e)` of :func:`sigref.numerics.logistic_parts` (one
    exponential and one logarithm per pair), with

    .. math::

        \operatorname{softplus}(q) = \max(q, 0) + \log(1 + e), \qquad
        \sigma(q) = \frac{\max(e, \operatorname{sign} q)}{1 + e},

    finite for every finite :math:`q` in float32 and float64. This is the definition that every
    registered pass (:func:`register`) must reproduce.

    Parameters
    ----------
    xp : module
        The array-API namespace of ``q``.
    q : Array, shape (...)
        Logits seen as negatives (:math:`z_{ij}`, or :math:`-z_{ii}` for positive pairs).
    opt : PairOptions
        The loss variant: plain, MSCL-weighted (``gamma``, ``detach_weight``) or filtered
        (``keep_above``).
    want_grad : bool
        Whether to compute :math:`f'(q)`.

    Returns
    -------
    f : Array, shape (...)
        :math:`f(q)`, in the dtype of ``q``.
    fp : Array or None, shape (...)
        :math:`f'(q) = df/dq`; None unless ``want_grad``.
    keep : Array of bool or None, shape (...)
        :math:`[q > q_0]` when ``opt.keep_above`` is set, else None.

    See Also
    --------
    pass_for : The pass the kernel actually runs on an array (a plugin's, or this one).

    Examples
    --------
    >>> import array_api_compat
    >>> import numpy as np
    >>> from sigref.fused import PairOptions, reference_pass
    >>> q = np.array([-2.0, 0.0, 3.0])
    >>> xp = array_api_compat.array_namespace(q)
    >>> f, fp, keep = reference_pass(xp, q, PairOptions(), True)  # softplus(q) and sigma(q)
    >>> [round(float(v), 6) for v in f], [round(float(v), 6) for v in fp], keep
    ([0.126928, 0.693147, 3.048587], [0.119203, 0.5, 0.952574], None)
    >>> f, fp, _ = reference_pass(xp, q, PairOptions(gamma=1.0), True)  # sigma(q) softplus(q)
    >>> [round(float(v), 6) for v in f], [round(float(v), 6) for v in fp]
    ([0.01513, 0.346574, 2.904005], [0.027536, 0.423287, 1.045122])
    >>> f, _, keep = reference_pass(xp, q, PairOptions.mscl(1.0, filter_threshold=0.5), False)
    >>> [round(float(v), 6) for v in f], keep.tolist()
    ([0.0, 0.0, 3.048587], [False, False, True])
    """
    e, r, log1p_e = logistic_parts(q)
    sp = xp.clip(q, min=0.0) + log1p_e

    def sigma(side: Any) -> Any:  # sigma(q) for side = sign(q), sigma(-q) for side = -sign(q)
        return xp.maximum(e, side) * r

    if opt.gamma == 0.0 and opt.keep_above is None:
        return sp, (sigma(xp.sign(q)) if want_grad else None), None
    if opt.keep_above is not None:
        keep = q > opt.keep_above
        kept = xp.astype(keep, q.dtype)
        return sp * kept, (sigma(xp.sign(q)) * kept if want_grad else None), keep
    sign = xp.sign(q)
    sg = sigma(sign)
    w = sg if opt.gamma == 1.0 else xp.exp(opt.gamma * (xp.clip(q, max=0.0) - log1p_e))  # exp(gamma log sigma(q))
    if not want_grad:
        return w * sp, None, None
    if opt.detach_weight:
        return w * sp, w * sg, None
    # d/dq [sigma(q)^gamma softplus(q)] = sigma(q)^gamma (gamma sigma(-q) softplus(q) + sigma(q))
    return w * sp, w * (opt.gamma * sigma(-sign) * sp + sg), None


def register(library: str, fn: PairPass) -> None:
    """Use ``fn`` instead of :func:`reference_pass` for arrays of ``library``.

    Called by a plugin's module when its ``sigref.fused`` entry point is imported; a later
    registration for the same library replaces an earlier one.

    Parameters
    ----------
    library : str
        The top-level module of the array type (``type(q).__module__.split(".")[0]``), e.g.
        ``"torch"`` or ``"numpy"``.
    fn : PairPass
        The pass; it must satisfy the contract of the module docstring.

    Examples
    --------
    >>> from sigref.fused import REGISTRY, reference_pass, register
    >>> register("mylib", reference_pass)
    >>> REGISTRY.pop("mylib") is reference_pass
    True
    """
    REGISTRY[library] = fn


def load(library: str) -> None:
    """Import the ``sigref.fused`` entry points named ``library``, unless ``SIGREF_FUSED=0``.

    Each entry point is a module whose import calls :func:`register`. :func:`pass_for` calls this
    once per library, the first time it sees an array of it.

    Parameters
    ----------
    library : str
        The array library's top-level module name.

    Raises
    ------
    RuntimeError
        When a plugin's module fails to import; the message names the plugin and suggests
        ``SIGREF_FUSED=0``.

    Examples
    --------
    >>> from sigref.fused import REGISTRY, load
    >>> load("no_such_library")  # no entry point of that name: nothing is registered
    >>> "no_such_library" in REGISTRY
    False
    """
    _looked_up.add(library)
    if os.environ.get("SIGREF_FUSED", "1").strip() == "0":
        return
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=library):
        try:
            entry.load()
        except Exception as exc:
            raise RuntimeError(
                f"the fused {library} pass of plugin {entry.value!r} failed to load ({type(exc).__name__}: {exc}); "
                "repair or uninstall that plugin, or set SIGREF_FUSED=0 to use the array-API reference"
            ) from exc


def pass_for(x: Array) -> PairPass:
    """The pass the kernel runs on blocks like ``x``.

    The library of ``x`` is the top-level module of its type; the first time it is seen its
    ``sigref.fused`` plugins are loaded (:func:`load`). The registered pass of the library is
    returned, else :func:`reference_pass`.

    Parameters
    ----------
    x : Array
        A block of logits (only its type is read).

    Returns
    -------
    PairPass
        The registered pass of the library of ``x``, or :func:`reference_pass`.

    Raises
    ------
    RuntimeError
        When the library's plugin fails to import (see :func:`load`).

    Examples
    --------
    >>> import array_api_strict
    >>> from sigref.fused import pass_for, reference_pass
    >>> pass_for(array_api_strict.asarray([0.0])) is reference_pass  # no plugin for array_api_strict
    True
    """
    library = type(x).__module__.split(".")[0]
    if library not in _looked_up:
        load(library)
    return REGISTRY.get(library, reference_pass)
