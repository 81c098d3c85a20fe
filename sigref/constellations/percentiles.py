r"""Exact percentiles of the :math:`N(N-1)` negatives :math:`s_{ij} = \langle U_i, V_j \rangle`, :math:`i \ne j`, without :math:`N^2` memory.

The robust forms of the margin and relative bias (Bangachev et al. 2025, arXiv:2509.18552,
Tables 5-6) use :math:`P_q` of the positives :math:`s_{ii}` and :math:`P_{100-q}` of the
negatives. The definition is NumPy's default (``numpy.percentile(x, p)``, method ``"linear"``,
p a Python float): with M values sorted :math:`x_{(0)} \le \dots \le x_{(M-1)}`, virtual index
:math:`h = (M - 1) p / 100`, :math:`k = \lfloor h \rfloor`, :math:`\gamma = h - k`,

.. math::

    P_p = \begin{cases}
        x_{(k)} + (x_{(k+1)} - x_{(k)})\, \gamma & \gamma < 1/2, \\
        x_{(k+1)} - (x_{(k+1)} - x_{(k)})\, (1 - \gamma) & \gamma \ge 1/2,
    \end{cases}

evaluated in the dtype of the values (:func:`lerp`), so the result equals ``numpy.percentile`` of
the dense negatives bit for bit.

**Selection** (:class:`NegativeSelection`, a :class:`~sigref.constellations.tiles.TileStat`): the
two order statistics :math:`x_{(k)}, x_{(k+1)}` are found in passes over the tiles of :math:`S`,
each pass counting, for two thresholds :math:`a \le b`, :math:`\#\{x < a\}`, :math:`\#\{x \le a\}`,
:math:`\#\{x < b\}`, :math:`\#\{x \le b\}` and collecting the values strictly between them (all of
them while they fit ``budget``; beyond it every :math:`2^k`-th, a systematic sample of the
bracket). A rank :math:`r` is then decided exactly: :math:`x_{(r)} = a` when
:math:`\#\{x < a\} \le r < \#\{x \le a\}`, the :math:`(r - \#\{x \le a\})`-th collected value when
:math:`\#\{x \le a\} \le r < \#\{x < b\}` and all were kept, :math:`b` on the atom at :math:`b`;
otherwise the open bracket that must hold it shrinks to :math:`(lo, a)`, :math:`(a, b)` or
:math:`(b, hi)`, with its counts, for another pass. Thresholds come from a sorted sample of
negatives on a random grid of rows x columns (:func:`sample_negatives`), bracketing the rank by
:math:`z = 5` binomial standard errors, so one pass suffices unless the sample misleads; later
passes draw them from the values the previous pass kept, or, with too few of those inside the
bracket, split its representable numbers in thirds (so every pass narrows it). Ties only make
atoms, which the counts settle without collecting them. Memory: O(tile + budget + sample).
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

from sigref._arrays import to_host
from sigref.constellations.tiles import ACCELERATOR_TILE_ELEMENTS, TILE_ELEMENTS, Tile, on_accelerator
from sigref.types import Array

__all__ = ["BUDGET", "COLLECT_ALL", "NegativeSelection", "lerp", "negative_percentile", "percentile_indexes", "sample_negatives", "sample_size_for"]

#: Values a pass may collect (128 MiB in float32) on a CPU; 8x more on a GPU.
BUDGET = 2**25
#: Up to this many negatives one pass simply collects them all (sorting them costs less than sampling).
COLLECT_ALL = 2**21
_SAMPLE_MIN, _SAMPLE_MAX = 2**16, 2**24
_Z = 5.0
_MAX_PASSES = 200


def percentile_indexes(m: int, p: float) -> tuple[int, int, float]:
    r"""Locate the p-th percentile of m sorted values, by NumPy's linear method.

    .. math::

        h = (m - 1) \frac{p}{100}, \qquad k = \lfloor h \rfloor, \qquad \gamma = h - k,

    with :math:`k + 1` clipped to :math:`m - 1` (and :math:`\gamma = 0` at the top), so that
    :math:`P_p` interpolates between the order statistics :math:`x_{(k)}` and :math:`x_{(k+1)}`.

    Parameters
    ----------
    m : int
        Number of values, >= 1.
    p : float
        Percentile, in [0, 100].

    Returns
    -------
    k : int
        Rank of the lower order statistic.
    k1 : int
        Rank of the upper one, :math:`\min(k + 1, m - 1)`.
    gamma : float
        Interpolation weight :math:`\gamma \in [0, 1)`.

    Raises
    ------
    ValueError
        If ``p`` is outside [0, 100].

    See Also
    --------
    lerp : The interpolation.

    Examples
    --------
    >>> from sigref.constellations.percentiles import percentile_indexes
    >>> percentile_indexes(11, 50.0), percentile_indexes(10, 100.0)
    ((5, 6, 0.0), (9, 9, 0.0))
    >>> k, k1, gamma = percentile_indexes(10, 95.0)
    >>> k, k1, round(gamma, 6)
    (8, 9, 0.55)
    """
    if not 0.0 <= p <= 100.0:
        raise ValueError(f"percentile must be in [0, 100], got {p!r}")
    m = int(m)
    virtual = (m - 1) * (float(p) / 100.0)
    if virtual >= m - 1:
        return m - 1, m - 1, 0.0
    k = math.floor(virtual)
    return k, k + 1, float(virtual - k)


def lerp(lo: np.floating, hi: np.floating, gamma: float) -> float:
    r"""Interpolate between neighbouring order statistics as NumPy's percentile does, in their dtype.

    .. math::

        \operatorname{lerp}(lo, hi, \gamma) =
        \begin{cases}
            lo + (hi - lo)\, \gamma & \gamma < 1/2, \\
            hi - (hi - lo)\, (1 - \gamma) & \gamma \ge 1/2,
        \end{cases}

    evaluated in the dtype of ``lo`` and ``hi`` (NumPy's private
    ``numpy.lib._function_base_impl._lerp``), so that the result matches ``numpy.percentile`` bit
    for bit.

    Parameters
    ----------
    lo : numpy.floating
        The lower order statistic :math:`x_{(k)}`.
    hi : numpy.floating
        The upper one :math:`x_{(k+1)}`, of the same dtype.
    gamma : float
        The weight from :func:`percentile_indexes`.

    Returns
    -------
    float
        The percentile, as a Python float.

    See Also
    --------
    percentile_indexes : Where the order statistics and the weight come from.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations.percentiles import lerp
    >>> lerp(np.float64(1.0), np.float64(2.0), 0.25), lerp(np.float32(1.0), np.float32(2.0), 0.75)
    (1.25, 1.75)
    """
    diff = hi - lo
    return float(hi - diff * (1 - gamma) if gamma >= 0.5 else lo + diff * gamma)


def sample_size_for(m: int, fraction: float, budget: int, *, accelerator: bool = False) -> int:
    r"""Choose the size of the sample that brackets the rank of a percentile.

    For the rank at ``fraction`` :math:`g` of m values, a bracket of :math:`z = 5` standard errors of
    a sample of size s holds about :math:`2 z \sqrt{g(1-g)/s}\, m` values; s balances that against s
    itself (both are sorted), :math:`s \approx (2 z \sqrt{g(1-g)}\, m)^{2/3}`, and is at least what
    keeps the bracket within ``budget`` / 2, clipped to :math:`[2^{16}, 2^{24}]` (:math:`2^{26}`
    on a GPU) and to at most m.

    Parameters
    ----------
    m : int
        Number of values, >= 1.
    fraction : float
        Relative rank :math:`g \in [0, 1]` of the order statistic.
    budget : int
        Values a pass may collect.
    accelerator : bool, optional
        Allow the larger GPU maximum (default False).

    Returns
    -------
    int
        The sample size.

    See Also
    --------
    sample_negatives : The sample itself.

    Examples
    --------
    >>> from sigref.constellations.percentiles import BUDGET, sample_size_for
    >>> sample_size_for(10**10, 0.95, BUDGET), sample_size_for(56, 0.95, BUDGET)
    (7802453, 56)
    """
    var = max(fraction * (1.0 - fraction), 1.0 / m)
    balance = (2.0 * _Z * math.sqrt(var) * m) ** (2.0 / 3.0)
    need = var * (4.0 * _Z * m / budget) ** 2
    return int(min(m, _SAMPLE_MAX * (4 if accelerator else 1), max(_SAMPLE_MIN, balance, need)))


def sample_negatives(U: Array, V: Array, size: int, *, seed: int = 0) -> np.ndarray:
    r"""Sample negatives :math:`s_{ij}`, :math:`i \ne j`, on a random grid of rows and columns.

    For :math:`r = \lceil \sqrt{\text{size}} \rceil` random rows :math:`i` and :math:`r` random columns
    :math:`j` (without replacement, from ``seed``), the :math:`r^2` products
    :math:`\langle U_i, V_j \rangle`, less the positives that fell on the grid, computed in tiles in
    the inputs' namespace and sorted on the host.

    Parameters
    ----------
    U : Array, shape (N, d)
        Embeddings :math:`U_i` as rows.
    V : Array, shape (N, d)
        Their partners :math:`V_i`, of the same namespace.
    size : int
        About how many values to draw.
    seed : int, optional
        Seed of the grid (default 0).

    Returns
    -------
    numpy.ndarray, shape (n,)
        The sorted sample, in the input dtype (float32 stays float32, else float64).

    Raises
    ------
    TypeError
        If ``U`` and ``V`` come from different array libraries.

    See Also
    --------
    sample_size_for : How large the sample of :func:`negative_percentile` is.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations.percentiles import sample_negatives
    >>> from sigref.sampling import uniform_sphere
    >>> U, V = uniform_sphere(0, (8, 4)), uniform_sphere(1, (8, 4))
    >>> sample = sample_negatives(U, V, 20)  # a 5 x 5 grid less 3 positives
    >>> sample.size, bool(np.all(np.diff(sample) >= 0))
    (22, True)
    """
    xp = array_api_compat.array_namespace(U, V)
    n = U.shape[0]
    r = min(n, math.isqrt(max(size, 1) - 1) + 1)
    rng = np.random.default_rng(seed)
    rows, cols = np.sort(rng.choice(n, r, replace=False)), np.sort(rng.choice(n, r, replace=False))
    dev = array_api_compat.device(U)
    Vc = xp.take(V, xp.asarray(cols, dtype=xp.int64, device=dev), axis=0)
    step = max(1, (ACCELERATOR_TILE_ELEMENTS if on_accelerator(U) else TILE_ELEMENTS) // r)
    parts = []
    for a0 in range(0, r, step):
        Ur = xp.take(U, xp.asarray(rows[a0 : a0 + step], dtype=xp.int64, device=dev), axis=0)
        parts.append(to_host(Ur @ xp.matrix_transpose(Vc), dtype=_host_dtype(U)).reshape(-1))
    values = np.concatenate(parts)
    keep = np.ones(values.size, dtype=bool)
    _, ia, ib = np.intersect1d(rows, cols, assume_unique=True, return_indices=True)
    keep[ia * r + ib] = False  # the positives s_ii that fell on the grid
    return np.sort(values[keep])


def _host_dtype(x: Any) -> Any:
    return np.float32 if array_api_compat.array_namespace(x).float32 == x.dtype else np.float64


def _key(x: float, dtype: Any) -> int:
    """Monotone integer key of a float of ``dtype`` (bit pattern ordered like the values)."""
    itype = np.int32 if dtype == np.float32 else np.int64
    bits = int(np.asarray(x, dtype=dtype).view(itype))
    return bits if bits >= 0 else -(bits & int(np.iinfo(itype).max))


def _unkey(key: int, dtype: Any) -> float:
    itype = np.int32 if dtype == np.float32 else np.int64
    bits = key if key >= 0 else (-key) | int(np.iinfo(itype).min)
    return float(np.asarray(bits, dtype=itype).view(dtype))


class NegativeSelection:
    r"""Find exact order statistics :math:`x_{(r)}` of the :math:`N(N-1)` negatives by verified brackets.

    A :class:`~sigref.constellations.tiles.TileStat` (the selection of the module docstring): call
    :meth:`tile` on every tile of a :func:`~sigref.constellations.tiles.scan`, then
    :meth:`end_pass`; repeat scans while it returns False. Each rank :math:`r` (0-based, of the
    negatives sorted ascending) is then in ``values``.

    Parameters
    ----------
    n : int
        N, the number of pairs (so :math:`M = N(N-1)` negatives).
    dtype : numpy.dtype
        The host dtype of the similarities (``numpy.float32`` or ``numpy.float64``).
    ranks : list of int
        The ranks wanted, in :math:`[0, M)`.
    budget : int, optional
        Values a pass may collect (default :data:`BUDGET`).
    sample : numpy.ndarray, optional
        A sorted sample of negatives (:func:`sample_negatives`) that places the first thresholds;
        without one the first pass brackets everything.
    bound : float, optional
        A bound on :math:`|s_{ij}|` (e.g. :math:`\max \lVert U_i \rVert \max \lVert V_j \rVert`,
        rounded up), where bisection starts (default :math:`\infty`).

    Attributes
    ----------
    values : dict of int to numpy.floating
        Each rank settled so far, mapped to its value (a NumPy scalar of ``dtype``).
    everything : numpy.ndarray or None
        Every negative (sorted, host) when a pass could collect them all.
    history : list of dict
        Each pass's thresholds ``a``, ``b``, its counts and the number of values collected.
    m : int
        :math:`M = N(N-1)`.
    pending : list of int
        The ranks not settled yet.

    Raises
    ------
    ValueError
        If ``ranks`` is empty or a rank is outside :math:`[0, M)`.

    See Also
    --------
    negative_percentile : The percentile from two such ranks.

    Examples
    --------
    A budget of 10 values per pass forces several passes; the answer is still NumPy's:

    >>> import numpy as np
    >>> from sigref.constellations.percentiles import NegativeSelection, lerp, percentile_indexes
    >>> from sigref.constellations.tiles import scan
    >>> from sigref.sampling import uniform_sphere
    >>> U, V = uniform_sphere(0, (8, 4)), uniform_sphere(1, (8, 4))
    >>> k, k1, gamma = percentile_indexes(8 * 7, 95.0)
    >>> sel = NegativeSelection(8, np.float64, [k, k1], budget=10)
    >>> _ = scan(U, V, [sel])
    >>> while not sel.end_pass():
    ...     _ = scan(U, V, [sel])
    >>> negatives = (U @ V.T)[~np.eye(8, dtype=bool)]
    >>> sel.passes > 1, lerp(sel.values[k], sel.values[k1], gamma) == float(np.percentile(negatives, 95.0))
    (True, True)
    """

    def __init__(self, n: int, dtype: Any, ranks: list[int], *, budget: int = BUDGET, sample: np.ndarray | None = None,
                 bound: float = math.inf) -> None:
        self.m = n * (n - 1)
        self.dtype = dtype
        self.pending = sorted(set(ranks))
        if not self.pending or self.pending[0] < 0 or self.pending[-1] >= self.m:
            raise ValueError(f"ranks must lie in [0, {self.m}), got {ranks}")
        self.budget = max(int(budget), 1)
        self.sample = sample
        self.bound = float(bound)
        self.values: dict[int, np.floating] = {}
        self.everything: np.ndarray | None = None
        self.history: list[dict[str, Any]] = []
        # per pending rank r, an open bracket (lo, hi) holding x_(r): #{x <= lo} = le_lo <= r < lt_hi = #{x < hi}
        self.brackets = dict.fromkeys(self.pending, (-math.inf, math.inf, 0, self.m))
        self._plan()

    @property
    def passes(self) -> int:
        """The number of passes finished so far.

        Returns
        -------
        int
            The length of ``history``.
        """
        return len(self.history)

    def _plan(self) -> None:
        """Thresholds a <= b inside [lo, hi] for the coming pass: the whole bracket when it fits the budget (but for
        a first pass with a sample and more than :data:`COLLECT_ALL` values), else sample values around the pending
        ranks, else the thirds of its representable numbers."""
        spans = [self.brackets[r] for r in self.pending]
        lo, _, le_lo, _ = min(spans)
        _, hi, _, lt_hi = max(spans, key=lambda sp: sp[1])
        focus = self.pending
        if lt_hi - le_lo > self.budget and len(set(spans)) > 1:  # ranks in different brackets: one at a time
            (lo, hi, le_lo, lt_hi), focus = spans[0], [r for r in self.pending if self.brackets[r] == spans[0]]
        self.lo, self.hi = lo, hi
        count = lt_hi - le_lo
        a, b = lo, hi
        sampled_first = not self.history and self.sample is not None and count > COLLECT_ALL
        if count > self.budget or sampled_first:
            pool = np.empty(0) if self.sample is None else self.sample[(self.sample > lo) & (self.sample < hi)]
            if pool.size >= 64:
                g_lo = (focus[0] - le_lo) / count
                g_hi = (focus[-1] + 1 - le_lo) / count
                g = (g_lo + g_hi) / 2
                delta = _Z * math.sqrt(max(g * (1 - g), 1.0 / pool.size) / pool.size) + 2.0 / pool.size
                i_lo, i_hi = math.floor((g_lo - delta) * pool.size), math.ceil((g_hi + delta) * pool.size)
                a = float(pool[i_lo]) if i_lo >= 0 else lo
                b = float(pool[i_hi]) if i_hi < pool.size else hi
            if (a, b) == (lo, hi):
                k_lo, k_hi = _key(max(lo, -self.bound), self.dtype), _key(min(hi, self.bound), self.dtype)
                if k_hi - k_lo < 3:
                    k_lo, k_hi = _key(lo, self.dtype), _key(hi, self.dtype)
                a, b = (_unkey(k_lo + (k_hi - k_lo) * i // 3, self.dtype) for i in (1, 2))
        self._a, self._b = a, b
        self._counts = [0, 0, 0, 0]  # #{x >= a}, #{x > a}, #{x >= b}, #{x > b}
        self._collected: list[Any] = []
        self._size = 0
        self._stride = 1  # > 1 once the values in (a, b) overflowed the budget: every stride-th is kept, as a sample

    def tile(self, tile: Tile) -> None:
        r"""Count and collect one tile of the current pass.

        Counts the negatives at or above and strictly above each threshold and keeps the values strictly
        between them (thinned to a systematic sample when they overflow the budget); the positives,
        :math:`-\infty` in the tile, are never counted.

        Parameters
        ----------
        tile : Tile
            The next tile of :math:`S` from :func:`~sigref.constellations.tiles.scan`.
        """
        xp = array_api_compat.array_namespace(tile.S)
        a, b, x, c = self._a, self._b, tile.S, self._counts
        # one mask over the tile, then only the band [a, b] (a small fraction of it) is compacted and examined
        if a == -math.inf:  # every negative (the positives are -inf)
            above = None if tile.positives == 0 else x > a
            ge_a = tile.negatives
        else:
            above = x >= a
            ge_a = int(xp.count_nonzero(above))
        if b == math.inf:
            band = xp.reshape(x, (-1,)) if above is None else x[above]
        else:
            band = x[x <= b] if above is None else x[xp.logical_and(above, x <= b)]
        eq_a = int(xp.count_nonzero(band == a)) if a != -math.inf else 0
        eq_b = int(xp.count_nonzero(band == b)) if b != math.inf else 0
        ge_b = ge_a - (int(band.shape[0]) - eq_b) if b != math.inf else 0
        c[0] += ge_a
        c[1] += ge_a - eq_a
        c[2] += ge_b
        c[3] += ge_b - eq_b
        inner = band if (a, b) == (-math.inf, math.inf) else band[xp.logical_and(band > a, band < b)]
        self._size += int(inner.shape[0])
        if self._stride > 1:
            inner = inner[:: self._stride]
        if inner.shape[0]:
            self._collected.append(inner)
        if self._size > self.budget * self._stride:  # keep at most about one budget of values: thin them
            self._stride *= 2
            self._collected = [part[::2] for part in self._collected]

    def end_pass(self) -> bool:
        """Settle what this pass decided and plan the next one.

        Every pending rank is either decided (at a threshold, among the collected values, or in a
        bracket holding a single representable number) or gets a narrower bracket for the next pass.

        Returns
        -------
        bool
            True when every rank is known; False when another pass is needed (already planned).

        Raises
        ------
        RuntimeError
            If the counts and the collected values disagree (the tiles of one pass did not cover
            :math:`S` exactly once), or the ranks are not settled within 200 passes.
        """
        m, (ge_a, gt_a, ge_b, gt_b) = self.m, self._counts
        lt_a, le_a, lt_b, le_b = m - ge_a, m - gt_a, m - ge_b, m - gt_b
        a, b = self._a, self._b
        if self._size != max(lt_b - le_a, 0):  # (a = b: the atom at a is counted, not collected)
            raise RuntimeError(f"selection bookkeeping: {self._size} values between the thresholds, the counts say {lt_b - le_a}")
        inner = None
        if self._collected:
            xp = array_api_compat.array_namespace(self._collected[0])
            inner = to_host(xp.sort(xp.concat(self._collected)), dtype=self.dtype)
        complete = self._stride == 1
        if complete and (a, b) == (-math.inf, math.inf):
            self.everything = inner
        self.history.append({"a": a, "b": b, "below_a": lt_a, "up_to_a": le_a, "below_b": lt_b, "up_to_b": le_b,
                             "collected": self._size if complete else None})
        self._collected = []
        inside_only = True
        for r in self.pending:
            lo, hi, le_lo, lt_hi = self.brackets[r]
            if r < lt_a:  # x_(r) < a
                self.brackets[r] = (lo, a, le_lo, lt_a) if a < hi else (lo, hi, le_lo, lt_hi)
                inside_only = False
            elif r < le_a:
                self.values[r] = self.dtype(a)
            elif r < lt_b and complete:
                self.values[r] = inner[r - le_a]
            elif r < lt_b:  # a < x_(r) < b
                self.brackets[r] = (max(lo, a), min(hi, b), max(le_lo, le_a), min(lt_hi, lt_b))
            elif r < le_b:
                self.values[r] = self.dtype(b)
            else:  # x_(r) > b
                self.brackets[r] = (b, hi, le_b, lt_hi) if b > lo else (lo, hi, le_lo, lt_hi)
                inside_only = False
        self.pending = [r for r in self.pending if r not in self.values]
        if not self.pending:
            return True
        if self.passes >= _MAX_PASSES:
            raise RuntimeError(f"exact selection did not settle in {_MAX_PASSES} passes (last passes: {self.history[-3:]})")
        if inside_only and inner is not None:
            self.sample = inner  # a systematic sample of exactly the bracket now open
        for r in self.pending:  # a bracket holding a single representable number decides its rank
            lo, hi = self.brackets[r][:2]
            if _key(hi, self.dtype) - _key(lo, self.dtype) == 2:
                self.values[r] = self.dtype(_unkey(_key(lo, self.dtype) + 1, self.dtype))
        self.pending = [r for r in self.pending if r not in self.values]
        if not self.pending:
            return True
        self._plan()
        return False


def negative_percentile(U: Array, V: Array, p: float, *, chunk_size: int | str | None = "auto", budget: int | None = None,
                        sample_size: int | None = None, seed: int = 0, progress: bool = False) -> float:
    r"""Compute the p-th percentile of the :math:`N(N-1)` negatives exactly, in passes over tiles.

    .. math::

        P_p\big(\{ s_{ij} = \langle U_i, V_j \rangle : i \ne j \}\big),

    by ``numpy.percentile``'s definition (linear method, in the inputs' dtype), equal to NumPy's
    result on the dense negatives bit for bit, for U, V on any array-API namespace, with memory
    O(tile + budget + sample) instead of :math:`O(N^2)` (module docstring). The robust form of the
    relative bias in the paper's Tables 5-6 uses :math:`P_{95}` [1]_.

    Parameters
    ----------
    U : Array, shape (N, d)
        Embeddings :math:`U_i` as rows, N >= 2.
    V : Array, shape (N, d)
        Their partners :math:`V_i`, of the same namespace and dtype.
    p : float
        Percentile, in [0, 100].
    chunk_size : int or "auto" or None, optional
        Rows per tile (default ``"auto"``, see :func:`~sigref.constellations.tiles.tile_shape`).
    budget : int, optional
        Values a pass may collect (default :data:`BUDGET`, 8 times more on a GPU).
    sample_size : int, optional
        Size of the sample that places the thresholds (default :func:`sample_size_for`).
    seed : int, optional
        Seed of the sample (default 0); the result is exact whatever it is.
    progress : bool, optional
        Show a progress bar over the tiles (default False).

    Returns
    -------
    float
        :math:`P_p` of the negatives.

    Raises
    ------
    ValueError
        If ``U`` is not 2-D, the shapes differ or N < 2, or ``p`` is outside [0, 100].
    TypeError
        If ``U`` and ``V`` come from different array libraries.
    RuntimeError
        If the selection does not settle (see :meth:`NegativeSelection.end_pass`).

    See Also
    --------
    sigref.constellations.streaming.pair_summary : The percentile with every other statistic, in one pass.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations import negative_percentile
    >>> from sigref.sampling import uniform_sphere
    >>> U, V = uniform_sphere(0, (8, 4)), uniform_sphere(1, (8, 4))
    >>> negatives = (U @ V.T)[~np.eye(8, dtype=bool)]
    >>> negative_percentile(U, V, 95.0) == float(np.percentile(negatives, 95.0))
    True
    >>> round(negative_percentile(U, V, 95.0), 6)
    0.801659
    """
    from sigref.constellations.tiles import scan

    xp = array_api_compat.array_namespace(U, V)
    n = U.shape[0]
    if U.ndim != 2 or tuple(U.shape) != tuple(V.shape) or n < 2:
        raise ValueError(f"U and V must be paired arrays of one shape (N, d), N >= 2, got U {tuple(U.shape)} and V {tuple(V.shape)}")
    m = n * (n - 1)
    budget = budget or BUDGET * (8 if on_accelerator(U) else 1)
    k, k1, gamma = percentile_indexes(m, p)
    size = sample_size or sample_size_for(m, k / m, budget, accelerator=on_accelerator(U))
    sample = sample_negatives(U, V, size, seed=seed) if m > min(budget, COLLECT_ALL) else None
    bound = float(xp.max(xp.linalg.vector_norm(U, axis=-1))) * float(xp.max(xp.linalg.vector_norm(V, axis=-1))) * (1 + 1e-5)
    sel = NegativeSelection(n, _host_dtype(U), [k, k1], budget=budget, sample=sample, bound=bound)
    scan(U, V, [sel], chunk_size=chunk_size, progress=progress, desc="percentile pass 1")
    while not sel.end_pass():
        scan(U, V, [sel], chunk_size=chunk_size, progress=progress, desc=f"percentile pass {sel.passes + 1}")
    return lerp(sel.values[k], sel.values[k1], gamma)
