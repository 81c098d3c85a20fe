"""sigref's PyTorch plugin: backend, autograd bridge to sigref's analytic gradients, SSL path.

Attributes load on first use, so that discovering the plugin's CLI commands does not import torch.
"""

from typing import Any

__all__ = ["SigmoidLoss", "mscl_loss", "relative_bias_loss", "relic_kl", "siglip_loss", "sigmoid_loss"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sigref_torch import bridge

        return getattr(bridge, name)
    raise AttributeError(f"module 'sigref_torch' has no attribute {name!r}")
