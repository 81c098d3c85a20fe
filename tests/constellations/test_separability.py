"""Separability checks at scale (sigref.constellations.separability) against the dense LP and NNLS of
sigref.constellations.gap, and the soundness of every certificate they return (Thm 3.6, arXiv 2509.18552)."""

from __future__ import annotations

import numpy as np
import pytest

from sigref.constellations import gap
from sigref.constellations.separability import gap_direction, homogeneous_separation


def _gap_pair(n: int, d: int, shift: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit rows pushed apart along e_1 (a modality gap of size ``shift``; 0: none)."""
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((n, d))
    V = rng.standard_normal((n, d))
    U[:, 0] += shift * 8
    V[:, 0] -= shift * 8
    return U / np.linalg.norm(U, axis=1, keepdims=True), V / np.linalg.norm(V, axis=1, keepdims=True)


@pytest.mark.parametrize("shift", [0.6, 0.45, 0.0])
def test_separation_matches_dense_lp(backend, shift):
    Uh, Vh = _gap_pair(1500, 12, shift, seed=1)
    dense = gap.linear_separation(Uh, Vh)
    _, s_dense, _ = gap.separation_lp(Uh, Vh)
    got = homogeneous_separation(backend.asarray(Uh), backend.asarray(Vh), batch=40)
    assert got.separable == dense.separable and got.optimal
    assert got.lp_value == pytest.approx(s_dense, abs=1e-7)  # one LP, solved on a working set
    if got.separable:
        h = got.h
        assert got.margin == pytest.approx(min((Uh @ h).min(), -(Vh @ h).max()), abs=1e-12) and got.margin > 0
        assert got.working_set < 2 * 1500 and got.farkas_residual is None
    else:
        assert got.farkas_residual < 1e-9 and got.h is None
    assert "HiGHS" in got.method


def test_separation_certificate_under_a_spent_budget():
    """With no time left after the first round the answer is a verified certificate or 'undecided' with the reason."""
    Uh, Vh = _gap_pair(4000, 24, 0.4, seed=2)
    got = homogeneous_separation(Uh, Vh, time_budget_s=0.0, batch=8)
    assert got.rounds == 1
    if got.separable is None:
        assert "time budget" in got.reason and got.certificate == "none"
    elif got.separable:
        assert min((Uh @ got.h).min(), -(Vh @ got.h).max()) == pytest.approx(got.margin) and got.margin > 0
        assert not got.optimal and "time budget" in got.reason
    else:  # a subset that cannot be separated proves it for all rows
        assert got.farkas_residual < 1e-9
    assert gap.linear_separation(Uh, Vh).separable or got.separable is not True


@pytest.mark.parametrize("shift", [0.6, 0.3, 0.0])
def test_gap_direction_matches_dense_min_norm_point(backend, shift):
    Uh, Vh = _gap_pair(1200, 10, shift, seed=4)
    got = gap_direction(backend.asarray(Uh), backend.asarray(Vh), batch=30)
    try:
        dense = gap.min_norm_separator(Uh, Vh)
    except ValueError:
        dense = None
    if dense is None:
        assert got.exists is False and got.h is None and "conv" in got.certificate
        return
    assert got.exists and got.optimal
    assert got.min_u == pytest.approx(dense.min_u, abs=1e-9)
    assert got.n_negative == dense.n_negative and got.support == dense.support.size
    assert got.holds == dense.holds and got.guaranteed == 1200 - got.support
    np.testing.assert_allclose(got.h, dense.h, atol=1e-7)
    assert (Uh @ got.h).min() == pytest.approx(got.min_u, abs=1e-12)


def test_checks_reject_unpaired_input():
    Uh, Vh = _gap_pair(30, 3, 0.5)
    for fn in (homogeneous_separation, gap_direction):
        with pytest.raises(ValueError, match="one shape"):
            fn(Uh, Vh[:-1])
