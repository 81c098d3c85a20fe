"""The arXiv 2509.18552 experiments: the training step's parameterisations (finite differences), batching,
quick reproduction, and the bands of the committed full run."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from sigref.backend import get_backend
from sigref.experiments import bangachev2025 as E
from sigref.losses import multimodal_loss
from sigref.sampling import uniform_sphere

REF = Path(__file__).resolve().parents[2] / "reference_results" / "bangachev2025"


def _X(k=2, R=1, n=8, d=4, seed=0):
    return np.stack([np.broadcast_to(uniform_sphere(seed + j, (n, d)), (R, n, d)) for j in range(k)])


@pytest.mark.parametrize("param", ["bias", "rel"])
def test_first_adam_step_follows_finite_difference_gradient(backend, param):
    """Adam's first step moves every parameter by -lr * sign(gradient): compare with central differences of the loss
    in the run's own coordinates (log t, b) or (log t, b_rel)."""
    X = _X()
    t0, b0 = 7.0, 0.3 if param == "rel" else 2.0
    res = E.train(X, [E.RunSpec("r", param, t0, b0)], backend=backend, steps=1, lr=1e-3)

    def loss(log_t, theta):
        t = np.exp(log_t)
        b = t * theta if param == "rel" else theta
        return float(multimodal_loss(X, np.array([t]), np.array([b]), reduction="mean", edge_reduction="mean")[0])

    h = 1e-6
    g_logt = (loss(np.log(t0) + h, b0) - loss(np.log(t0) - h, b0)) / (2 * h)
    g_theta = (loss(np.log(t0), b0 + h) - loss(np.log(t0), b0 - h)) / (2 * h)
    assert res.loss[0, 0] == pytest.approx(loss(np.log(t0), b0), rel=1e-12)
    # after one Adam step each scalar moved by lr * sign(g) (up to eps): recover the sign from t and b/t
    t1 = float(np.exp(np.log(t0) - 1e-3 * np.sign(g_logt)))
    b1 = b0 - 1e-3 * np.sign(g_theta)
    again = E.train(X, [E.RunSpec("r", param, t0, b0)], backend=backend, steps=2, lr=1e-3)
    assert again.t[1, 0] == pytest.approx(t1, rel=1e-9)
    assert again.b_over_t[1, 0] == pytest.approx(b1 if param == "rel" else b1 / t1, rel=1e-9)


def test_frozen_parameters_and_locked_modality_do_not_move(backend):
    X = _X(R=2)
    specs = [E.RunSpec("fixed", "fixed", 15.0, 1.0), E.RunSpec("frozen b_rel", "rel_fixed", 10.0, 0.4)]
    res = E.train(X, specs, backend=backend, steps=5, locked=1)
    assert np.all(res.t[:, 0] == 15.0) and np.allclose(res.b_over_t[:, 0], 1.0 / 15.0, rtol=1e-15)
    assert np.allclose(res.b_over_t[:, 1], 0.4, rtol=1e-15) and res.t[-1, 1] != 10.0
    assert np.array_equal(res.X[0], X[0])
    assert not np.allclose(res.X[1], X[1])
    np.testing.assert_allclose(np.linalg.norm(res.X, axis=-1), 1.0, atol=1e-14)


def test_batched_runs_equal_separate_runs(backend):
    X = _X(R=2, seed=3)
    specs = [E.RunSpec("a", "bias", 10.0, -1.0), E.RunSpec("b", "rel", 12.0, 0.2)]
    both = E.train(X, specs, backend=backend, steps=15)
    for r in range(2):
        one = E.train(X[:, r:r + 1], specs[r:r + 1], backend=backend, steps=15)
        np.testing.assert_allclose(both.X[:, r], one.X[:, 0], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(both.loss[:, r], one.loss[:, 0], rtol=1e-12)


def test_train_rejects_bad_specs(backend):
    with pytest.raises(ValueError, match="param"):
        E.RunSpec("x", "temperature")
    with pytest.raises(ValueError, match="one RunSpec per run"):
        E.train(_X(R=2), [E.RunSpec("a", "bias")], backend=backend, steps=1)


def test_quick_reproduction_writes_everything(tmp_path):
    summary = E.reproduce(tmp_path, quick=True, backend=get_backend("numpy"), progress=False)
    assert summary.exists() and "E5" in summary.read_text()
    for name in ("e1_loss.png", "e1_hist.png", "e2_loss.png", "e3_drift.png", "e4_margin_vs_brel.png", "region.png",
                 "xi.png", "e1_locked.csv", "e4_fixed_brel.csv", "e5_modality_gap.csv"):
        assert (tmp_path / name).stat().st_size > 100, name
    rows = list(csv.DictReader((tmp_path / "e4_fixed_brel.csv").open()))
    for row in rows:  # the CSV's halved and unhalved margins agree with each other and with m* <= 1
        assert float(row["margin_unhalved"]) == pytest.approx(2 * float(row["m_star"]), rel=1e-4, abs=1e-6)


def _rows(name):
    path = REF / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `sigref reproduce bangachev2025 --out reference_results`")
    return {r["run"]: r for r in csv.DictReader(path.open())}


def test_committed_full_run_e1_bands():
    """Loose regression bands for the 10k-step locked-U runs (the full run is too slow for the suite; its CSV is committed).

    The bias-run margin and the fixed t = 10 floor depend on the random U (NumPy seed here, torch seed in the
    notebooks): the floor is checked against its own independent optimum instead of the notebook's 0.8238."""
    rows = _rows("e1_locked.csv")
    rel = rows["trainable (t, b_rel)"]
    assert float(rel["b_over_t"]) == pytest.approx(0.75, abs=0.02)
    assert float(rel["m_star"]) == pytest.approx(0.125, abs=0.01)
    assert float(rel["loss_mean"]) < 1e-4
    bias = rows["trainable (t, b)"]
    assert float(bias["b_over_t"]) == pytest.approx(0.70, abs=0.03)
    assert float(bias["m_star"]) == pytest.approx(0.12, abs=0.02)
    assert 1e-5 < float(bias["loss_mean"]) < 1e-2
    assert float(rel["m_star"]) > float(bias["m_star"])  # the relative-bias parameterisation ends with the larger margin
    fixed = float(rows["fixed t=10, b=0"]["loss_mean"])
    U = uniform_sphere(E.SEED_U, (E.N_PAIRS, E.DIM))
    assert fixed == pytest.approx(E.locked_fixed_optimum(U, 10.0), rel=2e-3)
    assert 0.8 < fixed < 1.05  # the spread of that optimum over U seeds (0.82 - 1.03)


def test_committed_full_run_fixed_brel_zero():
    """Both trainable, fixed b_rel = 0: m* ~ 0.16, xi < 1e-3, homogeneously separable (regression band)."""
    row = _rows("e4_fixed_brel.csv")["b_rel=0"]
    assert float(row["m_star"]) == pytest.approx(0.16, abs=0.02)
    assert float(row["xi"]) < 1e-3
    assert _rows("e5_modality_gap.csv")["b_rel=0"]["lp_separable"] == "True"


def test_committed_full_run_e3_bias_drift():
    """arXiv 2509.18552 App. D.4, as an independent replica found it: the bias parameterisation drifts to b/t ~ 0
    for b_0 <= 0 but not for b_0 = +10; relative-bias runs keep a large threshold and, for b_0 <= 0, a larger margin."""
    rows = _rows("e3_drift.csv")
    for b0 in ("-10", "-5", "0"):
        assert abs(float(rows[f"bias b0={b0}"]["b_over_t"])) < 0.15
        assert float(rows[f"rel b_rel0={int(b0) / 10:g}"]["m_star"]) > float(rows[f"bias b0={b0}"]["m_star"])
    assert float(rows["bias b0=10"]["b_over_t"]) == pytest.approx(0.70, abs=0.03)
    for row in rows.values():
        assert float(row["xi"]) < 1e-3  # xi -> 0 when both modalities train (an independent replica: 1e-5 to 3e-4)
