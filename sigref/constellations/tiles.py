r"""Tiles of the similarity matrix :math:`S = U V^\top`, one at a time (Bangachev et al. 2025, arXiv:2509.18552, Sec. 2).

For paired rows :math:`U_i, V_i` (:math:`i \in [N]`) the similarities are
:math:`s_{ij} = \langle U_i, V_j \rangle`; the positives are the N entries :math:`s_{ii}` and the
negatives the :math:`N(N-1)` entries :math:`s_{ij}`, :math:`i \ne j`. :func:`scan` walks
:math:`S` in tiles of ``rows x cols`` entries (rows of a block of ``chunk_size`` anchors, columns
in slices that keep a tile near :data:`TILE_ELEMENTS`), so nothing larger than a tile and a few
length-N vectors is ever held: memory :math:`O(\text{rows} \cdot \text{cols} + N)`, never
:math:`O(N^2)`. Each tile is one matrix product on the namespace and dtype of the inputs; its
positives are read off and replaced by :math:`-\infty`, so every statistic sees the negatives only
and max-type reductions skip the diagonal for free.

:func:`row_chunks` is the companion for the :math:`O(N d)` quantities (sums, norms, projections):
row slices of ``chunk_size`` rows, cast to float64 one slice at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import array_api_compat
import array_api_extra as xpx

from sigref.progress import progress as _progress
from sigref.types import Array

__all__ = ["ACCELERATOR_TILE_ELEMENTS", "TILE_ELEMENTS", "Tile", "TileStat", "on_accelerator", "row_chunks", "scan", "tile_shape"]

#: Entries per tile on a CPU: 16 MiB in float32, so a tile and its masks stay in the last-level cache.
TILE_ELEMENTS = 2**22
#: Entries per tile on a GPU (256 MiB in float32): large enough that kernel launches do not dominate.
ACCELERATOR_TILE_ELEMENTS = 2**26
_CPU_ROWS = 1024


@dataclass(frozen=True)
class Tile:
    r"""One tile of :math:`S = U V^\top`: rows [r0, r1), columns [c0, c1), positives masked.

    A frozen dataclass that :func:`scan` hands to every statistic.

    Attributes
    ----------
    S : Array, shape (r1 - r0, c1 - c0)
        The similarities :math:`s_{ij}` of the tile, with every positive :math:`s_{ii}` replaced by
        :math:`-\infty`; in the namespace and dtype of the inputs.
    r0 : int
        First row (anchor) of the tile.
    r1 : int
        One past its last row.
    c0 : int
        First column of the tile.
    c1 : int
        One past its last column.
    positives : int
        The number of positives the tile held (the entries now :math:`-\infty`).

    See Also
    --------
    scan : Where tiles come from.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations.tiles import Tile
    >>> t = Tile(np.array([[-np.inf, 0.5], [0.2, -np.inf]]), 0, 2, 0, 2, 2)
    >>> t.negatives
    2
    """

    S: Array
    r0: int
    r1: int
    c0: int
    c1: int
    positives: int

    @property
    def negatives(self) -> int:
        r"""The number of negatives :math:`s_{ij}`, :math:`i \ne j`, in the tile.

        Returns
        -------
        int
            :math:`(r_1 - r_0)(c_1 - c_0)` minus the positives.
        """
        return (self.r1 - self.r0) * (self.c1 - self.c0) - self.positives


class TileStat(Protocol):
    """The protocol of a statistic accumulated over the tiles of one :func:`scan`.

    Any object with a method ``tile(tile)`` qualifies (a ``typing.Protocol``, checked statically
    only). It is called once per tile, in row-major tile order; what it accumulates, and how the
    result is read, is its own business
    (e.g. :class:`~sigref.constellations.percentiles.NegativeSelection`).

    Parameters
    ----------
    *args, **kwargs
        Unused: the protocol itself is never instantiated; a statistic is any object with a
        ``tile`` method.

    See Also
    --------
    scan : The pass that feeds it.

    Examples
    --------
    The largest negative, from a minimal statistic:

    >>> import math
    >>> from sigref.constellations.tiles import scan
    >>> from sigref.sampling import uniform_sphere
    >>> class LargestNegative:
    ...     def __init__(self):
    ...         self.value = -math.inf
    ...     def tile(self, tile):
    ...         self.value = max(self.value, float(tile.S.max()))
    >>> stat = LargestNegative()
    >>> U, V = uniform_sphere(0, (5, 3)), uniform_sphere(1, (5, 3))
    >>> _ = scan(U, V, [stat], chunk_size=2)
    >>> round(stat.value, 6)
    0.926373
    """

    def tile(self, tile: Tile) -> None:
        r"""Accumulate one tile.

        Parameters
        ----------
        tile : Tile
            The next tile of :math:`S`, positives masked by :math:`-\infty`.
        """
        ...


def on_accelerator(x: Array) -> bool:
    """Tell whether an array lives on a GPU (or another non-CPU device).

    True for CuPy arrays and for PyTorch tensors on a non-CPU device; False otherwise (NumPy,
    CPU tensors, and other libraries). It chooses between the CPU and GPU tile sizes.

    Parameters
    ----------
    x : Array
        Any array.

    Returns
    -------
    bool
        Whether ``x`` is on an accelerator.

    See Also
    --------
    tile_shape : The tile sizes it chooses between.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations.tiles import on_accelerator
    >>> on_accelerator(np.zeros(3))
    False
    """
    if array_api_compat.is_cupy_array(x):
        return True
    dev = array_api_compat.device(x)
    return getattr(dev, "type", "cpu") not in ("cpu", None) if array_api_compat.is_torch_array(x) else False


def tile_shape(n: int, chunk_size: int | str | None, like: Array) -> tuple[int, int]:
    r"""Choose the shape (rows, cols) of the tiles of an N x N similarity matrix.

    ``chunk_size`` rows (``"auto"`` or None: 1024 on a CPU, :math:`\lfloor\sqrt{\cdot}\rfloor` of
    :data:`ACCELERATOR_TILE_ELEMENTS` on a GPU), at most N, and as many columns as keep the tile near
    :data:`TILE_ELEMENTS` (:data:`ACCELERATOR_TILE_ELEMENTS` on a GPU), at least ``rows`` and at most
    N.

    Parameters
    ----------
    n : int
        N, the number of rows and columns of :math:`S`.
    chunk_size : int or "auto" or None
        Rows (anchors) per tile: an integer >= 1, or ``"auto"``/None.
    like : Array
        An input array: its device decides between the CPU and GPU sizes.

    Returns
    -------
    rows : int
        Rows per tile.
    cols : int
        Columns per tile.

    Raises
    ------
    ValueError
        If ``chunk_size`` is not ``"auto"``, None or an integer >= 1.

    See Also
    --------
    scan : The pass that uses it.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations.tiles import tile_shape
    >>> x = np.zeros((1, 3))
    >>> tile_shape(5, 2, x), tile_shape(5000, "auto", x)
    ((2, 5), (1024, 4096))
    """
    elements = ACCELERATOR_TILE_ELEMENTS if on_accelerator(like) else TILE_ELEMENTS
    if chunk_size in (None, "auto"):
        rows = min(n, math.isqrt(elements) if on_accelerator(like) else _CPU_ROWS)
    elif isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be 'auto' or an integer >= 1 (rows per block), got {chunk_size!r}")
    else:
        rows = min(n, chunk_size)
    return rows, min(n, max(rows, elements // rows))


def _diagonal(r0: int, r1: int, c0: int, c1: int) -> tuple[slice, int] | None:
    """Flat indices of the entries (k, k) of tile rows [r0, r1) x columns [c0, c1) in row-major order, and their count."""
    k0, k1 = max(r0, c0), min(r1, c1)
    if k0 >= k1:
        return None
    w = c1 - c0
    start = (k0 - r0) * w + (k0 - c0)
    return slice(start, start + (k1 - k0 - 1) * (w + 1) + 1, w + 1), k1 - k0


def scan(U: Array, V: Array, stats: Sequence[TileStat], *, chunk_size: int | str | None = "auto", progress: bool = False,
         desc: str = "U V^T tiles") -> Array:
    r"""Make one pass over the tiles of :math:`S = U V^\top`, handing each to every statistic.

    Tiles follow row-major order: for each block of ``rows`` anchors, the column slices left to
    right (:func:`tile_shape`). Each tile is one product :math:`U_{r_0:r_1} V_{c_0:c_1}^\top` in the
    inputs' namespace and dtype; its diagonal entries :math:`s_{ii}` are copied out and replaced by
    :math:`-\infty` before the statistics see it. Memory :math:`O(\text{rows} \cdot \text{cols} + N)`.

    Parameters
    ----------
    U : Array, shape (N, d)
        Embeddings :math:`U_i` as rows.
    V : Array, shape (N, d)
        Their partners :math:`V_i`: one namespace and dtype with ``U``.
    stats : sequence of TileStat
        The statistics; ``stat.tile(tile)`` is called for every tile and every stat.
    chunk_size : int or "auto" or None, optional
        Rows per tile (default ``"auto"``, see :func:`tile_shape`).
    progress : bool, optional
        Show a progress bar over the tiles (default False).
    desc : str, optional
        The progress bar's label.

    Returns
    -------
    Array, shape (N,)
        The positives :math:`s_{ii}` exactly as the tiles computed them, so that a statistic over the
        negatives and one over the positives see one matrix.

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries.
    ValueError
        If ``chunk_size`` is invalid.

    See Also
    --------
    sigref.constellations.streaming.pair_summary : Every statistic of ``sigref analyze`` through scans.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations.tiles import scan
    >>> from sigref.sampling import uniform_sphere
    >>> U, V = uniform_sphere(0, (5, 3)), uniform_sphere(1, (5, 3))
    >>> class Shapes:
    ...     def __init__(self):
    ...         self.seen = []
    ...     def tile(self, tile):
    ...         self.seen.append((tile.r0, tile.r1, tile.c0, tile.c1, tile.positives, tile.negatives))
    >>> stat = Shapes()
    >>> pos = scan(U, V, [stat], chunk_size=2)
    >>> stat.seen
    [(0, 2, 0, 5, 2, 8), (2, 4, 0, 5, 2, 8), (4, 5, 0, 5, 1, 4)]
    >>> bool(np.allclose(pos, np.sum(U * V, axis=1)))
    True
    """
    xp = array_api_compat.array_namespace(U, V)
    n = U.shape[0]
    rows, cols = tile_shape(n, chunk_size, U)
    inf = -math.inf
    positives = []
    bar = _progress(total=math.ceil(n / rows) * math.ceil(n / cols), desc=desc, enabled=progress)
    try:
        for r0 in range(0, n, rows):
            r1 = min(r0 + rows, n)
            Ub = U[r0:r1, :]
            for c0 in range(0, n, cols):
                c1 = min(c0 + cols, n)
                S = Ub @ xp.matrix_transpose(V[c0:c1, :])
                diag = _diagonal(r0, r1, c0, c1)
                count = 0
                if diag is not None:
                    sl, count = diag
                    flat = xp.reshape(S, (-1,))
                    positives.append(xp.asarray(flat[sl], copy=True))
                    S = xp.reshape(xpx.at(flat, sl).set(inf), S.shape)
                tile = Tile(S, r0, r1, c0, c1, count)
                for stat in stats:
                    stat.tile(tile)
                bar.update(1)
    finally:
        bar.close()
    return xp.concat(positives)


def row_chunks(X: Array, chunk_size: int | str | None = "auto", dtype: Any = None) -> Iterator[tuple[int, Array]]:
    """Iterate over row slices of an array, each cast to a dtype (float64 by default).

    Yields ``(r0, X[r0:r0 + c])`` cast to ``dtype`` for consecutive slices of c rows: the companion of
    :func:`scan` for the :math:`O(N d)` passes (sums, norms, projections), with :math:`O(c d)` extra
    memory. c is ``chunk_size`` rows as in :func:`tile_shape`, or for ``"auto"``/None about
    :data:`TILE_ELEMENTS` entries per slice.

    Parameters
    ----------
    X : Array, shape (N, d)
        The rows.
    chunk_size : int or "auto" or None, optional
        Rows per slice (default ``"auto"``).
    dtype : dtype, optional
        Target dtype of the namespace of ``X`` (default its float64).

    Yields
    ------
    r0 : int
        First row of the slice.
    block : Array, shape (c, d)
        The slice, cast to ``dtype``.

    Raises
    ------
    ValueError
        If ``chunk_size`` is invalid.

    See Also
    --------
    scan : The pass over the N x N similarities.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations.tiles import row_chunks
    >>> X = np.ones((5, 3), dtype=np.float32)
    >>> [(r0, block.shape, str(block.dtype)) for r0, block in row_chunks(X, 2)]
    [(0, (2, 3), 'float64'), (2, (2, 3), 'float64'), (4, (1, 3), 'float64')]
    """
    xp = array_api_compat.array_namespace(X)
    n, d = X.shape
    if chunk_size in (None, "auto"):
        step = max(1, TILE_ELEMENTS // max(d, 1))
    else:
        step = tile_shape(n, chunk_size, X)[0]
    dtype = xp.float64 if dtype is None else dtype
    for r0 in range(0, n, step):
        yield r0, xp.astype(X[r0 : min(r0 + step, n), :], dtype)
