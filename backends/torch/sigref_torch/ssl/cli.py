"""``sigref ssl train|probe``: the MSCL self-supervised path on the command line.

Registered by the plugin through the entry-point group ``sigref.cli``. Multi-process::

    torchrun --nproc-per-node 2 --no-python sigref ssl train ...
    torchrun --nproc-per-node 2 -m sigref_torch.ssl train ...
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

__all__ = ["register", "main"]


def _optional_float(text: str) -> float | None:
    return None if text.lower() in ("none", "off", "inf") else float(text)


def _add_train(sub) -> None:
    from sigref_torch.ssl.train import AMP_MODES, LR_SCHEDULES, TrainConfig

    d = TrainConfig()
    p = sub.add_parser("train", help="self-supervised training (SCL / MSCL / filtering) of a ResNet",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    g = p.add_argument_group("data")
    g.add_argument("--data", dest="dataset", default=d.dataset, help="fashion-mnist | stl10 | digits | synthetic")
    g.add_argument("--data-root", default=None, help="directory of the data files (fashion-mnist default: /usr/share/datasets/fashion-mnist)")
    g.add_argument("--check-md5", action="store_true", help="verify STL10 files against the official checksums")
    g.add_argument("--train-limit", type=int, default=None, help="train on a fixed random subset of this many images")
    g = p.add_argument_group("model")
    g.add_argument("--arch", default=d.arch, choices=["resnet18", "resnet50"])
    g.add_argument("--stem", default=d.stem, choices=["auto", "imagenet", "cifar"], help="auto: cifar for images <= 64 px")
    g.add_argument("--width", type=int, default=d.width, help="ResNet base width (64 = torchvision's network)")
    g.add_argument("--proj-hidden", type=int, default=d.proj_hidden)
    g.add_argument("--proj-out", type=int, default=d.proj_out)
    g.add_argument("--init", default=d.init, choices=["mscl", "siglip"], help="t', beta init: mscl (log 5, -5) or siglip (log 10, -10)")
    g.add_argument("--log-t0", type=float, default=None, help="override the initial log-temperature t' (e.g. 0 for log 1)")
    g.add_argument("--beta0", type=float, default=None, help="override the initial SigLIP-convention bias beta (= -b)")
    g.add_argument("--t-cap", type=_optional_float, default=d.t_cap, help="clamp exp(t') at this value in forward; 'none' = uncapped")
    g = p.add_argument_group("views")
    g.add_argument("--global-size", type=int, default=None, help="default: 96 for STL10, 32 for 28-32 px data")
    g.add_argument("--local-size", type=int, default=None, help="default: int(3 * global / 7)")
    g.add_argument("--num-global", type=int, default=d.num_global)
    g.add_argument("--num-local", type=int, default=d.num_local)
    g = p.add_argument_group("loss")
    g.add_argument("--loss", default=d.loss, choices=["scl", "mscl", "filter"], help="scl: gamma 0; mscl: confidence penalty; filter: MSCL filtering")
    g.add_argument("--gamma", type=float, default=d.gamma)
    g.add_argument("--gamma-schedule", action="store_true", help="cosine decay of gamma to 0 over --gamma-steps")
    g.add_argument("--gamma-steps", type=int, default=None, help="default: half of the training steps")
    g.add_argument("--filter-threshold", type=float, default=d.filter_threshold)
    g.add_argument("--filter-warmup", type=int, default=d.filter_warmup, help="steps of plain MSCL before filtering starts")
    g.add_argument("--alpha", type=float, default=d.alpha, help="weight of the ReLIC KL term (reference CLI default 1.0)")
    g.add_argument("--exchange", default=d.exchange, choices=["ring", "all_gather"], help="how ranks share negatives")
    g = p.add_argument_group("optimisation")
    g.add_argument("-b", "--batch-size", type=int, default=d.batch_size, help="global batch (split over ranks)")
    g.add_argument("--steps", type=int, default=None, help="training steps (overrides --epochs)")
    g.add_argument("--epochs", type=int, default=d.epochs)
    g.add_argument("--budget", type=float, default=None, metavar="SECONDS", help="stop (and checkpoint) after this wall-clock time")
    g.add_argument("--lr", type=float, default=d.lr)
    g.add_argument("--lr-schedule", default=d.lr_schedule, choices=list(LR_SCHEDULES),
                   help="constant (the reference) or cosine decay to 0 over the run")
    g.add_argument("--tb-lr-mult", type=float, default=d.tb_lr_mult,
                   help="learning rate of t' and b as a multiple of --lr (1 = the reference: one Adam lr for all)")
    g.add_argument("--weight-decay", type=float, default=d.weight_decay)
    g.add_argument("--ema", type=float, default=d.ema, help="base EMA momentum (cosine ramp to 1)")
    g.add_argument("--amp", default=d.amp, choices=list(AMP_MODES), help="auto: fp16 autocast on CUDA, off on CPU")
    g.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=d.channels_last,
                   help="NHWC memory layout for the networks and views (1.3x faster convolutions on a CPU; width >= 8)")
    g.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    g.add_argument("--seed", type=int, default=d.seed)
    g.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    g = p.add_argument_group("output")
    g.add_argument("--out", default=d.out, help="run directory (config.json, metrics.jsonl, checkpoint.pt, encoder.pt)")
    g.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    g.add_argument("--log-every", type=int, default=d.log_every)
    g.add_argument("--ckpt-every", type=int, default=d.ckpt_every)
    g.add_argument("--probe-every", type=int, default=None, help="log a logistic-regression probe accuracy every N steps")
    g.add_argument("--probe-train-limit", type=int, default=d.probe_train_limit)
    g.add_argument("--probe-test-limit", type=int, default=None)
    g.add_argument("--no-progress", dest="progress", action="store_false")
    g.add_argument("--dist-timeout", type=float, default=d.dist_timeout, help="seconds before a silent peer rank is an error")
    p.set_defaults(func=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> int:
    from sigref_torch.ssl.train import TrainConfig, train

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
    res = train(cfg)
    if res.is_main:
        print(f"trained {res.steps} steps in {res.seconds:.1f} s ({res.images_per_second:.1f} images/s); "
              f"checkpoint and encoder in {res.out}")
    return 0


def _add_probe(sub) -> None:
    p = sub.add_parser("probe", help="linear probe of a trained (or random-init) encoder on labelled data",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run", nargs="?", default=None, help="run directory of `sigref ssl train` (reads checkpoint.pt)")
    p.add_argument("--random-init", action="store_true", help="probe a randomly initialised encoder (needs the model flags)")
    p.add_argument("--raw-pixels", action="store_true", help="baseline: logistic regression on raw pixels")
    p.add_argument("--data", dest="dataset", default=None, help="default: the run's data set")
    p.add_argument("--data-root", default=None)
    p.add_argument("--arch", default="resnet18")
    p.add_argument("--stem", default="auto")
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-limit", type=int, default=None, help="probe-train on a fixed subset (default: whole train split)")
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--classifier", default="logistic", choices=["logistic", "torch", "both"])
    p.add_argument("--device", default=None)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_probe)


def probe_run(run: str | None, *, dataset: str | None = None, data_root=None, random_init: bool = False,
              raw_pixels: bool = False, arch: str = "resnet18", stem: str = "auto", width: int = 64, seed: int = 0,
              train_limit=None, test_limit=None, classifier: str = "logistic", device=None) -> dict:
    """Probe accuracies of a run's target encoder, a random-init encoder or raw pixels."""
    import torch

    from sigref_torch.ssl import probe
    from sigref_torch.ssl.train import TrainConfig, build_model, crop_config, load_checkpoint

    if classifier not in ("logistic", "torch", "both"):
        raise ValueError(f"classifier: expected 'logistic', 'torch' or 'both', got {classifier!r}")
    ckpt = None
    if run is not None:
        ckpt = load_checkpoint(run)
        cfg = TrainConfig(**json.loads(ckpt["config"]))
        dataset = dataset or cfg.dataset
        data_root = data_root if data_root is not None else cfg.data_root
    elif random_init or raw_pixels:
        if dataset is None:
            raise ValueError("dataset: --data is required without a run directory")
        cfg = TrainConfig(dataset=dataset, data_root=data_root, arch=arch, stem=stem, width=width, seed=seed)
    else:
        raise ValueError("run: give a run directory, --random-init or --raw-pixels")
    cfg.validate()
    train, test = probe.load_probe_data(dataset, data_root, train_limit, test_limit)
    result = {"dataset": dataset, "n_train": len(train), "n_test": len(test)}
    if raw_pixels:
        result["raw_pixels_logistic"] = probe.raw_pixel_accuracy(train, test)
        return result
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(seed)
    model = build_model(cfg, train.channels, train.size)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        result["step"] = int(ckpt["step"])
    model.to(device, memory_format=torch.channels_last if cfg.channels_last else torch.contiguous_format)  # the trainer's layout
    size = crop_config(cfg, train.size).global_size
    f_train = probe.extract_features(model.target_backbone, train, size=size, device=device)
    f_test = probe.extract_features(model.target_backbone, test, size=size, device=device, mean=train.mean, std=train.std)
    if classifier in ("logistic", "both"):
        result["logistic"] = probe.logistic_accuracy(f_train, train.labels, f_test, test.labels)
    if classifier in ("torch", "both"):
        result["torch_linear"] = probe.torch_linear_probe(f_train, train.labels, f_test, test.labels, device=device)
    return result


def _cmd_probe(args: argparse.Namespace) -> int:
    res = probe_run(args.run, dataset=args.dataset, data_root=args.data_root, random_init=args.random_init,
                    raw_pixels=args.raw_pixels, arch=args.arch, stem=args.stem, width=args.width, seed=args.seed,
                    train_limit=args.train_limit, test_limit=args.test_limit, classifier=args.classifier, device=args.device)
    if args.json:
        print(json.dumps(res))
    else:
        for key, value in res.items():
            print(f"{key:22s} {value:.4f}" if isinstance(value, float) else f"{key:22s} {value}")
    return 0


def _add_bench(sub) -> None:
    from sigref_torch.ssl.train import LR_SCHEDULES

    p = sub.add_parser("bench", help="SCL vs MSCL vs filtering, several seeds and initial temperatures, with baselines",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default="reference_results/ssl")
    p.add_argument("--runs-dir", default=None, help="where run directories (checkpoints) go; default OUT/runs")
    p.add_argument("--data", dest="dataset", default="fashion-mnist")
    p.add_argument("--data-root", default=None)
    p.add_argument("--budget", type=float, default=600.0, help="seconds of training per run (a cap with --steps)")
    p.add_argument("--steps", type=int, default=280, help="fixed steps per run (0: calibrated from --budget)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--jobs", type=int, default=2, help="runs trained side by side, one process each")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True, help="NHWC layout (width >= 8)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--lr-schedule", default="cosine", choices=list(LR_SCHEDULES))
    p.add_argument("--ema", type=float, default=0.9, help="base EMA momentum")
    p.add_argument("--tb-lr-mult", type=float, default=1.0, help="learning rate of t' and b as a multiple of --lr")
    p.add_argument("--alpha", type=float, default=1.0, help="weight of the KL term for every variant (reference CLI default)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--log-t0", type=float, nargs="+", default=[0.0, 1.6094379124341003], help="initial t' values (log 1, log 5)")
    p.add_argument("--probe-train", type=int, default=5000)
    p.add_argument("--probe-test", type=int, default=2000)
    p.add_argument("--curve-points", type=int, default=3, help="probes per run of the first seed (learning curve)")
    p.add_argument("--summary-only", action="store_true", help="rewrite the tables/plots from existing results")
    p.set_defaults(func=_cmd_bench)


def _cmd_bench(args: argparse.Namespace) -> int:
    from sigref.provenance import describe_command, write_manifest
    from sigref_torch.ssl.benchmark import run_benchmark, write_summary

    path = write_summary(Path(args.out)) if args.summary_only else run_benchmark(args)
    if not args.summary_only:
        write_manifest(args.out, describe_command(["ssl", *args.argv]))
    print(f"summary in {path}")
    return 0


def register(subparsers) -> None:
    """Entry point of group ``sigref.cli``: adds ``sigref ssl {train, probe, bench}``.

    The ``ssl`` parser only forwards its arguments to :func:`main`, so that other ``sigref``
    commands do not import torch and torchvision to build this one's options.
    """
    p = subparsers.add_parser("ssl", add_help=False,
                              help="self-supervised ResNet training with sigmoid losses (MSCL) and linear probes")
    p.add_argument("ssl_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=lambda args: main(args.ssl_args))


def main(argv: list[str] | None = None) -> int:
    """``sigref ssl ...`` and the stand-alone entry (``python -m sigref_torch.ssl train ...``, e.g. under torchrun)."""
    parser = argparse.ArgumentParser(prog="sigref ssl")
    sub = parser.add_subparsers(dest="ssl_command", required=True)
    _add_train(sub)
    _add_probe(sub)
    _add_bench(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
