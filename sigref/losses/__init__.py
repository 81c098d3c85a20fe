"""The sigmoid contrastive loss family: values and analytic gradients on any array-API backend."""

from sigref.losses._result import LossResult
from sigref.losses.infonce import infonce_loss, infonce_loss_and_grad
from sigref.losses.mscl import mscl_loss_and_grad
from sigref.losses.multimodal import graph_edges, multimodal_loss, multimodal_loss_and_grad
from sigref.losses.relic import relic_kl, relic_kl_and_grad
from sigref.losses.schedules import cosine_decay, cosine_gamma, ema_momentum, filter_threshold_at
from sigref.losses.siglip import (
    SIGLIP_INIT,
    batch_aware_bias,
    paper_from_siglip,
    siglip_from_paper,
    siglip_loss,
    siglip_loss_and_grad,
)
from sigref.losses.sigmoid import (
    REDUCTIONS,
    logit_diagnostics,
    relative_bias_loss,
    relative_bias_loss_and_grad,
    sigmoid_loss,
    sigmoid_loss_and_grad,
)

__all__ = [
    "REDUCTIONS",
    "SIGLIP_INIT",
    "LossResult",
    "batch_aware_bias",
    "cosine_decay",
    "cosine_gamma",
    "ema_momentum",
    "filter_threshold_at",
    "graph_edges",
    "infonce_loss",
    "infonce_loss_and_grad",
    "logit_diagnostics",
    "mscl_loss_and_grad",
    "multimodal_loss",
    "multimodal_loss_and_grad",
    "paper_from_siglip",
    "relative_bias_loss",
    "relative_bias_loss_and_grad",
    "relic_kl",
    "relic_kl_and_grad",
    "siglip_from_paper",
    "siglip_loss",
    "siglip_loss_and_grad",
    "sigmoid_loss",
    "sigmoid_loss_and_grad",
]
