"""Spherical codes: X_1..X_N in S^{n-1} with <X_i, X_j> <= alpha for i != j (arXiv 2509.18552, Sec. 3.2).

A code with U_i = V_i = X_i is a ((1 - alpha)/2, (1 + alpha)/2)-constellation, and through
Thm 3.3 (:func:`sigref.constellations.constructions.from_code`) an alpha-code in R^{d-1} gives an
(m, b_rel)-constellation in R^d for every (m, b_rel) with alpha(m, b_rel) >= alpha.

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
    """Spherical code ``X`` (N, n) and ``alpha`` = max_{i!=j} <X_i, X_j> (a Python float)."""

    X: Any
    alpha: float


def _move(host: np.ndarray, backend: Backend | None) -> Any:
    backend = backend or get_backend()
    return backend.asarray(host)


def max_inner_product(X: Any) -> Any:
    """alpha(X) = max_{i != j} <X_i, X_j> over the last two axes ``(..., N, n)``."""
    xp = array_api_compat.array_namespace(X)
    check_floating(xp, "X", X)
    check_finite(xp, "X", X)
    if X.ndim < 2 or X.shape[-2] < 2:
        raise ValueError(f"X must have shape (..., N, n) with N >= 2, got {tuple(X.shape)}")
    G = X @ xp.matrix_transpose(X)
    eye = xp.eye(G.shape[-1], dtype=G.dtype, device=array_api_compat.device(G)) > 0.5
    return xp.max(xp.where(eye, xp.full_like(G, -xp.inf), G), axis=(-2, -1))


def regular_simplex(N: int, *, dim: int | None = None, backend: Backend | None = None) -> Code:
    """N unit vectors in R^{N-1} (zero-padded to ``dim`` >= N-1) with <X_i, X_j> = -1/(N-1): alpha = -1/(N-1).

    Built as the centred standard basis of R^N, scaled to unit norm, expressed in an orthonormal
    basis of the hyperplane sum x = 0.
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
    """The 2n points +-e_i of R^n: alpha = 0."""
    positive_int("n", n, minimum=1)
    X = np.concatenate([np.eye(n), -np.eye(n)], axis=0)
    return Code(_move(X, backend), 0.0)


def hypercube(n: int, *, backend: Backend | None = None) -> Code:
    """The 2^n points {+-1/sqrt(n)}^n: alpha = 1 - 2/n (n >= 2; at most 2^20 points)."""
    positive_int("n", n, minimum=2)
    if n > 20:
        raise ValueError(f"hypercube has 2^n points; n must be <= 20, got {n}")
    bits = np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.float64)
    return Code(_move((1 - 2 * bits) / math.sqrt(n), backend), 1.0 - 2.0 / n)


def extended_hamming_generator(r: int) -> np.ndarray:
    """Generator matrix of the extended Hamming [2^r, 2^r - r - 1, 4] code (r >= 2), as 0/1 integers."""
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
    """Generator matrix of the Reed-Muller code RM(r, m): length 2^m, minimum distance 2^(m-r), as 0/1 integers."""
    positive_int("m", m, minimum=1)
    if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r <= m:
        raise ValueError(f"r must be an integer in [0, m={m}], got {r!r}")
    points = np.array(list(itertools.product((0, 1), repeat=m)), dtype=np.int64)
    rows = [np.ones(2**m, dtype=np.int64)]
    for degree in range(1, r + 1):
        for subset in itertools.combinations(range(m), degree):
            rows.append(np.prod(points[:, subset], axis=1))
    return np.array(rows, dtype=np.int64)


def binary_code(G: Any, *, backend: Backend | None = None) -> Code:
    """All 2^k codewords c = u G (mod 2) of a binary linear [n, k] code, mapped to (1 - 2c)/sqrt(n).

    <X_c, X_c'> = 1 - 2 dist(c, c')/n, so alpha = 1 - 2D/n with D the minimum distance
    (computed exactly from the codewords). k <= 20.
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
    """N i.i.d. uniform points on S^{n-1} (host NumPy, seeded); alpha measured."""
    positive_int("N", N, minimum=2)
    positive_int("n", n, minimum=1)
    g = rng_from(seed).standard_normal((N, n))
    X = g / np.linalg.norm(g, axis=1, keepdims=True)
    return Code(_move(X, backend), float(_host_alpha(X)))


def greedy_code(n: int, alpha: float, *, candidates: int = 20000, max_points: int | None = None,
                seed: int | np.random.Generator | None = 0, backend: Backend | None = None) -> Code:
    """Greedy (Gilbert-type) alpha-code: uniform candidates on S^{n-1}, each kept when its inner product
    with every kept point is <= alpha. Returns the measured alpha (<= the requested one)."""
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
