"""How an implementation's arguments and loss map onto the papers' L(U, V; t, b).

sigref's goldens are written in the papers' convention: logits z_ij = t <u_i, v_j> - b (t an inverse
temperature, b subtracted) and the per-anchor loss (1/N) sum_ij w softplus(q) (SigLIP, Zhai et al.
arXiv 2303.15343, Sec. 3; Lee et al. arXiv 2402.12613). An implementation under test takes four
positional arguments (two (N, d) embedding arrays, a scale and a bias) in its own convention:

* the scale argument is t itself, or its logarithm (the model's parameter, exponentiated inside);
* its bias is ``bias_sign * b``: +1 where the bias is subtracted, -1 where it is added (SigLIP's
  ``logit_scale * s + logit_bias``, i.e. b = -logit_bias);
* its loss is the per-anchor sum (divide by N), the plain sum, or the mean over the N^2 pairs.

The expected gradients follow by the chain rule: d/d(log t) = t d/dt, d/d(bias) = bias_sign d/db,
and the reduction multiplies value and gradients by N (sum) or 1/N (mean).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["CONVENTIONS", "REDUCTIONS", "Convention", "describe_conventions", "get_convention"]

REDUCTIONS = ("per_anchor", "sum", "mean")


@dataclass(frozen=True)
class Convention:
    """A loss's calling convention relative to the papers' L(U, V; t, b).

    Parameters
    ----------
    name : short name (``--convention``).
    arguments : names of the four positional arguments: two embeddings, the scale, the bias.
    log_scale : the scale argument is log t (exponentiated by the loss) instead of t.
    bias_sign : the bias argument is ``bias_sign * b`` (+1: subtracted as in the papers; -1: added).
    gammas : loss variants checked: 0 is the plain sigmoid loss; gamma > 0 is MSCL's modulated loss
        with weight (1 - sigma(y z))^gamma, passed to the callable as the keyword ``gamma``.
    reduction : "per_anchor" (sum / N), "sum" or "mean" (sum / N^2).
    source : where the convention comes from.
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
        return self if reduction is None else dataclasses.replace(self, reduction=reduction)

    def scale_of(self, t: float) -> float:
        return math.log(t) if self.log_scale else t

    def arguments_for(self, U: np.ndarray, V: np.ndarray, t: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
        """The callable's four arguments (host float64) for the papers' (U, V, t, b)."""
        scale = np.log(t) if self.log_scale else np.asarray(t, dtype=np.float64)
        return U, V, scale, self.bias_sign * np.asarray(b, dtype=np.float64)

    def expected(self, golden: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """``{"value": ..., <argument>: d value / d argument}`` from the golden per-anchor outputs
        ``value, grad_U, grad_V, grad_t, grad_log_t, grad_b`` of one loss variant."""
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
        gamma = ", gamma=..." if any(self.gammas) else ""
        return f"loss({', '.join(self.arguments)}{gamma})"

    def mapping(self) -> str:
        """One line: the logits, the sign of the bias, the scale, the reduction."""
        u, v, scale, bias = self.arguments
        t = f"exp({scale})" if self.log_scale else scale
        logits = f"{t} <{u}_i, {v}_j> {'-' if self.bias_sign > 0 else '+'} {bias}"
        parts = [f"t = {t}"] if t != "t" else []
        parts += [f"b = {'' if self.bias_sign > 0 else '-'}{bias}"] if (bias, self.bias_sign) != ("b", 1) else []
        papers = ", ".join(parts) or "the papers' t and b"
        reduction = {"per_anchor": "sum over pairs / N", "sum": "sum over pairs", "mean": "sum over pairs / N^2"}[self.reduction]
        weight = f"; weight (1 - sigma(y z))^gamma, gamma in {list(self.gammas)}" if any(self.gammas) else ""
        return f"logits {logits} ({papers}); {reduction}{weight}"


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
    if isinstance(convention, Convention):
        return convention
    if convention not in CONVENTIONS:
        raise ValueError(f"convention: expected one of {list(CONVENTIONS)} or a sigref.conform.Convention, got {convention!r}")
    return CONVENTIONS[convention]


def describe_conventions() -> str:
    """Every convention: its signature, its mapping onto the papers' (t, b) and its source."""
    lines = []
    for c in CONVENTIONS.values():
        lines += [f"{c.name}: {c.signature()}", f"    {c.mapping()}", f"    {c.source}"]
    return "\n".join(lines)
