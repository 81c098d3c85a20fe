"""``sigref conform`` on JAX callables: values and gradients by ``jax.grad``, against the goldens.

Measured: sigref_jax's bridge (paper and open_clip conventions) and a big_vision-style dense loss
written here from SigLIP's Algorithm 1 (arXiv 2303.15343: logits zimg ztxt^T exp(t') + bias, labels
2 I - 1, -sum log_sigmoid / N), which conform; and the same dense loss with a frozen temperature
(``stop_gradient`` on t'), which agrees in value and fails on d/dt'.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from sigref.conform import conform

CASES = ["conform_n2", "conform_init", "conform_extreme", "conform_batch_axes"]


def big_vision_style(zimg, ztxt, t_prime, bias):
    """SigLIP Algorithm 1, dense, for (..., N, d) inputs and scalars or (...,) parameters."""
    scale = jnp.exp(t_prime)[..., None, None]
    logits = scale * zimg @ jnp.swapaxes(ztxt, -1, -2) + jnp.asarray(bias)[..., None, None]
    n = zimg.shape[-2]
    labels = 2 * jnp.eye(n, dtype=logits.dtype) - 1
    return -jnp.sum(jax.nn.log_sigmoid(labels * logits), axis=(-2, -1)) / n


def frozen_temperature(zimg, ztxt, t_prime, bias):
    return big_vision_style(zimg, ztxt, jax.lax.stop_gradient(t_prime), bias)


@pytest.mark.parametrize(("target", "cases"), [("sigref_jax.bridge:sigmoid_loss", CASES), ("sigref_jax.bridge:siglip_loss", ["conform_extreme"])])
def test_sigref_jax_conforms_with_gradients(target, cases):
    report = conform(target, cases=cases)
    assert report.ok, report.table()
    assert "gradients: autograd (jax)" in report.table()


def test_a_big_vision_style_dense_loss_conforms():
    report = conform(big_vision_style, "siglip", framework="jax", batch_axes=True, cases=CASES)
    assert report.ok, report.table()


def test_a_frozen_temperature_is_caught_in_the_gradient():
    report = conform(frozen_temperature, "siglip", framework="jax", batch_axes=True, cases=["conform_init"], dtypes=["float64"])
    assert not report.ok
    (row,) = report.rows
    assert row.status == "differs" and "t_prime" in row.where, row.where
