"""Distributed conformance: W gloo processes on the CPU, each holding N / W rows; the DDP-averaged
gradients must equal the single-process goldens of the global batch.

Measured: sigref_torch's ring and all-gather losses, open_clip's SigLipLoss with each of its exchanges
(``dist_impl`` shift, bidir, gather, reduce), and two broken rings written here (implementations.py):
one that drops a remote block (a numeric failure naming the ranks whose rows differ) and one that
leaves a received block unused, whose backward exchange never completes (a deadlock, reported as a
failure once the process group's timeout expires).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from sigref import golden
from sigref.conform import Report, conform, summary_table
from sigref.golden import store

ROOT = Path(__file__).resolve().parents[3]
PEERS = "tests.conform.peers.implementations"
TIMEOUT = 60.0  # one process group per world size for the whole module
FAST = ["conform_init", "conform_extreme"]
DISTRIBUTED = {  # name in the docs table -> conform arguments
    "sigref_torch ring": ("sigref_torch.distributed:distributed_sigmoid_loss", {"world_size": 2}),
    "sigref_torch all-gather": (f"{PEERS}:all_gather_loss", {"convention": "paper", "framework": "torch", "world_size": 2}),
    "open_clip SigLipLoss shift": ("open_clip.loss:SigLipLoss", {"convention": "open_clip", "world_size": 2, "init": {"dist_impl": "shift"}}),
    "open_clip SigLipLoss bidir": ("open_clip.loss:SigLipLoss", {"convention": "open_clip", "world_size": 3, "init": {"dist_impl": "bidir"}}),
    "open_clip SigLipLoss gather": ("open_clip.loss:SigLipLoss", {"convention": "open_clip", "world_size": 2, "init": {"dist_impl": "gather"}}),
    "open_clip SigLipLoss reduce": ("open_clip.loss:SigLipLoss", {"convention": "open_clip", "world_size": 2, "init": {"dist_impl": "reduce"}}),
    "ring dropping a block": (f"{PEERS}:ring_dropping_a_block", {"convention": "paper", "framework": "torch", "world_size": 3}),
}


def _run(name: str, cases: list[str] | None = None) -> Report:
    target, options = DISTRIBUTED[name]
    if target.startswith("open_clip"):
        pytest.importorskip("open_clip", reason="open_clip is not installed (pip install open-clip-torch)")
    return conform(target, cases=cases, timeout_s=TIMEOUT, **options)


@pytest.fixture(scope="module", autouse=True)
def _stop_the_ranks():
    yield
    from sigref_torch import conform as torch_conform

    torch_conform.close()


@pytest.fixture(scope="module")
def measured() -> dict[str, Report]:
    """Every distributed peer on every case (what docs/conformance.md's second table shows)."""
    return {name: _run(name) for name in DISTRIBUTED}


@pytest.mark.parametrize("name", ["sigref_torch ring", "sigref_torch all-gather"])
def test_sigref_exchanges_conform_on_two_ranks(name):
    report = _run(name, FAST)
    assert report.ok, report.table()
    assert "2 processes (DDP-averaged gradients)" in report.table()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sigref_torch ring", "sigref_torch all-gather"])
def test_sigref_exchanges_on_every_case(measured, name):
    """Every case agrees, N = 2 on two ranks included (one pair per rank: the own block is a single positive)."""
    report = measured[name]
    assert report.ok, report.table()
    agreeing = {r.case for r in report.rows if r.status == "agrees"}
    assert agreeing == {"conform_n2", "conform_init", "conform_trained", "conform_extreme", "conform_large"}


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in DISTRIBUTED if n.startswith("open_clip")])
def test_open_clip_exchanges_conform(measured, name):
    report = measured[name]
    assert report.ok, report.table()


def _dropped_block_is_negligible(case: str, world: int = 3) -> np.ndarray:
    """Per configuration: whether the block the broken ring drops (rows of the last rank against the
    columns of rank 0, all negatives) weighs nothing in float64: every sigmoid(z) < 1e-40 there."""
    directory = golden.default_dir()
    inputs, _ = store.verified_load(directory, case, store.read_manifest(directory))
    U, V, t, b = inputs["U"], inputs["V"], inputs["t"], inputs["b"]
    n = U.shape[-2] // world
    z = t[:, None, None] * U[:, -n:] @ np.swapaxes(V[:, :n], -1, -2) - b[:, None, None]
    return z.max(axis=(1, 2)) < -92.0  # sigmoid(-92) = 1e-40


def test_a_ring_that_drops_a_remote_block_fails_naming_the_case_and_the_ranks():
    report = _run("ring dropping a block", FAST)
    assert not report.ok
    for row in report.rows:
        assert row.status == "differs", row
        # the last rank's anchors miss the block (its U rows), and the block's owner, rank 0, misses its gradient (its V rows)
        assert row.where.endswith("U rows differ on rank 2; V rows differ on rank 0"), row.where
        assert re.search(r"\(rank [02] row \d+\)|d/d (t|b)|value", row.where)
        negligible = _dropped_block_is_negligible(row.case)
        assert [ratio <= 1.0 for ratio in row.by_config] == list(negligible), (row.id, row.by_config)
    extreme = next(r for r in report.rows if r.id == "conform_extreme:float64")
    assert [k for k, ratio in enumerate(extreme.by_config) if ratio <= 1] == [1, 4]  # b = 1e4: no negative weighs anything


@pytest.mark.slow
def test_a_ring_whose_backward_exchange_never_completes_fails_after_the_timeout():
    report = conform(f"{PEERS}:ring_skipping_an_exchange", "paper", framework="torch", world_size=2, cases=FAST, timeout_s=5.0)
    assert not report.ok and {r.status for r in report.rows} == {"fails"}
    first = report.rows[0]
    assert "PeerFailure" in first.where and "did not respond within the process-group timeout" in first.where
    assert all("not run" in r.where for r in report.rows[1:])
    assert report.notes and all(note.startswith("rank") for note in report.notes)


@pytest.mark.slow
def test_the_docs_table_is_the_measured_one(measured):
    text = (ROOT / "docs" / "conformance.md").read_text()
    block = re.search(r"<!-- conform-table:distributed -->\n(.*?)\n<!-- /conform-table:distributed -->", text, re.S)
    assert block, "docs/conformance.md lost its measured table"
    assert block.group(1) == summary_table(measured)
