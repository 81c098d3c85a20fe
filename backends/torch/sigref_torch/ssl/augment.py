"""Multi-crop augmentation on whole batches on the training device (no per-image PIL work).

Views follow the MSCL reference (Basara's poster and code; SwAV multi-crop, arXiv 2006.09882):
``num_global`` crops of side ``S`` with area scale in [0.1, 1] and ``num_local`` crops of side
``round(3 S / 7)`` with scale in [0.05, 1]; each view then gets a horizontal flip (p 0.5), colour
jitter (brightness, contrast, saturation 0.8, hue 0.2, applied with p 0.8 in a random order), grayscale
(p 0.2), Gaussian blur (kernel ``odd(int(0.1 S))``, sigma ~ U(0.1, 2), p ``blur_p``) and, on global
views only, solarisation (threshold 0.5, p 0.2); finally per-channel normalisation.

Crop + resize + flip is one ``affine_grid``/``grid_sample`` per view (bilinear), so a view of a batch
costs a handful of batched tensor ops. All randomness comes from one ``torch.Generator`` that the
trainer checkpoints, so augmentation is reproducible and resumable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["MultiCropConfig", "MultiCrop", "inference_transform", "view_sizes"]


def view_sizes(image_size: int) -> tuple[int, int]:
    """(global, local) crop sides: 96/41 for STL10, 32/14 for 28-32 px data, ``S``/``round(3S/7)`` in general."""
    global_size = 32 if 28 <= image_size <= 32 else image_size
    return global_size, max(round(3 * global_size / 7), 4)


@dataclass(frozen=True)
class MultiCropConfig:
    global_size: int
    local_size: int
    num_global: int = 2
    num_local: int = 4
    global_scale: tuple[float, float] = (0.1, 1.0)
    local_scale: tuple[float, float] = (0.05, 1.0)
    flip_p: float = 0.5
    jitter: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 0.2)
    jitter_p: float = 0.8
    gray_p: float = 0.2
    blur_p: float = 1.0
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    solarize_p: float = 0.2

    def __post_init__(self) -> None:
        if self.num_global < 1:
            raise ValueError(f"num_global: expected >= 1 global view (the target network needs one), got {self.num_global}")
        if self.num_global + self.num_local < 2:
            raise ValueError(f"views: expected at least 2 views in total, got {self.num_global}+{self.num_local}")
        if self.num_local < 0:
            raise ValueError(f"num_local: expected >= 0, got {self.num_local}")
        for name in ("global_size", "local_size"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name}: expected >= 2 pixels, got {getattr(self, name)}")

    @property
    def blur_kernel(self) -> int:
        k = int(0.1 * self.global_size)
        return k + 1 if k % 2 == 0 else k


def _uniform(gen: torch.Generator, n: int, lo: float, hi: float, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=device) * (hi - lo) + lo


def _bernoulli(gen: torch.Generator, n: int, p: float, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=device) < p


def _crop_theta(gen: torch.Generator, n: int, scale: tuple[float, float], flip_p: float, device) -> torch.Tensor:
    """Affine maps (n, 2, 3) from output to input coordinates in [-1, 1]: a random resized crop + flip.

    Area fraction ``s ~ U(scale)``, aspect ``r ~ logU(3/4, 4/3)``; crop width ``sqrt(s r)`` and height
    ``sqrt(s / r)`` of the image side, clipped to the image (torchvision re-draws instead; the clipped
    crop has the same support). The centre is uniform over the positions keeping the crop inside.
    """
    area = _uniform(gen, n, scale[0], scale[1], device)
    log_r = _uniform(gen, n, math.log(3 / 4), math.log(4 / 3), device)
    ratio = torch.exp(log_r)
    w = torch.sqrt(area * ratio).clamp(max=1.0)
    h = torch.sqrt(area / ratio).clamp(max=1.0)
    cx = (_uniform(gen, n, 0.0, 1.0, device) * 2 - 1) * (1 - w)
    cy = (_uniform(gen, n, 0.0, 1.0, device) * 2 - 1) * (1 - h)
    sign = torch.where(_bernoulli(gen, n, flip_p, device), -1.0, 1.0)
    zero = torch.zeros_like(w)
    return torch.stack([torch.stack([w * sign, zero, cx], 1), torch.stack([zero, h, cy], 1)], 1)


def _gray(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    return (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).expand_as(x)


def _rgb_to_hsv(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    maxc, _ = x.max(1)
    minc, _ = x.min(1)
    delta = maxc - minc
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    h = torch.where(maxc == r, ((g - b) / safe) % 6, torch.where(maxc == g, (b - r) / safe + 2, (r - g) / safe + 4))
    h = torch.where(delta > 0, h / 6.0, torch.zeros_like(h))
    s = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc)), torch.zeros_like(maxc))
    return h, s, maxc


def _hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    k = torch.stack([(5 + h * 6) % 6, (3 + h * 6) % 6, (1 + h * 6) % 6], 1)
    return v[:, None] - v[:, None] * s[:, None] * torch.clamp(torch.minimum(k, 4 - k), 0, 1)


def _jitter(x: torch.Tensor, gen: torch.Generator, cfg: MultiCropConfig) -> torch.Tensor:
    n, device = x.shape[0], x.device
    apply = _bernoulli(gen, n, cfg.jitter_p, device).view(n, 1, 1, 1)
    bri, con, sat, hue = cfg.jitter
    f_b = _uniform(gen, n, max(0.0, 1 - bri), 1 + bri, device).view(n, 1, 1, 1)
    f_c = _uniform(gen, n, max(0.0, 1 - con), 1 + con, device).view(n, 1, 1, 1)
    f_s = _uniform(gen, n, max(0.0, 1 - sat), 1 + sat, device).view(n, 1, 1, 1)
    f_h = _uniform(gen, n, -hue, hue, device).view(n, 1, 1)
    order = torch.randperm(4, generator=gen, device=device).tolist()
    y = x
    for op in order:
        if op == 0:
            y = (y * f_b).clamp(0, 1)
        elif op == 1:
            mean = _gray(y).mean(dim=(1, 2, 3), keepdim=True)
            y = ((y - mean) * f_c + mean).clamp(0, 1)
        elif op == 2 and y.shape[1] == 3:
            g = _gray(y)
            y = ((y - g) * f_s + g).clamp(0, 1)
        elif op == 3 and y.shape[1] == 3:
            h, s, v = _rgb_to_hsv(y)
            y = _hsv_to_rgb((h + f_h) % 1.0, s, v)
    return torch.where(apply, y, x)


def _blur(x: torch.Tensor, gen: torch.Generator, cfg: MultiCropConfig) -> torch.Tensor:
    n, c, hgt, wid = x.shape
    k = cfg.blur_kernel
    apply = _bernoulli(gen, n, cfg.blur_p, x.device).view(n, 1, 1, 1)
    sigma = _uniform(gen, n, cfg.blur_sigma[0], cfg.blur_sigma[1], x.device)
    if k < 3:
        return x
    offsets = torch.arange(k, device=x.device, dtype=x.dtype) - (k - 1) / 2
    kernel = torch.exp(-(offsets[None, :] ** 2) / (2 * sigma[:, None].to(x.dtype) ** 2))
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (n*c, k)
    pad = k // 2
    y = F.pad(x.reshape(1, n * c, hgt, wid), (pad, pad, pad, pad), mode="reflect")
    y = F.conv2d(y, kernel.view(n * c, 1, 1, k), groups=n * c)
    y = F.conv2d(y, kernel.view(n * c, 1, k, 1), groups=n * c)
    return torch.where(apply, y.view(n, c, hgt, wid), x)


class MultiCrop:
    """Callable ``(uint8 or [0,1] float batch (B, C, H, W)) -> list of normalised views``: globals first, then locals."""

    def __init__(self, cfg: MultiCropConfig, mean: tuple[float, ...], std: tuple[float, ...]):
        self.cfg = cfg
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)

    def _view(self, x: torch.Tensor, gen: torch.Generator, size: int, scale, solarize: bool) -> torch.Tensor:
        cfg = self.cfg
        theta = _crop_theta(gen, x.shape[0], scale, cfg.flip_p, x.device).to(x.dtype)
        grid = F.affine_grid(theta, [x.shape[0], x.shape[1], size, size], align_corners=False)
        y = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False).clamp(0, 1)
        y = _jitter(y, gen, cfg)
        gray = _bernoulli(gen, y.shape[0], cfg.gray_p, y.device).view(-1, 1, 1, 1)
        y = torch.where(gray, _gray(y), y)
        y = _blur(y, gen, cfg)
        if solarize:
            flip = _bernoulli(gen, y.shape[0], cfg.solarize_p, y.device).view(-1, 1, 1, 1)
            y = torch.where(flip & (y >= 0.5), 1.0 - y, y)
        return _normalise(y, self.mean, self.std)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, gen: torch.Generator) -> list[torch.Tensor]:
        x = _to_unit(images)
        cfg = self.cfg
        views = [self._view(x, gen, cfg.global_size, cfg.global_scale, True) for _ in range(cfg.num_global)]
        views += [self._view(x, gen, cfg.local_size, cfg.local_scale, False) for _ in range(cfg.num_local)]
        return views


def _to_unit(images: torch.Tensor) -> torch.Tensor:
    if images.dtype == torch.uint8:
        return images.float() / 255.0
    if not images.is_floating_point():
        raise TypeError(f"images: expected uint8 or floating tensor, got {images.dtype}")
    return images


def _normalise(x: torch.Tensor, mean, std) -> torch.Tensor:
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (x - m) / s


@torch.no_grad()
def inference_transform(images: torch.Tensor, size: int, mean, std) -> torch.Tensor:
    """Evaluation view: resize to ``size x size`` (bilinear, no crop, as the reference) and normalise."""
    x = _to_unit(images)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return _normalise(x, mean, std)
