"""sigref's array-API core under jax.jit: equal to NumPy, value checks skipped only when traced,
the row blocks in one lax.scan (the compiled graph does not grow with N / chunk_size)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sigref import ccem, loops, losses
from sigref._arrays import is_concrete, known_true
from sigref.backend import available_backends, get_backend
from tests.jax.helpers import unit_rows


def _np(x):
    return np.asarray(x)


def _tree_close(got, want, rtol=1e-12):
    got_leaves, want_leaves = jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves):
        np.testing.assert_allclose(_np(g), _np(w), rtol=rtol, atol=rtol)


def test_registry_entry():
    assert available_backends()["jax"] is None
    be = get_backend("jax", dtype="float64")
    assert be.has_autograd and "cpu" in be.spec.devices()
    assert be.asarray([1.0]).dtype == jnp.float64
    assert get_backend("jax", dtype="float32").asarray([1.0]).dtype == jnp.float32
    np.testing.assert_array_equal(be.to_numpy(be.asarray([1.0, 2.0])), [1.0, 2.0])


def test_concreteness_is_detected_without_importing_jax():
    x = jnp.ones(3)
    assert is_concrete(x) and is_concrete(np.ones(3)) and is_concrete(2.0)
    seen = {}

    def f(x):
        seen["concrete"], seen["known"] = is_concrete(x), known_true(jnp.all(x > 0))
        return x

    jax.jit(f)(x)
    assert seen == {"concrete": False, "known": None}
    jax.vmap(f)(x)
    assert seen == {"concrete": False, "known": None}
    assert known_true(jnp.all(x > 0)) is True and known_true(jnp.any(x < 0)) is False


def _pairs(n=29, d=5, seed=0, lead=()):
    rng = np.random.default_rng(seed)
    return unit_rows(rng, *lead, n, d), unit_rows(rng, *lead, n, d)


LOSSES = {
    "sigmoid": lambda U, V, t, b: losses.sigmoid_loss(U, V, t, b, chunk_size=6),
    "sigmoid_grad_diag": lambda U, V, t, b: losses.sigmoid_loss_and_grad(U, V, t, b, chunk_size=6, gamma=1.0, diagnostics=True),
    "filter_diag": lambda U, V, t, b: losses.sigmoid_loss_and_grad(U, V, t, b, chunk_size=4, gamma=1.0, filter_threshold=0.05,
                                                                   reduction="mean", diagnostics=True),
    "relative": lambda U, V, t, b: losses.relative_bias_loss_and_grad(U, V, t, b, chunk_size=5),
    "logit_diagnostics": lambda U, V, t, b: losses.logit_diagnostics(U, V, t, b, chunk_size=7),
    "siglip": lambda U, V, t, b: losses.siglip_loss_and_grad(U, V, t, -b, chunk_size=9),
    "mscl": lambda U, V, t, b: losses.mscl_loss_and_grad(U, V, t, b, gamma=1.0, alpha=0.5, chunk_size=6),
    "relic": lambda U, V, t, b: losses.relic_kl_and_grad(U, V, t),
    "infonce": lambda U, V, t, b: losses.infonce_loss_and_grad(U, V, 1.0 / t),
    "multimodal": lambda U, V, t, b: losses.multimodal_loss_and_grad(np.stack([U, V]) if isinstance(U, np.ndarray) else jnp.stack([U, V]), t, b),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_under_jit_equals_numpy(name):
    U, V = _pairs()
    fn = LOSSES[name]
    want = fn(U, V, 5.0, 3.0)
    got = jax.jit(fn)(jnp.asarray(U), jnp.asarray(V), jnp.asarray(5.0), jnp.asarray(3.0))
    if isinstance(want, losses.LossResult):
        want, got = (want.value, want.grad, want.diagnostics), (got.value, got.grad, got.diagnostics)
    _tree_close(got, want)


def test_batch_axes_and_traced_batched_parameters():
    U, V = _pairs(n=13, lead=(3,))
    t, b = np.asarray([2.0, 5.0, 8.0]), np.asarray([0.5, 1.0, -2.0])
    want = losses.sigmoid_loss_and_grad(U, V, t, b, chunk_size=3)
    got = jax.jit(lambda *a: losses.sigmoid_loss_and_grad(*a, chunk_size=3))(*map(jnp.asarray, (U, V, t, b)))
    _tree_close((got.value, got.grad), (want.value, want.grad))


def _equations(n, chunk):
    U = jnp.zeros((n, 4))
    jaxpr = jax.make_jaxpr(lambda U, V: losses.sigmoid_loss_and_grad(U, V, 2.0, 1.0, chunk_size=chunk))(U, U)
    text = str(jaxpr)
    return len(jaxpr.jaxpr.eqns), text.count("scan[")


def test_blocks_run_in_one_scan_and_the_graph_does_not_grow_with_n():
    small, scans_small = _equations(64, 8)
    large, scans_large = _equations(6400, 8)
    assert scans_small == scans_large == 1
    assert small == large


def test_folded_path_equals_the_python_loop_on_numpy(monkeypatch):
    """The fold path of the kernel (index-array diagonals, stacked rows) with the reference fold,
    against the kernel's own loop: remainder, batch axes, filtering, diagnostics."""
    U, V = _pairs(n=23, lead=(2,))
    options = dict(chunk_size=5, gamma=1.0, filter_threshold=0.1, diagnostics=True, reduction="mean")
    want = losses.sigmoid_loss_and_grad(U, V, np.asarray([3.0, 6.0]), 1.0, **options)
    calls = []

    def fold(body, carry, xs):
        calls.append(xs[0].shape[0])
        return loops.python_fold(body, carry, xs)

    monkeypatch.setitem(loops.REGISTRY, "numpy", fold)
    monkeypatch.setattr(loops, "_looked_up", loops._looked_up | {"numpy"})
    got = losses.sigmoid_loss_and_grad(U, V, np.asarray([3.0, 6.0]), 1.0, **options)
    assert calls == [3]  # blocks 1..3 of 4 equal blocks; block 0 and the 3-row remainder outside
    _tree_close((got.value, got.grad, got.diagnostics), (want.value, want.grad, want.diagnostics), rtol=1e-14)


def test_autodiff_through_the_core_equals_its_analytic_gradients():
    U, V = _pairs(n=17)
    want = losses.sigmoid_loss_and_grad(U, V, 4.0, 2.0, chunk_size=4, gamma=1.5)
    got = jax.jit(jax.grad(lambda U, V: losses.sigmoid_loss(U, V, 4.0, 2.0, chunk_size=4, gamma=1.5), argnums=(0, 1)))(
        jnp.asarray(U), jnp.asarray(V))
    _tree_close(got, (want.grad["U"], want.grad["V"]), rtol=1e-11)


def test_static_checks_raise_under_jit_and_value_checks_are_skipped():
    U, V = (jnp.asarray(x) for x in _pairs(n=6, d=3))
    f = jax.jit(lambda U, V, t: losses.sigmoid_loss(U, V, t, 1.0))
    with pytest.raises(ValueError, match="same embedding dimension"):
        f(U, V[:, :2], 1.0)
    with pytest.raises(TypeError, match="real floating"):
        f(U, V, jnp.asarray(1, dtype=jnp.int32))
    with pytest.raises(TypeError, match="one array library"):
        jax.jit(lambda U: losses.sigmoid_loss(U, np.asarray(V), 1.0, 1.0))(U)
    with pytest.raises(ValueError, match="t must be > 0"):
        losses.sigmoid_loss(U, V, jnp.asarray(0.0), 1.0)
    assert np.isfinite(float(f(U, V, jnp.asarray(-2.0))))  # not checked when traced


CCEM = {
    "delta_star": lambda N, t, b: ccem.delta_star(N, t, b),
    "reduced_loss": lambda N, t, b: ccem.reduced_loss(0.3 * jnp.ones_like(t) if not isinstance(t, np.ndarray) else 0.3 * np.ones_like(t), N, t, b),
    "reduced_loss_derivative": lambda N, t, b: ccem.reduced_loss_derivative(-0.2 + 0 * t, N, t, b),
    "etf_condition": lambda N, t, b: ccem.etf_condition(N, t, b),
    "antipodal_condition": lambda N, t, b: ccem.antipodal_condition(N, t, b),
    "etf_loss": lambda N, t, b: ccem.etf_loss(N, t, b),
    "antipodal_loss": lambda N, t, b: ccem.antipodal_loss(N, t, b),
    "thresholds": lambda N, t, b: (ccem.etf_threshold(N), ccem.antipodal_threshold(N)),
    "critical_batch_sizes": lambda N, t, b: ccem.critical_batch_sizes(t, b, n_max=2.0**30),
    "lower_bound": lambda N, t, b: ccem.ccem_lower_bound(N, t, b),
    "reparameterisations": lambda N, t, b: (ccem.delta_of_s(ccem.s_of_delta(t)), ccem.a_of_delta(t), ccem.delta_of_a(0 * t),
                                            ccem.c_of_delta(t, N)),
    "infonce_etf_loss": lambda N, t, b: ccem.infonce_etf_loss(N, 1.0 / t),
}


@pytest.mark.parametrize("name", list(CCEM))
def test_ccem_functions_under_jit_equal_numpy(name):
    rng = np.random.default_rng(7)
    N = rng.integers(3, 5000, size=6).astype(np.float64)
    t = rng.uniform(0.5, 12.0, size=6)
    b = rng.uniform(-1.0, 10.0, size=6)
    want = CCEM[name](N, t, b)
    got = jax.jit(CCEM[name])(*map(jnp.asarray, (N, t, b)))
    if isinstance(want, ccem.CCEMOptimum):
        want, got = tuple(vars(want).values()), tuple(vars(got).values())
    _tree_close(got, want, rtol=1e-11)


def test_ccem_geometry_and_bounds_under_jit():
    delta = np.asarray([0.0, 0.4, 2.0])
    U, V = ccem.ccem(5, delta, backend="numpy")
    Uj, Vj = jax.jit(lambda d: ccem.ccem(5, d, backend="jax"))(jnp.asarray(delta))
    _tree_close((Uj, Vj), (U, V))
    _tree_close(jax.jit(ccem.lemma_slack)(Uj, Vj), ccem.lemma_slack(U, V))
    _tree_close(jax.jit(lambda U, V, t: ccem.bound_gap(U, V, t))(Uj, Vj, jnp.asarray(3.0)), ccem.bound_gap(U, V, 3.0))
    with pytest.raises(ValueError, match="unit norm"):
        ccem.lemma_slack(2.0 * Uj, Vj)
