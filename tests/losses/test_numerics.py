"""Stable logistic functions: accuracy against exact float64 references, finiteness at +-1e9."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sigref.numerics import log_sigmoid, logistic_parts, logsumexp, sigmoid, softplus

X = np.array([-1e9, -1e3, -40.0, -17.0, -1.0, -1e-8, 0.0, 1e-8, 1.0, 17.0, 40.0, 1e3, 1e9])


def _softplus_exact(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _sigmoid_exact(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def test_values_match_exact_references(backend_any):
    x = backend_any.asarray(X)
    eps = 1e-6 if backend_any.dtype_name == "float32" else 1e-15
    x_host = backend_any.to_numpy(x).astype(np.float64)  # the representable inputs
    want_sp = np.array([_softplus_exact(v) for v in x_host])
    want_sg = np.array([_sigmoid_exact(v) for v in x_host])
    got = {
        "softplus": softplus(x),
        "log_sigmoid": log_sigmoid(x),
        "sigmoid": sigmoid(x),
    }
    xp = backend_any.xp
    e, r, l1p = logistic_parts(x)
    parts = (
        xp.clip(x, min=0.0) + l1p,
        xp.clip(x, max=0.0) - l1p,
        xp.maximum(e, xp.sign(x)) * r,
        xp.maximum(e, -xp.sign(x)) * r,
    )
    sp, ls, sg, sgn = (backend_any.to_numpy(v).astype(np.float64) for v in parts)
    for name, value, want in [
        ("softplus", backend_any.to_numpy(got["softplus"]), want_sp),
        ("log_sigmoid", backend_any.to_numpy(got["log_sigmoid"]), -np.array([_softplus_exact(-v) for v in x_host])),
        ("sigmoid", backend_any.to_numpy(got["sigmoid"]), want_sg),
        ("parts.softplus", sp, want_sp),
        ("parts.log_sigmoid", ls, -np.array([_softplus_exact(-v) for v in x_host])),
        ("parts.sigmoid", sg, want_sg),
        ("parts.sigmoid_neg", sgn, np.array([_sigmoid_exact(-v) for v in x_host])),
    ]:
        value = value.astype(np.float64)
        assert np.all(np.isfinite(value)), name
        # sigmoid = exp(log_sigmoid) inherits the absolute error of its argument: allow 50 ulps.
        tol = 50 * eps if "sigmoid" in name and "log" not in name else 4 * eps
        np.testing.assert_allclose(value, want, rtol=tol, atol=0, err_msg=name)


def test_logsumexp_is_shift_invariant_and_finite(backend):
    x = backend.asarray(np.array([[1e9, 1e9 - 1.0, -1e9], [0.0, 0.0, 0.0]]))
    got = backend.to_numpy(logsumexp(x, axis=-1))
    np.testing.assert_allclose(got, [1e9 + math.log1p(math.exp(-1.0)), math.log(3.0)], rtol=1e-15)


def test_gradients_are_finite_at_extreme_logits():
    torch = pytest.importorskip("torch")
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor([-1e9, -1e3, 0.0, 1e3, 1e9], dtype=dtype, requires_grad=True)
        for f in (softplus, log_sigmoid, sigmoid):
            (g,) = torch.autograd.grad(f(x).sum(), x)
            assert torch.all(torch.isfinite(g)), f.__name__
        # d softplus / dx = sigmoid(x): exactly 0 and 1 on the tails
        (g,) = torch.autograd.grad(softplus(x).sum(), x)
        assert g[0] == 0 and g[-1] == 1
