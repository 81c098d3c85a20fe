"""Fused torch elementwise pass of the sigmoid loss kernel (registered on import of sigref_torch).

Replaces sigref's array-API ``_pair_terms`` for torch tensors with torch's native fused ops
(softplus, sigmoid, pow, in-place products): the same formulas, fewer passes over each block.
The array-API version stays the reference; ``tests/test_torch_bridge.py`` compares the two.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F

from sigref.losses.sigmoid import register_fused_pair_terms

# softplus(q) = q above this (e^-40 < 1e-17: exact in float64 as in float32)
_LINEAR_ABOVE = 40.0


def pair_terms(xp: Any, q: torch.Tensor, opt: Any, want_grad: bool) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """f(q) = sigma(q)^gamma softplus(q), f'(q) and the filtering mask; see sigref.losses.sigmoid."""
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


register_fused_pair_terms("torch", pair_terms)
