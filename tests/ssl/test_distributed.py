"""Distributed sigmoid loss: 2 gloo processes equal one process on the concatenated batch.

Truth: the single-process loss and torch-autograd gradients of an independent formula
(logsigmoid of labelled logits), and the single-process :class:`Objective`. Per-rank gradients are
averaged over ranks, which is what DistributedDataParallel does to parameter gradients.
"""

from __future__ import annotations

import datetime
import math
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from sigref_torch import distributed as sdist
from sigref_torch.ssl.objective import Objective, ObjectiveConfig

N, D, WORLD = 12, 5, 2
OPTIONS = [{"gamma": 0.0}, {"gamma": 1.0}, {"gamma": 0.5, "filter_threshold": 0.05}]


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _inputs():
    rng = np.random.default_rng(7)
    U = rng.normal(size=(N, D))
    V = U + 0.7 * rng.normal(size=(N, D))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    views = rng.normal(size=(4, N, D))  # 4 online views; the first 2 are also the target views
    return U, V, views


def _reference_loss(U, V, t, b, gamma=0.0, filter_threshold=None):
    """Independent per-anchor (M)SCL on the full batch: -(1/N) sum w log sigmoid(y z)."""
    z = t * U @ V.T - b
    y = 2 * torch.eye(U.shape[0], dtype=U.dtype) - 1
    logp = F.logsigmoid(y * z)
    w = torch.exp(gamma * F.logsigmoid(-y * z))  # (1 - sigmoid(y z))^gamma
    if filter_threshold is None:
        return -(w * logp).sum() / U.shape[0]
    keep = (y > 0) | (w > filter_threshold)
    return -(logp * keep).sum() / U.shape[0]


def _worker(rank: int, port: int, queue) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD,
                            timeout=datetime.timedelta(seconds=60))
    try:
        U, V, views = _inputs()
        rows = slice(rank * N // WORLD, (rank + 1) * N // WORLD)
        out = {}
        for mode in sdist.EXCHANGE_MODES:
            for k, opts in enumerate(OPTIONS):
                u = torch.tensor(U[rows], dtype=torch.float64, requires_grad=True)
                v = torch.tensor(V[rows], dtype=torch.float64, requires_grad=True)
                t = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
                b = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
                loss = sdist.distributed_sigmoid_loss(u, v, t, b, mode=mode, **opts)
                loss.backward()
                out[(mode, k)] = [x.detach().numpy().copy() for x in (loss, u.grad, v.grad, t.grad, b.grad)]
            # the multi-view objective with the ReLIC KL term: online views get gradients, targets do not
            online = [torch.tensor(x[rows], dtype=torch.float64, requires_grad=True) for x in views]
            target = [torch.tensor(x[rows], dtype=torch.float64) for x in views[:2]]
            t = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
            b = torch.tensor(-1.0, dtype=torch.float64, requires_grad=True)
            obj = Objective(ObjectiveConfig(alpha=0.3, exchange=mode))
            loss, _ = obj(online, target, t, b, gamma=1.0)
            loss.backward()
            out[(mode, "objective")] = [loss.detach().numpy().copy(), np.stack([o.grad.numpy() for o in online]),
                                        t.grad.numpy().copy(), b.grad.numpy().copy()]
        queue.put((rank, out))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_rank_results():
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(r, _free_port_once(), queue)) for r in range(WORLD)]
    for p in procs:
        p.start()
    results = dict(queue.get(timeout=120) for _ in range(WORLD))
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return results


_PORT: list[int] = []


def _free_port_once() -> int:
    if not _PORT:
        _PORT.append(_free_port())
    return _PORT[0]


@pytest.mark.parametrize("mode", sdist.EXCHANGE_MODES)
@pytest.mark.parametrize("k", range(len(OPTIONS)))
def test_two_ranks_equal_one_process(two_rank_results, mode, k):
    U, V, _ = _inputs()
    u = torch.tensor(U, requires_grad=True)
    v = torch.tensor(V, requires_grad=True)
    t = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    loss = _reference_loss(u, v, t, b, **OPTIONS[k])
    loss.backward()
    ranks = [two_rank_results[r][(mode, k)] for r in range(WORLD)]
    # DDP semantics: the objective is the mean of the rank losses, gradients are averaged over ranks
    np.testing.assert_allclose(np.mean([r[0] for r in ranks]), loss.item(), rtol=1e-10)
    np.testing.assert_allclose(np.concatenate([r[1] for r in ranks]) / WORLD, u.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(np.concatenate([r[2] for r in ranks]) / WORLD, v.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(np.mean([r[3] for r in ranks]), t.grad.item(), rtol=1e-10)
    np.testing.assert_allclose(np.mean([r[4] for r in ranks]), b.grad.item(), rtol=1e-10)


@pytest.mark.parametrize("mode", sdist.EXCHANGE_MODES)
def test_two_ranks_objective_with_kl_equals_one_process(two_rank_results, mode):
    _, _, views = _inputs()
    online = [torch.tensor(x, requires_grad=True) for x in views]
    target = [torch.tensor(x) for x in views[:2]]
    t = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(-1.0, dtype=torch.float64, requires_grad=True)
    loss, _ = Objective(ObjectiveConfig(alpha=0.3))(online, target, t, b, gamma=1.0)
    loss.backward()
    ranks = [two_rank_results[r][(mode, "objective")] for r in range(WORLD)]
    np.testing.assert_allclose(np.mean([r[0] for r in ranks]), loss.item(), rtol=1e-10)
    grads = np.concatenate([r[1] for r in ranks], axis=1) / WORLD
    np.testing.assert_allclose(grads, np.stack([o.grad.numpy() for o in online]), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(np.mean([r[2] for r in ranks]), t.grad.item(), rtol=1e-10)
    np.testing.assert_allclose(np.mean([r[3] for r in ranks]), b.grad.item(), rtol=1e-10)


def _three_rank_worker(rank: int, port: int, queue) -> None:
    """With 3 ranks the ring's two directions differ: a wrong owner or shift direction would show."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=3,
                            timeout=datetime.timedelta(seconds=60))
    try:
        U, V, _ = _inputs()
        rows = slice(rank * N // 3, (rank + 1) * N // 3)
        out = {}
        for mode in sdist.EXCHANGE_MODES:
            u = torch.tensor(U[rows], requires_grad=True)
            v = torch.tensor(V[rows], requires_grad=True)
            t = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
            b = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
            loss = sdist.distributed_sigmoid_loss(u, v, t, b, mode=mode, gamma=1.0)
            loss.backward()
            owners = [owner for owner, _ in sdist.ring_blocks(torch.full((1,), float(rank)))]
            out[mode] = [x.detach().numpy().copy() for x in (loss, u.grad, v.grad, t.grad, b.grad)] + [owners]
        blocks = [float(block) for _, block in sdist.ring_blocks(torch.full((1,), float(rank), dtype=torch.float64))]
        out["ring_payload"] = blocks
        queue.put((rank, out))
    finally:
        dist.destroy_process_group()


def test_three_ranks_ring_and_all_gather_equal_one_process():
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_three_rank_worker, args=(r, port, queue)) for r in range(3)]
    for p in procs:
        p.start()
    results = dict(queue.get(timeout=120) for _ in range(3))
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    for r in range(3):  # each yielded block really comes from the rank it is attributed to
        assert results[r]["ring_payload"] == [float(r), float((r - 1) % 3), float((r - 2) % 3)]
        assert results[r]["ring"][5] == [r, (r - 1) % 3, (r - 2) % 3]
    U, V, _ = _inputs()
    u, v = torch.tensor(U, requires_grad=True), torch.tensor(V, requires_grad=True)
    t = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    loss = _reference_loss(u, v, t, b, gamma=1.0)
    loss.backward()
    for mode in sdist.EXCHANGE_MODES:
        ranks = [results[r][mode] for r in range(3)]
        np.testing.assert_allclose(np.mean([x[0] for x in ranks]), loss.item(), rtol=1e-10)
        np.testing.assert_allclose(np.concatenate([x[1] for x in ranks]) / 3, u.grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(np.concatenate([x[2] for x in ranks]) / 3, v.grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(np.mean([x[3] for x in ranks]), t.grad.item(), rtol=1e-10)
        np.testing.assert_allclose(np.mean([x[4] for x in ranks]), b.grad.item(), rtol=1e-10)


def _dying_worker(rank: int, port: int, queue) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD,
                            timeout=datetime.timedelta(seconds=5))
    if rank == 1:
        import os

        os._exit(3)  # dies without a word
    try:
        for _ in sdist.ring_blocks(torch.ones(4, 3)):
            pass
        queue.put("no error")
    except sdist.PeerFailure as exc:
        queue.put(f"PeerFailure: {exc}")
    except Exception as exc:  # pragma: no cover - reported by the assertion below
        queue.put(f"{type(exc).__name__}: {exc}")


def test_dead_rank_gives_clear_error_not_hang():
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_dying_worker, args=(r, port, queue)) for r in range(WORLD)]
    for p in procs:
        p.start()
    message = queue.get(timeout=60)
    for p in procs:
        p.join(timeout=30)
    assert message.startswith("PeerFailure"), message
    assert "did not respond" in message


def test_exchange_rejects_bad_mode_and_shapes():
    u = torch.zeros(4, 3)
    with pytest.raises(ValueError, match="mode"):
        sdist.distributed_sigmoid_loss(u, u, 1.0, 0.0, mode="broadcast")
    with pytest.raises(ValueError, match="U, V"):
        sdist.distributed_sigmoid_loss(u, torch.zeros(5, 3), 1.0, 0.0)
    with pytest.raises(ValueError, match="reduction"):
        sdist.distributed_sigmoid_loss(u, u, 1.0, 0.0, reduction="mean")
    assert math.isfinite(float(sdist.distributed_sigmoid_loss(F.normalize(torch.randn(4, 3)), F.normalize(torch.randn(4, 3)),
                                                              torch.tensor(2.0), torch.tensor(0.5))))
