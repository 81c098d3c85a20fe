"""The naive baseline written for the benchmark on the array API (:func:`naive_loss_and_grad`:
materialised N x N logits, labels and weights, analytic backward) and the floor
(:func:`floor_products`: the three matrix products any gradient of the loss needs).
"""

from __future__ import annotations

from typing import Any

import array_api_compat

from sigref.numerics import log_sigmoid, sigmoid


def naive_loss_and_grad(
    U: Any, V: Any, t: Any, b: Any, *, gamma: float = 0.0, filter_threshold: float | None = None
) -> dict[str, Any]:
    """NAIVE BASELINE (benchmark reference, not for use): the dense sigmoid loss and its gradients.

    Everything is materialised as N x N arrays, as a first implementation would do it:
    cosines ``S = U V^T``, logits ``Z = t S - b``, labels ``Y = 2 I - 1``, margins ``M = Y * Z``,
    weights ``W`` and the per-pair losses, then the gradient ``G = dL/dZ`` and the products

        dL/dU = t G V,   dL/dV = t G^T U,   dL/dt = sum(G * S),   dL/db = -sum(G).

    Per pair, with ``p = sigmoid(M)``: plain ``l = -log p`` (``W = 1``); MSCL (Basara's
    sigmoid-contrastive-loss) ``l = -W log p`` with the confidence weight ``W = (1 - p)^gamma``
    (not detached); MSCL filtering ``l = -K log p`` with the mask
    ``K = [i = j] or (1 - p)^gamma > filter_threshold`` (not differentiated).
    ``L = (1/N) sum_ij l_ij`` (SigLIP, arXiv 2303.15343).

    Returns ``{"loss": L, "U": ..., "V": ..., "t": ..., "b": ...}``.
    """
    xp = array_api_compat.array_namespace(U, V)
    n = U.shape[-2]
    dev = array_api_compat.device(U)
    S = U @ xp.matrix_transpose(V)
    Z = t * S - b
    Y = 2.0 * xp.eye(n, dtype=U.dtype, device=dev) - 1.0
    M = Y * Z
    log_p = log_sigmoid(M)
    p = sigmoid(M)
    q = sigmoid(-M)  # 1 - p
    if filter_threshold is not None:
        weight = xp.exp(gamma * log_sigmoid(-M))
        W = xp.astype((Y > 0.0) | (weight > filter_threshold), U.dtype)
        dl_dM = -W * q
    elif gamma != 0.0:
        W = xp.exp(gamma * log_sigmoid(-M))
        # d/dM [-W log p] = -W q + gamma W p log p   (dW/dM = -gamma W p)
        dl_dM = -W * q + gamma * W * p * log_p
    else:
        W = xp.ones_like(Z)
        dl_dM = -W * q
    loss = xp.sum(-W * log_p) / n
    G = Y * dl_dM / n
    return {
        "loss": loss,
        "U": t * (G @ V),
        "V": t * (xp.matrix_transpose(G) @ U),
        "t": xp.sum(G * S),
        "b": -xp.sum(G),
    }


def floor_products(U: Any, V: Any) -> tuple[Any, Any, Any]:
    """The floor: ``S = U V^T``, ``S V`` and ``S^T U``, the products of any gradient of the loss."""
    xp = array_api_compat.array_namespace(U, V)
    S = U @ xp.matrix_transpose(V)
    return S, S @ V, xp.matrix_transpose(S) @ U
