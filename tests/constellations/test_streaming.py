"""Streamed similarity statistics (sigref.constellations.streaming, tiles) against the dense computation.

Three kinds of inputs: random unit rows, clustered rows (tight clusters: many near-ties) and tied rows
(entries in {0, +-1/2}: the products are exact in every summation order, so every statistic must equal
the dense one bit for bit, on every backend and dtype). For floating inputs the dense matrix is also
assembled from the very tiles the scan computed, so the order statistics can be compared exactly too.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sigref.constellations import metrics
from sigref.constellations.streaming import pair_summary
from sigref.constellations.tiles import scan, tile_shape
from sigref.losses import sigmoid_loss

KINDS = ("random", "clustered", "tied")
N, D, CHUNK = 150, 8, 41  # one shape for every test: compiled backends (JAX) compile each tile shape once


def make_pair(kind: str, n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Host float64 paired rows of the given kind (unit rows for random/clustered; tied rows have norm <= 1)."""
    rng = np.random.default_rng(seed)
    if kind == "tied":
        U = rng.choice([-0.5, 0.0, 0.5], size=(n, d))
        V = np.where(rng.random((n, d)) < 0.7, U, rng.choice([-0.5, 0.0, 0.5], size=(n, d)))
        return U, V
    if kind == "clustered":
        centres = rng.standard_normal((5, d))
        U = centres[rng.integers(0, 5, n)] + 1e-3 * rng.standard_normal((n, d))
    else:
        U = rng.standard_normal((n, d))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    V = U + 0.8 * rng.standard_normal((n, d)) / math.sqrt(d)
    return U, V / np.linalg.norm(V, axis=1, keepdims=True)


class Recorder:
    """Copies every tile into a dense host matrix (positives are -inf in the tiles; written back from the scan's result)."""

    def __init__(self, n: int, backend) -> None:
        self.S = np.full((n, n), np.nan)
        self.backend = backend

    def tile(self, t) -> None:
        self.S[t.r0 : t.r1, t.c0 : t.c1] = self.backend.to_numpy(t.S)


def tiled_dense(U, V, backend, chunk_size) -> np.ndarray:
    rec = Recorder(U.shape[0], backend)
    pos = backend.to_numpy(scan(U, V, [rec], chunk_size=chunk_size))
    np.fill_diagonal(rec.S, pos)
    assert not np.isnan(rec.S).any()
    return rec.S


def dense_expectations(S: np.ndarray, q: float, dtype) -> dict[str, float]:
    n = S.shape[0]
    off = S[~np.eye(n, dtype=bool)].astype(dtype)
    pos = np.diag(S).astype(dtype)
    no_diag = np.where(np.eye(n, dtype=bool), -np.inf, S)
    return {"pos_min": float(pos.min()), "neg_max": float(off.max()), "pos_percentile": float(np.percentile(pos, q)),
            "neg_percentile": float(np.percentile(off, 100.0 - q)),
            "retrieval_u2v": float(np.mean(np.diag(S) > no_diag.max(axis=1))),
            "retrieval_v2u": float(np.mean(np.diag(S) > no_diag.max(axis=0)))}


@pytest.mark.parametrize("kind", KINDS)
def test_summary_equals_dense(backend_any, kind):
    n, d, chunk = N, D, CHUNK
    Uh, Vh = make_pair(kind, n, d, seed=len(kind))
    U, V = backend_any.asarray(Uh), backend_any.asarray(Vh)
    host = np.float32 if backend_any.dtype_name == "float32" else np.float64
    exact = dense_expectations(tiled_dense(U, V, backend_any, chunk), 5.0, host)
    plain = dense_expectations(backend_any.to_numpy(U @ backend_any.xp.matrix_transpose(V)).astype(np.float64), 5.0, host)
    tol = 0.0 if kind == "tied" else (1e-13 if host == np.float64 else 3e-6)
    for budget in (None, 700):  # one pass holding every negative; a sampled bracket with verified counts
        s = pair_summary(U, V, q=5.0, chunk_size=chunk, budget=budget, sample_size=5000)
        assert s.dtype == backend_any.dtype_name and s.tile == tile_shape(n, chunk, U)
        # the order statistics and retrieval, exactly, against the dense matrix of the same products
        for key, want in exact.items():
            assert getattr(s, key) == want, (key, budget)
        # ... and against the plain dense products U V^T (rounding of the products only; exact for tied inputs)
        for key, want in plain.items():
            if not key.startswith("retrieval"):
                assert abs(getattr(s, key) - want) <= tol, key
    dense_forms = {form: [float(x) for x in metrics.margin_and_bias(U, V, form=form)] for form in metrics.FORMS}
    tol = 1e-12 if host == np.float64 else 2e-6
    for form in metrics.FORMS:
        assert s.margin_and_bias(form) == pytest.approx(dense_forms[form], abs=tol)
    S64 = Uh @ Vh.T
    off = S64[~np.eye(n, dtype=bool)]
    assert s.pos_mean == pytest.approx(np.diag(S64).mean(), abs=1e-7 if host == np.float32 else 1e-14)
    assert s.neg_mean == pytest.approx(off.mean(), abs=1e-7 if host == np.float32 else 1e-14)
    assert s.xi == pytest.approx(float(metrics.xi(backend_any.asarray(Uh), backend_any.asarray(Vh))), rel=1e-5 if host == np.float32 else 1e-11)
    unsq = float(metrics.xi(backend_any.asarray(Uh), backend_any.asarray(Vh), "unsquared"))
    assert s.xi_unsquared == pytest.approx(unsq, rel=1e-5 if host == np.float32 else 1e-11, abs=1e-12)
    assert s.passes >= 1 and s.selection[-1]["collected"] is not None


@pytest.mark.parametrize("kind", ("random", "tied"))
def test_loss_equals_dense_sigmoid_loss(backend_any, kind):
    Uh, Vh = make_pair(kind, N, D)
    U, V = backend_any.asarray(Uh), backend_any.asarray(Vh)
    rel = 1e-12 if backend_any.dtype_name == "float64" else 2e-5
    s = pair_summary(U, V, t=12.0, b=3.0, chunk_size=CHUNK)
    for red in ("sum", "per_anchor", "mean"):
        assert s.loss[red] == pytest.approx(float(sigmoid_loss(U, V, 12.0, 3.0, reduction=red)), rel=rel)
    s_rel = pair_summary(U, V, t=12.0, b_rel=0.25, chunk_size=CHUNK)
    assert s_rel.loss["b"] == 3.0 and s_rel.loss["sum"] == pytest.approx(s.loss["sum"], rel=1e-15)


def test_admissible_interval_and_sign_pattern(backend):
    import sigref.constellations as C

    c = C.from_code(C.hypercube(4, backend=backend).X, 0.1, 0.2)
    s = pair_summary(c.U, c.V)
    m, b = s.margin_and_bias()
    assert m == pytest.approx(c.m_star, abs=1e-12) and b == pytest.approx(c.b_star, abs=1e-12)
    lo, hi = s.admissible_bias_interval(m)
    assert lo == pytest.approx(b, abs=1e-12) and hi == pytest.approx(b, abs=1e-12)  # a single point at m = m*
    lo0, hi0 = s.admissible_bias_interval(0.0)
    assert (lo0, hi0) == (s.neg_max, s.pos_min) and lo0 < hi0
    want = bool(np.all(np.diag(np.asarray(backend.to_numpy(c.U @ backend.xp.matrix_transpose(c.V)))) > 0) and s.neg_max < 0)
    assert s.sign_pattern == want
    assert s.retrieval_u2v == 1.0 and s.retrieval_v2u == 1.0
    with pytest.raises(ValueError, match="m must be"):
        s.admissible_bias_interval(-0.1)


def test_tiles_cover_the_matrix_once():
    """Every entry is seen by exactly one tile, positives are read off and replaced by -inf, for odd chunk sizes."""
    from sigref.backend import get_backend

    NP = get_backend("numpy")
    U, V = make_pair("random", 53, 4)
    class Count:
        def __init__(self) -> None:
            self.seen = np.zeros((53, 53), dtype=int)

        def tile(self, t) -> None:
            self.seen[t.r0 : t.r1, t.c0 : t.c1] += 1
            block = np.asarray(t.S)
            k = np.arange(max(t.r0, t.c0), min(t.r1, t.c1))
            assert t.positives == k.size and np.all(np.isneginf(block[k - t.r0, k - t.c0]))
            assert np.isfinite(block).sum() == t.negatives

    for chunk in (1, 7, 53, 200, "auto"):
        count = Count()
        pos = scan(NP.asarray(U), NP.asarray(V), [count], chunk_size=chunk)
        assert np.all(count.seen == 1)
        np.testing.assert_allclose(pos, np.sum(U * V, axis=1), rtol=0, atol=1e-15)


@pytest.mark.parametrize("bad,err,match", [
    ("shape", ValueError, "one shape"), ("dtype", TypeError, "share a dtype"), ("n1", ValueError, "N >= 2"),
    ("nan", ValueError, "finite"), ("q", ValueError, "q"), ("t_only_b", ValueError, "t as well"),
    ("both", ValueError, "exactly one"), ("t", ValueError, "t must be"), ("chunk", ValueError, "chunk_size"),
])
def test_bad_input(bad, err, match):
    U, V = make_pair("random", 20, 3)
    kwargs = {}
    if bad == "shape":
        V = V[:-1]
    elif bad == "dtype":
        V = V.astype(np.float32)
    elif bad == "n1":
        U, V = U[:1], V[:1]
    elif bad == "nan":
        U = U.copy()
        U[3, 1] = np.nan
    elif bad == "q":
        kwargs = {"q": 60.0}
    elif bad == "t_only_b":
        kwargs = {"b": 1.0}
    elif bad == "both":
        kwargs = {"t": 2.0, "b": 1.0, "b_rel": 0.5}
    elif bad == "t":
        kwargs = {"t": -1.0, "b": 1.0}
    elif bad == "chunk":
        kwargs = {"chunk_size": 0}
    with pytest.raises(err, match=match):
        pair_summary(U, V, **kwargs)
