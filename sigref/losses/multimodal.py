"""Sigmoid loss over a synchronisation graph of k modalities (arXiv 2509.18552, Sec. 1 and 3.5).

For embeddings X^(1..k) of the same N items, X of shape (k, ..., N, d), and a graph G = ([k], E),

    L_G(X; t, b) = sum_{(j1, j2) in E} L(X^(j1), X^(j2); t, b)      (edge_reduction="sum")

or the mean over edges (``"mean"``: the authors' code, with each pair's loss the N^2-mean).
t and b (or b_rel) are shared by all edges. All edges are evaluated as one batched call of the
pair kernel; each modality's gradient collects its edges' U- and V-side gradients.
"""

from __future__ import annotations

from typing import Any

from sigref._arrays import check_floating, namespace, positive_int
from sigref.losses._result import LossResult
from sigref.losses.sigmoid import sigmoid_loss, sigmoid_loss_and_grad

__all__ = ["graph_edges", "multimodal_loss", "multimodal_loss_and_grad"]


def graph_edges(k: int, graph: str | list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Edges of the ``"complete"`` graph, the ``"star"`` around modality 0, or an explicit list."""
    positive_int("k (number of modalities)", k, minimum=2)
    if graph == "complete":
        return [(i, j) for i in range(k) for j in range(i + 1, k)]
    if graph == "star":
        return [(0, j) for j in range(1, k)]
    if isinstance(graph, str):
        raise ValueError(f"graph must be 'complete', 'star' or a list of (j1, j2) edges, got {graph!r}")
    edges = [tuple(e) for e in graph]
    bad = [e for e in edges if len(e) != 2 or e[0] == e[1] or not all(isinstance(j, int) and 0 <= j < k for j in e)]
    if not edges or bad:
        raise ValueError(f"graph edges must be pairs of distinct modality indices in [0, {k}), got {graph!r}")
    return edges


def _edge_pairs(X: Any, graph: Any, edge_reduction: str) -> tuple[Any, list[tuple[int, int]], Any, Any, float]:
    """The two sides of every edge stacked on a new leading axis, and the edge-reduction scale."""
    xp = namespace(X=X)
    check_floating(xp, "X", X)
    if X.ndim < 3:
        raise ValueError(f"X must have shape (k, ..., N, d), got shape {tuple(X.shape)}")
    edges = graph_edges(X.shape[0], graph)
    if edge_reduction not in ("sum", "mean"):
        raise ValueError(f"edge_reduction must be 'sum' or 'mean', got {edge_reduction!r}")
    left = xp.stack([X[i, ...] for i, _ in edges])
    right = xp.stack([X[j, ...] for _, j in edges])
    return xp, edges, left, right, (1.0 / len(edges) if edge_reduction == "mean" else 1.0)


def multimodal_loss(X: Any, t: Any, b: Any = None, *, b_rel: Any = None, graph: Any = "complete",
                    edge_reduction: str = "sum", **options: Any) -> Any:
    """L_G(X; t, b) for X of shape (k, ..., N, d); returns shape (...)."""
    xp, _, left, right, scale = _edge_pairs(X, graph, edge_reduction)
    return scale * xp.sum(sigmoid_loss(left, right, t, b, b_rel=b_rel, **options), axis=0)


def multimodal_loss_and_grad(X: Any, t: Any, b: Any = None, *, b_rel: Any = None, graph: Any = "complete",
                             edge_reduction: str = "sum", **options: Any) -> LossResult:
    """Value and gradients of L_G; grad keys "X", "t", "log_t" and "b" or "b_rel".

    ``options`` are those of :func:`sigmoid_loss_and_grad` (reduction, gamma, chunk_size, ...).
    """
    xp, edges, left, right, scale = _edge_pairs(X, graph, edge_reduction)
    res = sigmoid_loss_and_grad(left, right, t, b, b_rel=b_rel, **options)
    per_modality = []
    for m in range(X.shape[0]):
        parts = [res.grad["U"][e, ...] for e, (i, _) in enumerate(edges) if i == m]
        parts += [res.grad["V"][e, ...] for e, (_, j) in enumerate(edges) if j == m]
        per_modality.append(sum(parts[1:], parts[0]) if parts else xp.zeros_like(X[m, ...]))
    grad = {"X": scale * xp.stack(per_modality)}
    grad |= {name: scale * g for name, g in res.grad.items() if name not in ("U", "V")}
    return LossResult(value=scale * xp.sum(res.value, axis=0), grad=grad)
