r"""Sigmoid loss over a synchronisation graph of k modalities (arXiv 2509.18552, Sec. 1 and 3.5).

For embeddings :math:`X^{(1)}, \dots, X^{(k)}` of the same N items, ``X`` of shape (k, ..., N, d),
and a graph :math:`G = ([k], E)`,

.. math::

    L_G(X; t, b) = \sum_{(j_1, j_2) \in E} L(X^{(j_1)}, X^{(j_2)}; t, b)

(``edge_reduction="sum"``) or the mean over edges (``"mean"``: the authors' code, with each
pair's loss the :math:`N^2`-mean). :math:`t` and :math:`b` (or :math:`b_{rel}`) are shared by all
edges. All edges are evaluated as one batched call of the pair kernel; each modality's gradient
collects its edges' U- and V-side gradients.
"""

from __future__ import annotations

from typing import Any

from sigref._arrays import check_floating, namespace, positive_int
from sigref.losses._result import LossResult
from sigref.losses.sigmoid import sigmoid_loss, sigmoid_loss_and_grad
from sigref.types import Array, Scalar

__all__ = ["graph_edges", "multimodal_loss", "multimodal_loss_and_grad"]


def graph_edges(k: int, graph: str | list[tuple[int, int]]) -> list[tuple[int, int]]:
    r"""Return the edge list of a synchronisation graph on k modalities.

    The ``"complete"`` graph has the :math:`k (k-1) / 2` edges :math:`(j_1, j_2)`,
    :math:`j_1 < j_2`; the ``"star"`` has the :math:`k - 1` edges :math:`(0, j)` around modality
    0; an explicit list is validated and returned as tuples. Bangachev et al. [1]_ (Sec. 1 and
    3.5) train k modalities on such a graph.

    Parameters
    ----------
    k : int
        Number of modalities, >= 2.
    graph : "complete" or "star" or list of (int, int)
        The graph's name, or its edges as pairs of distinct modality indices in [0, k).

    Returns
    -------
    list of (int, int)
        The edges :math:`(j_1, j_2)`; the loss of an edge takes :math:`X^{(j_1)}` as anchors
        (U) and :math:`X^{(j_2)}` as their pairs (V).

    Raises
    ------
    ValueError
        If ``k`` is not an integer >= 2, ``graph`` is another string, or the list is empty or
        holds something other than pairs of distinct indices in [0, k).

    See Also
    --------
    sigref.losses.multimodal_loss : The loss over such a graph.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.losses import graph_edges
    >>> graph_edges(3, "complete")
    [(0, 1), (0, 2), (1, 2)]
    >>> graph_edges(3, "star")
    [(0, 1), (0, 2)]
    >>> graph_edges(3, [[2, 1]])
    [(2, 1)]
    """
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


def multimodal_loss(X: Array, t: Scalar | Array, b: Scalar | Array | None = None, *, b_rel: Scalar | Array | None = None,
                    graph: str | list[tuple[int, int]] = "complete", edge_reduction: str = "sum", **options: Any) -> Array:
    r"""Compute the sigmoid loss summed (or averaged) over the edges of a synchronisation graph.

    For the embeddings :math:`X^{(1)}, \dots, X^{(k)}` of the same N items and the edges E of the
    graph (:func:`sigref.losses.graph_edges`), Bangachev et al. [1]_ (Sec. 1 and 3.5) train on

    .. math::

        L_G(X; t, b) = c \sum_{(j_1, j_2) \in E} L(X^{(j_1)}, X^{(j_2)}; t, b),
        \qquad c = 1 \ (\text{"sum"}) \ \text{or} \ 1 / |E| \ (\text{"mean"}),

    with :math:`L` the pair loss of :func:`sigref.losses.sigmoid_loss` and :math:`t`, :math:`b`
    (or :math:`b_{rel}`) shared by all edges. The authors' code uses ``edge_reduction="mean"``
    with ``reduction="mean"``.

    Parameters
    ----------
    X : Array, shape (k, ..., N, d)
        One block of unit-row embeddings per modality, real floating, k >= 2.
    t : float or Array
        Inverse temperature :math:`t > 0`, shared by the edges.
    b : float or Array, optional
        Bias :math:`b`; give exactly one of ``b`` and ``b_rel``.
    b_rel : float or Array, optional
        Relative bias, :math:`b = t\, b_{rel}`.
    graph : "complete" or "star" or list of (int, int), optional
        The synchronisation graph (default ``"complete"``).
    edge_reduction : {"sum", "mean"}, optional
        Sum the edges' losses (default) or average them.
    **options
        The keyword options of :func:`sigref.losses.sigmoid_loss` (``reduction``, ``gamma``,
        ``chunk_size``, ...).

    Returns
    -------
    Array, shape (...)
        The loss for each batch index of ``X[m]``.

    Raises
    ------
    TypeError
        If ``X`` is not a real floating array; and as :func:`sigref.losses.sigmoid_loss`.
    ValueError
        If ``X`` has fewer than three axes, ``graph`` is not valid for k = ``X.shape[0]``
        (:func:`sigref.losses.graph_edges`), or ``edge_reduction`` is not ``"sum"`` or ``"mean"``;
        and as :func:`sigref.losses.sigmoid_loss`.

    See Also
    --------
    sigref.losses.multimodal_loss_and_grad : The value with its gradients.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    Three modalities of four items; the loss is the sum of the three pair losses:

    >>> from sigref.losses import multimodal_loss, sigmoid_loss
    >>> from sigref.optim import project_to_sphere
    >>> from sigref.sampling import uniform_sphere
    >>> X = project_to_sphere(uniform_sphere(0, (4, 3)) + 0.3 * uniform_sphere(1, (3, 4, 3)))
    >>> pairs = sum(sigmoid_loss(X[i], X[j], 5.0, 2.0) for i, j in [(0, 1), (0, 2), (1, 2)])
    >>> print(f"{float(multimodal_loss(X, 5.0, 2.0)):.6f} {float(pairs):.6f}")
    5.015340 5.015340
    >>> print(f"{float(multimodal_loss(X, 5.0, 2.0, edge_reduction='mean')):.6f}")
    1.671780
    """
    xp, _, left, right, scale = _edge_pairs(X, graph, edge_reduction)
    return scale * xp.sum(sigmoid_loss(left, right, t, b, b_rel=b_rel, **options), axis=0)


def multimodal_loss_and_grad(X: Array, t: Scalar | Array, b: Scalar | Array | None = None, *, b_rel: Scalar | Array | None = None,
                             graph: str | list[tuple[int, int]] = "complete", edge_reduction: str = "sum",
                             **options: Any) -> LossResult:
    r"""Compute the graph loss :math:`L_G` and its gradients.

    Every edge :math:`(j_1, j_2)` contributes its U-side gradient to modality :math:`j_1` and its
    V-side gradient to modality :math:`j_2`:

    .. math::

        \frac{\partial L_G}{\partial X^{(m)}} = c \Big[ \sum_{(m, j) \in E} \frac{\partial L}{\partial U}(X^{(m)}, X^{(j)})
            + \sum_{(i, m) \in E} \frac{\partial L}{\partial V}(X^{(i)}, X^{(m)}) \Big],

    and the gradients in :math:`t` and :math:`b` (or :math:`b_{rel}`) are the scaled sums over
    the edges.

    Parameters
    ----------
    X : Array, shape (k, ..., N, d)
        One block of unit-row embeddings per modality.
    t : float or Array
        Inverse temperature :math:`t > 0`.
    b : float or Array, optional
        Bias :math:`b`; give exactly one of ``b`` and ``b_rel``.
    b_rel : float or Array, optional
        Relative bias, :math:`b = t\, b_{rel}`.
    graph : "complete" or "star" or list of (int, int), optional
        The synchronisation graph (default ``"complete"``).
    edge_reduction : {"sum", "mean"}, optional
        Sum the edges' losses (default) or average them.
    **options
        The keyword options of :func:`sigref.losses.sigmoid_loss_and_grad` (``reduction``,
        ``gamma``, ``chunk_size``, ...).

    Returns
    -------
    LossResult
        ``value`` of shape (...) and ``grad`` with keys ``"X"`` (the shape of ``X``), ``"t"``,
        ``"log_t"`` and ``"b"`` or ``"b_rel"``; no diagnostics.

    Raises
    ------
    TypeError
        As :func:`sigref.losses.multimodal_loss`.
    ValueError
        As :func:`sigref.losses.multimodal_loss`.

    See Also
    --------
    sigref.losses.multimodal_loss : The value alone.

    Examples
    --------
    >>> from sigref.losses import multimodal_loss_and_grad
    >>> from sigref.optim import project_to_sphere
    >>> from sigref.sampling import uniform_sphere
    >>> X = project_to_sphere(uniform_sphere(0, (4, 3)) + 0.3 * uniform_sphere(1, (3, 4, 3)))
    >>> res = multimodal_loss_and_grad(X, 5.0, b_rel=0.4, reduction="mean", edge_reduction="mean")
    >>> sorted(res.grad), res.grad["X"].shape
    (['X', 'b_rel', 'log_t', 't'], (3, 4, 3))
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
