"""The elementwise pass of the sigmoid loss, and the contract for plugins that fuse it.

The chunked kernel of :mod:`sigref.losses.sigmoid` spends its time outside the matrix products in
one elementwise pass over each block of logits: with q the logit seen as a negative (q = z_ij off
the diagonal, q = -z_ii on it),

    f(q)  = w(q) softplus(q),                w(q) = sigma(q)^gamma (MSCL, Basara; 1 when gamma = 0)
    f'(q) = w(q) (gamma sigma(-q) softplus(q) + sigma(q))      (sigma(q)^gamma sigma(q) if detached)

and, under MSCL hard-negative filtering, f(q) = softplus(q) [q > keep_above] with the kept-pair
indicator returned beside it. :func:`reference_pass` computes it on the array API; a plugin may
register a faster pass for one array library with :func:`register`, and must return the same
values (its tests compare it with :func:`reference_pass`).

Discovery: an entry point of the group ``sigref.fused`` (:data:`ENTRY_POINT_GROUP`), named after
the array library (``numpy``, ``torch``), points at a module that calls :func:`register` when
imported. It is imported the first time a block of that library reaches the kernel;
``SIGREF_FUSED=0`` in the environment keeps every library on the reference.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import math
import os
from collections.abc import Callable
from typing import Any

from sigref.numerics import logistic_parts

__all__ = ["ENTRY_POINT_GROUP", "REGISTRY", "PairOptions", "PairPass", "filter_logit", "load", "pass_for",
           "reference_pass", "register"]

ENTRY_POINT_GROUP = "sigref.fused"

#: ``pass(xp, q, opt, want_grad) -> (f, f' or None, kept-pair indicator or None)``
PairPass = Callable[[Any, Any, "PairOptions", bool], tuple[Any, Any | None, Any | None]]

#: array library name (top-level module of the array type, e.g. ``"torch"``) -> its registered pass
REGISTRY: dict[str, PairPass] = {}
_looked_up: set[str] = set()


def filter_logit(gamma: float, threshold: float) -> float:
    """The logit above which MSCL filtering keeps a negative: sigma(q)^gamma > threshold exactly when

        q > logit(threshold^(1/gamma)) = c - log1p(-e^c),   c = log(threshold) / gamma,

    since sigma is increasing (-inf for gamma = 0: every pair is kept). One comparison per pair
    instead of a log-sigmoid, a product and a comparison; computed in float64 without overflow."""
    if gamma == 0.0:
        return -math.inf
    c = math.log(threshold) / gamma
    return c - math.log1p(-math.exp(c))


@dataclasses.dataclass(frozen=True)
class PairOptions:
    """What the elementwise pass needs: the MSCL exponent ``gamma``, whether the weight is
    ``detach_weight``-ed in the gradient, and the filtering logit ``keep_above`` (None: no
    filtering; see :func:`filter_logit` and :meth:`mscl`)."""

    gamma: float = 0.0
    detach_weight: bool = False
    keep_above: float | None = None

    @classmethod
    def mscl(cls, gamma: float = 0.0, *, filter_threshold: float | None = None, detach_weight: bool = False) -> PairOptions:
        """The options of the MSCL loss with confidence penalty ``gamma`` and filtering threshold ``filter_threshold``."""
        keep_above = None if filter_threshold is None else filter_logit(float(gamma), filter_threshold)
        return cls(float(gamma), bool(detach_weight), keep_above)


def reference_pass(xp: Any, q: Any, opt: PairOptions, want_grad: bool) -> tuple[Any, Any | None, Any | None]:
    """f(q), f'(q) (None unless ``want_grad``) and the kept-pair indicator (filtering only), from the
    parts of :func:`sigref.numerics.logistic_parts` (one exp, one log per pair)."""
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
    """Use ``fn`` instead of :func:`reference_pass` for arrays of ``library`` (e.g. ``"torch"``)."""
    REGISTRY[library] = fn


def load(library: str) -> None:
    """Import the ``sigref.fused`` entry points named ``library`` (unless ``SIGREF_FUSED=0``).

    Raises RuntimeError naming the plugin when one fails to import."""
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


def pass_for(x: Any) -> PairPass:
    """The pass the kernel runs on blocks like ``x``: the registered one of its library, else the reference."""
    library = type(x).__module__.split(".")[0]
    if library not in _looked_up:
        load(library)
    return REGISTRY.get(library, reference_pass)
