r"""The sigmoid contrastive loss family: values and analytic gradients on any array-API backend.

Every loss takes the embeddings as rows, ``U`` and ``V`` of shape (..., N, d) with leading batch
axes, follows the array library of its inputs, and comes in two forms: ``name(...)`` returns the
value and ``name_and_grad(...)`` a :class:`~sigref.losses.LossResult` with the analytic gradients.
The logits are written in the papers' convention

.. math::

    z_{ij} = t \langle u_i, v_j \rangle - b,

with the SigLIP convention (``logit_scale``, ``logit_bias = -b``) available through
:func:`~sigref.losses.siglip_loss`.

- :func:`~sigref.losses.sigmoid_loss`: the plain, modulated (MSCL) and filtered sigmoid loss, with
  the reductions of ``REDUCTIONS``, chunked evaluation and the relative-bias form
  (:func:`~sigref.losses.relative_bias_loss`);
- :func:`~sigref.losses.siglip_loss`: the same loss in SigLIP's names and initialisation;
- :func:`~sigref.losses.mscl_loss_and_grad`: the MSCL objective, sigmoid term plus
  :func:`~sigref.losses.relic_kl`, with its schedules (:func:`~sigref.losses.cosine_gamma`,
  :func:`~sigref.losses.filter_threshold_at`, :func:`~sigref.losses.ema_momentum`);
- :func:`~sigref.losses.multimodal_loss`: the loss over a synchronisation graph of k modalities;
- :func:`~sigref.losses.infonce_loss`: the symmetric InfoNCE baseline.
"""

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
