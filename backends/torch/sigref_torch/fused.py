r"""Fused torch elementwise pass of the sigmoid loss kernel (entry point ``torch`` of ``sigref.fused``).

sigref imports this module the first time a block of torch logits reaches the kernel (the entry
point ``torch`` of the group ``sigref.fused``, see :mod:`sigref.fused`); importing it registers
:func:`pair_terms` in place of the array-API :func:`sigref.fused.reference_pass` for torch tensors.
For a logit :math:`q` seen as a negative (:math:`q = z_{ij}` off the diagonal, :math:`q = -z_{ii}`
on it) the pass computes

.. math::

    f(q) = \sigma(q)^\gamma \operatorname{softplus}(q), \qquad
    f'(q) = \sigma(q)^\gamma \bigl(\gamma\, \sigma(-q) \operatorname{softplus}(q) + \sigma(q)\bigr),

(:math:`f'(q) = \sigma(q)^{\gamma} \sigma(q)` with ``detach_weight``; :math:`\gamma = 0` is the plain
loss), and under MSCL hard-negative filtering :math:`f(q) = \operatorname{softplus}(q)\,[q > q_0]`,
:math:`f'(q) = \sigma(q)\,[q > q_0]` with the kept-pair indicator beside them
(:math:`q_0` = ``keep_above``, :func:`sigref.fused.filter_logit`).

On the CPU, blocks of at least :data:`COMPILE_MIN_PAIRS` pairs go through ``torch.compile``
(Inductor): the formulas of the reference, one exp and one log1p per pair, in a single vectorised
loop instead of a pass per operation (MSCL at :math:`\gamma = 1` on a 512 x 8192 float32 block:
9.7 ms against 22.7 ms eager, on 2 cores). Set ``SIGREF_TORCH_COMPILE=0`` to keep eager (it needs a
C++ compiler). Smaller blocks, CUDA tensors and tensors that carry autograd history take torch's
eager ``softplus`` / ``sigmoid`` / ``addcmul``. The array-API version stays the reference;
``tests/torch/test_bridge.py`` compares both paths with it.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import torch
from torch.nn import functional as F

from sigref import fused as contract

__all__ = ["COMPILE_MIN_PAIRS", "compile_enabled", "pair_terms"]

# softplus(q) = q above this (e^-40 < 1e-17: exact in float64 as in float32)
_LINEAR_ABOVE = 40.0

#: Blocks below this many pairs stay eager: compiling (seconds, once per process) and the guards of
#: each call (tens of microseconds) would cost more than they save.
COMPILE_MIN_PAIRS = 2**16


def compile_enabled() -> bool:
    """Tell whether CPU blocks use the compiled pass (``SIGREF_TORCH_COMPILE``, default on).

    Read from the environment on every call: any value but ``"0"`` (or no value) turns it on.

    Returns
    -------
    bool
        False when ``SIGREF_TORCH_COMPILE=0``, True otherwise.

    Examples
    --------
    >>> import os
    >>> from sigref_torch.fused import compile_enabled
    >>> compile_enabled() == (os.environ.get("SIGREF_TORCH_COMPILE", "1").strip() != "0")
    True
    """
    return os.environ.get("SIGREF_TORCH_COMPILE", "1").strip() != "0"


def _eager(q: torch.Tensor, opt: Any, want_grad: bool) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    sp = F.softplus(q, threshold=_LINEAR_ABOVE)
    if opt.keep_above is not None:
        keep = q > opt.keep_above
        return sp.mul_(keep), (torch.sigmoid(q).mul_(keep) if want_grad else None), keep
    if opt.gamma == 0.0:
        return sp, (torch.sigmoid(q) if want_grad else None), None
    sg = torch.sigmoid(q)
    w = sg if opt.gamma == 1.0 else sg.pow(opt.gamma)
    f = w * sp
    if not want_grad:
        return f, None, None
    if opt.detach_weight:
        return f, w * sg, None
    # sigma(q)^gamma (gamma sigma(-q) softplus(q) + sigma(q)), the bracket in one addcmul
    return f, torch.addcmul(sg, torch.sigmoid(-q), sp, value=opt.gamma).mul_(w), None


# The compiled bodies: sigref.numerics.logistic_parts and sigref.fused.reference_pass on a flat
# block. gamma, the derivative's slope and the threshold come as 0-d tensors, so that a gamma schedule
# does not recompile; each body then has one graph per dtype and want_grad.

def _parts(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """softplus(q), sigma(q), sigma(-q) and log1p(e^-|q|), from one exp and one log1p."""
    e = torch.exp(-q.abs())
    r = 1.0 / (1.0 + e)
    log1p_e = torch.log1p(e)
    positive = q >= 0
    return torch.clamp(q, min=0.0) + log1p_e, torch.where(positive, r, e * r), torch.where(positive, e * r, r), log1p_e


def _plain(q: torch.Tensor, want_grad: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    sp, sg, _, _ = _parts(q)
    return sp, (sg if want_grad else None)


def _weighted(q: torch.Tensor, gamma: torch.Tensor, slope: torch.Tensor, want_grad: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """w = sigma(q)^gamma = exp(gamma log sigma(q)), f = w softplus(q) and
    f' = w (slope sigma(-q) softplus(q) + sigma(q)): slope = gamma, or 0 for the detached weight."""
    sp, sg, sn, log1p_e = _parts(q)
    w = torch.exp(gamma * (torch.clamp(q, max=0.0) - log1p_e))
    return w * sp, (w * (slope * sn * sp + sg) if want_grad else None)


def _sigma_weighted(q: torch.Tensor, slope: torch.Tensor, want_grad: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`_weighted` at gamma = 1, where w = sigma(q) exactly (no second exp)."""
    sp, sg, sn, _ = _parts(q)
    return sg * sp, (sg * (slope * sn * sp + sg) if want_grad else None)


def _filtered(q: torch.Tensor, keep_above: torch.Tensor, want_grad: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    sp, sg, _, _ = _parts(q)
    keep = q > keep_above
    return torch.where(keep, sp, 0.0), (torch.where(keep, sg, 0.0) if want_grad else None)


_COMPILED: dict[str, Any] = {}


def _compiled(name: str, body: Any) -> Any:
    if name not in _COMPILED:
        # dynamic_threads: one OpenMP region whatever the size hint of the first call (Inductor drops
        # the parallel loop for a small first block, and its on-disk cache hands that code to later processes)
        _COMPILED[name] = torch.compile(body, dynamic=True, fullgraph=True, options={"cpp.dynamic_threads": True})
    return _COMPILED[name]


def _compiled_terms(q: torch.Tensor, opt: Any, want_grad: bool) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    flat = q.contiguous().view(-1)

    def scalar(x: float) -> torch.Tensor:
        return torch.tensor(x, dtype=q.dtype)

    try:
        with torch.no_grad():
            if opt.keep_above is not None:
                f, fp = _compiled("filtered", _filtered)(flat, scalar(opt.keep_above), want_grad)
                keep = flat > opt.keep_above  # eager: Inductor's stores of a bool output are not vectorised
            elif opt.gamma == 0.0:
                (f, fp), keep = _compiled("plain", _plain)(flat, want_grad), None
            else:
                slope = scalar(0.0 if opt.detach_weight else opt.gamma)
                if opt.gamma == 1.0:
                    f, fp = _compiled("sigma_weighted", _sigma_weighted)(flat, slope, want_grad)
                else:
                    f, fp = _compiled("weighted", _weighted)(flat, scalar(opt.gamma), slope, want_grad)
                keep = None
    except Exception as exc:
        if type(exc).__name__ == "FailOnRecompileLimitHit":  # this process compiled the body for too many input kinds
            warnings.warn("sigref-torch: torch.compile's recompile limit was reached for the elementwise pass; "
                          "this call runs torch's eager operations (the same formulas)", RuntimeWarning, stacklevel=2)
            return _eager(q, opt, want_grad)
        raise RuntimeError(
            f"torch.compile of sigref's elementwise pass failed ({type(exc).__name__}: {exc}); it needs a C++ "
            "compiler for CPU tensors. Set SIGREF_TORCH_COMPILE=0 to use torch's eager operations instead"
        ) from exc

    def shaped(x: torch.Tensor | None) -> torch.Tensor | None:
        return None if x is None else x.view(q.shape)

    return shaped(f), shaped(fp), shaped(keep)


def pair_terms(xp: Any, q: torch.Tensor, opt: contract.PairOptions,
               want_grad: bool) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    r"""Compute :math:`f(q)`, :math:`f'(q)` and the kept pairs of a block of torch logits.

    The registered torch pass of the contract :data:`sigref.fused.PairPass`, with the values of
    :func:`sigref.fused.reference_pass` (module docstring for the formulas): compiled for large CPU
    blocks (:data:`COMPILE_MIN_PAIRS`, :func:`compile_enabled`), torch's eager operations otherwise.

    Parameters
    ----------
    xp : module
        The array namespace of ``q`` (unused: the pass is written in torch).
    q : torch.Tensor
        The logits seen as negatives, a floating tensor of any shape.
    opt : sigref.fused.PairOptions
        The MSCL exponent ``gamma``, ``detach_weight`` and the filtering logit ``keep_above``.
    want_grad : bool
        Whether to compute :math:`f'(q)`.

    Returns
    -------
    f : torch.Tensor
        :math:`f(q)`, of the shape and dtype of ``q``.
    fp : torch.Tensor or None
        :math:`f'(q)`, or None unless ``want_grad``.
    keep : torch.Tensor or None
        The boolean kept-pair indicator :math:`q > q_0` under filtering, else None.

    Raises
    ------
    RuntimeError
        If ``torch.compile`` of the pass fails (e.g. no C++ compiler for CPU tensors).

    Warns
    -----
    RuntimeWarning
        When torch.compile's recompile limit is reached; that call then runs the eager operations.

    See Also
    --------
    sigref.fused.reference_pass : The array-API reference with the same values.

    Examples
    --------
    >>> import torch
    >>> from sigref.fused import PairOptions
    >>> from sigref_torch.fused import pair_terms
    >>> q = torch.tensor([-2.0, 0.0, 3.0], dtype=torch.float64)
    >>> f, fp, keep = pair_terms(torch, q, PairOptions(), want_grad=True)
    >>> print([round(x, 6) for x in f.tolist()], [round(x, 6) for x in fp.tolist()], keep)
    [0.126928, 0.693147, 3.048587] [0.119203, 0.5, 0.952574] None

    MSCL with :math:`\gamma = 1`, then filtering at threshold 0.5 (keeps :math:`q > 0`):

    >>> f, fp, _ = pair_terms(torch, q, PairOptions.mscl(1.0), want_grad=True)
    >>> print([round(x, 6) for x in f.tolist()], [round(x, 6) for x in fp.tolist()])
    [0.01513, 0.346574, 2.904005] [0.027536, 0.423287, 1.045122]
    >>> f, fp, keep = pair_terms(torch, q, PairOptions.mscl(1.0, filter_threshold=0.5), want_grad=False)
    >>> print([round(x, 6) for x in f.tolist()], fp, keep.tolist())
    [0.0, 0.0, 3.048587] None [False, False, True]
    """
    if q.device.type == "cpu" and q.numel() >= COMPILE_MIN_PAIRS and not q.requires_grad and compile_enabled():
        return _compiled_terms(q, opt, want_grad)
    return _eager(q, opt, want_grad)


contract.register("torch", pair_terms)
