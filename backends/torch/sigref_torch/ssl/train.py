"""The MSCL trainer: single process or torchrun/DDP, deterministic, resumable, budgeted.

One step: gather this rank's share of the global batch (order fixed by ``seed`` and the epoch), make
the multi-crop views on the device, embed all views with the online network and the global views
with the EMA target, evaluate :class:`~sigref_torch.ssl.objective.Objective` (sigref's sigmoid loss
through the torch bridge), take an Adam step, then move the target towards the online network with the
cosine-ramped momentum. gamma (cosine schedule), the filtering threshold (after its warm-up) and the
EMA momentum are pure functions of the step (``sigref.losses.schedules``), so a resumed run replays
the uninterrupted one exactly on CPU.

Outputs in ``out``: ``config.json``, ``metrics.jsonl`` (one JSON object per logged step),
``checkpoint.pt`` (latest, written atomically) and ``encoder.pt`` (target backbone state dict).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from sigref.losses.schedules import cosine_decay, cosine_gamma, ema_momentum, filter_threshold_at
from sigref.numerics import log_sigmoid
from sigref.progress import progress
from sigref_torch import distributed as sdist
from sigref_torch.ssl import data as sdata
from sigref_torch.ssl.augment import MultiCrop, MultiCropConfig, view_sizes
from sigref_torch.ssl.model import ARCHS, STEMS, TEMPERATURE_INITS, MSCLModel
from sigref_torch.ssl.objective import Objective, ObjectiveConfig

__all__ = ["TrainConfig", "TrainResult", "train", "load_checkpoint", "CHECKPOINT", "ENCODER"]

CHECKPOINT = "checkpoint.pt"
ENCODER = "encoder.pt"
AMP_MODES = ("auto", "off", "fp16", "bf16")
LR_SCHEDULES = ("constant", "cosine")


@dataclass
class TrainConfig:
    """Every knob of a run (CLI flags map one to one). ``steps`` wins over ``epochs``."""

    out: str = "runs/ssl"
    dataset: str = "fashion-mnist"
    data_root: str | None = None
    check_md5: bool = False
    train_limit: int | None = None
    arch: str = "resnet18"
    stem: str = "auto"
    width: int = 64
    proj_hidden: int = 512
    proj_out: int = 64
    global_size: int | None = None
    local_size: int | None = None
    num_global: int = 2
    num_local: int = 4
    batch_size: int = 256
    steps: int | None = None
    epochs: int = 100
    budget: float | None = None
    lr: float = 3e-4
    lr_schedule: str = "constant"
    tb_lr_mult: float = 1.0
    weight_decay: float = 1e-5
    ema: float = 0.99
    loss: str = "mscl"
    gamma: float = 1.0
    gamma_schedule: bool = False
    gamma_steps: int | None = None
    filter_threshold: float = 0.05
    filter_warmup: int = 2000
    alpha: float = 0.0
    init: str = "mscl"
    log_t0: float | None = None
    beta0: float | None = None
    t_cap: float | None = 5.0
    exchange: str = "ring"
    amp: str = "auto"
    channels_last: bool = False
    device: str | None = None
    seed: int = 42
    threads: int | None = None
    log_every: int = 20
    ckpt_every: int = 500
    probe_every: int | None = None
    probe_train_limit: int | None = 10_000
    probe_test_limit: int | None = None
    progress: bool = True
    dist_timeout: float = 300.0
    resume: bool = False

    def validate(self) -> None:
        if self.dataset not in sdata.DATASETS:
            raise sdata.DatasetError(f"dataset: expected one of {list(sdata.DATASETS)}, got {self.dataset!r}")
        if self.arch not in ARCHS:
            raise ValueError(f"arch: expected one of {list(ARCHS)}, got {self.arch!r}")
        if self.stem not in STEMS + ("auto",):
            raise ValueError(f"stem: expected one of {list(STEMS) + ['auto']}, got {self.stem!r}")
        if self.loss not in ("scl", "mscl", "filter"):
            raise ValueError(f"loss: expected 'scl', 'mscl' or 'filter', got {self.loss!r}")
        if self.init not in TEMPERATURE_INITS:
            raise ValueError(f"init: expected one of {list(TEMPERATURE_INITS)}, got {self.init!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule: expected one of {list(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.amp not in AMP_MODES:
            raise ValueError(f"amp: expected one of {list(AMP_MODES)}, got {self.amp!r}")
        for name in ("batch_size", "epochs", "log_every", "ckpt_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {getattr(self, name)!r}")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"steps: expected an integer >= 1, got {self.steps!r}")
        if self.budget is not None and not self.budget > 0:
            raise ValueError(f"budget: expected a positive number of seconds, got {self.budget!r}")
        if not 0.0 <= self.ema <= 1.0:
            raise ValueError(f"ema: expected a base momentum in [0, 1], got {self.ema!r}")
        if not self.gamma >= 0:
            raise ValueError(f"gamma: expected >= 0, got {self.gamma!r}")
        if not 0.0 < self.filter_threshold < 1.0:
            raise ValueError(f"filter_threshold: expected a value in (0, 1), got {self.filter_threshold!r}")
        if self.channels_last and self.width < 8:
            raise ValueError(f"channels_last: needs width >= 8, got width {self.width} (torch's CPU convolutions "
                             "corrupt the heap in NHWC layout with 4 channels, seen with torch 2.14.1); drop channels_last")
        if not self.tb_lr_mult > 0:
            raise ValueError(f"tb_lr_mult: expected a positive multiplier of lr for t' and b, got {self.tb_lr_mult!r}")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError(f"lr, weight_decay: expected lr > 0 and weight_decay >= 0, got {self.lr!r}, {self.weight_decay!r}")


@dataclass
class TrainResult:
    out: Path
    steps: int
    seconds: float
    images_per_second: float
    final: dict[str, Any] = field(default_factory=dict)
    is_main: bool = True


# ---------------------------------------------------------------------------------------- helpers
def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """A checkpoint written by :func:`train` (``torch.load(weights_only=True)``)."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint: {path} does not exist (train with --out pointing at that directory first)")
    return torch.load(path, map_location=map_location, weights_only=True)


def _rng_state(gen: torch.Generator) -> dict[str, Any]:
    state = {
        "aug": gen.get_state(),
        "torch": torch.get_rng_state(),
        "numpy": torch.from_numpy(np.frombuffer(json.dumps(_np_state()).encode(), dtype=np.uint8).copy()),
        "python": torch.from_numpy(np.frombuffer(json.dumps(_py_state()).encode(), dtype=np.uint8).copy()),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _np_state() -> Any:
    s = np.random.get_state()
    return [s[0], s[1].tolist(), int(s[2]), int(s[3]), float(s[4])]


def _py_state() -> Any:
    s = random.getstate()
    return [s[0], list(s[1]), s[2]]


def _set_rng_state(gen: torch.Generator, state: dict[str, Any]) -> None:
    gen.set_state(state["aug"])
    torch.set_rng_state(state["torch"])
    s = json.loads(bytes(state["numpy"].numpy()).decode())
    np.random.set_state((s[0], np.array(s[1], dtype=np.uint32), s[2], s[3], s[4]))
    s = json.loads(bytes(state["python"].numpy()).decode())
    random.setstate((s[0], tuple(s[1]), s[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    if mode == "off" or (mode == "auto" and device.type != "cuda"):
        return None
    if mode in ("auto", "fp16"):
        return torch.float16
    return torch.bfloat16


class _Order:
    """The global sample order: a fresh permutation per epoch from ``(seed, epoch)``; global batch ``k`` of an
    epoch is rows ``k B .. (k + 1) B`` (drop-last), and rank ``r`` takes its ``r``-th ``B / W`` slice."""

    def __init__(self, n: int, batch: int, seed: int, rank: int, world: int):
        self.n, self.batch, self.seed, self.rank, self.world = n, batch, seed, rank, world
        self.steps_per_epoch = n // batch
        self._epoch, self._perm = -1, None

    def indices(self, step: int) -> np.ndarray:
        epoch, k = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            self._epoch, self._perm = epoch, np.random.default_rng([self.seed, epoch]).permutation(self.n)
        rows = self._perm[k * self.batch : (k + 1) * self.batch]
        per = self.batch // self.world
        return rows[self.rank * per : (self.rank + 1) * per]


# ------------------------------------------------------------------------------------------ train
def build_model(cfg: TrainConfig, in_channels: int, image_size: int) -> MSCLModel:
    stem = cfg.stem if cfg.stem != "auto" else ("cifar" if image_size <= 64 else "imagenet")
    init_t, init_beta = TEMPERATURE_INITS[cfg.init]
    model = MSCLModel(cfg.arch, stem=stem, in_channels=in_channels, width=cfg.width, hidden_dim=cfg.proj_hidden,
                      out_dim=cfg.proj_out, init=cfg.init, t_cap=cfg.t_cap)
    with torch.no_grad():
        model.online.log_t.fill_(init_t if cfg.log_t0 is None else cfg.log_t0)
        model.online.beta.fill_(init_beta if cfg.beta0 is None else cfg.beta0)
    return model


def crop_config(cfg: TrainConfig, image_size: int) -> MultiCropConfig:
    global_size, local_size = view_sizes(image_size)
    return MultiCropConfig(global_size=cfg.global_size or global_size, local_size=cfg.local_size or local_size,
                           num_global=cfg.num_global, num_local=cfg.num_local)


def _schedules(cfg: TrainConfig, step: int, total: int) -> tuple[float, float | None]:
    if cfg.loss == "scl":
        return 0.0, None
    gamma = cfg.gamma
    if cfg.gamma_schedule:
        gamma = cosine_gamma(step, cfg.gamma, int(cfg.gamma_steps or max(total // 2, 1)))
    threshold = filter_threshold_at(step, cfg.filter_threshold, int(cfg.filter_warmup)) if cfg.loss == "filter" else None
    return gamma, threshold


def check_batch(batch_size: int, world_size: int) -> None:
    """The global batch must split evenly over the ranks with >= 2 samples each (BatchNorm, one negative)."""
    if batch_size < world_size or batch_size % world_size:
        raise ValueError(
            f"batch_size: the global batch must be a multiple of the world size {world_size} "
            f"(at least one sample per rank), got {batch_size}"
        )
    if batch_size // world_size < 2:
        raise ValueError(f"batch_size: each rank needs >= 2 samples (BatchNorm, negatives), got {batch_size} over world size {world_size}")


def train(cfg: TrainConfig) -> TrainResult:
    """Run (or resume, with ``cfg.resume``) one training run; returns where it wrote and what it measured."""
    cfg.validate()
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    ctx = sdist.init_distributed(cfg.device, timeout_s=cfg.dist_timeout)
    device = ctx.device
    out = Path(cfg.out)
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)

    pre_split, _, _ = sdata.default_splits(cfg.dataset)
    dataset = sdata.load_dataset(cfg.dataset, pre_split, cfg.data_root, check_md5=cfg.check_md5).subset(cfg.train_limit, cfg.seed)
    check_batch(cfg.batch_size, ctx.world_size)
    if len(dataset) < cfg.batch_size:
        raise ValueError(f"batch_size: {cfg.batch_size} exceeds the {len(dataset)} training images of {cfg.dataset!r}")
    order = _Order(len(dataset), cfg.batch_size, cfg.seed, ctx.rank, ctx.world_size)
    total = int(cfg.steps or cfg.epochs * order.steps_per_epoch)

    _seed_all(cfg.seed)
    model = build_model(cfg, dataset.channels, dataset.size).to(device)
    if cfg.loss == "filter" and cfg.filter_warmup < total and not cfg.resume and ctx.is_main:
        gamma_at_start, _ = _schedules(cfg, cfg.filter_warmup + 1, total)  # the first filtered step
        _warn_if_filtering_keeps_no_negative(cfg.filter_threshold, gamma_at_start, model.online.temperature().item(),
                                             -model.online.beta.item())
    layout = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model.to(memory_format=layout)  # NHWC: 1.3x faster convolutions on this CPU (oneDNN); cuDNN prefers it with AMP
    crops = crop_config(cfg, dataset.size)
    augment = MultiCrop(crops, dataset.mean, dataset.std)
    online: torch.nn.Module = model.online
    if ctx.enabled:
        online = torch.nn.parallel.DistributedDataParallel(
            model.online, device_ids=[device.index] if device.type == "cuda" else None)
    network = [p for name, p in model.online.named_parameters() if name not in ("log_t", "beta")]
    scalars = [model.online.log_t, model.online.beta]
    optimizer = torch.optim.Adam([{"params": network, "lr_mult": 1.0}, {"params": scalars, "lr_mult": cfg.tb_lr_mult}],
                                 lr=cfg.lr, weight_decay=cfg.weight_decay)
    amp_dtype = _amp_dtype(cfg.amp, device)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    objective = Objective(ObjectiveConfig(alpha=cfg.alpha, exchange=cfg.exchange))
    gen = torch.Generator(device=device)
    gen.manual_seed(cfg.seed * 1_000_003 + ctx.rank)

    step = 0
    if cfg.resume:
        if not (out / CHECKPOINT).is_file():
            raise FileNotFoundError(f"resume: {out / CHECKPOINT} does not exist (drop --resume to start a new run in {out})")
        ckpt = load_checkpoint(out / CHECKPOINT, map_location=device)
        _check_resumable(json.loads(ckpt["config"]), dataclasses.asdict(cfg))
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scaler.load_state_dict(ckpt["scaler"])
        step = int(ckpt["step"])
        if len(ckpt["rng"]) != ctx.world_size:
            raise ValueError(f"resume: the checkpoint was written by {len(ckpt['rng'])} ranks, this run has world size "
                             f"{ctx.world_size}; resume with the same number of processes")
        rng = ckpt["rng"][ctx.rank]
        rng = {k: (v.cpu() if isinstance(v, torch.Tensor) else [s.cpu() for s in v]) for k, v in rng.items()}
        _set_rng_state(gen, rng)
    if ctx.is_main:
        (out / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2) + "\n")
        _trim_metrics(out / "metrics.jsonl", step)

    probe_data = None
    if cfg.probe_every and ctx.is_main:
        from sigref_torch.ssl.probe import load_probe_data
        probe_data = load_probe_data(cfg.dataset, cfg.data_root, cfg.probe_train_limit, cfg.probe_test_limit)

    def checkpoint() -> None:
        rng = [_rng_state(gen)]
        if ctx.enabled:
            gathered: list[Any] = [None] * ctx.world_size
            dist.all_gather_object(gathered, _to_cpu(rng[0]))
            rng = gathered
        if ctx.is_main:
            _atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
                          "step": step, "total_steps": total, "rng": rng, "config": json.dumps(dataclasses.asdict(cfg))},
                         out / CHECKPOINT)
            _atomic_save(model.target_backbone.state_dict(), out / ENCODER)

    start = time.perf_counter()
    first_step = step
    log_time, log_step = start, step
    aug_seconds = 0.0
    last: dict[str, Any] = {}
    bar = progress(total=total, desc="ssl train", enabled=cfg.progress and ctx.is_main)
    bar.update(step)
    stopped_by_budget = False
    probe_seconds = 0.0  # evaluation time does not count against --budget
    while step < total:
        if cfg.budget is not None and _over_budget(time.perf_counter() - start - probe_seconds, cfg.budget, ctx):
            stopped_by_budget = True
            break
        index = order.indices(step)
        x = torch.from_numpy(dataset.batch(index)).to(device, non_blocking=True)
        t_aug = time.perf_counter()
        views = [v.contiguous(memory_format=layout) for v in augment(x, gen)]
        if device.type == "cuda" and cfg.log_every and (step + 1) % cfg.log_every == 0:
            torch.cuda.synchronize(device)
        aug_seconds += time.perf_counter() - t_aug
        gamma, threshold = _schedules(cfg, step, total)
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            emb, t, b = online(views)
            tgt = model.embed_target(views[: crops.num_global])
        loss, stats = objective(emb, tgt, t, b, gamma=gamma, filter_threshold=threshold)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"step {step}: the loss is {float(loss)} (t = {float(t)}, b = {float(b)}); lower lr or use --amp off")
        optimizer.zero_grad(set_to_none=True)
        lr = cosine_decay(step, cfg.lr, total) if cfg.lr_schedule == "cosine" else cfg.lr
        for group in optimizer.param_groups:
            group["lr"] = lr * group["lr_mult"]
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        momentum = ema_momentum(step, total, cfg.ema)
        model.update_target(momentum)
        step += 1
        bar.update(1)
        if step % cfg.log_every == 0 or step == total:
            now = time.perf_counter()
            last = {"step": step, "epoch": step / order.steps_per_epoch, "loss": float(loss.detach()), **stats,
                    "t": float(t.detach()), "b": float(b.detach()), "gamma": gamma, "filter_threshold": threshold,
                    "lr": lr, "ema": momentum, "images_per_s": cfg.batch_size * (step - log_step) / max(now - log_time, 1e-9),
                    "aug_ms_per_step": 1e3 * aug_seconds / max(step - log_step, 1), "elapsed_s": now - start}
            if ctx.enabled:
                last["loss"] = _mean_over_ranks(loss.detach())
            log_time, log_step, aug_seconds = now, step, 0.0
            bar.set_postfix(loss=f"{last['loss']:.4f}", t=f"{last['t']:.2f}", b=f"{last['b']:.2f}", kept=f"{stats['kept']:.3f}")
            if ctx.is_main:
                _append_metrics(out / "metrics.jsonl", last)
        if cfg.probe_every and step % cfg.probe_every == 0 and step < total:
            t_probe = time.perf_counter()
            _probe_and_log(model, probe_data, crops, dataset, device, out, step, ctx)
            probe_seconds += time.perf_counter() - t_probe
        if step % cfg.ckpt_every == 0 and step < total:
            checkpoint()
    bar.close()
    seconds = time.perf_counter() - start - probe_seconds
    checkpoint()
    if cfg.probe_every:
        _probe_and_log(model, probe_data, crops, dataset, device, out, step, ctx)
    if ctx.is_main and stopped_by_budget:
        _append_metrics(out / "metrics.jsonl", {"step": step, "event": "budget", "budget_s": cfg.budget, "elapsed_s": seconds})
    ips = cfg.batch_size * (step - first_step) / max(seconds, 1e-9)
    return TrainResult(out, step, seconds, ips, last, is_main=ctx.is_main)


def _warn_if_filtering_keeps_no_negative(threshold: float, gamma: float, t: float, b: float) -> None:
    """MSCL filtering keeps a negative only if its weight sigma(t cos - b)^gamma exceeds the threshold; at cosine 1 the
    weight is largest, so if even sigma(t - b)^gamma does not, no negative survives whatever the embeddings."""
    log_w = gamma * float(log_sigmoid(np.asarray(t - b)))
    if gamma > 0 and log_w <= math.log(threshold):
        logit = math.log(threshold) / gamma
        logit -= math.log1p(-math.exp(logit))
        warnings.warn(f"filter_threshold {threshold:g} is at least every negative pair's weight at the initial "
                      f"t = {t:.4g}, b = {b:.4g} (sigma(t - b)^gamma = {math.exp(log_w):.3g} at cosine 1, gamma {gamma:.3g} as "
                      f"filtering starts): filtering keeps no negative until t - b exceeds {logit:.4g}, and a run on the "
                      "positives alone collapses; raise t (log_t0), lower b (beta0 = -b) or the threshold", stacklevel=3)


# Settings that may change between an interrupted run and its continuation without changing the result.
_RESUME_FREE = {"resume", "budget", "progress", "log_every", "ckpt_every", "probe_every", "probe_train_limit",
                "probe_test_limit", "dist_timeout", "threads", "device", "data_root", "check_md5", "out"}


def _check_resumable(saved: dict[str, Any], current: dict[str, Any]) -> None:
    diff = {k: (saved.get(k), v) for k, v in current.items() if k not in _RESUME_FREE and saved.get(k) != v}
    if diff:
        listed = ", ".join(f"{k}: checkpoint {a!r} vs now {b!r}" for k, (a, b) in sorted(diff.items()))
        raise ValueError(f"resume: the run's settings differ from the checkpoint's ({listed}); resume with the same settings")


def _to_cpu(state: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.cpu() if isinstance(v, torch.Tensor) else [s.cpu() for s in v]) for k, v in state.items()}


def _over_budget(elapsed: float, budget: float, ctx: sdist.DistContext) -> bool:
    flag = torch.tensor([1.0 if elapsed >= budget else 0.0], device=ctx.device)
    if ctx.enabled:  # rank 0's clock decides for everyone, so all ranks stop at the same step
        dist.broadcast(flag, 0)
    return bool(flag.item() > 0)


def _mean_over_ranks(x: torch.Tensor) -> float:
    y = x.detach().float().clone()
    dist.all_reduce(y)
    return float(y) / dist.get_world_size()


def _append_metrics(path: Path, record: dict[str, Any]) -> None:
    with path.open("a") as handle:
        handle.write(json.dumps(record) + "\n")


def _trim_metrics(path: Path, step: int) -> None:
    """Keep the records up to ``step`` (a resumed run rewrites what came after its checkpoint)."""
    if not path.is_file():
        return
    keep = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line).get("step", 0) <= step]
    path.write_text("".join(line + "\n" for line in keep))


def _probe_and_log(model, probe_data, crops, dataset, device, out, step, ctx) -> None:
    if ctx.is_main and probe_data is not None:
        from sigref_torch.ssl.probe import logistic_probe_encoder

        acc = logistic_probe_encoder(model.target_backbone, probe_data, size=crops.global_size, device=device)
        _append_metrics(out / "metrics.jsonl", {"step": step, "probe_accuracy": acc})
    if ctx.enabled:
        dist.barrier()
