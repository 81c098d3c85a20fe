"""sigref_jax's custom_vjp bridge against jax.grad of a dense loss written from the paper's formula."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sigref_jax
from sigref import losses
from tests.jax.helpers import dense_loss, unit_rows

RTOL = 1e-10

VARIANTS = {
    "plain": {},
    "gamma1": {"gamma": 1.0},
    "gamma2.5": {"gamma": 2.5},
    "gamma-detached": {"gamma": 2.0, "detach_weight": True},
    "filter": {"gamma": 1.0, "filter_threshold": 0.05},
}


def _inputs(n=23, d=6, seed=0):
    rng = np.random.default_rng(seed)
    return jnp.asarray(unit_rows(rng, n, d)), jnp.asarray(unit_rows(rng, n, d)), jnp.asarray(4.0), jnp.asarray(2.5)


def _close(got, want, rtol=RTOL):
    got, want = np.asarray(got), np.asarray(want)
    scale = max(1.0, float(np.max(np.abs(want))))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)


# n = 23 rows: chunk 7 is three equal blocks (the first outside the scan, two in it) plus a remainder
# of 2; chunk 5 four blocks plus 3; chunk 1 twenty-three blocks; None and "auto" one dense block.
CASES = ([(r, v, 7) for r in losses.REDUCTIONS for v in VARIANTS]
         + [("per_anchor", "plain", c) for c in (None, 1, 5, "auto")] + [("mean", "filter", 5), ("sum", "gamma2.5", 1)])


@pytest.mark.parametrize(("reduction", "name", "chunk_size"), CASES, ids=[f"{r}-{v}-{c}" for r, v, c in CASES])
def test_value_and_grad_match_dense_autodiff(reduction, name, chunk_size):
    variant = VARIANTS[name]
    U, V, t, b = _inputs()
    ours = jax.jit(jax.value_and_grad(lambda *a: sigref_jax.sigmoid_loss(*a, reduction=reduction, chunk_size=chunk_size, **variant),
                                      argnums=(0, 1, 2, 3)))
    truth = jax.value_and_grad(lambda *a: dense_loss(*a, reduction=reduction, **variant), argnums=(0, 1, 2, 3))
    (v, g), (v_ref, g_ref) = ours(U, V, t, b), truth(U, V, t, b)
    _close(v, v_ref)
    for got, want in zip(g, g_ref):
        _close(got, want)


def test_negatives_only_and_unpaired_blocks():
    rng = np.random.default_rng(1)
    U, V = jnp.asarray(unit_rows(rng, 9, 4)), jnp.asarray(unit_rows(rng, 14, 4))
    f = jax.jit(jax.grad(lambda U, V, t, b: sigref_jax.sigmoid_loss(U, V, t, b, negatives_only=True, reduction="sum", chunk_size=2),
                         argnums=(0, 1, 2, 3)))
    g_ref = jax.grad(lambda *a: dense_loss(*a, negatives_only=True, reduction="sum"), argnums=(0, 1, 2, 3))(U, V, 3.0, -1.0)
    for got, want in zip(f(U, V, 3.0, -1.0), g_ref):
        _close(got, want)


def test_relative_bias_and_siglip_convention():
    U, V, t, b_rel = _inputs(seed=2)
    g = jax.jit(jax.grad(lambda U, V, t, r: sigref_jax.relative_bias_loss(U, V, t, r, chunk_size=4), argnums=(0, 1, 2, 3)))(U, V, t, b_rel)
    g_ref = jax.grad(lambda U, V, t, r: dense_loss(U, V, t, t * r), argnums=(0, 1, 2, 3))(U, V, t, b_rel)
    for got, want in zip(g, g_ref):
        _close(got, want)
    scale, bias = jnp.asarray(10.0), jnp.asarray(-10.0)
    v, g = jax.jit(jax.value_and_grad(lambda *a: sigref_jax.siglip_loss(*a, chunk_size=8), argnums=(0, 1, 2, 3)))(U, V, scale, bias)
    v_ref, g_ref = jax.value_and_grad(lambda U, V, s, c: dense_loss(U, V, s, -c), argnums=(0, 1, 2, 3))(U, V, scale, bias)
    _close(v, v_ref)
    for got, want in zip(g, g_ref):
        _close(got, want)


def _dense_relic_kl(U, V, t):
    """ReLIC KL of the MSCL reference: (1/N) sum_ij C_ji (log C_ji - log P_ij), Z = t U V^T,
    P its row softmax, C its column softmax."""
    Z = t * U @ V.T
    log_p = jax.nn.log_softmax(Z, axis=1)
    log_c = jax.nn.log_softmax(Z, axis=0)
    return jnp.sum(jnp.exp(log_c) * (log_c - log_p.T)) / U.shape[0]


@pytest.mark.parametrize("alpha", [0.0, 0.7])
@pytest.mark.parametrize("filter_threshold", [None, 0.05])
def test_mscl_loss_matches_dense(alpha, filter_threshold):
    U, V, t, b = _inputs(n=17, seed=3)
    f = jax.jit(jax.value_and_grad(lambda *a: sigref_jax.mscl_loss(*a, gamma=1.0, alpha=alpha, filter_threshold=filter_threshold,
                                                                   chunk_size=6), argnums=(0, 1, 2, 3)))

    def truth(U, V, t, b):
        return dense_loss(U, V, t, b, gamma=1.0, filter_threshold=filter_threshold) + alpha * _dense_relic_kl(U, V, t)

    (v, g), (v_ref, g_ref) = f(U, V, t, b), jax.value_and_grad(truth, argnums=(0, 1, 2, 3))(U, V, t, b)
    _close(v, v_ref)
    for got, want in zip(g, g_ref):
        _close(got, want)


def test_vmap_over_a_leading_batch_axis_and_batched_parameters():
    rng = np.random.default_rng(4)
    U, V = jnp.asarray(unit_rows(rng, 3, 11, 5)), jnp.asarray(unit_rows(rng, 3, 11, 5))
    t, b = jnp.asarray([2.0, 5.0, 9.0]), jnp.asarray([1.0, -1.0, 4.0])
    per_item = jax.vmap(jax.grad(lambda U, V, t, b: sigref_jax.sigmoid_loss(U, V, t, b, chunk_size=3), argnums=(0, 1, 2, 3)))
    want = jax.vmap(jax.grad(dense_loss, argnums=(0, 1, 2, 3)))(U, V, t, b)
    for got, ref in zip(jax.jit(per_item)(U, V, t, b), want):
        _close(got, ref)
    # sigref's own batch axes: a batched loss weighted by a cotangent per item
    weights = jnp.asarray([1.0, -2.0, 0.5])
    g = jax.jit(jax.grad(lambda U, V, t, b: jnp.sum(weights * sigref_jax.sigmoid_loss(U, V, t, b, chunk_size=4)), argnums=(0, 1, 2, 3)))(U, V, t, b)
    g_ref = jax.grad(lambda U, V, t, b: jnp.sum(weights * dense_loss(U, V, t, b)), argnums=(0, 1, 2, 3))(U, V, t, b)
    for got, ref in zip(g, g_ref):
        _close(got, ref)
    # a scalar t shared by the batch gets the sum of the items' derivatives
    gt = jax.grad(lambda t: jnp.sum(sigref_jax.sigmoid_loss(U, V, t, b)))(jnp.asarray(3.0))
    _close(gt, jax.grad(lambda t: jnp.sum(dense_loss(U, V, t, b)))(jnp.asarray(3.0)))


def test_saved_residuals_are_linear_in_n():
    n, d = 64, 4
    U, V, t, b = _inputs(n=n, d=d)
    _, vjp = jax.vjp(lambda U, V, t, b: sigref_jax.sigmoid_loss(U, V, t, b, chunk_size=8), U, V, t, b)
    saved = [leaf for leaf in jax.tree_util.tree_leaves(vjp) if hasattr(leaf, "shape")]
    assert saved and max(int(np.prod(x.shape)) for x in saved) <= n * d
    _, vjp_dense = jax.vjp(dense_loss, U, V, t, b)
    assert max(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(vjp_dense) if hasattr(x, "shape")) >= n * n


def test_extreme_logits_float32_are_finite_and_correct():
    rng = np.random.default_rng(5)
    U64, V64 = unit_rows(rng, 12, 3), unit_rows(rng, 12, 3)
    U, V = jnp.asarray(U64, dtype=jnp.float32), jnp.asarray(V64, dtype=jnp.float32)
    for t, b in ((1e9, 0.0), (1.0, 1e9), (1.0, -1e9)):
        v, g = jax.jit(jax.value_and_grad(lambda U, t, b: sigref_jax.sigmoid_loss(U, V, t, b, chunk_size=5), argnums=(0, 1, 2)))(
            U, jnp.float32(t), jnp.float32(b))
        assert v.dtype == jnp.float32 and np.isfinite(float(v)) and all(np.all(np.isfinite(np.asarray(x))) for x in g)
        want = losses.sigmoid_loss_and_grad(np.asarray(U, np.float64), np.asarray(V, np.float64), t, b)
        np.testing.assert_allclose(float(v), want.value, rtol=1e-5)
        np.testing.assert_allclose(np.asarray(g[1]), want.grad["t"], rtol=1e-5, atol=1e-6)


def test_half_precision_is_evaluated_in_float32():
    U, V, t, b = _inputs(n=8, d=4)
    Uh, Vh = U.astype(jnp.bfloat16), V.astype(jnp.bfloat16)
    v, g = jax.value_and_grad(lambda U: sigref_jax.sigmoid_loss(U, Vh, 4.0, 2.5))(Uh)
    assert v.dtype == jnp.bfloat16 and g.dtype == jnp.bfloat16
    want = dense_loss(Uh.astype(jnp.float32), Vh.astype(jnp.float32), 4.0, 2.5)
    np.testing.assert_allclose(float(v), float(want), rtol=1e-2)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_bad_input_gives_sigrefs_errors(jit):
    U, V, t, b = _inputs(n=6, d=3)

    def call(*args, **kw):
        fn = (lambda *a: sigref_jax.sigmoid_loss(*a, **kw)) if not jit else jax.jit(lambda *a: sigref_jax.sigmoid_loss(*a, **kw))
        return fn(*args)

    with pytest.raises(ValueError, match="same embedding dimension"):
        call(U, V[:, :2], t, b)
    with pytest.raises(ValueError, match="same number N of pairs"):
        call(U, V[:5], t, b)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., N, d\)"):
        call(U[0], V, t, b)
    with pytest.raises(TypeError, match="real floating"):
        call(jnp.ones((6, 3), dtype=jnp.int32), jnp.ones((6, 3), dtype=jnp.int32), t, b)
    with pytest.raises(ValueError, match="reduction"):
        call(U, V, t, b, reduction="avg")
    with pytest.raises(TypeError, match="one array library"):
        sigref_jax.sigmoid_loss(U, np.asarray(V), t, b)
    with pytest.raises(TypeError, match="one array library"):
        jax.jit(lambda U: sigref_jax.sigmoid_loss(U, np.asarray(V), 4.0, 2.5))(U)


def test_value_checks_run_eagerly_and_are_skipped_under_jit():
    U, V, _, b = _inputs(n=6, d=3)
    with pytest.raises(ValueError, match="t must be > 0"):
        sigref_jax.sigmoid_loss(U, V, jnp.asarray(-1.0), b)
    with pytest.raises(ValueError, match="finite"):
        sigref_jax.sigmoid_loss(U.at[0, 0].set(jnp.nan), V, 2.0, b)
    # traced values cannot be inspected: the loss is computed (a negative t is still a number)
    got = jax.jit(sigref_jax.sigmoid_loss)(U, V, jnp.asarray(-1.0), b)
    _close(got, dense_loss(U, V, -1.0, b))
