"""Constellation metrics under jax.jit (those that are array-API without value-dependent shapes),
against NumPy. The streaming pair_summary is not jit-able yet (boolean-mask indexing)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sigref.constellations as C
from tests.jax.helpers import unit_rows

METRICS = ["margin", "margin_and_bias", "optimal_relative_bias", "pair_statistics", "retrieval_accuracy", "similarities",
           "sign_pattern_holds"]


@pytest.mark.parametrize("name", METRICS)
def test_metric_under_jit_equals_numpy(name):
    rng = np.random.default_rng(0)
    U, V = unit_rows(rng, 20, 4), unit_rows(rng, 20, 4)
    fn = getattr(C, name)
    want = fn(U, V)
    got = jax.jit(fn)(jnp.asarray(U), jnp.asarray(V))
    w_leaves, g_leaves = jax.tree_util.tree_leaves(want), jax.tree_util.tree_leaves(got)
    assert len(w_leaves) == len(g_leaves)
    for g, w in zip(g_leaves, w_leaves):
        np.testing.assert_allclose(np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64), rtol=1e-12, atol=1e-12)
