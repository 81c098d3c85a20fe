"""``sigref analyze`` and sigref.constellations.analyze on constructed and random paired embeddings."""

from __future__ import annotations

import math

import numpy as np
import pytest

import sigref.constellations as C
from sigref.backend import get_backend
from sigref.cli import main
from sigref.constellations.analyze import analyze, check_pair, format_report
from sigref.losses import sigmoid_loss

NP = get_backend("numpy")


def _constellation():
    c = C.from_code(C.hypercube(4, backend=NP).X, 0.1, 0.2)  # alpha_X = 1/2 <= alpha(0.1, 0.2) = 0.692
    return np.asarray(c.U), np.asarray(c.V), c


def test_report_numbers_match_independent_computation(backend):
    U, V, c = _constellation()
    rep = analyze(U, V, t=80.0, b=11.0, backend=backend)
    S = U @ V.T
    off = S[~np.eye(16, dtype=bool)]
    assert rep["m_minmax"] == pytest.approx((np.diag(S).min() - off.max()) / 2, abs=1e-12)
    assert rep["b_rel_minmax"] == pytest.approx((np.diag(S).min() + off.max()) / 2, abs=1e-12)
    assert rep["m_percentile"] == pytest.approx((np.percentile(np.diag(S), 5) - np.percentile(off, 95)) / 2, abs=1e-12)
    assert rep["b_rel_mean"] == pytest.approx((np.diag(S).mean() + off.mean()) / 2, abs=1e-12)
    assert rep["xi"] == pytest.approx(0.0, abs=1e-12)
    z = 80.0 * S - 11.0
    want = np.sum(np.log1p(np.exp(-np.diag(z)))) + np.sum(np.log1p(np.exp(z[~np.eye(16, dtype=bool)])))
    assert rep["loss_sum"] == pytest.approx(want, rel=1e-12)
    assert rep["loss_mean"] == pytest.approx(want / 256, rel=1e-12)
    assert rep["separable"]
    assert rep["sign_pattern_24"] == bool(np.all(np.diag(S) > 0) and np.all(off < 0))
    assert rep["retrieval_u2v"] == 1.0 and rep["retrieval_tolerance"] == pytest.approx(c.m_star)
    assert rep["region"]["in_asymptotic_region"] and rep["region"]["alpha"] == pytest.approx(C.alpha(c.m_star, c.b_star))
    assert rep["region"]["log_N_lower_d"] <= rep["region"]["log_N_upper_d"]
    m_cert, _ = C.certified_constellation(rep["loss_sum"], 80.0, 11.0)
    assert rep["certified_m"] == pytest.approx(m_cert)
    text = format_report(rep)
    assert "m* =" in text and "separable" in text


def test_random_embeddings_are_not_constellations():
    rng = np.random.default_rng(0)
    U = rng.standard_normal((30, 5))
    V = rng.standard_normal((30, 5))
    rep = analyze(U, V, normalize=True)
    assert rep["m_minmax"] < 0 and not rep["is_constellation"]
    assert "not a constellation" in rep["region"]["where"]
    assert "t" not in rep


def test_b_rel_option_equals_bias():
    U, V, _ = _constellation()
    r1 = analyze(U, V, t=20.0, b_rel=0.25)
    assert r1["loss_sum"] == pytest.approx(float(sigmoid_loss(U, V, 20.0, 5.0, reduction="sum")), rel=1e-13)


@pytest.mark.parametrize("case,err,match", [
    ("unpaired", ValueError, "same shape"), ("nonunit", ValueError, "--normalize"), ("nan", ValueError, "NaN"),
    ("1d", ValueError, "2-D"), ("zero", ValueError, "zero row"), ("str", TypeError, "real numbers"),
])
def test_bad_input_messages(case, err, match):
    U, V, _ = _constellation()
    if case == "unpaired":
        V = V[:-1]
    elif case == "nonunit":
        V = 3 * V
    elif case == "nan":
        U = U.copy()
        U[2, 1] = np.nan
    elif case == "1d":
        U = U[0]
    elif case == "zero":
        U = U.copy()
        U[0] = 0
    elif case == "str":
        U = np.array([["a", "b"], ["c", "d"]])
    with pytest.raises(err, match=match):
        check_pair(U, V, normalize=case == "zero")
    with pytest.raises(ValueError, match="t as well"):
        analyze(*_constellation()[:2], b=1.0)


def test_cli_analyze(tmp_path, capsys):
    U, V, c = _constellation()
    np.save(tmp_path / "U.npy", U)
    np.save(tmp_path / "V.npy", V)
    np.save(tmp_path / "V_big.npy", 2 * V)
    assert main(["analyze", str(tmp_path / "U.npy"), str(tmp_path / "V.npy"), "--t", "40", "--b", "8"]) == 0
    out = capsys.readouterr().out
    assert f"{c.m_star:.6g}" in out and "N^2-mean" in out
    assert main(["analyze", str(tmp_path / "U.npy"), str(tmp_path / "V_big.npy")]) == 2
    assert "--normalize" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "U.npy"), str(tmp_path / "V_big.npy"), "--normalize"]) == 0
    assert main(["analyze", str(tmp_path / "U.npy"), str(tmp_path / "missing.npy")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert math.isfinite(c.m_star)
