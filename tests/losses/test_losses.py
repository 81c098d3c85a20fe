"""The loss family against closed forms, finite differences, torch autograd, and itself (chunked, batched)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigref import losses
from sigref._arrays import check_finite
from sigref.sampling import uniform_sphere


def softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


# ----------------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("n", [4, 256])
def test_orthonormal_embeddings_at_siglip_init(backend_any, n):
    """Z diagonal t - b = 0, off-diagonal -b: ln 2 + (N - 1) softplus(-10) per anchor (closed form)."""
    U = backend_any.asarray(np.eye(n))
    value = float(losses.sigmoid_loss(U, U, 10.0, 10.0))
    want = math.log(2) + (n - 1) * softplus(-10.0)
    assert value == pytest.approx(want, rel=1e-5 if backend_any.dtype_name == "float32" else 1e-13)
    assert want == pytest.approx({4: 0.693283, 256: 0.704724}[n], abs=1e-6)


@pytest.mark.parametrize("n", [4, 256])
def test_collapsed_embeddings_give_n_ln2(backend, n):
    e = np.zeros((n, 8))
    e[:, 0] = 1.0
    U = backend.asarray(e)
    assert float(losses.sigmoid_loss(U, U, 10.0, 10.0)) == pytest.approx(n * math.log(2), rel=1e-14)
    assert float(losses.sigmoid_loss(U, U, 3.0, 3.0)) == pytest.approx(n * math.log(2), rel=1e-14)


@pytest.mark.parametrize(("n", "gamma", "want"), [(4, 0.0, 0.713293), (256, 0.0, 2.405561), (4, 1.0, 0.346708), (256, 1.0, 0.358035)])
def test_mscl_golden_values(backend, n, gamma, want):
    """Orthonormal embeddings at MSCL's init t = 5, SigLIP bias -5 (paper b = 5): closed form."""
    U = backend.asarray(np.eye(n))
    assert float(losses.sigmoid_loss(U, U, 5.0, 5.0, gamma=gamma)) == pytest.approx(want, abs=1e-6)


def test_mscl_closed_form_per_pair(backend):
    """gamma > 0 on orthonormal embeddings: sigma(q)^gamma softplus(q) with q = b - t, -b."""
    n, t, b, g = 6, 7.0, 2.0, 1.7
    U = backend.asarray(np.eye(n))

    def f(q: float) -> float:
        return (1 / (1 + math.exp(-q))) ** g * softplus(q)

    want = (n * f(b - t) + n * (n - 1) * f(-b)) / n
    assert float(losses.sigmoid_loss(U, U, t, b, gamma=g)) == pytest.approx(want, rel=1e-14)


def test_bangachev_g1_sum_reduction(backend):
    U = backend.asarray(np.eye(3))
    assert float(losses.sigmoid_loss(U, U, 10.0, 5.0, reduction="sum")) == pytest.approx(0.0604381364, abs=1e-10)


def test_relative_bias_identity_g2(backend):
    U, V = (backend.asarray(uniform_sphere(s, (7, 5))) for s in (1, 2))
    a = losses.relative_bias_loss(U, V, 12.0, 0.3, reduction="sum")
    b = losses.sigmoid_loss(U, V, 12.0, 12.0 * 0.3, reduction="sum")
    assert float(a) == pytest.approx(float(b), rel=1e-15)


def test_reductions_are_scalings(backend):
    U, V = (backend.asarray(uniform_sphere(s, (9, 4))) for s in (3, 4))
    total = float(losses.sigmoid_loss(U, V, 4.0, 1.0, reduction="sum"))
    assert float(losses.sigmoid_loss(U, V, 4.0, 1.0, reduction="per_anchor")) == pytest.approx(total / 9, rel=1e-14)
    assert float(losses.sigmoid_loss(U, V, 4.0, 1.0, reduction="mean")) == pytest.approx(total / 81, rel=1e-14)


def test_infonce_at_etf_closed_form(backend):
    """Symmetric InfoNCE at the simplex ETF with U = V: 2 log(1 + (N-1) exp(-N/((N-1) tau)))."""
    for n, tau, want in [(8, 1.0, 2.346416317679), (16, 1.0, 3.636902376897)]:
        etf = np.eye(n) - 1.0 / n
        etf /= np.linalg.norm(etf, axis=1, keepdims=True)
        U = backend.asarray(etf)
        got = float(losses.infonce_loss(U, U, tau))
        assert got == pytest.approx(want, abs=1e-11)
        assert got == pytest.approx(2 * math.log1p((n - 1) * math.exp(-n / ((n - 1) * tau))), rel=1e-13)


def test_filtering_with_gamma_zero_keeps_everything(backend):
    U, V = (backend.asarray(uniform_sphere(s, (6, 3))) for s in (5, 6))
    plain = losses.sigmoid_loss_and_grad(U, V, 3.0, 1.0)
    filt = losses.sigmoid_loss_and_grad(U, V, 3.0, 1.0, gamma=0.0, filter_threshold=0.05, diagnostics=True)
    assert float(filt.value) == pytest.approx(float(plain.value), rel=1e-15)
    assert float(filt.diagnostics["kept_fraction"]) == 1.0


@pytest.mark.parametrize("gamma", [0.25, 1.0, 2.0, 40.0])
@pytest.mark.parametrize("threshold", [1e-300, 0.05, 0.5, 0.999])
def test_filter_logit_is_where_the_penalty_crosses_the_threshold(gamma, threshold):
    """q > filter_logit(gamma, c) is the filtering rule sigma(q)^gamma > c, evaluated in log space."""
    from sigref.fused import filter_logit

    q0 = filter_logit(gamma, threshold)
    assert math.isfinite(q0)
    # sigma(q0)^gamma = c, as gamma log sigma(q0) = log c (log sigma(q) = -log(1 + e^-q))
    assert -gamma * np.logaddexp(0.0, -q0) == pytest.approx(math.log(threshold), rel=1e-12)
    q = q0 + np.array([-1e-3, -1e-9, 1e-9, 1e-3]) * max(1.0, abs(q0))
    penalty_log = -gamma * np.logaddexp(0.0, -q)  # gamma log sigma(q)
    assert ((q > q0) == (penalty_log > math.log(threshold))).all()
    assert filter_logit(0.0, threshold) == -math.inf  # gamma = 0: the penalty is 1, every pair kept


def test_siglip_conversion_round_trip():
    t, b = losses.paper_from_siglip(10.0, -10.0)
    assert (t, b) == losses.SIGLIP_INIT
    assert losses.siglip_from_paper(t, b) == (10.0, -10.0)
    assert losses.batch_aware_bias(2) == 0.0
    assert losses.batch_aware_bias(22027) == pytest.approx(10.0, abs=1e-4)  # -10 is right only for B ~ 22k


def test_diagnostics_margin_matches_definition(backend):
    Uh, Vh = uniform_sphere(7, (10, 4)), uniform_sphere(8, (10, 4))
    S = Uh @ Vh.T
    diag = losses.logit_diagnostics(backend.asarray(Uh), backend.asarray(Vh), 2.0, 0.5, chunk_size=3)
    off = S[~np.eye(10, dtype=bool)]
    assert float(diag["margin"]) == pytest.approx((S.diagonal().min() - off.max()) / 2, rel=1e-14)
    assert float(diag["b_rel_star"]) == pytest.approx((S.diagonal().min() + off.max()) / 2, rel=1e-14)
    assert float(diag["pos_logit_mean"]) == pytest.approx(np.mean(2 * S.diagonal() - 0.5), rel=1e-14)
    assert float(diag["neg_logit_min"]) == pytest.approx(2 * off.min() - 0.5, rel=1e-14)
    assert float(diag["neg_logit_max"]) == pytest.approx(2 * off.max() - 0.5, rel=1e-14)


# ---------------------------------------------------------------- gradients vs finite differences

VARIANTS = {
    "plain-sum": dict(reduction="sum"),
    "plain-per_anchor": dict(reduction="per_anchor"),
    "plain-mean-chunk2": dict(reduction="mean", chunk_size=2),
    "mscl": dict(gamma=1.5),
    "mscl-chunk3": dict(gamma=0.7, chunk_size=3),
    "filtered": dict(gamma=1.0, filter_threshold=0.2),
    "negatives-only": dict(negatives_only=True, reduction="sum"),
}


def _fd(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        g[idx] = (f(x + e) - f(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("param", ["b", "b_rel"])
def test_sigmoid_gradients_match_finite_differences(variant, param):
    opts = VARIANTS[variant]
    U, V = uniform_sphere(11, (2, 5, 3)), uniform_sphere(12, (2, 5, 3))
    t, bias = np.array([2.0, 6.0]), np.array([0.4, -0.3])
    kw = {param: bias}

    def value(U=U, V=V, t=t, bias=bias):
        return float(np.sum(losses.sigmoid_loss(U, V, t, **{param: bias}, **opts)))

    res = losses.sigmoid_loss_and_grad(U, V, t, **kw, **opts)
    if "filter_threshold" in opts:  # the mask must not flip under the probe: use a smaller step
        h = 1e-7
    else:
        h = 1e-6
    np.testing.assert_allclose(res.grad["U"], _fd(lambda x: value(U=x), U, h), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(res.grad["V"], _fd(lambda x: value(V=x), V, h), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(res.grad["t"], _fd(lambda x: value(t=x), t, h), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(res.grad[param], _fd(lambda x: value(bias=x), bias, h), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(res.grad["log_t"], t * res.grad["t"], rtol=1e-15)


def test_other_losses_match_finite_differences():
    U, V = uniform_sphere(13, (4, 3)), uniform_sphere(14, (4, 3))
    for fn, name in [(losses.infonce_loss_and_grad, "tau"), (losses.relic_kl_and_grad, "t")]:
        res = fn(U, V, 0.7)
        np.testing.assert_allclose(res.grad["U"], _fd(lambda x, fn=fn: float(fn(x, V, 0.7).value), U), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(res.grad["V"], _fd(lambda x, fn=fn: float(fn(U, x, 0.7).value), V), rtol=1e-6, atol=1e-9)
        g = _fd(lambda x, fn=fn: float(fn(U, V, float(x[0])).value), np.array([0.7]))[0]
        assert float(res.grad[name]) == pytest.approx(g, rel=1e-6)
    X = uniform_sphere(15, (3, 4, 3))
    res = losses.multimodal_loss_and_grad(X, 5.0, 1.0, graph="complete")
    np.testing.assert_allclose(res.grad["X"], _fd(lambda x: float(losses.multimodal_loss(x, 5.0, 1.0)), X), rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------- gradients vs torch autograd


def _torch_reference(U, V, t, b, *, gamma=0.0, detach=False, thr=None, reduction="per_anchor"):
    """Plain dense reference: materialised labels and weights, differentiated by torch autograd."""
    import torch
    from torch.nn.functional import logsigmoid

    z = t[..., None, None] * U @ V.transpose(-1, -2) - b[..., None, None]
    n, m = z.shape[-2], z.shape[-1]
    y = 2 * torch.eye(n, m, dtype=z.dtype) - 1
    w = torch.exp(gamma * logsigmoid(-y * z))
    if detach:
        w = w.detach()
    if thr is not None:
        w = ((w > thr) | (y > 0)).to(z.dtype)
    total = -(w * logsigmoid(y * z)).sum((-2, -1))
    return total / {"sum": 1, "per_anchor": n, "mean": n * m}[reduction]


TORCH_VARIANTS = {
    "plain": {},
    "sum-chunk4": dict(reduction="sum", chunk_size=4),
    "mean": dict(reduction="mean"),
    "mscl": dict(gamma=2.0),
    "mscl-detached-chunk1": dict(gamma=0.5, detach_weight=True, chunk_size=1),
    "filtered-chunk3": dict(gamma=1.0, filter_threshold=0.05, chunk_size=3),
}


@pytest.mark.parametrize("variant", list(TORCH_VARIANTS))
def test_sigmoid_gradients_match_torch_autograd(variant):
    torch = pytest.importorskip("torch")
    opts = TORCH_VARIANTS[variant]
    Uh, Vh = uniform_sphere(21, (3, 10, 6)), uniform_sphere(22, (3, 10, 6))
    th, bh = np.array([0.3, 8.0, 120.0]), np.array([-1.0, 6.0, 30.0])
    U, V, t, b = (torch.tensor(x, requires_grad=True) for x in (Uh, Vh, th, bh))
    ref = _torch_reference(U, V, t, b, gamma=opts.get("gamma", 0.0), detach=opts.get("detach_weight", False),
                           thr=opts.get("filter_threshold"), reduction=opts.get("reduction", "per_anchor"))
    ref.sum().backward()
    res = losses.sigmoid_loss_and_grad(Uh, Vh, th, bh, **opts)
    np.testing.assert_allclose(res.value, ref.detach().numpy(), rtol=1e-10)
    for name, x in zip("UVtb", (U, V, t, b)):
        np.testing.assert_allclose(res.grad[name], x.grad.numpy(), rtol=1e-10, atol=1e-13, err_msg=name)


def test_relative_bias_and_siglip_gradients_match_torch_autograd():
    torch = pytest.importorskip("torch")
    Uh, Vh = uniform_sphere(23, (8, 4)), uniform_sphere(24, (8, 4))
    U, V = (torch.tensor(x, requires_grad=True) for x in (Uh, Vh))
    log_t, b_rel = torch.tensor(2.0, dtype=torch.float64, requires_grad=True), torch.tensor(0.25, dtype=torch.float64, requires_grad=True)
    t = log_t.exp()
    _torch_reference(U, V, t, t * b_rel, reduction="mean").backward()
    res = losses.relative_bias_loss_and_grad(Uh, Vh, math.exp(2.0), 0.25, reduction="mean")
    assert float(res.grad["log_t"]) == pytest.approx(log_t.grad.item(), rel=1e-10)
    assert float(res.grad["b_rel"]) == pytest.approx(b_rel.grad.item(), rel=1e-10)
    np.testing.assert_allclose(res.grad["U"], U.grad.numpy(), rtol=1e-10, atol=1e-14)

    scale, bias = torch.tensor(7.0, dtype=torch.float64, requires_grad=True), torch.tensor(-3.0, dtype=torch.float64, requires_grad=True)
    U.grad = None
    _torch_reference(U, V, scale, -bias).backward()
    res = losses.siglip_loss_and_grad(Uh, Vh, 7.0, -3.0)
    assert float(res.grad["logit_scale"]) == pytest.approx(scale.grad.item(), rel=1e-10)
    assert float(res.grad["logit_bias"]) == pytest.approx(bias.grad.item(), rel=1e-10)
    np.testing.assert_allclose(res.grad["image_features"], U.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_infonce_kl_multimodal_match_torch_autograd():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    Uh, Vh = uniform_sphere(25, (2, 7, 5)), uniform_sphere(26, (2, 7, 5))
    U, V = (torch.tensor(x, requires_grad=True) for x in (Uh, Vh))
    tau = torch.tensor([0.1, 2.0], dtype=torch.float64, requires_grad=True)
    A = U @ V.transpose(-1, -2) / tau[:, None, None]
    labels = torch.arange(7)
    nce = torch.stack([F.cross_entropy(a, labels) + F.cross_entropy(a.T, labels) for a in A])
    nce.sum().backward()
    res = losses.infonce_loss_and_grad(Uh, Vh, np.array([0.1, 2.0]))
    np.testing.assert_allclose(res.value, nce.detach().numpy(), rtol=1e-10)
    for name, x in (("U", U), ("V", V), ("tau", tau)):
        np.testing.assert_allclose(res.grad[name], x.grad.numpy(), rtol=1e-10, atol=1e-13)

    for x in (U, V):
        x.grad = None
    t = torch.tensor([3.0, 9.0], dtype=torch.float64, requires_grad=True)
    Z = t[:, None, None] * U @ V.transpose(-1, -2) - 4.0
    kl = torch.stack([F.kl_div(F.log_softmax(z, 1), F.softmax(z, 0).T, reduction="batchmean") for z in Z])
    kl.sum().backward()
    res = losses.relic_kl_and_grad(Uh, Vh, np.array([3.0, 9.0]))
    np.testing.assert_allclose(res.value, kl.detach().numpy(), rtol=1e-10)
    for name, x in (("U", U), ("V", V), ("t", t)):
        np.testing.assert_allclose(res.grad[name], x.grad.numpy(), rtol=1e-10, atol=1e-13)

    Xh = uniform_sphere(27, (4, 6, 3))
    X = torch.tensor(Xh, requires_grad=True)
    tt, bb = torch.tensor(4.0, dtype=torch.float64, requires_grad=True), torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    total = sum(_torch_reference(X[0], X[j], tt, bb) for j in (1, 2, 3))
    total.backward()
    res = losses.multimodal_loss_and_grad(Xh, 4.0, 0.5, graph="star")
    assert float(res.value) == pytest.approx(total.item(), rel=1e-12)
    np.testing.assert_allclose(res.grad["X"], X.grad.numpy(), rtol=1e-10, atol=1e-13)
    assert float(res.grad["b"]) == pytest.approx(bb.grad.item(), rel=1e-10)


# ---------------------------------------------------------------- chunked == dense, batched == looped, every backend


@pytest.mark.parametrize("chunk", [1, 3, 7, 50, "auto"])
def test_chunked_equals_dense_on_every_backend(backend_any, chunk):
    Uh, Vh = uniform_sphere(31, (2, 7, 4)), uniform_sphere(32, (2, 7, 4))
    U, V = backend_any.asarray(Uh), backend_any.asarray(Vh)
    rtol = 1e-5 if backend_any.dtype_name == "float32" else 1e-13
    for opts in ({}, {"gamma": 1.0}, {"gamma": 1.0, "filter_threshold": 0.1}):
        dense = losses.sigmoid_loss_and_grad(U, V, 5.0, b_rel=0.2, reduction="sum", **opts)
        chunked = losses.sigmoid_loss_and_grad(U, V, 5.0, b_rel=0.2, reduction="sum", chunk_size=chunk, **opts)
        for key in ("U", "V", "t", "b_rel"):
            np.testing.assert_allclose(backend_any.to_numpy(chunked.grad[key]), backend_any.to_numpy(dense.grad[key]), rtol=rtol, atol=rtol)
        np.testing.assert_allclose(backend_any.to_numpy(chunked.value), backend_any.to_numpy(dense.value), rtol=rtol)


def test_batched_equals_looped_and_broadcasts(backend):
    Uh, Vh = uniform_sphere(33, (6, 4)), uniform_sphere(34, (3, 6, 4))
    t, b = np.array([1.0, 5.0, 9.0]), 2.0
    res = losses.sigmoid_loss_and_grad(backend.asarray(Uh), backend.asarray(Vh), backend.asarray(t), b)
    dU = 0
    for k in range(3):
        one = losses.sigmoid_loss_and_grad(Uh, Vh[k], t[k], b)
        assert float(backend.to_numpy(res.value)[k]) == pytest.approx(float(one.value), rel=1e-13)
        np.testing.assert_allclose(backend.to_numpy(res.grad["V"])[k], one.grad["V"], rtol=1e-12, atol=1e-15)
        dU = dU + one.grad["U"]
    np.testing.assert_allclose(backend.to_numpy(res.grad["U"]), dU, rtol=1e-12)  # U broadcast over runs
    assert backend.to_numpy(res.grad["b"]).shape == ()


def test_results_stay_on_the_input_namespace(backend):
    U = backend.asarray(uniform_sphere(35, (5, 3)))
    res = losses.sigmoid_loss_and_grad(U, U, 2.0, 1.0)
    assert type(res.value) is type(U) or backend.name == "numpy"
    assert type(res.grad["U"]) is type(U)


# ---------------------------------------------------------------- extreme values


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0])
def test_extreme_logits_stay_finite(backend_any, gamma):
    U = backend_any.asarray(uniform_sphere(41, (6, 3)))
    for t, b in [(1e9, 0.0), (1e9, 1e9), (1e9, -1e9), (1e-3, 1e4)]:
        res = losses.sigmoid_loss_and_grad(U, U, t, b, gamma=gamma, filter_threshold=None)
        for key, val in [("value", res.value), *res.grad.items()]:
            assert np.all(np.isfinite(backend_any.to_numpy(val))), (t, b, key)
    # every negative at z = -1e9 contributes 0; positives at z = 1e9 - 0 contribute 0
    e = backend_any.asarray(np.eye(4))
    assert float(losses.sigmoid_loss(e, e, 1e9, 5e8)) == 0.0
    # all pairs wrong by 1e9: loss = 1e9 per pair (exactly representable)
    assert float(losses.sigmoid_loss(e, -e, 1e9, 0.0, reduction="sum")) == pytest.approx(4e9, rel=1e-6)


# ---------------------------------------------------------------- bad input


def test_bad_input_is_a_clear_error(backend):
    U = backend.asarray(uniform_sphere(51, (5, 3)))
    V = backend.asarray(uniform_sphere(52, (4, 3)))
    cases = [
        (lambda: losses.sigmoid_loss(U, V, 1.0, 0.0), ValueError, "same number N of pairs"),
        (lambda: losses.sigmoid_loss(U, U[:, :2], 1.0, 0.0), ValueError, "embedding dimension"),
        (lambda: losses.sigmoid_loss(U[:0, :], U[:0, :], 1.0, 0.0), ValueError, "N >= 1"),
        (lambda: losses.sigmoid_loss(U[0, :], U[0, :], 1.0, 0.0), ValueError, r"\(\.\.\., N, d\)"),
        (lambda: losses.sigmoid_loss(U, U, 0.0, 0.0), ValueError, "t must be > 0"),
        (lambda: losses.sigmoid_loss(U, U, -2.0, 0.0), ValueError, "t must be > 0"),
        (lambda: losses.sigmoid_loss(U, U, float("nan"), 0.0), ValueError, "t must be finite"),
        (lambda: losses.sigmoid_loss(U, U, 1.0, float("inf")), ValueError, "b must be finite"),
        (lambda: losses.sigmoid_loss(U, U, 1.0, 0.0, chunk_size=0), ValueError, "chunk_size"),
        (lambda: losses.sigmoid_loss(U, U, 1.0, 0.0, chunk_size="big"), ValueError, "chunk_size"),
        (lambda: losses.sigmoid_loss(U, U, 1.0, 0.0, gamma=-1.0), ValueError, "gamma"),
        (lambda: losses.sigmoid_loss(U, U, 1.0, 0.0, filter_threshold=1.5), ValueError, "filter_threshold"),
        (lambda: losses.sigmoid_loss(U, U, 1.0, 0.0, reduction="avg"), ValueError, "reduction"),
        (lambda: losses.sigmoid_loss(U, U, 1.0, 0.0, b_rel=0.1), TypeError, "exactly one of b"),
        (lambda: losses.sigmoid_loss(U, U, 1.0), TypeError, "exactly one of b"),
        (lambda: losses.infonce_loss(U, U, 0.0), ValueError, "tau must be > 0"),
        (lambda: losses.multimodal_loss(backend.asarray(uniform_sphere(1, (3, 4, 2))), 1.0, 0.0, graph="ring"), ValueError, "graph"),
    ]
    for call, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            call()
    for entries in ([np.nan], [np.inf], [-np.inf], [np.inf, -np.inf]):
        bad = backend.to_numpy(U).copy()
        bad.flat[: len(entries)] = entries
        with pytest.raises(ValueError, match="V must be finite"):
            losses.sigmoid_loss(U, backend.asarray(bad), 1.0, 0.0)
    # finite entries whose sum overflows pass (the check's cheap first test fails, the full one decides)
    huge = backend.asarray(np.full((3, 2), np.finfo(np.float64).max / 2))
    with np.errstate(over="ignore"):
        assert not np.isfinite(float(backend.xp.sum(huge)))
    check_finite(backend.xp, "U", huge)
    ints = backend.asarray(np.ones((3, 2), dtype=np.int64))
    with pytest.raises(TypeError, match="U must be a real floating array"):
        losses.sigmoid_loss(ints, ints, 1.0, 0.0)


def test_mixed_array_libraries_are_rejected():
    torch = pytest.importorskip("torch")
    U = uniform_sphere(53, (4, 3))
    with pytest.raises(TypeError, match="one array library"):
        losses.sigmoid_loss(U, torch.tensor(U), 1.0, 0.0)
    with pytest.raises(TypeError, match="one array library.*t: torch"):
        losses.sigmoid_loss(U, U, torch.tensor(1.0, dtype=torch.float64), 0.0)


# ---------------------------------------------------------------- property-based sweep


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 9),
    d=st.integers(1, 5),
    batch=st.sampled_from([(), (2,)]),
    t=st.floats(1e-3, 1e4),
    b=st.floats(-1e4, 1e4),
    gamma=st.floats(0.0, 5.0),
    filtered=st.booleans(),
    chunk=st.integers(1, 10),
    f32=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_finite_and_chunked_equals_dense(n, d, batch, t, b, gamma, filtered, chunk, f32, seed):
    dtype = np.float32 if f32 else np.float64
    U = uniform_sphere(seed, (*batch, n, d)).astype(dtype)
    V = uniform_sphere(seed + 1, (*batch, n, d)).astype(dtype)
    opts = dict(gamma=gamma, filter_threshold=0.1 if filtered else None, reduction="sum")
    dense = losses.sigmoid_loss_and_grad(U, V, t, b, **opts)
    chunked = losses.sigmoid_loss_and_grad(U, V, t, b, chunk_size=chunk, **opts)
    # z = t <u, v> - b carries a rounding error up to ~eps (t + |b|) either way (the row blocks' products
    # round differently), and sigma'(z) passes it on to G: e.g. t = 3549, b = 3547 in float32 -> 2e-4
    rtol = (2e-5 if f32 else 1e-12) + 2 * np.finfo(dtype).eps * (t + abs(b))
    for key in ("value", "U", "V", "t", "b"):
        a = dense.value if key == "value" else dense.grad[key]
        c = chunked.value if key == "value" else chunked.grad[key]
        assert np.all(np.isfinite(a)), key
        # absolute floor: summands of O(1) (sigmoid weights) can cancel to a result of a few ulp
        scale = max(float(np.max(np.abs(a))), 1.0) if np.size(a) else 0.0
        np.testing.assert_allclose(c, a, rtol=rtol, atol=rtol * scale, err_msg=key)


def test_kernels_need_no_data_dependent_shapes_or_boolean_indexing():
    """The loss family runs under array-api-strict's strictest flags (portable to lazy/jit backends)."""
    strict = pytest.importorskip("array_api_strict")
    U = strict.asarray(uniform_sphere(61, (2, 6, 3)))
    V = strict.asarray(uniform_sphere(62, (2, 6, 3)))
    with strict.ArrayAPIStrictFlags(boolean_indexing=False, data_dependent_shapes=False):
        res = losses.sigmoid_loss_and_grad(U, V, 3.0, b_rel=0.1, gamma=1.0, filter_threshold=0.1, chunk_size=4, diagnostics=True)
        losses.infonce_loss_and_grad(U, V, 0.5)
        losses.relic_kl_and_grad(U, V, 2.0)
        losses.multimodal_loss_and_grad(strict.stack([U, V, U]), 2.0, 0.5)
    want = losses.sigmoid_loss_and_grad(np.asarray(U), np.asarray(V), 3.0, b_rel=0.1, gamma=1.0, filter_threshold=0.1)
    np.testing.assert_allclose(np.asarray(res.grad["U"]), want.grad["U"], rtol=1e-13)


def test_torch_default_dtype_does_not_leak_into_results():
    """Every array is created with an explicit dtype: torch's global default changes nothing."""
    torch = pytest.importorskip("torch")
    U = torch.tensor(uniform_sphere(63, (5, 3)), dtype=torch.float32)
    previous = torch.get_default_dtype()
    try:
        for default in (torch.float64, torch.float32):
            torch.set_default_dtype(default)
            res = losses.sigmoid_loss_and_grad(U, U, 2.0, 1.0, chunk_size=2, diagnostics=True)
            assert res.value.dtype == torch.float32 and res.grad["t"].dtype == torch.float32
            assert all(v.dtype == torch.float32 for v in res.diagnostics.values())
            assert losses.infonce_loss(U, U, 1.0).dtype == torch.float32
    finally:
        torch.set_default_dtype(previous)


def test_schedules_follow_their_closed_forms():
    from sigref.losses.schedules import cosine_decay, cosine_gamma, ema_momentum, filter_threshold_at

    assert [cosine_decay(s, 2.0, 4) for s in range(6)] == pytest.approx([2.0, 1.0 + 2**-0.5, 1.0, 1.0 - 2**-0.5, 0.0, 0.0], abs=1e-15)
    assert cosine_gamma(3, 1.5, 10) == cosine_decay(3, 1.5, 10)
    assert ema_momentum(0, 10, 0.9) == pytest.approx(0.9) and ema_momentum(10, 10, 0.9) == 1.0 and ema_momentum(5, 10, 0.9) == pytest.approx(0.95)
    assert [filter_threshold_at(s, 0.05, 2) for s in range(4)] == [None, None, None, 0.05]
    with pytest.raises(ValueError, match="step must be an integer >= 0, got -1"):
        cosine_decay(-1, 1.0, 4)
    with pytest.raises(ValueError, match="total_steps must be an integer > 0, got 0"):
        cosine_decay(0, 1.0, 0)
    with pytest.raises(ValueError, match="gamma0 must be >= 0"):
        cosine_gamma(0, -1.0, 4)
    with pytest.raises(ValueError, match="step must be an integer >= 0, got -1"):
        filter_threshold_at(-1, 0.05, 2)
    with pytest.raises(ValueError, match=r"threshold must be a number in \(0, 1\) or None, got 1.5"):
        filter_threshold_at(5, 1.5, 2)


def test_one_pair_is_its_positive_term(backend):
    """N = 1 (one rank's share of a batch of W pairs on W ranks): the loss is the positive term alone,
    softplus(-(t <u, v> - b)), and its gradients are those of that term (finite differences)."""
    u, v = uniform_sphere(61, (1, 3)), uniform_sphere(62, (1, 3))
    t, b = 3.0, 1.5

    def positive_term(u, v, t, b):
        return float(np.logaddexp(0.0, -(t * float(u[0] @ v[0]) - b)))

    res = losses.sigmoid_loss_and_grad(backend.asarray(u), backend.asarray(v), t, b)
    assert float(res.value) == pytest.approx(positive_term(u, v, t, b), rel=1e-14)
    h = 1e-6
    for k in range(3):
        e = np.zeros((1, 3))
        e[0, k] = h
        fd = (positive_term(u + e, v, t, b) - positive_term(u - e, v, t, b)) / (2 * h)
        assert float(backend.to_numpy(res.grad["U"])[0, k]) == pytest.approx(fd, rel=1e-7, abs=1e-10)
    fd_t = (positive_term(u, v, t + h, b) - positive_term(u, v, t - h, b)) / (2 * h)
    assert float(res.grad["t"]) == pytest.approx(fd_t, rel=1e-7)


@pytest.mark.parametrize(("n", "t", "b"), [(2, 1e4, 0.0), (512, 100.0, 20.0), (300, 1e4, 30.0)])
def test_float32_value_of_a_separated_batch_keeps_its_relative_accuracy(backend, n, t, b):
    """A well-separated batch at large t: U = V = I (exact in float32, so are its products), positive
    logits t - b, negatives -b, and a loss orders of magnitude below the positive logits. Summing the
    block as all-negatives and then adding the positives' corrections (-z_ii) would cancel (a relative
    error of eps * N (t - b) / L, above 1 here); written into the block before the sum, float32 keeps a
    few eps of the closed form N softplus(b - t) + N (N - 1) softplus(-b)."""
    truth = n * float(np.logaddexp(0.0, b - t)) + n * (n - 1) * float(np.logaddexp(0.0, -b))
    identity = backend.asarray(np.eye(n, dtype=np.float32), dtype=backend.xp.float32)
    got = float(losses.sigmoid_loss(identity, identity, t, b, reduction="sum", chunk_size=128))
    assert got == pytest.approx(truth, rel=20 * float(np.finfo(np.float32).eps)), (got, truth)
