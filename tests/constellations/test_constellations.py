"""sigref.constellations (arXiv 2509.18552): metrics, region, codes, constructions, against closed forms
from the paper's theorems and constructions (golden values numbered G1-G22 in the test names), brute-force NumPy and SciPy."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import optimize

import sigref.constellations as C
from sigref.backend import get_backend
from sigref.losses import multimodal_loss, sigmoid_loss

NP = get_backend("numpy")


def _host(backend, x):
    return backend.to_numpy(x).astype(np.float64)


def _rand_pair(seed, shape):
    rng = np.random.default_rng(seed)
    U = rng.standard_normal(shape)
    V = U + 0.7 * rng.standard_normal(shape)
    return U / np.linalg.norm(U, axis=-1, keepdims=True), V / np.linalg.norm(V, axis=-1, keepdims=True)


def _brute(U, V):
    """Independent loops: positives, negatives of one configuration."""
    n = U.shape[0]
    pos = [float(U[i] @ V[i]) for i in range(n)]
    neg = [float(U[i] @ V[j]) for i in range(n) for j in range(n) if i != j]
    return np.array(pos), np.array(neg)


# ------------------------------------------------------------------------------------ metrics


def test_margin_forms_match_brute_force(backend_any):
    U, V = _rand_pair(0, (3, 12, 5))
    Ub, Vb = backend_any.asarray(U), backend_any.asarray(V)
    rtol = 1e-12 if backend_any.dtype_name == "float64" else 1e-5
    for form in ("minmax", "percentile", "mean"):
        m, b = C.margin_and_bias(Ub, Vb, form=form)
        assert tuple(m.shape) == (3,)
        for r in range(3):
            pos, neg = _brute(U[r], V[r])
            P, Q = {"minmax": (pos.min(), neg.max()), "mean": (pos.mean(), neg.mean()),
                    "percentile": (np.percentile(pos, 5), np.percentile(neg, 95))}[form]
            np.testing.assert_allclose(_host(backend_any, m)[r], (P - Q) / 2, rtol=rtol, atol=rtol)
            np.testing.assert_allclose(_host(backend_any, b)[r], (P + Q) / 2, rtol=rtol, atol=rtol)


def test_xi_three_forms_agree_with_pairwise_loops(backend_any):
    U, V = _rand_pair(1, (2, 9, 4))
    Ub, Vb = backend_any.asarray(U), backend_any.asarray(V)
    x = U - V
    want = np.array([sum(np.sum((x[r, i] - x[r, j]) ** 2) for i in range(9) for j in range(9)) / (2 * 81) for r in range(2)])
    tol = 1e-12 if backend_any.dtype_name == "float64" else 1e-5
    for form in ("mean_norm", "centered", "pairwise"):
        np.testing.assert_allclose(_host(backend_any, C.xi(Ub, Vb, form)), want, rtol=tol, atol=tol)
    unsq = np.mean(np.linalg.norm(x, axis=-1), axis=-1) - np.linalg.norm(x.mean(axis=-2), axis=-1)
    np.testing.assert_allclose(_host(backend_any, C.xi(Ub, Vb, "unsquared")), unsq, rtol=tol, atol=tol)


def test_is_constellation_and_admissible_interval(backend):
    c = C.from_code(C.cross_polytope(5, backend=backend).X, 0.3, 0.0)
    m, b = c.m_star, c.b_star
    assert bool(C.is_constellation(c.U, c.V, m, b, atol=1e-12))
    assert not bool(C.is_constellation(c.U, c.V, m + 1e-6, b))
    lo, hi = C.admissible_bias_interval(c.U, c.V, m / 2)
    np.testing.assert_allclose([float(lo), float(hi)], [b - m / 2, b + m / 2], atol=1e-12)
    assert bool(C.is_constellation(c.U, c.V, m / 2, float(lo), atol=1e-12))
    assert bool(C.is_constellation(c.U, c.V, m / 2, float(hi), atol=1e-12))
    assert tuple(c.U.shape) == (10, 6)


def test_effective_relative_bias():
    assert C.effective_relative_bias(20.0, 5.0) == 0.25
    assert C.effective_relative_bias(20.0, b_rel=0.3) == 0.3
    np.testing.assert_allclose(C.effective_relative_bias(np.array([2.0, 4.0]), np.array([1.0, 1.0])), [0.5, 0.25])
    with pytest.raises(ValueError, match="t must"):
        C.effective_relative_bias(-1.0, 1.0)
    with pytest.raises(TypeError, match="exactly one"):
        C.effective_relative_bias(1.0)


def test_retrieval_accuracy_matches_argmax_and_robustness_guarantee(backend):
    U, V = _rand_pair(2, (15, 6))
    u2v, v2u = C.retrieval_accuracy(backend.asarray(U), backend.asarray(V))
    S = U @ V.T
    assert float(u2v) == pytest.approx(np.mean(np.argmax(S, axis=1) == np.arange(15)))
    assert float(v2u) == pytest.approx(np.mean(np.argmax(S, axis=0) == np.arange(15)))
    c = C.from_code(C.cross_polytope(6, backend=backend).X, 0.2, 0.1)
    Sc = _host(backend, c.U) @ _host(backend, c.V).T
    rng = np.random.default_rng(3)
    eps = 0.999 * c.m_star
    assert bool(C.retrieval_is_robust(c.U, c.V, eps)) and not bool(C.retrieval_is_robust(c.U, c.V, c.m_star * 1.001))
    for _ in range(50):  # any score error below m* keeps every partner on top (Cor. 1)
        noisy = Sc + rng.uniform(-eps, eps, Sc.shape)
        assert np.all(np.argmax(noisy, axis=1) == np.arange(Sc.shape[0]))


def test_certified_constellation_thm31():
    c = C.from_code(C.cross_polytope(4, backend=NP).X, 0.25, 0.1)
    t, b = 40.0, 40.0 * 0.1
    L = float(sigmoid_loss(c.U, c.V, t, b, reduction="sum"))
    m_cert, b_cert = C.certified_constellation(L, t, b)
    assert 0 < m_cert <= c.m_star
    assert bool(C.is_constellation(c.U, c.V, m_cert, b_cert, atol=1e-12))
    with pytest.raises(ValueError, match="log 2"):
        C.certified_constellation(0.8, t, b)


def test_batch_retrieval_fraction_prop1():
    assert C.batch_retrieval_fraction(0.01, 100, 20, careful=False) == pytest.approx(1 - 100 * 0.01 / 380)
    assert C.batch_retrieval_fraction(0.01, 100, 20) == pytest.approx(1 - 100 * 0.01 / 380 / math.log(2))
    with pytest.raises(ValueError, match="sqrt"):
        C.batch_retrieval_fraction(0.01, 100, 5)


@pytest.mark.parametrize("bad", ["shape", "nan", "int", "one"])
def test_metrics_bad_input(bad):
    U, V = _rand_pair(4, (6, 3))
    with pytest.raises(ValueError, match="form"):
        C.margin(U, V, form="median")
    if bad == "shape":
        with pytest.raises(ValueError, match="same shape"):
            C.margin(U, V[:5])
    elif bad == "nan":
        V[0, 0] = np.nan
        with pytest.raises(ValueError, match="finite"):
            C.margin(U, V)
    elif bad == "int":
        with pytest.raises(TypeError, match="floating"):
            C.margin(np.ones((3, 2), dtype=np.int64), np.ones((3, 2), dtype=np.int64))
    else:
        with pytest.raises(ValueError, match="N >= 2"):
            C.margin(U[:1], V[:1])


# ------------------------------------------------------------------------------------ losses (G1, G2, G16)


def test_g1_g2_loss_values():
    I3 = np.eye(3)
    assert float(sigmoid_loss(I3, I3, 10.0, 5.0, reduction="sum")) == pytest.approx(0.0604381364, rel=1e-9)
    U, V = _rand_pair(5, (8, 4))
    assert float(sigmoid_loss(U, V, 7.0, b_rel=0.3, reduction="sum")) == pytest.approx(
        float(sigmoid_loss(U, V, 7.0, 7.0 * 0.3, reduction="sum")), rel=1e-14)


@pytest.mark.parametrize("t,lo,mid,hi", [(5, 1.730e-1, 22.56, 56.05), (20, 1.272e-3, 0.1830, 0.4121),
                                         (50, 5.778e-8, 8.320e-6, 1.872e-5), (100, 3.338e-15, 4.807e-13, 1.082e-12)])
def test_thm32_sandwich_cross_polytope(t, lo, mid, hi):
    c = C.from_code(C.cross_polytope(9, backend=NP).X, 1 / 3, 0.0)
    assert (c.m_star, c.b_star) == pytest.approx((1 / 3, 0.0), abs=1e-12)
    res = optimize.minimize_scalar(lambda b: float(sigmoid_loss(c.U, c.V, float(t), b, reduction="sum")),
                                   bounds=(-t, t), method="bounded", options={"xatol": 1e-10})
    low = math.log1p(math.exp(-t * c.m_star))
    assert low == pytest.approx(lo, rel=2e-3)
    assert 18**2 * low == pytest.approx(hi, rel=2e-3)
    assert low <= res.fun <= 18**2 * low
    assert res.fun == pytest.approx(mid, rel=2e-3)


# ------------------------------------------------------------------------------------ region (G3, G4)


def test_region_g3_g4():
    assert C.simplex_point(4) == pytest.approx((2 / 3, 1 / 3))
    S = C.regular_simplex(4, backend=NP).X
    assert C.margin_and_bias(S, S) == pytest.approx((2 / 3, 1 / 3), abs=1e-14)
    m, b = C.simplex_point(7)
    assert m + b == pytest.approx(1) and (3 - 4 / 7) * m == pytest.approx(1 + b)  # equality in both parts of (5)
    assert [C.max_pairs(0.5, 0.0), C.max_pairs(0.4, 0.0), C.max_pairs(0.5, 0.25)] == [4, 8, 8]
    assert C.n_cap(0.2, 0.0) == math.inf and C.n_cap(0.3, 0.9) == 0.0
    assert C.in_feasible_region(0.1, 0.0) and not C.in_feasible_region(0.4, 0.0)
    assert C.in_feasible_region(0.4, 0.0, N=8) and not C.in_feasible_region(0.4, 0.0, N=9)
    assert C.in_modality_gap_region(0.2, 0.1) and not C.in_modality_gap_region(0.1, 0.2)
    assert C.bias_interval(0.2) == pytest.approx((-0.4, 0.8))
    got = C.in_feasible_region(np.array([0.1, 0.4]), np.array([0.0, 0.0]))
    assert got.tolist() == [True, False]


@settings(max_examples=60, deadline=None)
@given(m=st.floats(0.0, 1.0), b=st.floats(-1.0, 1.0), N=st.integers(2, 60))
@example(m=3.380629081570878e-51, b=-1.0, N=2)  # cap 4/3: 3m - 1 - b rounded to 0 and gave inf
def test_region_cap_consistent_with_inequality_5(m, b, N):
    cap = C.n_cap(m, b)
    if m + b > 1:
        assert cap == 0 and not C.in_feasible_region(m, b, N=N)
    elif abs(N - cap) > 1e-9 * N:
        assert C.in_feasible_region(m, b, N=N) == (cap > N)


@pytest.mark.parametrize("m,b,match", [(-0.1, 0.0, "m must"), (0.1, 1.5, "b_rel"), (float("nan"), 0.0, "finite")])
def test_region_bad_input(m, b, match):
    with pytest.raises(ValueError, match=match):
        C.in_feasible_region(m, b)


def test_plot_region_draws(tmp_path):
    ax = C.plot_region(points={"pts": ([0.1, 0.2], [0.0, 0.3])})
    ax.figure.savefig(tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 1000


# ------------------------------------------------------------------------------------ codes


def _host_alpha(X):
    G = X @ X.T
    np.fill_diagonal(G, -np.inf)
    return G.max()


def test_codes_have_their_alpha(backend):
    for code, n_pts, alpha in [(C.regular_simplex(6, backend=backend), 6, -0.2), (C.cross_polytope(5, backend=backend), 10, 0.0),
                               (C.hypercube(5, backend=backend), 32, 0.6)]:
        X = _host(backend, code.X)
        assert X.shape[0] == n_pts and code.alpha == pytest.approx(alpha)
        np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-14)
        assert _host_alpha(X) == pytest.approx(alpha, abs=1e-14)
        assert float(C.max_inner_product(code.X)) == pytest.approx(alpha, abs=1e-14)
    S = _host(backend, C.regular_simplex(5, dim=7, backend=backend).X)
    assert S.shape == (5, 7) and np.allclose(S @ S.T, np.where(np.eye(5) > 0, 1.0, -0.25), atol=1e-14)


@pytest.mark.parametrize("G,n,dmin", [(C.extended_hamming_generator(3), 8, 4), (C.extended_hamming_generator(4), 16, 4),
                                      (C.reed_muller_generator(1, 4), 16, 8), (C.reed_muller_generator(2, 4), 16, 4)])
def test_binary_codes_minimum_distance(G, n, dmin):
    code = C.binary_code(G, backend=NP)
    words = (1 - np.sqrt(n) * code.X) / 2
    dists = [int(np.sum(words[i] != words[j])) for i, j in itertools.combinations(range(min(len(words), 128)), 2)]
    assert min(dists) == dmin
    assert code.alpha == pytest.approx(1 - 2 * dmin / n)
    assert _host_alpha(code.X) == pytest.approx(code.alpha, abs=1e-14)


def test_random_and_greedy_codes():
    r = C.random_code(30, 6, seed=1, backend=NP)
    assert r.X.shape == (30, 6) and r.alpha == pytest.approx(_host_alpha(r.X))
    g = C.greedy_code(6, 0.3, candidates=3000, seed=2, backend=NP)
    assert g.alpha <= 0.3 and g.alpha == pytest.approx(_host_alpha(g.X)) and g.X.shape[0] >= 6
    with pytest.raises(ValueError, match="alpha"):
        C.greedy_code(3, 1.5)
    with pytest.raises(ValueError, match="GF"):
        C.binary_code(np.array([[1, 0, 1], [1, 0, 1]]))


# ------------------------------------------------------------------------------------ constructions


@pytest.mark.parametrize("target", [(1 / 3, 0.0), (0.4333333333333333, 0.3), (0.23333333333333334, -0.3)])
def test_g13_cross_polytope_recipe(backend, target):
    c = C.from_code(C.cross_polytope(9, backend=backend).X, *target)
    assert tuple(c.U.shape) == (18, 10)
    assert abs(c.m_star - target[0]) < 1e-12 and abs(c.b_star - target[1]) < 1e-12
    if target == (1 / 3, 0.0):
        S = _host(backend, c.U) @ _host(backend, c.V).T
        off = S[~np.eye(18, dtype=bool)]
        assert np.all(np.isclose(off, -1 / 3, atol=1e-12) | np.isclose(off, -1.0, atol=1e-12))


def test_g14_hypercube_and_simplex_recipe(backend):
    c = C.from_code(C.hypercube(9, backend=backend).X, 1 / 17, 0.0)
    assert tuple(c.U.shape) == (512, 10) and abs(c.m_star - 1 / 17) < 1e-12 and abs(c.b_star) < 1e-12
    for b, want_m in [(0.3, 0.0764706), (-0.3, 0.0411765)]:  # Thm 3.3 recipe; inverse form m = (1+b)(1-a)/(3+a)
        m = (1 + b) * (2 / 9) / (3 + 7 / 9)
        assert m == pytest.approx(want_m, abs=1e-7)
        c = C.from_code(C.hypercube(9, backend=backend).X, m, b)
        assert abs(c.m_star - m) < 1e-12 and abs(c.b_star - b) < 1e-12
        c = C.from_code(C.hypercube(9, backend=backend).X, 0.9 * m, b, exact=True)  # sparser than needed: phi > 0
        assert tuple(c.U.shape) == (512, 11) and abs(c.m_star - 0.9 * m) < 1e-12 and abs(c.b_star - b) < 1e-12
    S = C.regular_simplex(10, backend=backend).X
    assert C.from_code(S, 5 / 13, 0.0).m_star == pytest.approx(0.384615, abs=1e-6)
    assert C.from_code(S, 0.5, 0.3).m_star == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize("delta,phi,want", [(0.9, 0.3, (0.135, 0.665)), (0.8, 0.0, (0.106667, 0.173333)),
                                            (0.6, 0.5, (0.06, 0.16))])
def test_construction1_hypercube6(backend, delta, phi, want):
    H = C.hypercube(6, backend=backend).X
    c = C.construction1(H, H, delta, phi)
    m0, b0 = 1 / 6, 5 / 6
    assert abs(c.m_star - delta**2 * m0) < 1e-12
    assert abs(c.b_star - (delta**2 * b0 + phi**2 - (1 - delta**2 - phi**2))) < 1e-12
    assert (c.m_star, c.b_star) == pytest.approx(want, abs=1e-6)
    assert float(C.xi(c.U, c.V)) == pytest.approx(0.0, abs=1e-12)  # G19


@pytest.mark.parametrize("k,b_rel", [(2, 0.188571), (3, 0.368571), (4, 0.428571), (6, 0.476571)])
def test_g15_construction2(backend, k, b_rel):
    c = C.construction2(C.hypercube(7, backend=backend).X, k, 0.8)
    assert tuple(c.X.shape) == (k, 128, 7 + k - 1)
    assert c.m == pytest.approx(0.0914286, abs=1e-7) and c.b_rel == pytest.approx(b_rel, abs=1e-6)
    X = _host(backend, c.X)
    for j1, j2 in itertools.combinations(range(k), 2):
        pos, neg = _brute(X[j1], X[j2])
        assert abs((pos.min() - neg.max()) / 2 - c.m) < 1e-12 and abs((pos.min() + neg.max()) / 2 - c.b_rel) < 1e-12
        assert float(C.xi(c.X[j1, ...], c.X[j2, ...])) == pytest.approx(0.0, abs=1e-12)


def test_observations_1_2_identities(backend):
    U, V = _rand_pair(6, (10, 5))
    Ub, Vb = backend.asarray(U), backend.asarray(V)
    delta, t, b_rel = 0.7, 12.0, 0.35
    lhs = sigmoid_loss(C.adapter(Ub, delta, side="locked"), C.adapter(Vb, delta, side="train"), t, b_rel=b_rel, reduction="sum")
    t2, b2 = C.observation1_map(t, b_rel, delta)
    rhs = sigmoid_loss(Ub, Vb, t2, b_rel=b2, reduction="sum")
    assert float(lhs) == pytest.approx(float(rhs), rel=1e-12)
    assert C.observation1_inverse(*C.observation1_map(t, b_rel, delta), delta) == pytest.approx((t, b_rel), rel=1e-14)
    k = 3
    X = np.stack([_rand_pair(7 + j, (10, 5))[0] for j in range(k)])
    Xb = backend.asarray(X)
    adapted = np.stack([_host(backend, C.adapter(Xb[j, ...], delta, side="modality", k=k, j=j)) for j in range(k)])
    lhs = multimodal_loss(backend.asarray(adapted), t, b_rel=b_rel, reduction="sum")
    t3, b3 = C.observation2_map(t, b_rel, delta, k)
    rhs = multimodal_loss(Xb, t3, b_rel=b3, reduction="sum")
    assert float(lhs) == pytest.approx(float(rhs), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(m=st.floats(0.005, 0.6), b=st.floats(-0.99, 0.99), n=st.integers(2, 6))
def test_from_code_property(m, b, n):
    X = C.cross_polytope(n, backend=NP).X
    a = (1 + b - 3 * m) / (1 + b + m)
    if m + b > 1:
        with pytest.raises(ValueError, match="infeasible"):
            C.from_code(X, m, b)
    elif a < -1e-12:
        with pytest.raises(ValueError, match="alpha"):
            C.from_code(X, m, b)
    else:
        c = C.from_code(X, m, b, exact=True)
        assert abs(c.m_star - m) < 1e-12 and abs(c.b_star - b) < 1e-12
        assert bool(C.is_constellation(c.U, c.V, m, b, atol=1e-12))
        with pytest.raises(ValueError, match="too small"):
            C.from_code(X, m, b, d=n, exact=True)


def test_construction_errors():
    H = C.hypercube(4, backend=NP).X
    with pytest.raises(ValueError, match="delta"):
        C.construction1(H, H, 1.2)
    with pytest.raises(ValueError, match="<= 1"):
        C.construction1(H, H, 0.9, 0.9)
    with pytest.raises(ValueError, match="not a constellation"):
        C.construction1(H, -H, 0.5)
    with pytest.raises(ValueError, match="unit"):
        C.from_code(2 * H, 0.1, 0.0)
    with pytest.raises(ValueError, match="k"):
        C.construction2(H, 1, 0.5)
    with pytest.raises(ValueError, match="d must"):
        C.construction3(2)


@pytest.mark.parametrize("d", [3, 5, 8])
def test_construction3_tightness(backend, d):
    """(24) holds, Thm 3.6's h exists, and no admissible h puts any of V_1..V_{d-1} on the negative side."""
    c = C.construction3(d, backend=backend)
    U, V = _host(backend, c.U), _host(backend, c.V)
    n = U.shape[0]
    assert n >= d + 2 and bool(C.sign_pattern_holds(c.U, c.V))
    sep = C.min_norm_separator(c.U, c.V)
    assert sep.holds and sep.n_negative >= n - d and sep.support.size <= d
    for j in range(d - 1):  # LP: <h, U_i> >= 1 for all i and <h, V_j> <= -1 is infeasible
        A = np.concatenate([-U, V[j:j + 1]])
        res = optimize.linprog(np.zeros(d), A_ub=A, b_ub=np.concatenate([-np.ones(n), [-1.0]]), bounds=[(None, None)] * d,
                               method="highs")
        assert res.status == 2
