"""Experiments of Lee, Chang & Sohn (arXiv 2402.12613): free-embedding PGD reaches the CCEM optimum,
the ReLU-MLP backprop matches torch autograd and finite differences, and the quick reproduction runs."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from sigref import ccem
from sigref.experiments import lee2024


def _check_reaches_optimum(res, N, ts):
    opt = ccem.delta_star(N, np.array(ts))
    np.testing.assert_allclose(res["s"][0], opt.s, rtol=0, atol=1e-3)
    np.testing.assert_allclose(res["loss"][0], opt.loss, rtol=1e-6)
    # the optimum has one constant negative similarity c* (a CCEM)
    np.testing.assert_allclose(res["neg_mean"][0], opt.c, atol=1e-3)
    assert res["neg_std"][0].max() < 1e-3


def test_free_embeddings_reach_the_ccem_optimum(backend):
    """d = N: PGD lands on the CCEM optimum (s within 1e-3, loss within 1e-6 relative);
    antipodal, interior and ETF points of N = 6 (T_anti = 0.347, T_etf = 0.916)."""
    ts = [0.2, 0.6, 1.5]
    _check_reaches_optimum(lee2024.free_embeddings(6, ts, (6,), steps=600, backend=backend), 6, ts)


@pytest.mark.parametrize("N, ts", [(8, [0.3, 0.9, 1.1, 2.0]), (12, [0.5, 1.5, 2.0, 3.0])])
def test_free_embeddings_reach_the_ccem_optimum_larger_N(N, ts):
    _check_reaches_optimum(lee2024.free_embeddings(N, ts, (N,), steps=1000), N, ts)


def test_padded_panel_equals_the_small_dimension_run(backend):
    """Zero-padding the d = N/2 panel to d = N changes nothing: zero columns get zero gradient."""
    ts = [0.4, 1.2, 3.0]
    both = lee2024.free_embeddings(8, ts, (8, 4), steps=40, backend=backend)
    alone = lee2024.free_embeddings(8, ts, (4,), steps=40, backend=backend)
    np.testing.assert_allclose(both["U"][1][..., :4], alone["U"][0], atol=1e-12)
    assert np.all(both["U"][1][..., 4:] == 0) and np.all(both["V"][1][..., 4:] == 0)
    np.testing.assert_allclose(both["s"][1], alone["s"][0], atol=1e-12)


def test_free_embeddings_stay_above_the_ccem_bound_for_small_d():
    ts = np.array([0.3, 1.0, 2.5])
    res = lee2024.free_embeddings(12, ts, (6,), steps=150)
    assert np.all(res["loss"][0] >= ccem.delta_star(12, ts).loss - 1e-12)


def test_infonce_free_embeddings_reach_the_etf():
    ts = np.array([0.5, 1.0, 3.0])
    res = lee2024.free_embeddings(6, ts, (6,), steps=400, loss="infonce")
    assert res["s"][0].min() > 0.999
    np.testing.assert_allclose(res["loss"][0], ccem.infonce_etf_loss(6, ts), rtol=1e-4)


def _mlp_problem(d=5, N=5, T=2, seed=3):
    rng = np.random.default_rng(seed)
    params = {k: np.broadcast_to(v, (T, *v.shape)).copy() for k, v in lee2024.mlp_init(d, seed=rng).items()}
    params = {k: v + 0.05 * rng.standard_normal(v.shape) for k, v in params.items()}  # distinct per run
    X, Y = rng.standard_normal((N, 2 * d)), rng.standard_normal((N, 2 * d))
    t = np.array([0.7, 2.5])[:T]
    b = np.array([0.3, 2.0])[:T]
    return params, X, Y, t, b


def test_mlp_backprop_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    params, X, Y, t, b = _mlp_problem()
    value, grads = lee2024.mlp_loss_and_grad(params, X, Y, t, b)
    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}

    def embed(Z):
        h = torch.relu(torch.tensor(Z) @ P["W1"].transpose(-1, -2) + P["b1"][:, None, :])
        z = torch.relu(h @ P["W2"].transpose(-1, -2) + P["b2"][:, None, :])
        return torch.nn.functional.normalize(z, dim=-1)

    U, V = embed(X), embed(Y)
    tt, bb = torch.tensor(t)[:, None, None], torch.tensor(b)[:, None, None]
    z = tt * U @ V.transpose(-1, -2) - bb
    n = z.shape[-1]
    sign = 1.0 - 2.0 * torch.eye(n, dtype=z.dtype)
    loss = torch.nn.functional.softplus(sign * z).sum(dim=(-2, -1)) / n
    loss.sum().backward()
    np.testing.assert_allclose(value, loss.detach().numpy(), rtol=1e-13)
    for k in params:
        np.testing.assert_allclose(grads[k], P[k].grad.numpy(), rtol=1e-10, atol=1e-13, err_msg=k)


def test_mlp_backprop_matches_finite_differences(backend):
    params, X, Y, t, b = _mlp_problem(d=4, N=4, T=2, seed=7)
    dev = {k: backend.asarray(v) for k, v in params.items()}
    Xb, Yb, tb, bb = (backend.asarray(a) for a in (X, Y, t, b))
    _, grads = lee2024.mlp_loss_and_grad(dev, Xb, Yb, tb, bb)
    rng = np.random.default_rng(0)
    h = 1e-6
    for k in params:
        direction = rng.standard_normal(params[k].shape)
        plus = {**dev, k: backend.asarray(params[k] + h * direction)}
        minus = {**dev, k: backend.asarray(params[k] - h * direction)}
        fd = (backend.to_numpy(lee2024.mlp_loss_and_grad(plus, Xb, Yb, tb, bb)[0])
              - backend.to_numpy(lee2024.mlp_loss_and_grad(minus, Xb, Yb, tb, bb)[0])) / (2 * h)
        g = backend.to_numpy(grads[k])
        analytic = np.sum((g * direction).reshape(2, -1), axis=-1)
        np.testing.assert_allclose(analytic, fd, rtol=1e-6, atol=1e-9, err_msg=k)


def test_relu_encoder_cannot_go_below_zero_cosine():
    res = lee2024.mlp_train(6, [0.2, 3.0], steps=30)
    assert res["min_cos"].min() >= 0.0
    assert np.all(res["s"] >= 0.5)


def test_bad_experiment_input():
    with pytest.raises(ValueError, match="loss must be"):
        lee2024.free_embeddings(6, [1.0], (6,), steps=1, loss="hinge")
    with pytest.raises(ValueError, match="dims must be"):
        lee2024.free_embeddings(6, [1.0], (), steps=1)


def test_quick_reproduction_writes_everything(tmp_path):
    summary = lee2024.reproduce(tmp_path, quick=True, progress=False)
    for name in ("fig2_free_embeddings.png", "fig3_relu_mlp.png", "infonce_free_embeddings.png", "phase_diagram.png",
                 "lee2024_grid.csv", "critical_batch_sizes.csv", "summary.md"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert summary == tmp_path / "summary.md"
    with open(tmp_path / "lee2024_grid.csv") as f:
        rows = list(csv.DictReader(f))
    grid = lee2024.QUICK
    per = len(grid.Ns) * len(grid.ts)
    kinds = {r["experiment"] for r in rows}
    assert kinds == {"fig2_dN", "fig2_dN2", "infonce_free", "fig3_mlp"} and len(rows) == 4 * per
    # the CSV's theory column is the solver's, and deep in the antipodal regime PGD reaches s = 0
    for r in rows:
        if r["experiment"] == "fig2_dN":
            N, t = int(r["N"]), float(r["t"])
            assert float(r["s_star"]) == pytest.approx(float(ccem.delta_star(N, t).s), abs=1e-12)
            if t < float(ccem.antipodal_threshold(N)) - 0.3:
                assert float(r["s"]) < 1e-6
    with open(tmp_path / "critical_batch_sizes.csv") as f:
        crit = {float(r["t=b"]): r for r in csv.DictReader(f)}
    assert int(crit[10.0]["N_leave_etf"]) == int(ccem.critical_batch_sizes(10.0)[0])
    assert "max abs(s - s*)" in summary.read_text()
