"""The peers, measured on one process: sigref_torch, open_clip's SigLipLoss and implementations written
from the papers' formulas (tests/conform/peers/implementations.py), every golden conformance case,
float64 and float32, value and autograd gradients.

Truths: the goldens, and for the two naive forms an analytic account of where they must break:
``-log(sigmoid(u) + 1e-8)`` saturates once sigmoid(u) drops below the clamp (its relative error is
1e-8 / sigmoid(u)), and ``(1 - sigmoid(u)) ** 0.5`` has an infinite derivative, hence a NaN gradient,
once sigmoid(u) rounds to 1 (u > 16.6 in float32, u > 36.7 in float64), u = y z the labelled logit.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from sigref import golden
from sigref.cli import main
from sigref.conform import Report, conform, summary_table
from sigref.golden import store
from sigref.golden.cases.conform import CASES

ROOT = Path(__file__).resolve().parents[3]
PEERS = "tests.conform.peers.implementations"
ALL = [c.name for c in CASES]
SINGLE = {  # name in the docs table -> conform arguments
    "sigref_torch.siglip_loss": ("sigref_torch:siglip_loss", {"convention": "open_clip"}),
    "sigref_torch.sigmoid_loss": ("sigref_torch:sigmoid_loss", {"convention": "paper"}),
    "open_clip SigLipLoss": ("open_clip.loss:SigLipLoss", {"convention": "open_clip"}),
    "bce_with_logits": (f"{PEERS}:bce_with_logits", {"convention": "paper", "framework": "torch"}),
    "clamped_log": (f"{PEERS}:clamped_log", {"convention": "paper", "framework": "torch", "reduction": "mean"}),
    "focal_by_subtraction": (f"{PEERS}:focal_by_subtraction", {"convention": "mscl", "framework": "torch"}),
    "sigref_as_mscl": (f"{PEERS}:sigref_as_mscl", {"convention": "mscl", "framework": "torch", "batch_axes": True}),
}

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def measure() -> dict[str, Report]:
    """Every single-process peer on every case (also what docs/conformance.md's first table shows)."""
    pytest.importorskip("open_clip", reason="open_clip is not installed (pip install open-clip-torch)")
    return {name: conform(target, **options) for name, (target, options) in SINGLE.items()}


@pytest.fixture(scope="module")
def measured(torch_one_thread_module) -> dict[str, Report]:
    return measure()


@pytest.fixture(scope="module")
def torch_one_thread_module():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _labelled_logits(case: str) -> np.ndarray:
    """u = y z per configuration, z = t <u_i, v_j> - b, y = +1 on the diagonal, -1 elsewhere."""
    directory = golden.default_dir()
    inputs, _ = store.verified_load(directory, case, store.read_manifest(directory))
    U, V, t, b = inputs["U"], inputs["V"], inputs["t"], inputs["b"]
    z = t[:, None, None] * U @ np.swapaxes(V, -1, -2) - b[:, None, None]
    return (2 * np.eye(U.shape[-2]) - 1) * z


def test_sigref_torch_siglip_loss_conforms_from_the_command_line(capsys):
    assert main(["conform", "sigref_torch:siglip_loss", "--convention", "open_clip"]) == 0
    out = capsys.readouterr().out
    assert "14 agrees of 14: CONFORMS" in out  # the batch-axes case too: sigref_torch declares it


def test_open_clip_siglip_loss_conforms_from_the_command_line(capsys):
    pytest.importorskip("open_clip", reason="open_clip is not installed (pip install open-clip-torch)")
    assert main(["conform", "open_clip.loss:SigLipLoss", "--convention", "open_clip", "--case", "conform_init",
                 "--case", "conform_extreme", "--case", "conform_uneven"]) == 0
    assert "6 agrees of 6: CONFORMS" in capsys.readouterr().out


def test_open_clip_chunked_siglip_loss_conforms():
    open_clip_loss = pytest.importorskip("open_clip.loss", reason="open_clip is not installed (pip install open-clip-torch)")
    if "chunk_size" not in inspect.signature(open_clip_loss.SigLipLoss).parameters:
        version = __import__("importlib.metadata").metadata.version("open-clip-torch")
        pytest.skip(f"open-clip-torch {version}'s SigLipLoss has no chunk_size (the chunked path of its PR 1145 is newer)")
    for chunk in (1, 5, 512):  # 5 and 512 leave uneven last blocks
        report = conform("open_clip.loss:SigLipLoss", "open_clip", init={"chunk_size": chunk}, cases=ALL)
        assert report.ok, report.table()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sigref_torch.siglip_loss", "sigref_torch.sigmoid_loss", "open_clip SigLipLoss", "bce_with_logits",
                                  "sigref_as_mscl"])
def test_correct_implementations_agree_everywhere(measured, name):
    report = measured[name]
    assert report.ok, report.table()
    batch = {r.status for r in report.rows if r.case == "conform_batch_axes"}
    assert batch == ({"agrees"} if name.startswith("sigref") else {"skipped"})
    assert "autograd (torch)" in report.gradients


@pytest.mark.slow
def test_the_clamped_log_breaks_where_the_clamp_dominates(measured):
    """Its error on a pair is about 1e-8 / sigmoid(u): above float32's tolerance once a labelled logit
    goes below -15, agreeing above -9.2 (sigmoid > 1e-4); in float64 wrong below -5, right above -1."""
    report = measured["clamped_log"]
    limits = {"float32": (-15.0, -9.2), "float64": (-5.0, -1.0)}
    checked = 0
    for row in report.rows:
        if row.status == "skipped":
            continue
        assert row.status in ("agrees", "differs"), row
        u_min = _labelled_logits(row.case).min(axis=(1, 2))
        wrong_below, right_above = limits[row.dtype]
        for ratio, u in zip(row.by_config, u_min):
            if u < wrong_below:
                assert ratio > 1.0, (row.id, u, ratio)
                checked += 1
            elif u > right_above:
                assert ratio <= 1.0, (row.id, u, ratio)
                checked += 1
    assert checked >= 30
    # what the table records: the clamp is wrong in some configuration of every case
    assert report.failing() == {r.id for r in report.rows if r.status != "skipped"}


@pytest.mark.slow
def test_the_focal_weight_by_subtraction_breaks_where_sigmoid_rounds_to_one(measured):
    report = measured["focal_by_subtraction"]
    assert all(r.status in ("agrees", "skipped") for r in report.rows if r.gamma == 1.0), report.table()  # (1 - s)^1 is harmless
    rounds_to_one = {"float32": (17.5, 16.0), "float64": (37.5, 36.0)}
    for row in (r for r in report.rows if r.gamma == 0.5 and r.status != "skipped"):
        u_max = _labelled_logits(row.case).max(axis=(1, 2))
        nan_above, finite_below = rounds_to_one[row.dtype]
        for ratio, u in zip(row.by_config, u_max):
            assert not (finite_below <= u <= nan_above), (row.id, u)  # no case sits on the rounding edge
            assert (ratio > 1.0) == (u > nan_above), (row.id, u, ratio)
        if row.status == "differs":
            assert re.search(r"^d/d x(_target)?\[\d+, \d+\] = nan, config \d+: tau=", row.where), row.where  # a NaN gradient
    assert report.failing() == {
        "conform_init[gamma=0.5]:float32", "conform_trained[gamma=0.5]:float64", "conform_trained[gamma=0.5]:float32",
        "conform_extreme[gamma=0.5]:float64", "conform_extreme[gamma=0.5]:float32", "conform_uneven[gamma=0.5]:float32",
        "conform_large[gamma=0.5]:float32",
    }


def test_a_loss_that_normalises_its_inputs_agrees_on_the_tangent_space():
    target = f"{PEERS}:normalising_bce"
    options = dict(framework="torch", cases=["conform_init", "conform_extreme"])
    plain = conform(target, "paper", **options)
    assert not plain.ok and all(r.status == "differs" and r.errors["value"] <= r.rtol for r in plain.rows)
    assert all(r.where.startswith(("d/d U", "d/d V")) for r in plain.rows)
    tangent = conform(target, "paper", tangent=True, **options)
    assert tangent.ok, tangent.table()


def test_a_callable_without_batch_axes_fails_the_batch_case_when_forced():
    report = conform(f"{PEERS}:bce_with_logits", "paper", framework="torch", cases=["conform_batch_axes"], batch_axes=True)
    assert [r.status for r in report.rows] == ["fails", "fails"]
    assert "batch [2, 3]" in report.rows[0].where


def test_a_loss_without_autograd_graph_fails_clearly():
    report = conform(lambda U, V, t, b: (t * U @ V.T - b).sum().detach(), "paper", framework="torch", cases=["conform_n2"])
    assert report.rows[0].status == "fails"
    assert "carries no autograd graph" in report.rows[0].where


@pytest.mark.slow
def test_the_docs_table_is_the_measured_one(measured):
    text = (ROOT / "docs" / "conformance.md").read_text()
    block = re.search(r"<!-- conform-table:single -->\n(.*?)\n<!-- /conform-table:single -->", text, re.S)
    assert block, "docs/conformance.md lost its measured table"
    assert block.group(1) == summary_table(measured)
