"""Golden cases of the loss family: values and every gradient, at ordinary and extreme (t, b).

The inputs are batches of unit rows (N = 12, d = 6) with t from 0.5 to 1e4 (and 1e9 in
``losses_extreme``) and biases of both signs. The cases pin :func:`sigref.losses.sigmoid_loss_and_grad`
in every reduction, MSCL's modulated and filtered variants, chunked evaluation with an uneven last
block, the relative-bias loss (arXiv:2509.18552, Def. 1), the logit diagnostics, the SigLIP
convention (arXiv:2303.15343), InfoNCE, ReLIC's KL term with the MSCL objective and the multimodal
graph loss; values are in the ``reduction`` tolerance class and gradients in ``gradient``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sigref import losses
from sigref.golden import Case
from sigref.sampling import uniform_sphere

N, D = 12, 6


def _pairs(seed: int, batch: tuple[int, ...] = (4,), n: int = N, d: int = D) -> dict[str, np.ndarray]:
    return {"U": uniform_sphere(seed, (*batch, n, d)), "V": uniform_sphere(seed + 1, (*batch, n, d))}


def _flat(res: losses.LossResult, prefix: str = "") -> dict[str, Any]:
    out = {f"{prefix}value": res.value}
    out |= {f"{prefix}grad_{k}": v for k, v in res.grad.items()}
    return out


def _tolerance(output: str) -> str:
    return "reduction" if output.endswith("value") or output.startswith("diag_") else "gradient"


def _sigmoid_inputs() -> dict[str, np.ndarray]:
    # t spans SigLIP-like to extreme inverse temperatures; b both signs.
    return _pairs(1) | {"t": np.array([0.5, 10.0, 300.0, 1.0e4]), "b": np.array([-2.0, 10.0, -150.0, 1.0e4])}


def _sigmoid(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for red in losses.REDUCTIONS:
        out |= _flat(losses.sigmoid_loss_and_grad(a["U"], a["V"], a["t"], a["b"], reduction=red), f"{red}_")
    return out


def _modulated(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for gamma in (0.5, 1.0, 2.5):
        for detach in (False, True):
            res = losses.sigmoid_loss_and_grad(a["U"], a["V"], a["t"], a["b"], gamma=gamma, detach_weight=detach)
            out |= _flat(res, f"g{gamma}_{'detached' if detach else 'full'}_")
    return out


def _filtered(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for thr in (0.05, 0.3):
        res = losses.sigmoid_loss_and_grad(a["U"], a["V"], a["t"], a["b"], gamma=1.0, filter_threshold=thr, diagnostics=True)
        out |= _flat(res, f"thr{thr}_") | {f"thr{thr}_kept_fraction": res.diagnostics["kept_fraction"]}
    return out


def _chunked(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for chunk in (1, 5):  # 5 leaves an uneven last block of 2 rows
        res = losses.sigmoid_loss_and_grad(a["U"], a["V"], a["t"], a["b"], gamma=1.0, chunk_size=chunk)
        out |= _flat(res, f"chunk{chunk}_")
    return out


def _relative(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    b_rel = a["b"] / a["t"]
    return _flat(losses.relative_bias_loss_and_grad(a["U"], a["V"], a["t"], b_rel, reduction="mean"))


def _diagnostics(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    d = losses.logit_diagnostics(a["U"], a["V"], a["t"], a["b"], gamma=1.0, filter_threshold=0.1)
    return {f"diag_{k}": v for k, v in d.items()}


def _siglip(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    return _flat(losses.siglip_loss_and_grad(a["U"], a["V"], a["t"], -a["b"]))


def _infonce_inputs() -> dict[str, np.ndarray]:
    return _pairs(3) | {"tau": np.array([0.05, 0.5, 1.0, 5.0])}


def _infonce(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    out = _flat(losses.infonce_loss_and_grad(a["U"], a["V"], a["tau"]), "sym_")
    return out | _flat(losses.infonce_loss_and_grad(a["U"], a["V"], a["tau"], symmetric=False), "one_")


def _kl(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    res = losses.mscl_loss_and_grad(a["U"], a["V"], a["tau"] * 10, 5.0, gamma=1.0, alpha=0.7)
    return _flat(losses.relic_kl_and_grad(a["U"], a["V"], a["tau"] * 10), "kl_") | _flat(res, "mscl_")


def _multimodal_inputs() -> dict[str, np.ndarray]:
    return {"X": uniform_sphere(5, (4, 3, 10, 5)), "t": np.array([2.0, 20.0, 80.0]), "b_rel": np.array([-0.3, 0.2, 0.7])}


def _multimodal(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for graph in ("complete", "star"):
        res = losses.multimodal_loss_and_grad(a["X"], a["t"], b_rel=a["b_rel"], graph=graph, edge_reduction="mean", reduction="mean")
        out |= _flat(res, f"{graph}_")
    return out


def _extreme_inputs() -> dict[str, np.ndarray]:
    # logits up to +-1e9 in both float32 and float64
    return _pairs(7, batch=(2,)) | {"t": np.array([1.0e9, 1.0e9]), "b": np.array([0.0, -1.0e9])}


def _extreme(backend: Any, a: dict[str, Any]) -> dict[str, Any]:
    out = _flat(losses.sigmoid_loss_and_grad(a["U"], a["V"], a["t"], a["b"]), "plain_")
    return out | _flat(losses.sigmoid_loss_and_grad(a["U"], a["V"], a["t"], a["b"], gamma=0.5), "mscl_")


def _case(name: str, what: str, inputs: Any, compute: Any) -> Case:
    return Case(name=name, what=what, inputs=inputs, compute=compute, tolerance=_tolerance)


CASES = [
    _case("losses_sigmoid", "sigmoid loss and gradients (U, V, t, log t, b), every reduction, t in [0.5, 1e4]", _sigmoid_inputs, _sigmoid),
    _case("losses_modulated", "MSCL modulated loss, gamma 0.5/1/2.5, weight detached or not", _sigmoid_inputs, _modulated),
    _case("losses_filtered", "MSCL hard-negative filtering (threshold 0.05, 0.3): loss, gradients, kept fraction", _sigmoid_inputs, _filtered),
    _case("losses_chunked", "chunked evaluation (chunk 1 and 5 of N=12, uneven last block) of the modulated loss", _sigmoid_inputs, _chunked),
    _case("losses_relative_bias", "relative-bias loss (arXiv 2509.18552 Def. 1) and its (t, b_rel) gradients", _sigmoid_inputs, _relative),
    _case("losses_diagnostics", "logit diagnostics: pos/neg logit min/mean/max, margin, b*_rel, kept fraction", _sigmoid_inputs, _diagnostics),
    _case("losses_siglip", "SigLIP/open_clip convention (logit_scale, logit_bias) values and gradients", _sigmoid_inputs, _siglip),
    _case("losses_infonce", "InfoNCE with dividing temperature, symmetric and one-sided", _infonce_inputs, _infonce),
    _case("losses_relic_mscl", "ReLIC KL term and the MSCL objective with alpha = 0.7", _infonce_inputs, _kl),
    _case("losses_multimodal", "k = 4 modality graph loss (complete, star), relative bias, N^2-mean", _multimodal_inputs, _multimodal),
    _case("losses_extreme", "logits of +-1e9 (t = 1e9): finite values and gradients, plain and modulated", _extreme_inputs, _extreme),
]
