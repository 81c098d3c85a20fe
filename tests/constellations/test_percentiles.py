"""Exact percentiles of the negatives without N^2 memory (sigref.constellations.percentiles) equal
``numpy.percentile`` of the dense negatives: every rank, budgets small enough to need several passes
(the sampled bracket, the bisection of representable numbers, the atoms of ties), float32 included."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sigref.backend import get_backend
from sigref.constellations.percentiles import NegativeSelection, lerp, percentile_indexes, sample_negatives
from sigref.constellations.tiles import scan
from tests.constellations.test_streaming import CHUNK, KINDS, D, N, make_pair, tiled_dense


def _select(U, V, host, p: float, budget: int, sample, chunk, bound: float = 2.0) -> tuple[float, NegativeSelection]:
    n = U.shape[0]
    k, k1, gamma = percentile_indexes(n * (n - 1), p)
    sel = NegativeSelection(n, host, [k, k1], budget=budget, sample=sample, bound=bound)
    scan(U, V, [sel], chunk_size=chunk)
    while not sel.end_pass():
        scan(U, V, [sel], chunk_size=chunk)
    return lerp(sel.values[k], sel.values[k1], gamma), sel


def test_definition_is_numpy_percentile():
    rng = np.random.default_rng(7)
    for trial in range(3000):
        m = int(rng.integers(1, 40))
        dtype = (np.float32, np.float64)[trial % 2]
        x = (rng.integers(-3, 4, m) / 4 if trial % 3 == 0 else rng.standard_normal(m)).astype(dtype)
        p = float(rng.integers(0, 101)) if trial % 4 == 0 else float(rng.uniform(0, 100))
        srt = np.sort(x)
        k, k1, gamma = percentile_indexes(m, p)
        assert lerp(srt[k], srt[k1], gamma) == float(np.percentile(x, p)), (m, p, dtype)
    with pytest.raises(ValueError, match="percentile"):
        percentile_indexes(10, 101.0)


@pytest.mark.parametrize("kind", KINDS)
def test_selection_in_passes_equals_numpy(backend_any, kind):
    Uh, Vh = make_pair(kind, N, D, seed=3)
    U, V = backend_any.asarray(Uh), backend_any.asarray(Vh)
    host = np.float32 if backend_any.dtype_name == "float32" else np.float64
    S = tiled_dense(U, V, backend_any, CHUNK)
    off = S[~np.eye(N, dtype=bool)].astype(host)
    sample = sample_negatives(U, V, 4000, seed=1)
    assert sample.size > 3000 and np.all(np.diff(sample) >= 0)
    passes = []
    cases = ((95.0, 400, sample, 2.0), (50.0, 64, None, 2.0), (99.9, 10, sample, 2.0), (0.5, 200, sample, 2.0), (100.0, 4, None, 2.0),
             (0.0, 5, None, math.inf), (37.3, 2, sample, 2.0))
    for p, budget, smp, bound in cases:  # bound: where bisection starts (inf: from the whole floating range)
        value, sel = _select(U, V, host, p, budget, smp, CHUNK, bound)
        assert value == float(np.percentile(off, p)), (p, budget)
        assert all(h["collected"] is None or h["collected"] <= budget for h in sel.history)
        passes.append(sel.passes)
    if kind != "tied":  # tiny budgets on distinct values take several verified passes
        assert max(passes) > 1


@pytest.mark.parametrize("kind,dtype", [("random", "float32"), ("tied", "float32"), ("clustered", "float64")])
def test_selection_at_a_few_thousand_pairs(kind, dtype):
    """N = 2500 (6.2e6 negatives) with a budget of 2^13 values: the sampled bracket or extra passes, never N^2 memory."""
    NP = get_backend("numpy", dtype=dtype)
    Uh, Vh = make_pair(kind, 2500, 16, seed=11)
    U, V = NP.asarray(Uh), NP.asarray(Vh)
    host = np.float32 if dtype == "float32" else np.float64
    S = tiled_dense(U, V, NP, 700)
    off = S[~np.eye(2500, dtype=bool)].astype(host)
    sample = sample_negatives(U, V, 2**14, seed=0)
    for p in (95.0, 99.0, 50.0):
        value, sel = _select(U, V, host, p, 2**13, sample, 700)
        assert value == float(np.percentile(off, p))
        assert all(h["collected"] is None or h["collected"] <= 2**13 for h in sel.history)


def test_selection_rejects_bad_ranks():
    with pytest.raises(ValueError, match="ranks"):
        NegativeSelection(5, np.float64, [20])
    with pytest.raises(ValueError, match="ranks"):
        NegativeSelection(5, np.float64, [])
