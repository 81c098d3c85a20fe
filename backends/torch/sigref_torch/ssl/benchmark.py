"""SCL vs MSCL (gamma 1, cosine schedule) vs MSCL filtering on a small CPU budget, with baselines.

``sigref ssl bench --out reference_results/ssl`` trains every (initial temperature, loss, seed)
combination for a fixed number of steps (calibrated once from the measured images/s so that a run
fits ``--budget`` seconds; the budget also caps each run), probes the target encoder with logistic
regression on fixed train/test subsets, and writes ``results.jsonl`` (one line per run, appended as
runs finish), ``baselines.json``, ``curves.csv`` (probe accuracy against steps, first seed),
``learning_curve.png`` and ``summary.md``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

__all__ = ["run_benchmark", "LOSSES"]

LOSSES = {
    "SCL": dict(loss="scl"),
    "MSCL (gamma 1, cos)": dict(loss="mscl", gamma=1.0, gamma_schedule=True),
    "MSCL filtering": dict(loss="filter", gamma=1.0, filter_threshold=0.05),
}


def _base_config(args) -> dict:
    return dict(dataset=args.dataset, data_root=args.data_root, arch="resnet18", stem="cifar", width=args.width,
                batch_size=args.batch_size, lr=args.lr, lr_schedule=args.lr_schedule, tb_lr_mult=args.tb_lr_mult,
                weight_decay=1e-5, ema=args.ema, progress=False, log_every=10,
                ckpt_every=10**9, device="cpu", threads=args.threads, probe_train_limit=args.probe_train,
                probe_test_limit=args.probe_test, alpha=args.alpha, channels_last=args.channels_last)


def run_benchmark(args) -> Path:
    from sigref_torch.ssl import probe
    from sigref_torch.ssl.train import TrainConfig, build_model, train

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    base = _base_config(args)

    baselines_path = out / "baselines.json"
    if baselines_path.is_file():
        baselines = json.loads(baselines_path.read_text())
    else:
        train_set, test_set = probe.load_probe_data(args.dataset, args.data_root, args.probe_train, args.probe_test)
        baselines = {"raw_pixels": probe.raw_pixel_accuracy(train_set, test_set), "random_init": []}
        for seed in args.seeds:
            torch.manual_seed(seed)
            cfg = TrainConfig(**base, seed=seed)
            baselines["random_init"].append(_probe_accuracy(build_model(cfg, train_set.channels, train_set.size), cfg, train_set, test_set))
        baselines["seeds"] = list(args.seeds)
        baselines_path.write_text(json.dumps(baselines, indent=2) + "\n")

    steps = args.steps
    if not steps:  # calibrate: a short SCL run measures this machine's training throughput
        res = train(TrainConfig(**{**base, "log_every": 6}, out=str(Path(args.runs_dir or out / "runs") / "calibration"), steps=6))
        ips = res.images_per_second
        steps = max(10, int(0.9 * args.budget * ips / args.batch_size))
        (out / "calibration.json").write_text(json.dumps({"images_per_s": ips, "steps": steps}) + "\n")

    results_path = out / "results.jsonl"
    done = set()
    if results_path.is_file():
        records = [json.loads(line) for line in results_path.read_text().splitlines() if line.strip()]
        defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}  # a setting an older record lacks had its default
        for r in records:  # a rerun into the same directory completes that benchmark; it must not mix recipes
            setting = {k: r["config"].get(k, defaults[k]) for k in base}
            changed = {k: (setting[k], v) for k, v in base.items() if k not in ("threads", "data_root") and setting[k] != v}
            if changed:
                raise ValueError(f"--out {out}: {results_path.name} holds runs of another recipe (run {r['run']}: "
                                 + ", ".join(f"{k} {old!r} there, {new!r} now" for k, (old, new) in changed.items())
                                 + "); choose another --out directory")
        done = {(r["log_t0"], r["loss"], r["seed"]) for r in records}
    pending = []
    for log_t0 in args.log_t0:
        for name, opts in LOSSES.items():
            for k, seed in enumerate(args.seeds):
                if (log_t0, name, seed) in done:
                    continue
                run_name = f"{opts['loss']}_logt{log_t0:.3f}_seed{seed}"
                curve = args.curve_points if k == 0 else 0
                cfg = TrainConfig(**base, **opts, out=str(Path(args.runs_dir or out / "runs") / run_name), seed=seed, steps=steps,
                                  budget=args.budget, log_t0=log_t0, filter_warmup=max(1, steps // 10),
                                  probe_every=(max(1, steps // curve) if curve else None))
                pending.append((run_name, log_t0, name, cfg))
    jobs = max(1, min(args.jobs, len(pending)))
    configs = [cfg for _, _, _, cfg in pending]
    probe_args = (args.dataset, args.data_root, args.probe_train, args.probe_test)
    with contextlib.ExitStack() as stack:
        if jobs == 1:
            finished = (_train_and_probe(cfg, probe_args, args.threads) for cfg in configs)
        else:  # independent runs side by side, one process each (each run is deterministic, whatever runs beside it)
            pool = stack.enter_context(ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")))
            finished = pool.map(_train_and_probe, configs, [probe_args] * len(configs), [args.threads] * len(configs))
        for (run_name, log_t0, name, cfg), (res, acc, wall_s) in zip(pending, finished):
            (out / "metrics").mkdir(exist_ok=True)
            (out / "metrics" / f"{run_name}.jsonl").write_text((Path(cfg.out) / "metrics.jsonl").read_text())
            record = {"run": run_name, "log_t0": log_t0, "loss": name, "seed": cfg.seed, "steps": res.steps, "train_s": res.seconds,
                      "images_per_s": res.images_per_second, "probe_accuracy": acc, "final": res.final,
                      "wall_s": wall_s, "jobs": jobs, "config": _portable(cfg)}
            with results_path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")
            print(f"{name:22s} log_t0={log_t0:.3f} seed={cfg.seed}: {res.steps} steps, {res.images_per_second:.1f} img/s, "
                  f"probe {acc:.4f}", flush=True)
    return write_summary(out)


def _portable(cfg) -> dict:
    """The run's settings without the paths of the machine it ran on (its output and data directories)."""
    return {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("out", "data_root")}


def _train_and_probe(cfg, probe_args: tuple, threads: int):
    """One benchmark run: train, then the probe accuracy of the final target encoder on the fixed subsets."""
    from sigref_torch.ssl import probe
    from sigref_torch.ssl.train import build_model, load_checkpoint, train

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    res = train(cfg)
    run_dir = Path(cfg.out)
    logged = [m for m in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
              if m.get("step") == res.steps and "probe_accuracy" in m]
    if logged:  # the trainer already probed the final encoder on the same subsets
        return res, logged[-1]["probe_accuracy"], time.perf_counter() - t0
    train_set, test_set = probe.load_probe_data(*probe_args)
    model = build_model(cfg, train_set.channels, train_set.size)
    model.load_state_dict(load_checkpoint(run_dir)["model"])
    return res, _probe_accuracy(model, cfg, train_set, test_set), time.perf_counter() - t0


def _probe_accuracy(model, cfg, train_set, test_set) -> float:
    """Logistic-regression probe of the target backbone's features on the fixed subsets."""
    from sigref_torch.ssl import probe
    from sigref_torch.ssl.train import crop_config

    size = crop_config(cfg, train_set.size).global_size
    f_tr = probe.extract_features(model.target_backbone, train_set, size=size)
    f_te = probe.extract_features(model.target_backbone, test_set, size=size, mean=train_set.mean, std=train_set.std)
    return probe.logistic_accuracy(f_tr, train_set.labels, f_te, test_set.labels)


def write_summary(out: Path) -> Path:
    """Tables and learning curves from the files a (possibly partial) benchmark wrote; summary.md if there is none.

    An existing summary.md is kept: it holds the discussion written around the generated table.
    """
    from sigref.figures import subplots

    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    baselines = json.loads((out / "baselines.json").read_text())
    rows = []
    groups: dict[tuple[float, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r["log_t0"], r["loss"]), []).append(r)
    for (log_t0, name), rs in sorted(groups.items(), key=lambda item: (item[0][0], list(LOSSES).index(item[0][1]))):
        accs = np.array([r["probe_accuracy"] for r in rs])
        rows.append({"log_t0": log_t0, "loss": name, "n": len(rs), "mean": accs.mean(), "std": accs.std(ddof=1) if len(rs) > 1 else float("nan"),
                     "images_per_s": float(np.mean([r["images_per_s"] for r in rs])), "steps": int(np.mean([r["steps"] for r in rs])),
                     "kept": float(np.mean([r["final"].get("kept", 1.0) for r in rs])),
                     "t_end": float(np.mean([r["final"].get("t", float("nan")) for r in rs]))})
    curve_rows = []
    fig, axes = subplots(1, max(1, len({r["log_t0"] for r in records})), figsize=(11, 4), squeeze=False)
    for ax, log_t0 in zip(axes[0], sorted({r["log_t0"] for r in records})):
        for name in LOSSES:
            rs = [r for r in records if r["log_t0"] == log_t0 and r["loss"] == name]
            if not rs:
                continue
            first = min(rs, key=lambda r: r["seed"])
            metrics = out / "metrics" / f"{first['run']}.jsonl"
            pts = []
            if metrics.is_file():
                pts = [(m["step"], m["probe_accuracy"]) for m in map(json.loads, metrics.read_text().splitlines()) if "probe_accuracy" in m]
            if first["seed"] in baselines.get("seeds", []):  # step 0: the same initial encoder, probed as a baseline
                pts.append((0, baselines["random_init"][baselines["seeds"].index(first["seed"])]))
            pts = sorted(set(pts))
            for s, a in pts:
                curve_rows.append(f"{log_t0},{name},{first['seed']},{s},{a}")
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
        ax.axhline(baselines["raw_pixels"], color="k", ls="--", lw=1, label="raw pixels")
        ax.axhline(float(np.mean(baselines["random_init"])), color="gray", ls=":", lw=1, label="random-init encoder")
        ax.set_title(f"initial t' = {log_t0:.3f} (t = {math.exp(log_t0):.3g})")
        ax.set_xlabel("training step")
        ax.set_ylabel("probe accuracy")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "learning_curve.png", dpi=110)
    (out / "curves.csv").write_text("log_t0,loss,seed,step,probe_accuracy\n" + "\n".join(curve_rows) + "\n")
    lines = ["| initial t' | loss | runs | steps | images/s (train) | probe acc mean +- std | kept pairs (last) | t (last) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| log {math.exp(r['log_t0']):.3g} | {r['loss']} | {r['n']} | {r['steps']} | {r['images_per_s']:.1f} | "
                     f"{100 * r['mean']:.2f} +- {100 * r['std']:.2f} % | {r['kept']:.3f} | {r['t_end']:.3f} |")
    rnd = np.array(baselines["random_init"])
    lines += ["", f"Baselines on the same probe subsets: raw pixels (standardised, logistic regression) "
              f"{100 * baselines['raw_pixels']:.2f} %; random-init encoder (same architecture, {len(rnd)} seeds) "
              f"{100 * rnd.mean():.2f} +- {100 * rnd.std(ddof=1) if len(rnd) > 1 else float('nan'):.2f} %."]
    (out / "table.md").write_text("\n".join(lines) + "\n")
    summary = out / "summary.md"
    if not summary.is_file():
        summary.write_text("# SSL benchmark (generated table; see README section for the discussion)\n\n" + "\n".join(lines) + "\n")
    return summary
