"""The MSCL self-supervised path: objective, model, EMA, augmentation, trainer, probe, CLI errors.

Truths: an independent torch formula of the reference loss (labelled logits, logsigmoid,
focal factor) with torch autograd; the EMA update written out; an uninterrupted run for resume.
Everything is tiny (16 px synthetic images, ResNet width 4, 2-4 steps).
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sigref_torch.ssl import data as sdata
from sigref_torch.ssl.augment import MultiCrop, MultiCropConfig, view_sizes
from sigref_torch.ssl.model import MSCLModel, build_backbone
from sigref_torch.ssl.objective import Objective, ObjectiveConfig, pair_indices
from sigref_torch.ssl.train import TrainConfig, load_checkpoint, train

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _reference_objective(online, target, t, b, gamma, threshold=None):
    """Reference code's pairing and loss (``scl/scl.py::scl_loss`` and ``train.py`` of
    github.com/filipbasara0/sigmoid-contrastive-loss): mean over the 10 (target k, online o != k) pairs of
    -(1/n) sum_ij w_ij log sigmoid(Y_ij Z_ij), Z = t <x_o, x_t> + beta with beta = -b, w = (1 - sigmoid(YZ))^gamma."""
    total = 0.0
    pairs = [(k, o) for k in range(len(target)) for o in range(len(online)) if o != k]
    for k, o in pairs:
        u, v = F.normalize(online[o], dim=-1), F.normalize(target[k], dim=-1)
        z = t * u @ v.T + (-b)
        y = 2 * torch.eye(u.shape[0], dtype=u.dtype) - 1
        p = torch.sigmoid(y * z)
        w = (1 - p) ** gamma
        if threshold is None:
            total = total - (w * torch.log(p)).sum() / u.shape[0]
        else:
            keep = (y > 0) | (w > threshold)
            total = total - (torch.log(p) * keep).sum() / u.shape[0]
    return total / len(pairs)


def _views(seed=0, n=6, d=5, m=6, k=2):
    g = torch.Generator().manual_seed(seed)
    online = [torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(m)]
    target = [torch.randn(n, d, generator=g, dtype=torch.float64) for _ in range(k)]
    return online, target


def test_pairing_is_the_references_ten_pairs():
    pairs = pair_indices(2, 6)
    assert len(pairs) == 10 and (0, 0) not in pairs and (1, 1) not in pairs and (1, 0) in pairs


@pytest.mark.parametrize("gamma,threshold", [(0.0, None), (1.0, None), (0.5, None), (1.0, 0.05)])
def test_objective_matches_reference_formula_and_autograd(gamma, threshold):
    online, target = _views()
    t = torch.tensor(4.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    loss, stats = Objective(ObjectiveConfig())(online, target, t, b, gamma=gamma, filter_threshold=threshold)
    grads = torch.autograd.grad(loss, online + [t, b])
    ref = _reference_objective(online, target, t, b, gamma, threshold)
    ref_grads = torch.autograd.grad(ref, online + [t, b])
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-12)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-9, atol=1e-13)
    assert 0.0 < stats["kept"] <= 1.0


def test_gamma_zero_is_scl_exactly():
    online, target = _views(seed=3)
    t, b = torch.tensor(2.0, dtype=torch.float64), torch.tensor(-1.0, dtype=torch.float64)
    obj = Objective(ObjectiveConfig())
    mscl0, _ = obj(online, target, t, b, gamma=0.0)
    mscl1, _ = obj(online, target, t, b, gamma=1.0)
    scl = _reference_objective(online, target, t, b, 0.0)
    assert mscl0.item() == pytest.approx(scl.item(), rel=1e-14)
    assert mscl1.item() < mscl0.item()  # the penalty (1 - p)^gamma < 1 shrinks every term


def test_model_shapes_and_stems():
    model = MSCLModel("resnet18", stem="cifar", in_channels=1, width=4)
    assert model.feature_dim == 32
    views = [torch.randn(3, 1, 16, 16), torch.randn(3, 1, 16, 16), torch.randn(3, 1, 6, 6)]
    emb, t, b = model.online(views)
    assert [tuple(e.shape) for e in emb] == [(3, 64)] * 3
    assert tuple(model.embed_target(views[:2])[0].shape) == (3, 64)
    assert t.item() == pytest.approx(5.0) and b.item() == pytest.approx(5.0)  # MSCL init: log 5, beta = -5
    net, dim = build_backbone("resnet50", stem="imagenet", width=4)
    assert dim == 128 and tuple(net(torch.randn(2, 3, 32, 32)).shape) == (2, 128)
    net, dim = build_backbone("resnet18")  # torchvision's own network at width 64
    assert dim == 512 and sum(p.numel() for p in net.parameters()) == 11_176_512
    siglip = MSCLModel("resnet18", width=4, init="siglip", t_cap=None)
    assert siglip.online.temperature().item() == pytest.approx(10.0) and siglip.online.beta.item() == -10.0
    with pytest.raises(ValueError, match="arch"):
        build_backbone("vgg11")
    with pytest.raises(ValueError, match="stem"):
        build_backbone("resnet18", stem="tiny")


def test_temperature_cap_clamps_and_kills_gradient():
    model = MSCLModel("resnet18", width=4, t_cap=5.0)
    with torch.no_grad():
        model.online.log_t.fill_(math.log(8.0))
    t = model.online.temperature()
    t.backward()
    assert t.item() == 5.0 and model.online.log_t.grad.item() == 0.0
    free = MSCLModel("resnet18", width=4, t_cap=None)
    with torch.no_grad():
        free.online.log_t.fill_(math.log(8.0))
    assert free.online.temperature().item() == pytest.approx(8.0)


def test_ema_target_moves_and_t_b_get_gradients():
    torch.manual_seed(0)
    model = MSCLModel("resnet18", stem="cifar", in_channels=3, width=4, t_cap=None)  # capped: exp(log 5) may sit on the cap
    opt = torch.optim.Adam(model.online.parameters(), lr=1e-2)
    views = [torch.randn(4, 3, 16, 16) for _ in range(2)] + [torch.randn(4, 3, 6, 6) for _ in range(2)]
    emb, t, b = model.online(views)
    loss, _ = Objective(ObjectiveConfig())(emb, model.embed_target(views[:2]), t, b, gamma=1.0)
    before = {k: v.clone() for k, v in model.target_backbone.state_dict().items()}
    loss.backward()
    for p in (model.online.log_t, model.online.beta):
        assert p.grad is not None and torch.isfinite(p.grad) and p.grad.item() != 0.0
    assert all(p.grad is None for p in model.target_backbone.parameters())
    opt.step()
    m = 0.9
    online = {k: v.clone() for k, v in model.online.backbone.state_dict().items()}
    model.update_target(m)
    after = model.target_backbone.state_dict()
    key = "conv1.weight"
    torch.testing.assert_close(after[key], m * before[key] + (1 - m) * online[key], rtol=1e-6, atol=1e-7)
    assert not torch.equal(after[key], before[key]) and not torch.equal(after[key], online[key])
    # BatchNorm running statistics are averaged too; integer counters copied
    torch.testing.assert_close(after["bn1.running_mean"], m * before["bn1.running_mean"] + (1 - m) * online["bn1.running_mean"])
    assert torch.equal(after["bn1.num_batches_tracked"], online["bn1.num_batches_tracked"])
    with pytest.raises(ValueError, match="momentum"):
        model.update_target(1.5)


def test_multicrop_views_shapes_determinism_and_range():
    assert view_sizes(96) == (96, 41) and view_sizes(28) == (32, 14) and view_sizes(32) == (32, 14)
    cfg = MultiCropConfig(global_size=16, local_size=6)
    aug = MultiCrop(cfg, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    images = torch.randint(0, 256, (5, 3, 20, 20), dtype=torch.uint8)
    a = aug(images, torch.Generator().manual_seed(1))
    b = aug(images, torch.Generator().manual_seed(1))
    c = aug(images, torch.Generator().manual_seed(2))
    assert [tuple(v.shape) for v in a] == [(5, 3, 16, 16)] * 2 + [(5, 3, 6, 6)] * 4
    assert all(torch.equal(x, y) for x, y in zip(a, b)) and not torch.equal(a[0], c[0])
    lo, hi = (0 - 0.5) / 0.25, (1 - 0.5) / 0.25
    assert all(bool(torch.isfinite(v).all()) and v.min() >= lo - 1e-5 and v.max() <= hi + 1e-5 for v in a)
    gray = MultiCrop(MultiCropConfig(global_size=8, local_size=4), (0.5,), (0.5,))
    assert tuple(gray(images[:, :1], torch.Generator().manual_seed(0))[3].shape) == (5, 1, 4, 4)
    with pytest.raises(ValueError, match="num_global"):
        MultiCropConfig(global_size=16, local_size=6, num_global=0)


def test_random_resized_crops_stay_inside_the_image_with_the_drawn_area():
    from sigref_torch.ssl.augment import _crop_theta

    theta = _crop_theta(torch.Generator().manual_seed(0), 4000, (0.2, 0.6), 0.5, torch.device("cpu"))
    w, h = theta[:, 0, 0].abs(), theta[:, 1, 1]
    assert bool((theta[:, 0, 2].abs() + w <= 1 + 1e-6).all()) and bool((theta[:, 1, 2].abs() + h <= 1 + 1e-6).all())
    assert float((w * h).max()) <= 0.6 + 1e-6 and float((w * h).min()) >= 0.2 * 3 / 4 - 1e-6  # clipping only shrinks
    assert 0.45 < float((theta[:, 0, 0] < 0).float().mean()) < 0.55  # flips
    assert torch.equal(theta[:, 0, 1], torch.zeros(4000)) and torch.equal(theta[:, 1, 0], torch.zeros(4000))


def _tiny(tmp_path, name, **kw):
    base = dict(out=str(tmp_path / name), dataset="synthetic", width=4, proj_hidden=16, proj_out=8, batch_size=8,
                steps=4, global_size=12, local_size=6, num_local=2, progress=False, log_every=1, ckpt_every=100,
                device="cpu", filter_warmup=1, loss="filter", gamma_schedule=True, alpha=0.2)
    base.update(kw)
    return TrainConfig(**base)


def test_resume_reproduces_uninterrupted_weights_exactly(tmp_path, monkeypatch):
    full = train(_tiny(tmp_path, "full", lr_schedule="cosine"))
    assert full.steps == 4
    reference = load_checkpoint(full.out)

    calls = {"n": 0}
    original = MSCLModel.update_target

    def crash_on_third(self, momentum):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("simulated interruption")
        return original(self, momentum)

    monkeypatch.setattr(MSCLModel, "update_target", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        train(_tiny(tmp_path, "cut", ckpt_every=2, lr_schedule="cosine"))
    monkeypatch.setattr(MSCLModel, "update_target", original)
    assert load_checkpoint(tmp_path / "cut")["step"] == 2
    with pytest.raises(ValueError, match="seed: checkpoint 42 vs now 7"):
        train(_tiny(tmp_path, "cut", ckpt_every=2, resume=True, seed=7, lr_schedule="cosine"))
    with pytest.raises(FileNotFoundError, match="resume"):
        train(_tiny(tmp_path, "never-trained", resume=True))
    resumed = train(_tiny(tmp_path, "cut", ckpt_every=2, resume=True, lr_schedule="cosine"))
    got = load_checkpoint(resumed.out)
    assert got["step"] == 4
    for key, value in reference["model"].items():
        assert torch.equal(value, got["model"][key]), key
    for a, b in zip(reference["optimizer"]["state"].values(), got["optimizer"]["state"].values()):
        assert all(torch.equal(a[k], b[k]) for k in a)
    records = [json.loads(line) for line in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    ref_records = [json.loads(line) for line in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    assert [r["loss"] for r in records] == [r["loss"] for r in ref_records]
    assert records[-1]["filter_threshold"] == 0.05 and records[0]["filter_threshold"] is None
    # cosine learning rate, logged after each step: lr (1 + cos(pi s / 4)) / 2 at steps s = 0 .. 3
    lr = TrainConfig().lr
    np.testing.assert_allclose([r["lr"] for r in records], [lr * (1 + math.cos(math.pi * s / 4)) / 2 for s in range(4)], rtol=1e-15)

    from sigref_torch.ssl.cli import probe_run

    res = probe_run(str(resumed.out), train_limit=64, test_limit=32, classifier="both")
    assert res["step"] == 4 and res["n_train"] == 64 and 0.0 <= res["logistic"] <= 1.0 and 0.0 <= res["torch_linear"] <= 1.0


def test_channels_last_changes_no_result_beyond_rounding(tmp_path):
    from sigref_torch.ssl.cli import probe_run

    runs = {layout: train(_tiny(tmp_path, str(layout), width=8, loss="mscl", steps=3, channels_last=layout, probe_every=3))
            for layout in (False, True)}
    metrics = {layout: [json.loads(line) for line in (r.out / "metrics.jsonl").read_text().splitlines()] for layout, r in runs.items()}
    losses = {layout: [m["loss"] for m in ms if "loss" in m] for layout, ms in metrics.items()}
    assert len(losses[True]) == 3
    np.testing.assert_allclose(losses[True], losses[False], rtol=1e-4)
    for layout, run in runs.items():  # `sigref ssl probe` of a run reproduces the trainer's final probe
        logged = [m["probe_accuracy"] for m in metrics[layout] if m.get("step") == 3 and "probe_accuracy" in m]
        assert probe_run(str(run.out))["logistic"] == logged[0]
    with pytest.raises(ValueError, match="channels_last: needs width >= 8, got width 4"):
        train(_tiny(tmp_path, "w4", channels_last=True))


def test_tb_lr_mult_scales_the_first_adam_step_of_t_and_b_only(tmp_path):
    # Adam's first step moves every parameter by lr * g / (|g| + eps): about lr, whatever the gradient's size
    runs = {m: load_checkpoint(train(_tiny(tmp_path, f"m{m}", steps=1, loss="scl", log_t0=0.0, tb_lr_mult=m)).out)["model"]
            for m in (1.0, 10.0)}
    lr = TrainConfig().lr
    for name in ("online.log_t", "online.beta"):
        start = 0.0 if name == "online.log_t" else -5.0
        step1, step10 = (float(runs[m][name]) - start for m in (1.0, 10.0))
        assert abs(abs(step1) - lr) < 1e-3 * lr, (name, step1)
        np.testing.assert_allclose(step10, 10 * step1, rtol=1e-3)
    network = [k for k in runs[1.0] if k not in ("online.log_t", "online.beta")]
    assert network and all(torch.equal(runs[1.0][k], runs[10.0][k]) for k in network)


def test_filtering_that_can_keep_no_negative_is_warned_about(tmp_path):
    # t = 1, b = 5: the largest negative weight is sigma(1 - 5) = 0.0180 < 0.05, at any embeddings
    with pytest.warns(UserWarning, match=r"sigma\(t - b\)\^gamma = 0\.018 at cosine 1, gamma 1 as filtering starts\): "
                                         r"filtering keeps no negative until t - b exceeds -2\.944"):
        train(_tiny(tmp_path, "t1", steps=2, log_t0=0.0, gamma_schedule=False))
    # gamma cosine-decayed to 0.146 when filtering starts (step 3 of gamma_steps 4): sigma(-4)^0.146 = 0.56 > 0.05
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="filter_threshold")
        train(_tiny(tmp_path, "t1-gamma-decayed", steps=3, log_t0=0.0, filter_warmup=2, gamma_steps=4))
        train(_tiny(tmp_path, "t1-never-filtered", steps=2, log_t0=0.0, filter_warmup=2, gamma_schedule=False))
        train(_tiny(tmp_path, "t5", steps=2, gamma_schedule=False))  # MSCL's init t = 5, b = 5: sigma(0) = 0.5
    with pytest.warns(UserWarning, match=r"b = 1e\+09 \(sigma\(t - b\)\^gamma = 0 at cosine 1"):
        train(_tiny(tmp_path, "huge-b", steps=2, beta0=-1e9, gamma_schedule=False))


def test_probe_beats_chance_on_synthetic():
    from sigref_torch.ssl import probe

    torch.manual_seed(0)
    train_set, test_set = probe.load_probe_data("synthetic")
    model = MSCLModel("resnet18", stem="cifar", in_channels=3, width=4)
    f_tr = probe.extract_features(model.target_backbone, train_set, size=16)
    f_te = probe.extract_features(model.target_backbone, test_set, size=16, mean=train_set.mean, std=train_set.std)
    assert np.allclose(np.linalg.norm(f_tr, axis=1), 1.0)
    chance = 1.0 / train_set.num_classes
    assert probe.logistic_accuracy(f_tr, train_set.labels, f_te, test_set.labels) > chance + 0.3
    assert probe.torch_linear_probe(f_tr, train_set.labels, f_te, test_set.labels) > chance + 0.3
    assert probe.raw_pixel_accuracy(train_set, test_set) > chance + 0.3


def test_torch_probe_fits_the_same_classifier_as_scikit_learn():
    """Both probes minimise C * sum CE + ||W||^2 / 2 on z-scored features: their test predictions agree."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sigref_torch.ssl import probe

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 16))
    y = rng.integers(0, 5, 3000)
    x = 1.0 + 1e-3 * (centres[y] + 1.5 * rng.normal(size=(3000, 16)))  # overlapping classes, tiny spread, like unit-norm features
    train, test = slice(0, 1000), slice(1000, None)

    def sklearn_predictions(C):
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=10_000, tol=1e-10))
        return clf.fit(x[train], y[train]).predict(x[test])

    strong, weak = sklearn_predictions(1e-3), sklearn_predictions(1.0)
    assert np.mean(strong == weak) < 0.97  # the regulariser matters here, so agreement below is not automatic
    for C, reference in ((1e-3, strong), (1.0, weak)):
        # accuracy against scikit-learn's predictions = the fraction of test points both classify alike
        assert probe.torch_linear_probe(x[train], y[train], x[test], reference, C=C) >= 0.998
    # without the z-scoring that features of this spread need, L-BFGS stops far from the optimum
    assert probe.torch_linear_probe(x[train], y[train], x[test], y[test], standardize=False) < 0.5


def test_bad_arguments_give_clear_errors(tmp_path):
    from sigref_torch.ssl.cli import probe_run

    with pytest.raises(sdata.DatasetError, match="dataset.*fashion-mnist"):
        train(TrainConfig(dataset="mnist-ish", out=str(tmp_path / "x")))
    with pytest.raises(sdata.DatasetError, match="dataset-fashion-mnist"):
        train(TrainConfig(dataset="fashion-mnist", data_root=str(tmp_path / "nowhere"), out=str(tmp_path / "x")))
    with pytest.raises(ValueError, match="batch_size"):
        train(_tiny(tmp_path, "big", batch_size=10_000))
    with pytest.raises(ValueError, match="batch_size"):
        train(_tiny(tmp_path, "one", batch_size=1))
    with pytest.raises(ValueError, match="loss"):
        train(_tiny(tmp_path, "l", loss="softmax"))
    with pytest.raises(ValueError, match="tb_lr_mult: expected a positive multiplier of lr for t' and b, got 0"):
        train(_tiny(tmp_path, "m", tb_lr_mult=0))
    with pytest.raises(ValueError, match="test_limit: expected a positive number of images, or None for the whole split, got 0"):
        probe_run(None, dataset="synthetic", raw_pixels=True, test_limit=0)
    with pytest.raises(ValueError, match="lr_schedule: expected one of \\['constant', 'cosine'\\], got 'step'"):
        train(_tiny(tmp_path, "s", lr_schedule="step"))


def test_batch_must_cover_every_rank():
    from sigref_torch.ssl.train import check_batch

    check_batch(8, 4)
    with pytest.raises(ValueError, match="world size 4"):
        check_batch(2, 4)
    with pytest.raises(ValueError, match="world size 3"):
        check_batch(8, 3)


def test_cli_entry_point_registers_ssl(capsys):
    from sigref import cli

    assert cli.main(["ssl", "train", "--data", "nonexistent", "--out", "/tmp/never"]) != 0
    err = capsys.readouterr().err
    assert "nonexistent" in err


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:filter_threshold 0.05 is at least")  # filtering at t = 1 is a benchmark row
def test_ssl_benchmark_runs_side_by_side_as_it_runs_alone(tmp_path):
    """``sigref ssl bench --jobs 2`` (one process per run) records the same runs, bit for bit, as one job."""
    from argparse import Namespace

    from sigref_torch.ssl.benchmark import LOSSES, run_benchmark

    def bench(name, jobs, alpha=1.0):
        args = Namespace(out=str(tmp_path / name), runs_dir=None, dataset="synthetic", data_root=None, budget=600.0,
                         steps=3, batch_size=8, width=4, threads=1, jobs=jobs, lr=2e-3, lr_schedule="cosine", tb_lr_mult=1.0, ema=0.9, alpha=alpha,
                         seeds=[0],
                         log_t0=[0.0], probe_train=64, probe_test=32, curve_points=0, channels_last=False)
        summary = run_benchmark(args)
        assert summary.is_file() and (tmp_path / name / "table.md").is_file()
        lines = (tmp_path / name / "results.jsonl").read_text().splitlines()
        return {r["loss"]: r for r in map(json.loads, lines)}

    side_by_side, alone = bench("two", 2), bench("one", 1)
    assert set(side_by_side) == set(alone) == set(LOSSES)
    for name, r in side_by_side.items():
        assert r["jobs"] == 2 and alone[name]["jobs"] == 1 and r["steps"] == 3
        assert 0.0 <= r["probe_accuracy"] <= 1.0
        assert (r["probe_accuracy"], r["final"]["loss"]) == (alone[name]["probe_accuracy"], alone[name]["final"]["loss"])
    assert bench("one", 1) == alone  # a complete benchmark is not rerun
    results = tmp_path / "one" / "results.jsonl"
    older = [json.loads(line) for line in results.read_text().splitlines()]
    for r in older:  # a record written before a setting existed ran with the setting's default
        del r["config"]["tb_lr_mult"]
    results.write_text("".join(json.dumps(r) + "\n" for r in older))
    assert set(bench("one", 1)) == set(LOSSES)
    with pytest.raises(ValueError, match=r"alpha 1\.0 there, 0\.0 now"):  # nor mixed with another recipe
        bench("one", 1, alpha=0.0)
