"""The sigmoid contrastive loss family: values and analytic gradients on any array-API backend."""

from sigref.losses._result import LossResult
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
    "LossResult",
    "logit_diagnostics",
    "relative_bias_loss",
    "relative_bias_loss_and_grad",
    "sigmoid_loss",
    "sigmoid_loss_and_grad",
]
