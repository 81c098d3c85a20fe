"""Train a two-tower model with the multi-process sigmoid loss under DistributedDataParallel.

    torchrun --standalone --nproc-per-node 2 docs/examples/ddp_train.py --steps 50
    torchrun --standalone --nproc-per-node 8 docs/examples/ddp_train.py --device cuda --batch-size 4096

Each rank holds ``batch_size`` pairs of the global batch ``world_size * batch_size``. The loss of every rank is
its share L_r of the global per-anchor sigmoid loss (:func:`sigref_torch.distributed.distributed_sigmoid_loss`):
its own pairs are positives, every other rank's texts are negatives, exchanged by a ring of point-to-point
shifts. DDP averages the gradients over ranks, which gives exactly the gradients of the single-process loss of
the concatenated batch. The temperature (as log t) and the bias are parameters of the model, so DDP averages
their gradients too. Runs on CPU (gloo) as well as on GPUs (nccl); the data are synthetic pairs.
"""

from __future__ import annotations

import argparse

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import sigref_torch
from sigref_torch.distributed import distributed_sigmoid_loss, init_distributed


class TwoTower(nn.Module):
    """Image and text encoders with a shared embedding space, and the loss's learnable t and b."""

    def __init__(self, d_image: int, d_text: int, d: int) -> None:
        super().__init__()
        self.image = nn.Sequential(nn.Linear(d_image, 128), nn.ReLU(), nn.Linear(128, d))
        self.text = nn.Sequential(nn.Linear(d_text, 128), nn.ReLU(), nn.Linear(128, d))
        self.criterion = sigref_torch.SigmoidLoss(t_init=10.0, b_init=10.0)  # SigLIP's init: logit_scale 10, logit_bias -10

    def forward(self, images: torch.Tensor, texts: torch.Tensor, *, mode: str, chunk_size: int | None) -> torch.Tensor:
        U = nn.functional.normalize(self.image(images), dim=-1)
        V = nn.functional.normalize(self.text(texts), dim=-1)
        # this rank's share of the global loss; the logits are t <u_i, v_j> - b (papers' convention)
        return distributed_sigmoid_loss(U, V, self.criterion.t, self.criterion.bias, mode=mode, chunk_size=chunk_size)


def synthetic_pairs(n: int, d_image: int, d_text: int, seed: int = 0) -> TensorDataset:
    """Paired features: the text of pair i is a fixed linear map of its image plus noise."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(n, d_image, generator=g)
    mix = torch.randn(d_image, d_text, generator=g) / d_image**0.5
    texts = images @ mix + 0.1 * torch.randn(n, d_text, generator=g)
    return TensorDataset(images, texts)


def main(argv: list[str] | None = None) -> float:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=64, help="pairs per rank")
    p.add_argument("--device", default="cpu", help="cpu (gloo) or cuda (nccl, one GPU per rank)")
    p.add_argument("--mode", default="ring", choices=["ring", "all_gather"])
    p.add_argument("--chunk-size", type=int, default=None, help="anchors per block inside each rank's loss")
    p.add_argument("--lr", type=float, default=1e-3)
    args = p.parse_args(argv)

    ctx = init_distributed(args.device)  # reads torchrun's WORLD_SIZE, RANK, LOCAL_RANK; a no-op on one process
    torch.manual_seed(0)  # every rank starts from the same weights (DDP also broadcasts rank 0's)
    model = TwoTower(32, 24, 16).to(ctx.device)
    ddp = DDP(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None) if ctx.enabled else model
    optimizer = torch.optim.AdamW(ddp.parameters(), lr=args.lr)

    data = synthetic_pairs(args.batch_size * ctx.world_size * 16, 32, 24)
    sampler = DistributedSampler(data, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, drop_last=True)
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler, drop_last=True)

    step, loss = 0, torch.tensor(float("nan"))
    while step < args.steps:
        sampler.set_epoch(step)  # a new shuffle per pass over the data, the same on every rank
        for images, texts in loader:
            images, texts = images.to(ctx.device), texts.to(ctx.device)
            loss = ddp(images, texts, mode=args.mode, chunk_size=args.chunk_size)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # DDP averages over ranks: the gradient of the global per-anchor loss
            optimizer.step()
            step += 1
            if step % 10 == 0 or step == args.steps:
                global_loss = loss.detach().clone()
                if ctx.enabled:
                    dist.all_reduce(global_loss)  # sum of the shares; their mean is the global loss
                    global_loss /= ctx.world_size
                if ctx.is_main:
                    t, b = model.criterion.t.item(), model.criterion.bias.item()
                    print(f"step {step:4d}  loss {float(global_loss):.4f}  t {t:.3f}  b {b:.3f}", flush=True)
            if step == args.steps:
                break
    if ctx.enabled:
        dist.destroy_process_group()
    return loss.item()


if __name__ == "__main__":
    main()
