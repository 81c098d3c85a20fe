"""sigref's PyTorch plugin: backend, autograd bridge to sigref's analytic gradients, SSL path."""

from sigref_torch import fused  # noqa: F401  (registers the fused elementwise pass)
from sigref_torch.bridge import SigmoidLoss, mscl_loss, relative_bias_loss, relic_kl, siglip_loss, sigmoid_loss

__all__ = ["SigmoidLoss", "mscl_loss", "relative_bias_loss", "relic_kl", "siglip_loss", "sigmoid_loss"]
