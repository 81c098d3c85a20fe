"""CCEM geometry, reduced objective, regimes, solver and bounds (Lee, Chang & Sohn, arXiv 2402.12613).

Truths: tables of known values (closed forms and roots computed independently), scipy's brentq
on an independent float64 F', finite differences, and sigref.losses on explicit CCEM vectors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from sigref import ccem
from sigref.losses import infonce_loss, sigmoid_loss

# ------------------------------------------------------------------------------ known-value tables

THRESHOLDS = [  # N, T_anti, T_etf
    (5, 0.202732554054, 0.554517744448),
    (8, 0.549306144334, 1.408258173380),
    (10, 0.693147180560, 1.751319134150),
    (16, 0.972955074528, 2.404640022620),
    (32, 1.354025100551, 3.262067835299),
    (64, 1.716993602243, 4.046641460046),
]

CLOSED_FORM_LOSSES = [  # N, t = b, L_ETF, L_anti
    (8, 1.0, 2.630768374111, 3.015424088344),
    (8, 2.0, 1.371137116548, 4.145199423342),
    (16, 1.0, 5.129617085150, 4.030848176688),
    (16, 3.0, 1.292447177996, 6.039610962204),
    (64, 2.0, 8.454512403497, 5.161595386740),
    (64, 5.0, 1.084035165879, 10.002905529550),
]

INTERIOR = [  # N, t, s*, delta*, a*, c*, L*
    (8, 0.75, 0.4599523155, 1.0835766788, -0.0800953690, -0.6057551581, 3.0140555337),
    (8, 1.00, 0.7593681185, 0.5629248278, 0.5187362370, -0.3491130413, 2.5772943893),
    (8, 1.25, 0.9281407351, 0.2782495485, 0.8562814701, -0.2044507985, 2.1898046473),
    (16, 1.00, 0.0505965491, 4.3317656626, -0.8988069018, -0.9527765542, 4.0284839620),
    (16, 1.25, 0.4060548430, 1.2094302459, -0.1878903140, -0.6210154799, 3.5465439154),
    (16, 2.00, 0.8862257006, 0.3583025629, 0.7724514012, -0.1728560128, 2.3183472069),
    (64, 2.00, 0.2760225258, 1.6195347242, -0.4479549484, -0.7283587841, 4.9055932109),
    (64, 3.00, 0.7921698477, 0.5122065454, 0.5843396955, -0.2204042768, 3.0983086620),
    (64, 4.00, 0.9940433469, 0.0774102544, 0.9880866937, -0.0217351190, 1.7662783977),
]

S_TABLE_T = [0.10, 0.25, 0.50, 0.75, 1.00, 1.25, 1.50, 2.00, 2.50, 3.00, 3.50, 4.00, 5.00]
S_TABLE = {  # s* at t = b from an independent root of F', 6 decimals
    8: [0, 0, 0, 0.459952, 0.759368, 0.928141, 1, 1, 1, 1, 1, 1, 1],
    16: [0, 0, 0, 0, 0.050597, 0.406055, 0.630408, 0.886226, 1, 1, 1, 1, 1],
    64: [0, 0, 0, 0, 0, 0, 0, 0.276023, 0.597303, 0.792170, 0.914347, 0.994043, 1],
}


def _host(backend, x):
    return backend.to_numpy(x).astype(np.float64)


def test_thresholds_match_closed_forms(backend):
    N = backend.asarray(np.array([r[0] for r in THRESHOLDS], dtype=np.float64))
    np.testing.assert_allclose(_host(backend, ccem.antipodal_threshold(N)), [r[1] for r in THRESHOLDS], rtol=0, atol=1e-9)
    np.testing.assert_allclose(_host(backend, ccem.etf_threshold(N)), [r[2] for r in THRESHOLDS], rtol=0, atol=1e-9)
    assert float(ccem.etf_threshold(4)) == 0.0 and float(ccem.antipodal_threshold(4)) == 0.0
    assert float(ccem.etf_threshold(3)) == -math.inf


def test_closed_form_losses_match_table(backend):
    N = backend.asarray(np.array([r[0] for r in CLOSED_FORM_LOSSES], dtype=np.float64))
    t = backend.asarray(np.array([r[1] for r in CLOSED_FORM_LOSSES]))
    np.testing.assert_allclose(_host(backend, ccem.etf_loss(N, t)), [r[2] for r in CLOSED_FORM_LOSSES], rtol=0, atol=1e-9)
    np.testing.assert_allclose(_host(backend, ccem.antipodal_loss(N, t)), [r[3] for r in CLOSED_FORM_LOSSES], rtol=0, atol=1e-9)
    # F at the endpoints is the same thing
    one = backend.asarray(np.ones(len(CLOSED_FORM_LOSSES)))
    np.testing.assert_allclose(_host(backend, ccem.reduced_loss(one, N, t)), [r[2] for r in CLOSED_FORM_LOSSES], atol=1e-9)
    np.testing.assert_allclose(_host(backend, ccem.reduced_loss(-one, N, t)), [r[3] for r in CLOSED_FORM_LOSSES], atol=1e-9)


def test_interior_optima_match_table(backend):
    rows = np.array(INTERIOR)
    r = ccem.delta_star(backend.asarray(rows[:, 0]), backend.asarray(rows[:, 1]))
    for k, name in enumerate(["s", "delta", "a", "c", "loss"], start=2):
        np.testing.assert_allclose(_host(backend, getattr(r, name)), rows[:, k], rtol=0, atol=1e-9, err_msg=name)
    assert not np.any(_host(backend, r.etf)) and not np.any(_host(backend, r.antipodal))


def test_s_star_table_matches_roots(backend):
    for N, column in S_TABLE.items():
        r = ccem.delta_star(N, backend.asarray(np.array(S_TABLE_T)))
        np.testing.assert_allclose(_host(backend, r.s), column, rtol=0, atol=6e-7)
    r = ccem.delta_star(4, backend.asarray(np.array(S_TABLE_T)))
    assert np.all(_host(backend, r.s) == 1.0)


def test_infonce_at_etf_matches_closed_form_and_loss(backend):
    np.testing.assert_allclose(float(ccem.infonce_etf_loss(8, 1.0)), 2.346416317679, atol=1e-9)
    np.testing.assert_allclose(float(ccem.infonce_etf_loss(16, 1.0)), 3.636902376897, atol=1e-9)
    for N, tau in [(5, 0.3), (12, 2.0)]:
        W = ccem.simplex_etf(N, N - 1, backend=backend)
        got = float(infonce_loss(W, W, tau))
        assert got == pytest.approx(float(ccem.infonce_etf_loss(N, tau)), abs=1e-12)


def _switch(backend, N, flag, lo, hi):
    """Bisect t (t = b) for the point where ``flag(delta_star(N, t))`` changes."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    Na = backend.asarray(np.asarray(N, dtype=np.float64))
    f_lo = _host(backend, flag(ccem.delta_star(Na, backend.asarray(lo))))
    for _ in range(60):
        mid = (lo + hi) / 2
        f = _host(backend, flag(ccem.delta_star(Na, backend.asarray(mid))))
        same = f == f_lo
        lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
    return (lo + hi) / 2


def test_regime_switches_land_on_thresholds(backend):
    N = np.array([5, 6, 8, 16, 64, 256, 10**6], dtype=np.float64)
    t_etf = _switch(backend, N, lambda r: r.etf, np.full(7, 1e-3), np.full(7, 30.0))
    t_anti = _switch(backend, N, lambda r: r.antipodal, np.full(7, 1e-3), np.full(7, 30.0))
    np.testing.assert_allclose(t_etf, (N - 1) / N * np.log(N - 3), rtol=0, atol=1e-10)
    np.testing.assert_allclose(t_anti, 0.5 * np.log((N - 2) / 2), rtol=0, atol=1e-10)


def test_derivative_vanishes_at_the_thresholds(backend):
    N = backend.asarray(np.array([5.0, 8.0, 16.0, 64.0, 1e6]))
    T_etf, T_anti = ccem.etf_threshold(N), ccem.antipodal_threshold(N)
    ones = backend.asarray(np.ones(5))
    assert np.max(np.abs(_host(backend, ccem.reduced_loss_derivative(ones, N, T_etf)))) < 1e-12
    assert np.max(np.abs(_host(backend, ccem.reduced_loss_derivative(-ones, N, T_anti)))) < 1e-12


def test_derivative_matches_finite_differences(backend):
    rng = np.random.default_rng(3)
    a = rng.uniform(-0.9, 0.9, 50)
    N = rng.integers(3, 200, 50).astype(np.float64)
    t, b = rng.uniform(0.1, 5, 50), rng.uniform(-3, 5, 50)
    h = 1e-6
    ab, Nb, tb, bb = (backend.asarray(x) for x in (a, N, t, b))
    fd = (_host(backend, ccem.reduced_loss(ab + h, Nb, tb, bb)) - _host(backend, ccem.reduced_loss(ab - h, Nb, tb, bb))) / (2 * h)
    np.testing.assert_allclose(_host(backend, ccem.reduced_loss_derivative(ab, Nb, tb, bb)), fd, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------------- solver vs brentq


def _reference(N: float, t: float, b: float) -> tuple[float, bool, bool]:
    """s* from scipy's brentq on an independently written float64 F'(a)."""
    def sig(x):
        return math.exp(x) / (1 + math.exp(x)) if x < 0 else 1 / (1 + math.exp(-x))

    def dF(a):
        c = ((N - 2) * a - N) / (2 * (N - 1))
        return t * ((N - 2) / 2 * sig(t * c - b) - sig(b - t * a))

    if dF(1.0) <= 0:
        return 1.0, True, False
    if dF(-1.0) >= 0:
        return 0.0, False, True
    a = brentq(dF, -1.0, 1.0, xtol=1e-16, rtol=8.9e-16, maxiter=500)
    return (1 + a) / 2, False, False


def test_solver_agrees_with_brentq():
    rng = np.random.default_rng(11)
    n = 400
    N = np.floor(np.exp(rng.uniform(np.log(3), np.log(1e9), n)))
    N[:20], N[20:40] = 3, 4
    t = np.exp(rng.uniform(np.log(0.05), np.log(20), n))
    b = np.where(rng.random(n) < 0.5, t, rng.uniform(-5, 15, n))
    # aim half the points at the interior regime: b near the middle of its interior range
    ref = np.array([_reference(*p) for p in zip(N, t, b)])
    r = ccem.delta_star(N, t, b)
    np.testing.assert_array_equal(r.etf, ref[:, 1].astype(bool))
    np.testing.assert_array_equal(r.antipodal, ref[:, 2].astype(bool))
    np.testing.assert_allclose(r.s, ref[:, 0], rtol=0, atol=1e-12)


def test_solver_interior_points_agree_with_brentq():
    """Points sampled strictly inside the interior regime (b between its two endpoints)."""
    rng = np.random.default_rng(12)
    n = 300
    N = np.floor(np.exp(rng.uniform(np.log(3), np.log(1e9), n)))
    t = np.exp(rng.uniform(np.log(0.05), np.log(20), n))
    # at fixed (N, t) the interior regime is an interval of b: find its ends by bisection
    b_lo = np.log((N - 2) / 2) - t  # antipodal iff b <= b_lo
    b_hi = b_lo + 40
    for _ in range(100):
        mid = (b_lo + b_hi) / 2
        etf = ccem.etf_condition(N, t, mid)
        b_hi = np.where(etf, mid, b_hi)
        b_lo = np.where(etf, b_lo, mid)
    b_anti = np.log((N - 2) / 2) - t
    u = rng.uniform(0.02, 0.98, n)
    b = b_anti + u * (b_hi - b_anti)
    ref = np.array([_reference(*p) for p in zip(N, t, b)])
    assert not ref[:, 1].any() and not ref[:, 2].any()
    r = ccem.delta_star(N, t, b)
    np.testing.assert_allclose(r.s, ref[:, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.delta, np.sqrt((1 - ref[:, 0]) / ref[:, 0]), rtol=1e-9)
    # the root really is a stationary point of F
    assert np.max(np.abs(ccem.reduced_loss_derivative(r.a, N, t, b)) / t) < 1e-12


def test_solver_on_every_backend_and_dtype(backend_any):
    rng = np.random.default_rng(5)
    N = np.floor(np.exp(rng.uniform(np.log(3), np.log(1e6), 64)))
    t = rng.uniform(0.1, 8, 64)
    b = np.where(rng.random(64) < 0.5, t, rng.uniform(-2, 8, 64))
    want = ccem.delta_star(N, t, b)
    got = ccem.delta_star(backend_any.asarray(N), backend_any.asarray(t), backend_any.asarray(b))
    tol = 1e-12 if backend_any.dtype_name == "float64" else 2e-4
    np.testing.assert_allclose(_host(backend_any, got.s), want.s, rtol=0, atol=tol)
    np.testing.assert_allclose(_host(backend_any, got.loss), want.loss, rtol=tol)
    assert got.s.dtype == backend_any.dtype


def test_solver_batches_over_any_shape(backend):
    N = backend.asarray(np.array([[5.0], [16.0], [1e9]]))
    t = backend.asarray(np.linspace(0.1, 12, 7))
    r = ccem.delta_star(N, t)
    assert tuple(r.s.shape) == (3, 7)
    for i, n in enumerate([5.0, 16.0, 1e9]):
        for j, tj in enumerate(np.linspace(0.1, 12, 7)):
            assert float(r.s[i, j]) == pytest.approx(_reference(n, tj, tj)[0], abs=1e-12)


@pytest.mark.parametrize("N", [3, 4])
def test_small_batches_are_always_etf(N):
    t = np.array([1e-8, 1e-3, 0.1, 1.0, 10.0, 1e3])
    r = ccem.delta_star(N, t)
    assert np.all(r.etf) and np.all(r.s == 1.0) and np.all(r.delta == 0.0)


def test_very_large_batch():
    r = ccem.delta_star(1e9, np.array([5.0, 12.0, 15.0, 25.0]))
    assert list(r.antipodal) == [True, False, False, False] and list(r.etf) == [False, False, False, True]
    for k, tk in enumerate([12.0, 15.0]):
        assert float(r.s[k + 1]) == pytest.approx(_reference(1e9, tk, tk)[0], abs=1e-12)


def test_general_b_regime_conditions_match_numerical_argmin():
    """The two 'iff' conditions against a dense-grid argmin of F (independent of the solver)."""
    rng = np.random.default_rng(8)
    n = 300
    N = rng.integers(3, 500, n).astype(np.float64)
    t, b = rng.uniform(0.05, 6, n), rng.uniform(-3, 6, n)
    a = np.linspace(-1, 1, 20001)
    F = ccem.reduced_loss(a[:, None], N, t, b)
    a_best = a[np.argmin(F, axis=0)]
    etf, anti = ccem.etf_condition(N, t, b), ccem.antipodal_condition(N, t, b)
    clear = (a_best > -1 + 1e-3) & (a_best < 1 - 1e-3)
    assert np.all(etf[a_best == 1.0]) and np.all(anti[a_best == -1.0])
    assert not np.any(etf[clear]) and not np.any(anti[clear])
    np.testing.assert_allclose(ccem.delta_star(N, t, b).a, a_best, atol=2e-4)


@settings(max_examples=60, deadline=None)
@given(
    N=st.integers(3, 10**7),
    t1=st.floats(1e-3, 30.0),
    t2=st.floats(1e-3, 30.0),
)
def test_delta_star_is_monotone_in_t(N, t1, t2):
    lo, hi = min(t1, t2), max(t1, t2)
    r = ccem.delta_star(N, np.array([lo, hi]))
    assert float(r.delta[0]) >= float(r.delta[1])
    assert float(r.s[0]) <= float(r.s[1])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ccem.delta_star(8, 0.0), "t must be > 0"),
        (lambda: ccem.delta_star(8, -1.0), "t must be > 0"),
        (lambda: ccem.delta_star(2, 1.0), "N .* must be >= 3"),
        (lambda: ccem.delta_star(8.5, 1.0), "integer-valued"),
        (lambda: ccem.delta_star(8, np.array([1.0, np.nan])), "t must be finite"),
        (lambda: ccem.delta_star(8, 1.0, math.inf), "b must be finite"),
        (lambda: ccem.delta_star(np.array([4, 5]), np.array([1.0, 2.0, 3.0])), "broadcast"),
        (lambda: ccem.delta_star(8, 1.0, iterations=0), "iterations"),
        (lambda: ccem.etf_threshold(2), "N .* must be >= 3"),
        (lambda: ccem.ccem(8, -0.5), "delta must be >= 0"),
        (lambda: ccem.ccem(8, 1.0, d=7), "needs d >= 8"),
        (lambda: ccem.ccem(8, 0.0, d=6), "needs d >= 7"),
        (lambda: ccem.simplex_etf(8, 5), "d >= N-1"),
        (lambda: ccem.simplex_etf(1), "N must be an integer >= 2"),
        (lambda: ccem.reduced_loss(1.5, 8, 1.0), r"a .* must lie in \[-1, 1\]"),
        (lambda: ccem.delta_of_s(1.5), r"s must lie in \[0, 1\]"),
        (lambda: ccem.infonce_etf_loss(8, 0.0), "tau must be > 0"),
        (lambda: ccem.lemma_slack(2 * np.ones((3, 2)), np.ones((3, 2))), "unit norm"),
        (lambda: ccem.critical_batch_sizes(-1.0), "t must be > 0"),
    ],
)
def test_bad_input_raises_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_types_raise_type_errors():
    with pytest.raises(TypeError, match="t must be a number or an array"):
        ccem.delta_star(8, [1.0, 2.0])
    with pytest.raises(TypeError, match="bool"):
        ccem.delta_star(8, True)
    with pytest.raises(TypeError, match="backend"):
        ccem.simplex_etf(4, backend=3)


# ---------------------------------------------------------------------------------- geometry


def test_simplex_etf_gram(backend):
    for N, d in [(3, 2), (5, 5), (7, 10)]:
        W = _host(backend, ccem.simplex_etf(N, d, backend=backend))
        assert W.shape == (N, d)
        want = np.full((N, N), -1 / (N - 1)) + np.eye(N) * (1 + 1 / (N - 1))
        np.testing.assert_allclose(W @ W.T, want, atol=1e-14)
        np.testing.assert_allclose(W.sum(axis=0), 0, atol=1e-14)
        if d >= N:
            assert np.all(W[:, -1] == 0)


def test_ccem_structural_invariants(backend_any):
    rng = np.random.default_rng(21)
    tol = 1e-13 if backend_any.dtype_name == "float64" else 3e-6
    for _ in range(4):
        N = int(rng.integers(3, 12))
        d = N + int(rng.integers(0, 4))
        delta = np.concatenate([[0.0, math.inf], np.exp(rng.normal(size=4))])
        U, V = ccem.ccem(N, delta, d, backend=backend_any)
        assert U.dtype == backend_any.dtype and tuple(U.shape) == (6, N, d)
        U, V = _host(backend_any, U), _host(backend_any, V)
        np.testing.assert_allclose(np.linalg.norm(U, axis=-1), 1, atol=tol)
        np.testing.assert_allclose(np.linalg.norm(V, axis=-1), 1, atol=tol)
        G = U @ np.swapaxes(V, -1, -2)
        d2 = np.where(np.isinf(delta), 0.0, delta) ** 2  # entry 1 (delta = inf) is set by hand
        a = (1 - d2) / (1 + d2)
        a[1] = -1.0
        c = -(1 / (N - 1) + d2) / (1 + d2)
        c[1] = -1.0
        off = ~np.eye(N, dtype=bool)
        np.testing.assert_allclose(np.diagonal(G, axis1=-2, axis2=-1), np.broadcast_to(a[:, None], (6, N)), atol=tol)
        np.testing.assert_allclose(G[:, off], np.broadcast_to(c[:, None], (6, N * N - N)), atol=tol)
        uu = (d2 - 1 / (N - 1)) / (1 + d2)
        uu[1] = 1.0
        np.testing.assert_allclose((U @ np.swapaxes(U, -1, -2))[:, off], np.broadcast_to(uu[:, None], (6, N * N - N)), atol=tol)
        np.testing.assert_allclose((U + V).sum(axis=1), 0, atol=tol)
        np.testing.assert_allclose(ccem.a_of_delta(delta), a, atol=1e-15)
        np.testing.assert_allclose(ccem.c_of_delta(delta, N), c, atol=1e-15)


def test_ccem_fig1_example_and_limits():
    # N = 3, delta = 1: a = 0, c = -3/4 (Fig. 1); angle(u_i, v_i) = 0, pi/2, pi at delta = 0, 1, inf
    assert float(ccem.a_of_delta(1.0)) == 0.0 and float(ccem.c_of_delta(1.0, 3)) == -0.75
    U, V = ccem.ccem(3, np.array([0.0, 1.0, math.inf]), 3)
    cos = np.sum(U * V, axis=-1)[:, 0]
    np.testing.assert_allclose(np.arccos(np.clip(cos, -1, 1)), [0, np.pi / 2, np.pi], atol=1e-7)
    # endpoint dimensions: the ETF needs N-1, the antipodal limit any d
    assert ccem.ccem(5, 0.0, 4)[0].shape == (5, 4)
    assert ccem.ccem(5, math.inf, 1)[0].shape == (5, 1)


def test_reparameterisations_round_trip():
    delta = np.array([0.0, 1e-3, 0.5, 1.0, 3.0, 1e4, math.inf])
    s = ccem.s_of_delta(delta)
    np.testing.assert_allclose(ccem.delta_of_s(s), delta, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ccem.delta_of_a(ccem.a_of_s(s)), delta, rtol=1e-9)
    np.testing.assert_allclose(ccem.s_of_a(ccem.a_of_delta(delta)), s, atol=1e-16)
    # the negative similarity is affine in s: c = -1 + s (N-2)/(N-1)
    np.testing.assert_allclose(ccem.c_of_a(ccem.a_of_s(s), 9), -1 + s * 7 / 8, atol=1e-15)


# ---------------------------------------------------------------------------------- bounds


def _random_unit(rng, shape):
    g = rng.standard_normal(shape)
    return g / np.linalg.norm(g, axis=-1, keepdims=True)


def test_lemma_slack_nonnegative_on_random_and_zero_on_ccem(backend):
    rng = np.random.default_rng(4)
    for N, d in [(3, 2), (6, 3), (9, 20), (15, 4)]:
        U = backend.asarray(_random_unit(rng, (200, N, d)))
        V = backend.asarray(_random_unit(rng, (200, N, d)))
        slack = _host(backend, ccem.lemma_slack(U, V))
        assert slack.shape == (200,) and slack.min() >= 0
        # the brute-force statement of the lemma gives the same number
        Uh, Vh = _host(backend, U), _host(backend, V)
        G = Uh @ np.swapaxes(Vh, -1, -2)
        tr = np.trace(G, axis1=-2, axis2=-1)
        np.testing.assert_allclose(slack, G.sum(axis=(-2, -1)) - tr - (N - 2) / 2 * tr + N * N / 2, atol=1e-11)
        # a configuration with every u_i = v_i = e violates nothing but is far from tight
        Uc, Vc = ccem.ccem(N, np.exp(rng.normal(size=5)), max(N, d), backend=backend)
        assert np.max(np.abs(_host(backend, ccem.lemma_slack(Uc, Vc)))) < 1e-12 * N * N


def test_ccem_loss_equals_reduced_objective(backend):
    for N in (4, 8, 16):
        delta = np.array([0.0, 0.5, 1.0, 3.0, math.inf])
        U, V = ccem.ccem(N, delta, N, backend=backend)
        for t, b in [(0.5, 0.5), (2.0, 2.0), (1.5, -0.7)]:
            got = _host(backend, sigmoid_loss(U, V, t, b, reduction="per_anchor"))
            a = backend.asarray(np.array([1.0, 0.6, 0.0, -0.8, -1.0]))  # (1 - delta^2)/(1 + delta^2)
            want = _host(backend, ccem.reduced_loss(a, N, t, b))
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


def test_loss_lower_bound_on_random_embeddings(backend):
    rng = np.random.default_rng(6)
    for N, d in [(4, 2), (7, 7), (12, 5), (10, 30)]:
        t = rng.uniform(0.05, 6, 100)
        b = rng.uniform(-3, 6, 100)
        U = backend.asarray(_random_unit(rng, (100, N, d)))
        V = backend.asarray(_random_unit(rng, (100, N, d)))
        gap = _host(backend, ccem.bound_gap(U, V, backend.asarray(t), backend.asarray(b)))
        assert gap.shape == (100,) and gap.min() >= 0
        want = _host(backend, sigmoid_loss(U, V, backend.asarray(t), backend.asarray(b))) - ccem.ccem_lower_bound(N, t, b)
        np.testing.assert_allclose(gap, want, atol=1e-12)
    # the bound is attained at the optimal CCEM (d >= N)
    r = ccem.delta_star(10, 1.3, 0.4)
    U, V = ccem.ccem(10, float(r.delta), 10, backend=backend)
    assert abs(float(ccem.bound_gap(U, V, 1.3, 0.4))) < 1e-12


def test_critical_batch_sizes():
    t = np.array([0.5, 1.0, 2.0, 5.0, 10.0])
    leave, anti = ccem.critical_batch_sizes(t)
    for n, tk in zip(leave, t):
        assert ccem.etf_condition(n - 1, tk) if n > 3 else True
        assert not ccem.etf_condition(n, tk)
    for n, tk in zip(anti, t):
        assert ccem.antipodal_condition(n, tk) and not ccem.antipodal_condition(n - 1, tk)
    # at t = b: T_etf(N) crosses t near N = e^t + 3 and T_anti(N) at N = 2 e^(2t) + 2
    np.testing.assert_allclose(anti, np.ceil(2 * np.exp(2 * t) + 2), rtol=0, atol=1)
    assert abs(leave[-1] - (math.exp(10.0) + 3)) < 20
    assert math.isinf(float(ccem.critical_batch_sizes(30.0)[1]))
