"""Shared inputs and the independent truth of the JAX tests: a dense loss written from the paper."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def unit_rows(rng: np.random.Generator, *shape: int) -> np.ndarray:
    x = rng.standard_normal(shape)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def dense_loss(U, V, t, b, *, reduction="per_anchor", gamma=0.0, detach_weight=False, filter_threshold=None, negatives_only=False):
    """SigLIP's loss (Zhai et al. arXiv 2303.15343, eq. 1) with MSCL's weight, from the formula:
    z_ij = t <u_i, v_j> - b, y_ij = +1 on the diagonal and -1 off it, l_ij = -log sigma(y_ij z_ij)
    = softplus(q_ij) with q = -y z; weight w = sigma(q)^gamma (a constant if detach_weight);
    filtering keeps positives and the negatives with sigma(q)^gamma > threshold, unweighted."""
    t, b = jnp.asarray(t)[..., None, None], jnp.asarray(b)[..., None, None]
    z = t * jnp.einsum("...id,...jd->...ij", U, V) - b
    n, m = z.shape[-2], z.shape[-1]
    y = -jnp.ones((n, m)) if negatives_only else 2.0 * jnp.eye(n, m) - 1.0
    q = -y * z
    loss = jax.nn.softplus(q)
    if filter_threshold is not None:
        w = jax.lax.stop_gradient(jax.nn.sigmoid(q) ** gamma)
        keep = (w > filter_threshold) | (y > 0)
        loss = jnp.where(keep, loss, 0.0)
    elif gamma:
        w = jnp.exp(gamma * jax.nn.log_sigmoid(q))
        loss = (jax.lax.stop_gradient(w) if detach_weight else w) * loss
    total = jnp.sum(loss, axis=(-2, -1))
    return {"sum": total, "per_anchor": total / n, "mean": total / (n * m)}[reduction]
