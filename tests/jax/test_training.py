"""The optax training step of docs/jax.md, run: a linear two-tower model trained with sigref_jax's loss.

Checks that the jitted step's gradients equal ``jax.grad`` of the dense loss written from the paper's
formula (tests/jax/helpers.py), that the loss falls, and that t = exp(log_t) and b move.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sigref_jax
from tests.jax.helpers import dense_loss

optax = pytest.importorskip("optax", reason="optax is not installed (pip install optax)")


def _normalise(X):
    return X / jnp.linalg.norm(X, axis=-1, keepdims=True)


def loss_fn(params, images, texts, loss=sigref_jax.sigmoid_loss):
    U = _normalise(images @ params["img"])
    V = _normalise(texts @ params["txt"])
    return loss(U, V, jnp.exp(params["log_t"]), params["b"])


def test_the_docs_training_step_trains_and_matches_the_dense_gradient():
    rng = np.random.default_rng(0)
    n, d_in, d = 32, 12, 8
    latent = rng.standard_normal((n, d_in))
    images = jnp.asarray(latent + 0.1 * rng.standard_normal((n, d_in)))
    texts = jnp.asarray(latent + 0.1 * rng.standard_normal((n, d_in)))
    params = {"img": jnp.asarray(rng.standard_normal((d_in, d))), "txt": jnp.asarray(rng.standard_normal((d_in, d))),
              "log_t": jnp.asarray(np.log(10.0)), "b": jnp.asarray(10.0)}
    tx = optax.adam(1e-2)
    opt_state = tx.init(params)

    @jax.jit
    def train_step(params, opt_state, images, texts):
        loss, grads = jax.value_and_grad(loss_fn)(params, images, texts)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    dense = lambda U, V, t, b: dense_loss(U, V, t, b)
    got = jax.grad(loss_fn)(params, images, texts)
    want = jax.grad(loss_fn)(params, images, texts, loss=dense)
    for key in params:
        np.testing.assert_allclose(np.asarray(got[key]), np.asarray(want[key]), rtol=1e-10, atol=1e-12, err_msg=key)

    start = params
    losses = []
    for _ in range(60):
        params, opt_state, loss = train_step(params, opt_state, images, texts)
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0], losses[::10]
    assert float(params["b"]) != float(start["b"]) and float(params["log_t"]) != float(start["log_t"])
