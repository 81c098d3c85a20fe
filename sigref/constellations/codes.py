r"""Spherical codes: points :math:`X_i \in S^{n-1}` with :math:`\langle X_i, X_j \rangle \le \alpha`, :math:`i \ne j` (arXiv:2509.18552, Sec. 3.2).

A code with :math:`U_i = V_i = X_i` is a :math:`((1 - \alpha)/2, (1 + \alpha)/2)`-constellation,
and through Thm 3.3 (:func:`sigref.constellations.constructions.from_code`) an
:math:`\alpha`-code in :math:`\mathbb{R}^{d-1}` gives an :math:`(m, b_{rel})`-constellation in
:math:`\mathbb{R}^d` for every :math:`(m, b_{rel})` with :math:`\alpha(m, b_{rel}) \ge \alpha`.

Every builder returns a :class:`Code`: the points ``X`` ``(N, n)`` on the requested backend and
their ``alpha``, the exact value for algebraic codes, the measured maximum for random ones.
Points are built on the host in float64 (exact integer structure, seeded randomness) and moved.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, NamedTuple

import array_api_compat
import numpy as np

from sigref._arrays import check_finite, check_floating, positive_int
from sigref.backend import Backend, get_backend
from sigref.sampling import rng_from
from sigref.types import Array

__all__ = [
    "Code",
    "binary_code",
    "cross_polytope",
    "extended_hamming_generator",
    "greedy_code",
    "hypercube",
    "max_inner_product",
    "random_code",
    "reed_muller_generator",
    "regular_simplex",
]


class Code(NamedTuple):
    r"""A spherical code: its points and their largest inner product.

    A ``NamedTuple``, so ``X, alpha = code`` unpacks it.

    Attributes
    ----------
    X : Array, shape (N, n)
        The points :math:`X_i \in S^{n-1}` as rows, on the backend that built them.
    alpha : float
        :math:`\alpha = \max_{i \ne j} \langle X_i, X_j \rangle` (a Python float): exact for the
        algebraic codes, measured for the random ones.

    See Also
    --------
    max_inner_product : :math:`\alpha` of any set of points.

    Examples
    --------
    >>> from sigref.constellations import cross_polytope
    >>> X, alpha = cross_polytope(2)
    >>> X.shape, alpha
    ((4, 2), 0.0)
    """

    X: Array
    alpha: float


def _move(host: np.ndarray, backend: Backend | None) -> Any:
    backend = backend or get_backend()
    return backend.asarray(host)


def max_inner_product(X: Array) -> Array:
    r"""Compute the largest inner product :math:`\alpha(X)` between distinct points.

    .. math::

        \alpha(X) = \max_{i \ne j} \langle X_i, X_j \rangle,

    over the last two axes: :math:`X` is an :math:`\alpha(X)`-code when its rows are unit vectors.

    Parameters
    ----------
    X : Array, shape (..., N, n)
        Points as rows, real floating, N >= 2.

    Returns
    -------
    Array, shape (...)
        :math:`\alpha(X)` in the namespace and dtype of ``X``.

    Raises
    ------
    TypeError
        If ``X`` is not an array of an array-API library or not real floating.
    ValueError
        If ``X`` holds NaN or infinity, has fewer than two axes or fewer than two rows.

    See Also
    --------
    Code : A code with its :math:`\alpha`.

    Examples
    --------
    >>> from sigref.constellations import hypercube, max_inner_product
    >>> X = hypercube(3).X  # {+-1/sqrt(3)}^3: neighbours differ in one sign
    >>> round(float(max_inner_product(X)), 6)
    0.333333
    """
    xp = array_api_compat.array_namespace(X)
    check_floating(xp, "X", X)
    check_finite(xp, "X", X)
    if X.ndim < 2 or X.shape[-2] < 2:
        raise ValueError(f"X must have shape (..., N, n) with N >= 2, got {tuple(X.shape)}")
    G = X @ xp.matrix_transpose(X)
    eye = xp.eye(G.shape[-1], dtype=G.dtype, device=array_api_compat.device(G)) > 0.5
    return xp.max(xp.where(eye, xp.full_like(G, -xp.inf), G), axis=(-2, -1))


def regular_simplex(N: int, *, dim: int | None = None, backend: Backend | None = None) -> Code:
    r"""Build the regular simplex: N unit vectors with equal pairwise inner products :math:`-1/(N-1)`.

    .. math::

        \langle X_i, X_j \rangle = -\frac{1}{N - 1} \quad (i \ne j), \qquad \alpha = -\frac{1}{N - 1},

    the smallest :math:`\alpha` of any N points. The points span :math:`\mathbb{R}^{N-1}` and are
    zero-padded to ``dim`` coordinates. Built as the centred standard basis of :math:`\mathbb{R}^N`,
    scaled to unit norm and written in a Helmert-type orthonormal basis of the hyperplane
    :math:`\sum_k x_k = 0`.

    Parameters
    ----------
    N : int
        Number of points, >= 2.
    dim : int, optional
        Ambient dimension, >= N - 1 (default N - 1).
    backend : Backend, optional
        Where the points go (default :func:`sigref.backend.get_backend`, NumPy float64 unless
        configured otherwise); they are built on the host in float64 and moved.

    Returns
    -------
    Code
        ``X`` of shape (N, dim) and ``alpha`` :math:`= -1/(N-1)`.

    Raises
    ------
    ValueError
        If ``N`` is not an integer >= 2 or ``dim`` is not an integer >= N - 1.

    See Also
    --------
    sigref.constellations.region.simplex_point : Its margin and relative bias.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.constellations import regular_simplex
    >>> X, alpha = regular_simplex(4)
    >>> X.shape, round(alpha, 6)
    ((4, 3), -0.333333)
    >>> G = X @ X.T
    >>> bool(np.allclose(np.diag(G), 1.0)), round(float(G[0, 1]), 6)
    (True, -0.333333)
    >>> regular_simplex(3, dim=5).X.shape
    (3, 5)
    """
    positive_int("N", N, minimum=2)
    dim = N - 1 if dim is None else dim
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < N - 1:
        raise ValueError(f"dim must be an integer >= N - 1 = {N - 1} for an N-point simplex, got {dim!r}")
    E = np.eye(N) - 1.0 / N
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    # orthonormal basis of {x : sum x = 0}: Helmert-type vectors, exact up to rounding
    B = np.zeros((N, N - 1))
    for k in range(1, N):
        B[:k, k - 1] = 1.0
        B[k, k - 1] = -k
        B[:, k - 1] /= math.sqrt(k * (k + 1))
    X = E @ B
    X = np.concatenate([X, np.zeros((N, dim - (N - 1)))], axis=1)
    return Code(_move(X, backend), -1.0 / (N - 1))


def cross_polytope(n: int, *, backend: Backend | None = None) -> Code:
    r"""Build the cross-polytope: the 2n points :math:`\pm e_i` of :math:`\mathbb{R}^n`, with :math:`\alpha = 0`.

    Paired with itself it is a :math:`(1/2, 1/2)`-constellation of 2n pairs in :math:`\mathbb{R}^n`,
    on the boundary :math:`3m = 1 + b_{rel}` of the region of Thm 3.4 of [1]_.

    Parameters
    ----------
    n : int
        Dimension, >= 1.
    backend : Backend, optional
        Where the points go (default :func:`sigref.backend.get_backend`, NumPy float64 unless
        configured otherwise); they are built on the host in float64 and moved.

    Returns
    -------
    Code
        ``X`` of shape (2n, n) (rows :math:`e_1, \dots, e_n, -e_1, \dots, -e_n`) and ``alpha`` = 0.

    Raises
    ------
    ValueError
        If ``n`` is not an integer >= 1.

    See Also
    --------
    hypercube : The dual polytope's vertices, :math:`2^n` points.

    References
    ----------

    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.constellations import cross_polytope, margin_and_bias
    >>> X, alpha = cross_polytope(3)
    >>> X.shape, alpha
    ((6, 3), 0.0)
    >>> [round(float(v), 6) for v in margin_and_bias(X, X)]
    [0.5, 0.5]
    """
    positive_int("n", n, minimum=1)
    X = np.concatenate([np.eye(n), -np.eye(n)], axis=0)
    return Code(_move(X, backend), 0.0)


def hypercube(n: int, *, backend: Backend | None = None) -> Code:
    r"""Build the hypercube code: the :math:`2^n` points :math:`\{\pm 1/\sqrt{n}\}^n`, with :math:`\alpha = 1 - 2/n`.

    Two points differing in k signs have inner product :math:`1 - 2k/n`; neighbours (k = 1) give
    :math:`\alpha`.

    Parameters
    ----------
    n : int
        Dimension, 2 <= n <= 20 (at most :math:`2^{20}` points).
    backend : Backend, optional
        Where the points go (default :func:`sigref.backend.get_backend`, NumPy float64 unless
        configured otherwise); they are built on the host in float64 and moved.

    Returns
    -------
    Code
        ``X`` of shape :math:`(2^n, n)` and ``alpha`` :math:`= 1 - 2/n`.

    Raises
    ------
    ValueError
        If ``n`` is not an integer in [2, 20].

    See Also
    --------
    cross_polytope : The dual polytope's vertices, 2n points.
    binary_code : Subsets of the cube with a larger minimum distance.

    Examples
    --------
    >>> from sigref.constellations import hypercube
    >>> X, alpha = hypercube(3)
    >>> X.shape, round(alpha, 6)
    ((8, 3), 0.333333)
    """
    positive_int("n", n, minimum=2)
    if n > 20:
        raise ValueError(f"hypercube has 2^n points; n must be <= 20, got {n}")
    bits = np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.float64)
    return Code(_move((1 - 2 * bits) / math.sqrt(n), backend), 1.0 - 2.0 / n)


def extended_hamming_generator(r: int) -> np.ndarray:
    r"""Build a generator matrix of the extended Hamming :math:`[2^r, 2^r - r - 1, 4]` code.

    The Hamming code of length :math:`2^r - 1` in systematic form (its parity-check matrix has the
    binary expansions of :math:`1, \dots, 2^r - 1` as columns), extended by an overall parity bit:
    minimum distance 4. Through :func:`binary_code` it gives :math:`2^{2^r - r - 1}` points in
    :math:`\mathbb{R}^{2^r}` with :math:`\alpha = 1 - 8/2^r`.

    Parameters
    ----------
    r : int
        Number of parity bits of the Hamming code, >= 2.

    Returns
    -------
    numpy.ndarray of int64, shape (2^r - r - 1, 2^r)
        The 0/1 generator matrix.

    Raises
    ------
    ValueError
        If ``r`` is not an integer >= 2.

    See Also
    --------
    binary_code : The spherical code of a generator matrix.
    reed_muller_generator : Another family of binary codes.

    Examples
    --------
    >>> from sigref.constellations import binary_code, extended_hamming_generator
    >>> G = extended_hamming_generator(3)  # [8, 4, 4]
    >>> G.shape
    (4, 8)
    >>> code = binary_code(G)
    >>> code.X.shape, code.alpha
    ((16, 8), 0.0)
    """
    positive_int("r", r, minimum=2)
    n = 2**r - 1
    H = np.array([[(j >> i) & 1 for j in range(1, n + 1)] for i in range(r)], dtype=np.int64)
    # systematic form: the columns of H that are not powers of two carry the message bits
    parity_cols = [(1 << i) - 1 for i in range(r)]
    data_cols = [c for c in range(n) if c not in parity_cols]
    k = len(data_cols)
    G = np.zeros((k, n), dtype=np.int64)
    for row, c in enumerate(data_cols):
        G[row, c] = 1
        G[row, parity_cols] = H[:, c]
    parity = G.sum(axis=1, keepdims=True) % 2
    return np.concatenate([G, parity], axis=1)


def reed_muller_generator(r: int, m: int) -> np.ndarray:
    r"""Build a generator matrix of the Reed-Muller code RM(r, m).

    The rows are the evaluations on :math:`\{0, 1\}^m` of the monomials of degree at most r:
    length :math:`2^m`, dimension :math:`\sum_{k \le r} \binom{m}{k}`, minimum distance
    :math:`2^{m-r}`. Through :func:`binary_code` it gives points in :math:`\mathbb{R}^{2^m}` with
    :math:`\alpha = 1 - 2^{1-r}`.

    Parameters
    ----------
    r : int
        Degree, 0 <= r <= m.
    m : int
        Number of variables, >= 1.

    Returns
    -------
    numpy.ndarray of int64, shape (k, 2^m)
        The 0/1 generator matrix, :math:`k = \sum_{j \le r} \binom{m}{j}`.

    Raises
    ------
    ValueError
        If ``m`` is not an integer >= 1 or ``r`` is not an integer in [0, m].

    See Also
    --------
    binary_code : The spherical code of a generator matrix.

    Examples
    --------
    RM(1, 3) is the extended Hamming [8, 4, 4] code:

    >>> from sigref.constellations import binary_code, reed_muller_generator
    >>> G = reed_muller_generator(1, 3)
    >>> G.tolist()
    [[1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 0, 0, 1, 1], [0, 1, 0, 1, 0, 1, 0, 1]]
    >>> binary_code(G).alpha
    0.0
    """
    positive_int("m", m, minimum=1)
    if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r <= m:
        raise ValueError(f"r must be an integer in [0, m={m}], got {r!r}")
    points = np.array(list(itertools.product((0, 1), repeat=m)), dtype=np.int64)
    rows = [np.ones(2**m, dtype=np.int64)]
    for degree in range(1, r + 1):
        for subset in itertools.combinations(range(m), degree):
            rows.append(np.prod(points[:, subset], axis=1))
    return np.array(rows, dtype=np.int64)


def binary_code(G: np.ndarray, *, backend: Backend | None = None) -> Code:
    r"""Map the codewords of a binary linear code onto the sphere.

    All :math:`2^k` codewords :math:`c = u G \pmod 2` of the :math:`[n, k]` code generated by
    :math:`G` become the points :math:`X_c = (1 - 2c) / \sqrt{n}`, so that

    .. math::

        \langle X_c, X_{c'} \rangle = 1 - \frac{2\, \mathrm{dist}(c, c')}{n}, \qquad
        \alpha = 1 - \frac{2D}{n},

    with :math:`D` the minimum distance (computed exactly from the codewords).

    Parameters
    ----------
    G : numpy.ndarray, shape (k, n)
        A 0/1 generator matrix of full row rank over GF(2), k <= 20.
    backend : Backend, optional
        Where the points go (default :func:`sigref.backend.get_backend`, NumPy float64 unless
        configured otherwise); they are built on the host in float64 and moved.

    Returns
    -------
    Code
        ``X`` of shape :math:`(2^k, n)` and ``alpha`` :math:`= 1 - 2D/n`.

    Raises
    ------
    ValueError
        If ``G`` is not a non-empty 2-D 0/1 matrix, k > 20, or the rows are linearly dependent
        over GF(2) (some codewords coincide).

    See Also
    --------
    extended_hamming_generator : Generators of the extended Hamming codes.
    reed_muller_generator : Generators of the Reed-Muller codes.

    Examples
    --------
    The repetition code of length 3 has two codewords at distance 3:

    >>> from sigref.constellations import binary_code
    >>> X, alpha = binary_code([[1, 1, 1]])
    >>> X.shape, round(alpha, 6)
    ((2, 3), -1.0)
    """
    G = np.asarray(G)
    if G.ndim != 2 or G.size == 0 or not np.all((G == 0) | (G == 1)):
        raise ValueError(f"G must be a non-empty (k, n) 0/1 generator matrix, got shape {G.shape}")
    k, n = G.shape
    if k > 20:
        raise ValueError(f"binary_code enumerates 2^k codewords; k must be <= 20, got {k}")
    msgs = np.array(list(itertools.product((0, 1), repeat=k)), dtype=np.int64)
    words = (msgs @ G.astype(np.int64)) % 2
    if len({w.tobytes() for w in words}) != 2**k:
        raise ValueError("G must have full row rank over GF(2) (some codewords coincide)")
    D = int(np.min(words[1:].sum(axis=1)))  # linear code: minimum distance = minimum nonzero weight
    return Code(_move((1 - 2 * words).astype(np.float64) / math.sqrt(n), backend), 1.0 - 2.0 * D / n)


def random_code(N: int, n: int, seed: int | np.random.Generator | None = 0, *, backend: Backend | None = None) -> Code:
    r"""Draw N i.i.d. uniform points on :math:`S^{n-1}` and measure their :math:`\alpha`.

    The points are normalised Gaussian vectors drawn on the host with NumPy from ``seed``
    (reproducible), then moved to ``backend``.

    Parameters
    ----------
    N : int
        Number of points, >= 2.
    n : int
        Dimension, >= 1.
    seed : int or numpy.random.Generator or None, optional
        Seed or generator (default 0); None draws fresh entropy.
    backend : Backend, optional
        Where the points go (default :func:`sigref.backend.get_backend`, NumPy float64 unless
        configured otherwise); they are built on the host in float64 and moved.

    Returns
    -------
    Code
        ``X`` of shape (N, n) and the measured ``alpha``.

    Raises
    ------
    ValueError
        If ``N`` is not an integer >= 2 or ``n`` not an integer >= 1.

    See Also
    --------
    greedy_code : Random points with a guaranteed :math:`\alpha`.

    Examples
    --------
    >>> from sigref.constellations import max_inner_product, random_code
    >>> X, alpha = random_code(8, 3, seed=0)
    >>> X.shape, round(alpha, 6) == round(float(max_inner_product(X)), 6)
    ((8, 3), True)
    """
    positive_int("N", N, minimum=2)
    positive_int("n", n, minimum=1)
    g = rng_from(seed).standard_normal((N, n))
    X = g / np.linalg.norm(g, axis=1, keepdims=True)
    return Code(_move(X, backend), float(_host_alpha(X)))


def greedy_code(n: int, alpha: float, *, candidates: int = 20000, max_points: int | None = None,
                seed: int | np.random.Generator | None = 0, backend: Backend | None = None) -> Code:
    r"""Build a greedy (Gilbert-type) :math:`\alpha`-code from random candidates.

    Uniform candidates on :math:`S^{n-1}` are visited in order; each is kept when its inner product
    with every point kept so far is at most ``alpha``, until ``max_points`` are kept or the
    candidates run out.

    Parameters
    ----------
    n : int
        Dimension, >= 1.
    alpha : float
        The largest inner product allowed, in [-1, 1).
    candidates : int, optional
        Number of random candidates, >= 2 (default 20000).
    max_points : int, optional
        Stop after this many points (default: no limit).
    seed : int or numpy.random.Generator or None, optional
        Seed or generator of the candidates (default 0).
    backend : Backend, optional
        Where the points go (default :func:`sigref.backend.get_backend`, NumPy float64 unless
        configured otherwise); they are built on the host in float64 and moved.

    Returns
    -------
    Code
        The kept points ``X`` (N, n) and their measured ``alpha`` (<= the requested one).

    Raises
    ------
    ValueError
        If ``n`` or ``candidates`` is not a valid integer, ``alpha`` is outside [-1, 1), or fewer
        than two points were kept (raise ``candidates``).

    See Also
    --------
    random_code : Random points without a guarantee.

    Examples
    --------
    >>> from sigref.constellations import greedy_code
    >>> X, alpha = greedy_code(3, 0.5, candidates=200)
    >>> X.shape[0] >= 2, alpha <= 0.5
    (True, True)
    """
    positive_int("n", n, minimum=1)
    positive_int("candidates", candidates, minimum=2)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not -1 <= alpha < 1:
        raise ValueError(f"alpha must be a number in [-1, 1), got {alpha!r}")
    rng = rng_from(seed)
    kept = np.empty((0, n))
    cand = rng.standard_normal((candidates, n))
    cand /= np.linalg.norm(cand, axis=1, keepdims=True)
    for x in cand:
        if kept.shape[0] == 0 or np.max(kept @ x) <= alpha:
            kept = np.concatenate([kept, x[None, :]], axis=0)
            if max_points is not None and kept.shape[0] >= max_points:
                break
    if kept.shape[0] < 2:
        raise ValueError(f"greedy search found fewer than 2 points with alpha <= {alpha}; raise candidates")
    return Code(_move(kept, backend), float(_host_alpha(kept)))


def _host_alpha(X: np.ndarray) -> float:
    G = X @ X.T
    np.fill_diagonal(G, -np.inf)
    return float(G.max())
