"""The SigLIP / open_clip convention and initialisation helpers.

SigLIP (Zhai et al. arXiv 2303.15343), big_vision, open_clip and Hugging Face write the logits
as ``logit_scale * <x, y> + logit_bias`` and the loss as the sum over pairs divided by the
number of rows. sigref's papers write ``t <u, v> - b``, so

    t = logit_scale (already exponentiated, as open_clip's ``SigLipLoss`` receives it),
    b = -logit_bias,

and :func:`siglip_loss` is :func:`sigref.losses.sigmoid_loss` with ``reduction="per_anchor"``
under that map. SigLIP's initialisation t' = log 10, bias = -10 is t = b = 10 here.
"""

from __future__ import annotations

import math
from typing import Any

from sigref._arrays import positive_int
from sigref.losses._result import LossResult
from sigref.losses.sigmoid import sigmoid_loss, sigmoid_loss_and_grad

__all__ = ["SIGLIP_INIT", "batch_aware_bias", "paper_from_siglip", "siglip_from_paper", "siglip_loss", "siglip_loss_and_grad"]

#: SigLIP's initial (t, b) in the papers' convention: logit_scale = 10, logit_bias = -10.
SIGLIP_INIT = (10.0, 10.0)


def paper_from_siglip(logit_scale: Any, logit_bias: Any) -> tuple[Any, Any]:
    """(t, b) of the papers from SigLIP's (logit_scale, logit_bias)."""
    return logit_scale, -logit_bias


def siglip_from_paper(t: Any, b: Any) -> tuple[Any, Any]:
    """SigLIP's (logit_scale, logit_bias) from the papers' (t, b)."""
    return t, -b


def batch_aware_bias(n: int) -> float:
    """Paper-convention bias b = log(N - 1), i.e. SigLIP bias log(p / (1 - p)) with p = 1/N, the
    prior log-odds of a pair being positive (open_clip issue 650): at initialisation the mean
    predicted probability matches the positive rate 1/N."""
    positive_int("N (batch size)", n, minimum=2)
    return math.log(n - 1)


def siglip_loss(image_features: Any, text_features: Any, logit_scale: Any, logit_bias: Any, *, chunk_size: int | None = None) -> Any:
    """open_clip's ``SigLipLoss`` value: -(1/N) sum_ij log sigmoid(y_ij (scale <x_i, y_j> + bias))."""
    t, b = paper_from_siglip(logit_scale, logit_bias)
    return sigmoid_loss(image_features, text_features, t, b, reduction="per_anchor", chunk_size=chunk_size)


def siglip_loss_and_grad(image_features: Any, text_features: Any, logit_scale: Any, logit_bias: Any, *,
                         chunk_size: int | None = None) -> LossResult:
    """Value and gradients of :func:`siglip_loss`; grad keys "image_features", "text_features",
    "logit_scale", "logit_bias"."""
    t, b = paper_from_siglip(logit_scale, logit_bias)
    res = sigmoid_loss_and_grad(image_features, text_features, t, b, reduction="per_anchor", chunk_size=chunk_size)
    grad = {
        "image_features": res.grad["U"],
        "text_features": res.grad["V"],
        "logit_scale": res.grad["t"],
        "logit_bias": -res.grad["b"],
    }
    return LossResult(value=res.value, grad=grad)
