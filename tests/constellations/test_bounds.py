"""Capacity bounds (Thms 3.3, 3.5) and the modality gap (Thm 3.6) of arXiv 2509.18552."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special

import sigref.constellations as C
from sigref.backend import get_backend

NP = get_backend("numpy")


@pytest.mark.parametrize("m,b,lo,up", [(0.1, 0.0, 0.259562, 0.505800), (0.05, 0.0, 0.532582, 0.829114),
                                       (0.2, 0.3, 0.122808, 0.314304), (0.3, 0.0, 0.002967, 0.040021),
                                       (0.0627, 0.0322, 0.451127, 0.736881), (0.0695, 0.068, 0.423077, 0.704484),
                                       (0.0101, 0.0282, 1.286505, 1.623255)])
def test_g6_g7_g17_g18_exponents(m, b, lo, up):
    assert C.exponent_lower(m, b) == pytest.approx(lo, abs=1e-6)
    assert C.exponent_upper(m, b) == pytest.approx(up, abs=1e-6)
    assert C.exponent_upper(m, b) - C.exponent_lower(m, b) == pytest.approx(C.exponent_gap(m, b), abs=1e-14)  # G8
    assert C.exponent_gap(m, b) == pytest.approx(0.5 * math.log1p(C.alpha(m, b)), abs=1e-14)


def test_g5_g6_bits_and_g9_boundary():
    assert C.alpha(0.1, 0.0) == pytest.approx(7 / 11, abs=1e-15)
    assert C.alpha(0.0627, 0.0322) == pytest.approx(0.770938, abs=1e-6)
    assert C.exponent_lower(0.1, 0, base=2) == pytest.approx(0.374469, abs=1e-6)
    assert C.exponent_upper(0.1, 0, base="bits") == pytest.approx(0.729716, abs=1e-6)
    for m, b in [(1 / 3, 0.0), (0.25, -0.25), (0.5, 0.5)]:
        assert C.exponent_lower(m, b) == pytest.approx(0, abs=1e-12)
        assert C.exponent_upper(m, b) == pytest.approx(0, abs=1e-12)
    assert C.exponent_gap(0.1, 0.0) == pytest.approx(0.246238, abs=1e-6)


def test_g10_cap_values_and_closed_forms():
    got = [math.exp(C.log_cap(n, x)) for n, x in [(10, 0.5), (3, 0.5), (100, 0.1), (2, 0.0)]]
    np.testing.assert_allclose(got, [0.0586534015, 0.25, 0.1598742371, 0.5], rtol=1e-9)
    xs = np.linspace(-0.99, 0.99, 23)
    np.testing.assert_allclose(np.exp(C.log_cap(3, xs)), (1 - xs) / 2, rtol=1e-12)  # Archimedes
    np.testing.assert_allclose(np.exp(C.log_cap(2, xs)), np.arccos(xs) / np.pi, rtol=1e-12)


@pytest.mark.parametrize("n,x", [(1000, 0.5), (100_000, 0.3), (100_000, 0.9), (10**6, 0.2), (50, 0.999)])
def test_log_cap_accurate_where_gamma_underflows(n, x):
    """Independent: log of c_n * int_x^1 (1 - s^2)^((n-3)/2) ds by quadrature of the rescaled integrand."""
    k = (n - 3) / 2
    f0 = k * math.log1p(-x * x)
    scale = (1 - x * x) / (2 * k * x)  # decay length of the integrand at s = x
    edges = [x] + [min(1.0, x + j * scale) for j in (1, 10, 100)] + [1.0]
    val = sum(integrate.quad(lambda s: math.exp(k * math.log1p(-s * s) - f0), a, b, epsabs=1e-25, epsrel=1e-11, limit=200)[0]
              for a, b in zip(edges[:-1], edges[1:]) if b > a)
    log_c = special.gammaln(n / 2) - 0.5 * math.log(math.pi) - special.gammaln((n - 1) / 2)
    want = log_c + f0 + math.log(val)
    assert C.log_cap(n, x) == pytest.approx(want, rel=1e-9)
    assert math.isfinite(C.log_cap(n, x))


@settings(max_examples=30, deadline=None)
@given(m=st.floats(0.01, 0.49), frac=st.floats(0.0, 1.0), d=st.sampled_from([3, 5, 10, 40, 200, 5000]))
def test_finite_bounds_lower_le_upper(m, frac, d):
    lo_b, hi_b = 3 * m - 1, 1 - m
    b = lo_b + frac * (hi_b - lo_b)
    low, up = C.log_n_lower(d, m, b), C.log_n_upper(d, m, b)
    assert math.isfinite(low) and math.isfinite(up)
    assert low <= up + 1e-9


@pytest.mark.parametrize("m,b", [(0.1, 0.0), (0.2, 0.3), (0.05, -0.2)])
def test_finite_bounds_converge_to_exponents(m, b):
    errs_lo, errs_up = [], []
    for d in (100, 1000, 10_000, 100_000):
        errs_lo.append(abs(C.log_n_lower(d, m, b) / d - C.exponent_lower(m, b)))
        errs_up.append(abs(C.log_n_upper(d, m, b) / d - C.exponent_upper(m, b)))
    assert all(np.diff(errs_lo) < 0) and all(np.diff(errs_up) < 0)
    assert errs_lo[-1] < 2e-4 and errs_up[-1] < 5e-4


def test_lower_bound_is_met_by_explicit_codes():
    """The cross-polytope in R^{d-1} sits on 3m = 1 + b (alpha = 0): N = 2(d-1) must not exceed the upper bound."""
    for d in (4, 10, 30):
        m, b = 1 / 3, 0.0
        up = C.log_n_upper(d, m, b)
        assert math.log(2 * (d - 1)) <= up


@pytest.mark.parametrize("args,match", [((0.3, 0.0), "outside"), ((0.5, 0.6), "outside"), ((-0.1, 0.0), "m must"),
                                        ((float("nan"), 0.0), "finite")])
def test_bounds_reject_infeasible(args, match):
    with pytest.raises(ValueError, match=match):
        C.exponent_upper(*args) if args != (0.3, 0.0) else C.alpha(0.4, 0.0)
    with pytest.raises(ValueError, match="d must"):
        C.log_n_upper(1, 0.1, 0.0)
    with pytest.raises(ValueError, match="n"):
        C.log_cap(1, 0.5)


def test_upper_bound_m_zero_is_infinite_not_nan():
    assert C.log_n_upper(10, 0.0, 0.0) == math.inf and C.log_n_lower(10, 0.0, 0.0) == math.inf


# ------------------------------------------------------------------------------------ modality gap


def _rotated_constellation(seed, n_half, m, b):
    c = C.from_code(C.cross_polytope(n_half, backend=NP).X, m, b)
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n_half + 1, n_half + 1)))
    return c.U @ Q, c.V @ Q


@pytest.mark.parametrize("seed", range(4))
def test_min_norm_separator_thm36(backend, seed):
    U, V = _rotated_constellation(seed, 5, 0.3, 0.05)  # m > |b|: sign pattern (24); N = 10 >= d + 2 = 8
    Ub, Vb = backend.asarray(U), backend.asarray(V)
    assert bool(C.sign_pattern_holds(Ub, Vb))
    sep = C.min_norm_separator(Ub, Vb)
    n, d = U.shape
    assert sep.holds and sep.min_u > 0 and sep.n_negative >= n - d and sep.support.size <= d
    # independent: the min-norm point of conv(U) by SLSQP has the same norm
    res = optimize.minimize(lambda lam: float(np.sum((lam @ U) ** 2)), np.full(n, 1 / n), method="SLSQP",
                            bounds=[(0, 1)] * n, constraints=[{"type": "eq", "fun": lambda lam: lam.sum() - 1}],
                            options={"ftol": 1e-14, "maxiter": 500})
    p, _ = C.min_norm_point(U)
    assert np.linalg.norm(p) == pytest.approx(math.sqrt(res.fun), rel=1e-5)
    assert sep.min_u >= np.linalg.norm(p) * (1 - 1e-9)


def test_linear_separation_agrees_with_farkas():
    """Separable iff 0 is not in conv(U u -V) (Gordan): checked with the min-norm point on random clouds."""
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(12):
        shift = rng.uniform(0, 1.5)
        U = rng.standard_normal((8, 3)) + shift * np.array([1.0, 0, 0])
        V = rng.standard_normal((8, 3)) - shift * np.array([1.0, 0, 0])
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        V /= np.linalg.norm(V, axis=1, keepdims=True)
        lp = C.linear_separation(U, V)
        p, _ = C.min_norm_point(np.concatenate([U, -V]))
        gordan = np.linalg.norm(p) > 1e-7
        assert lp.separable == gordan
        if lp.separable:
            assert np.all(U @ lp.h > 0) and np.all(V @ lp.h < 0)
        seen.add(lp.separable)
    assert seen == {True, False}


def test_separator_raises_when_no_half_space():
    U = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="convex hull"):
        C.min_norm_separator(U, U)


def test_g22_wendel():
    assert C.wendel_hemisphere_probability(99, 10) == pytest.approx(5.51e-18, rel=2e-3)
    assert C.wendel_hemisphere_probability(5, 3) == pytest.approx(11 / 16)
    assert C.wendel_hemisphere_probability(3, 5) == 1.0
    rng = np.random.default_rng(1)  # Monte Carlo with the LP as the membership test
    hits = 0
    for _ in range(150):
        P = rng.standard_normal((5, 3))
        hits += C.linear_separation(P, -P).separable
    assert abs(hits / 150 - 11 / 16) < 0.12
