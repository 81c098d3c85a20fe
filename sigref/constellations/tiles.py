"""Tiles of the similarity matrix S = U V^T, one at a time (Bangachev et al. 2025, arXiv 2509.18552, Sec. 2).

For paired rows U_i, V_i (i in [N]) the similarities are s_ij = <U_i, V_j>; the positives are the
N entries s_ii and the negatives the N(N-1) entries s_ij, i != j. :func:`scan` walks S in tiles of
``rows x cols`` entries (rows of a block of ``chunk_size`` anchors, columns in slices that keep a
tile near :data:`TILE_ELEMENTS`), so nothing larger than a tile and a few length-N vectors is ever
held: memory O(rows * cols + N), never O(N^2). Each tile is one matrix product on the namespace and
dtype of the inputs; its positives are read off and replaced by -inf, so every statistic sees the
negatives only and max-type reductions skip the diagonal for free.

:func:`row_chunks` is the companion for the O(N d) quantities (sums, norms, projections): row slices
of ``chunk_size`` rows, cast to float64 one slice at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import array_api_compat
import array_api_extra as xpx

from sigref.progress import progress as _progress

__all__ = ["ACCELERATOR_TILE_ELEMENTS", "TILE_ELEMENTS", "Tile", "TileStat", "on_accelerator", "row_chunks", "scan", "tile_shape"]

#: entries per tile on a CPU: 16 MiB in float32, so a tile and its masks stay in the last-level cache
TILE_ELEMENTS = 2**22
#: entries per tile on a GPU (256 MiB in float32): large enough that kernel launches do not dominate
ACCELERATOR_TILE_ELEMENTS = 2**26
_CPU_ROWS = 1024


@dataclass(frozen=True)
class Tile:
    """One tile of S: rows [r0, r1), columns [c0, c1); ``S`` holds s_ij with every positive s_ii replaced by -inf.

    ``positives`` is the number of positives the tile held (the entries now -inf), ``negatives`` the others.
    """

    S: Any
    r0: int
    r1: int
    c0: int
    c1: int
    positives: int

    @property
    def negatives(self) -> int:
        return (self.r1 - self.r0) * (self.c1 - self.c0) - self.positives


class TileStat(Protocol):
    """A statistic accumulated over the tiles of one :func:`scan`."""

    def tile(self, tile: Tile) -> None: ...


def on_accelerator(x: Any) -> bool:
    """Whether ``x`` lives on a GPU (or another non-CPU device)."""
    if array_api_compat.is_cupy_array(x):
        return True
    dev = array_api_compat.device(x)
    return getattr(dev, "type", "cpu") not in ("cpu", None) if array_api_compat.is_torch_array(x) else False


def tile_shape(n: int, chunk_size: int | str | None, like: Any) -> tuple[int, int]:
    """(rows, cols) of a tile: ``chunk_size`` rows (``"auto"``/None: 1024 on a CPU, more on a GPU) and as
    many columns as keep the tile near :data:`TILE_ELEMENTS` (:data:`ACCELERATOR_TILE_ELEMENTS` on a GPU)."""
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


def scan(U: Any, V: Any, stats: Sequence[TileStat], *, chunk_size: int | str | None = "auto", progress: bool = False,
         desc: str = "U V^T tiles") -> Any:
    """One pass over the tiles of S = U V^T (U, V of shape (N, d), one namespace and dtype): each tile goes to
    ``stat.tile`` of every stat, in row-major tile order. Returns the positives s_ii, shape (N,), exactly as the
    tiles computed them (so a statistic over the negatives and one over the positives see one matrix)."""
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


def row_chunks(X: Any, chunk_size: int | str | None = "auto", dtype: Any = None) -> Iterator[tuple[int, Any]]:
    """(r0, X[r0:r0+c] cast to ``dtype`` (default: the namespace's float64)) for slices of c rows, c = ``chunk_size``
    (``"auto"``: about :data:`TILE_ELEMENTS` entries): O(c d) extra memory for O(N d) passes."""
    xp = array_api_compat.array_namespace(X)
    n, d = X.shape
    if chunk_size in (None, "auto"):
        step = max(1, TILE_ELEMENTS // max(d, 1))
    else:
        step = tile_shape(n, chunk_size, X)[0]
    dtype = xp.float64 if dtype is None else dtype
    for r0 in range(0, n, step):
        yield r0, xp.astype(X[r0 : min(r0 + step, n), :], dtype)
