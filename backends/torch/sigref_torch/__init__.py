"""The PyTorch plugin of sigref: backend, autograd bridge to sigref's analytic gradients, SSL path.

The distribution ``sigref-torch`` plugs into sigref through entry points and modules:

- :mod:`sigref_torch.backend`: the ``torch`` backend of the registry (entry-point group
  ``sigref.backends``), CPU and CUDA devices, with autograd;
- :mod:`sigref_torch.bridge`: sigref's losses as differentiable torch functions whose backward is
  sigref's analytic gradient (:func:`~sigref_torch.bridge.sigmoid_loss`,
  :func:`~sigref_torch.bridge.relative_bias_loss`, :func:`~sigref_torch.bridge.siglip_loss`,
  :func:`~sigref_torch.bridge.relic_kl`, :func:`~sigref_torch.bridge.mscl_loss` and the module
  :class:`~sigref_torch.bridge.SigmoidLoss`), re-exported here;
- :mod:`sigref_torch.distributed`: the multi-process loss, negatives from every rank by a ring or
  an all-gather (``torchrun``);
- :mod:`sigref_torch.fused`: the elementwise pass of the loss kernel for torch tensors (group
  ``sigref.fused``);
- :mod:`sigref_torch.conform`: the torch hook of ``sigref conform`` (group ``sigref.conform``);
- :mod:`sigref_torch.bench`: the torch rows and CUDA memory probe of ``sigref bench``;
- ``sigref_torch.ssl``: the ResNet self-supervised path (``sigref ssl``, group ``sigref.cli``).

The re-exported names load on first use, so that discovering the plugin's CLI commands does not
import torch.

Examples
--------
>>> import sigref_torch
>>> sigref_torch.sigmoid_loss is sigref_torch.bridge.sigmoid_loss
True
"""

from typing import Any

__all__ = ["SigmoidLoss", "mscl_loss", "relative_bias_loss", "relic_kl", "siglip_loss", "sigmoid_loss"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sigref_torch import bridge

        return getattr(bridge, name)
    raise AttributeError(f"module 'sigref_torch' has no attribute {name!r}")
