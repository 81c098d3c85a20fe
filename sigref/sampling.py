"""Host-side randomness: every backend sees the same float64 samples (drawn with NumPy)."""

from __future__ import annotations

import numpy as np

__all__ = ["rng_from", "uniform_sphere"]


def rng_from(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def uniform_sphere(seed: int | np.random.Generator | None, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform points on S^{d-1}, ``shape = (..., N, d)``: normalised standard Gaussians."""
    g = rng_from(seed).standard_normal(shape)
    return g / np.linalg.norm(g, axis=-1, keepdims=True)
