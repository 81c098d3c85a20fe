"""Online/target networks of MSCL: ResNet backbone, bias-free projector, EMA target, learnable t and b.

* Backbone: torchvision ResNet-18/50 (arXiv 1512.03385) without ``fc``; stem ``imagenet`` (7x7/2 conv +
  max-pool) or ``cifar`` (3x3/1 conv, no max-pool; SimCLR, arXiv 2002.05709). ``width`` scales every
  stage (64 = torchvision's network exactly); ``in_channels`` adapts the first convolution.
* Projector: Linear(F -> 512, no bias) -> BatchNorm1d -> ReLU -> Linear(512 -> 64, no bias), F = 512
  (ResNet-18) or 2048 (ResNet-50) at width 64.
* Target: a copy of the online network updated as ``xi <- m xi + (1 - m) theta`` for parameters and
  floating BatchNorm buffers (ReLIC, arXiv 2010.07922; BYOL, arXiv 2006.07733), never by gradients.
* Temperature and bias: ``t = exp(t')`` with learnable ``t'`` and a bias ``beta`` in SigLIP's
  convention (logit ``t <u, v> + beta``, arXiv 2303.15343). sigref's losses use ``t <u, v> - b``, so
  ``b = -beta`` is what is passed on. ``init="mscl"``: ``t' = log 5, beta = -5`` (MSCL reference);
  ``init="siglip"``: ``t' = log 10, beta = -10``. ``t_cap=5`` reproduces the reference's clamp of
  ``exp(t')`` at 5 inside the forward pass (zero gradient above it); ``t_cap=None`` is uncapped.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn as nn
from torchvision.models import resnet as tv_resnet

__all__ = ["ARCHS", "STEMS", "MSCLModel", "OnlineNetwork", "build_backbone", "TEMPERATURE_INITS"]

ARCHS = ("resnet18", "resnet50")
STEMS = ("imagenet", "cifar")
TEMPERATURE_INITS = {"mscl": (math.log(5.0), -5.0), "siglip": (math.log(10.0), -10.0)}


class _ScaledResNet(tv_resnet.ResNet):
    """torchvision's ResNet with stage widths ``w, 2w, 4w, 8w`` built from its own blocks and ``_make_layer``."""

    def __init__(self, block, layers, width: int):
        super().__init__(block, layers)
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, 2 * width, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 4 * width, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 8 * width, layers[3], stride=2)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


def build_backbone(arch: str = "resnet18", *, stem: str = "imagenet", in_channels: int = 3, width: int = 64) -> tuple[nn.Module, int]:
    """ResNet trunk ending in global average pooling and flatten; returns ``(module, feature_dim)``."""
    if arch not in ARCHS:
        raise ValueError(f"arch: expected one of {list(ARCHS)}, got {arch!r}")
    if stem not in STEMS:
        raise ValueError(f"stem: expected one of {list(STEMS)}, got {stem!r}")
    if int(width) < 1:
        raise ValueError(f"width: expected a positive number of base channels, got {width!r}")
    block, layers = (tv_resnet.BasicBlock, [2, 2, 2, 2]) if arch == "resnet18" else (tv_resnet.Bottleneck, [3, 4, 6, 3])
    if width == 64:
        net = tv_resnet.resnet18(weights=None) if arch == "resnet18" else tv_resnet.resnet50(weights=None)
    else:
        net = _ScaledResNet(block, layers, int(width))
    feature_dim = 8 * int(width) * block.expansion
    first = net.conv1.out_channels
    if stem == "cifar":
        net.conv1 = nn.Conv2d(in_channels, first, kernel_size=3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
    elif in_channels != 3:
        net.conv1 = nn.Conv2d(in_channels, first, kernel_size=7, stride=2, padding=3, bias=False)
    nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    net.fc = nn.Identity()  # torchvision's forward already pools and flattens before fc
    return net, feature_dim


class Projector(nn.Sequential):
    """Linear(F, hidden, bias=False) -> BatchNorm1d(hidden) -> ReLU -> Linear(hidden, out, bias=False)."""

    def __init__(self, in_dim: int, hidden_dim: int = 512, out_dim: int = 64):
        super().__init__(
            nn.Linear(in_dim, hidden_dim, bias=False), nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, out_dim, bias=False),
        )


class OnlineNetwork(nn.Module):
    """Backbone + projector + the loss parameters ``t'`` (log-temperature) and ``beta`` (SigLIP bias).

    ``forward(views)`` embeds a list of view batches (views of equal size are concatenated into one
    forward pass) and returns ``(embeddings per view, t, b)`` with ``b = -beta`` in sigref's
    convention, so DistributedDataParallel sees every parameter used inside ``forward``.
    """

    def __init__(self, backbone: nn.Module, feature_dim: int, *, hidden_dim: int = 512, out_dim: int = 64,
                 init: str = "mscl", t_cap: float | None = 5.0):
        super().__init__()
        if init not in TEMPERATURE_INITS:
            raise ValueError(f"init: expected one of {list(TEMPERATURE_INITS)}, got {init!r}")
        if t_cap is not None and not t_cap > 0:
            raise ValueError(f"t_cap: expected a positive cap on exp(t') or None, got {t_cap!r}")
        self.backbone = backbone
        self.projector = Projector(feature_dim, hidden_dim, out_dim)
        log_t, beta = TEMPERATURE_INITS[init]
        self.log_t = nn.Parameter(torch.tensor(float(log_t)))
        self.beta = nn.Parameter(torch.tensor(float(beta)))
        self.t_cap = t_cap

    def temperature(self) -> torch.Tensor:
        t = torch.exp(self.log_t)
        return t if self.t_cap is None else torch.clamp(t, max=self.t_cap)

    def embed(self, views: list[torch.Tensor]) -> list[torch.Tensor]:
        return _embed(self.backbone, self.projector, views)

    def forward(self, views: list[torch.Tensor]):
        return self.embed(views), self.temperature(), -self.beta


def _embed(backbone: nn.Module, projector: nn.Module, views: list[torch.Tensor]) -> list[torch.Tensor]:
    """Embed views, one forward per distinct resolution (BatchNorm statistics over those views together)."""
    out: list[torch.Tensor | None] = [None] * len(views)
    groups: dict[tuple[int, ...], list[int]] = {}
    for k, v in enumerate(views):
        groups.setdefault(tuple(v.shape[1:]), []).append(k)
    for index in groups.values():
        z = projector(backbone(torch.cat([views[k] for k in index], 0)))
        for k, chunk in zip(index, z.chunk(len(index), 0)):
            out[k] = chunk
    return out  # type: ignore[return-value]


class MSCLModel(nn.Module):
    """Online network (trained) and its EMA target (backbone + projector, no gradient)."""

    def __init__(self, arch: str = "resnet18", *, stem: str = "imagenet", in_channels: int = 3, width: int = 64,
                 hidden_dim: int = 512, out_dim: int = 64, init: str = "mscl", t_cap: float | None = 5.0):
        super().__init__()
        backbone, feature_dim = build_backbone(arch, stem=stem, in_channels=in_channels, width=width)
        self.feature_dim = feature_dim
        self.online = OnlineNetwork(backbone, feature_dim, hidden_dim=hidden_dim, out_dim=out_dim, init=init, t_cap=t_cap)
        self.target_backbone = copy.deepcopy(self.online.backbone).requires_grad_(False)
        self.target_projector = copy.deepcopy(self.online.projector).requires_grad_(False)

    @torch.no_grad()
    def embed_target(self, views: list[torch.Tensor]) -> list[torch.Tensor]:
        return _embed(self.target_backbone, self.target_projector, views)

    def _pairs(self):
        for online, target in ((self.online.backbone, self.target_backbone), (self.online.projector, self.target_projector)):
            yield from zip(online.parameters(), target.parameters())
            yield from zip(online.buffers(), target.buffers())

    @torch.no_grad()
    def update_target(self, momentum: float) -> None:
        """``xi <- m xi + (1 - m) theta`` on parameters and floating buffers; integer buffers are copied."""
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum: expected a value in [0, 1], got {momentum!r}")
        for src, dst in self._pairs():
            if dst.is_floating_point():
                dst.lerp_(src.detach(), 1.0 - momentum)
            else:
                dst.copy_(src)
