"""The sigmoid contrastive loss, its modulated (MSCL) and filtered variants, with analytic gradients.

For paired unit embeddings U = (u_1..u_N), V = (v_1..v_M) (rows; leading batch axes allowed),
inverse temperature t > 0 and bias b, the logits are (papers' convention, b subtracted)

    z_ij = t <u_i, v_j> - b,

pair (i, i) is positive and every (i, j != i) negative. With q_ij = -z_ii on positives and
q_ij = z_ij on negatives, the per-pair loss is softplus(q) = -log sigma(-q), and

    L(U, V; t, b) = r * sum_ij w(q_ij) softplus(q_ij)                        (1)

- plain (Zhai et al. arXiv 2303.15343; Lee et al. arXiv 2402.12613 Sec. 1.2; Bangachev et al.
  arXiv 2509.18552 eq. 1): w = 1;
- modulated (MSCL, Basara): w = (1 - sigma(y z))^gamma = sigma(q)^gamma, computed as
  exp(gamma * log_sigmoid(q)); gradients flow through w unless ``detach_weight``;
- filtered (MSCL): the plain loss over the kept pairs, every positive and the negatives with
  sigma(q)^gamma > threshold, still normalised by ``r`` (not by the number kept).

The reduction factor r is 1 (``"sum"``, Bangachev's paper), 1/N (``"per_anchor"``: SigLIP,
Lee's code) or 1/(N M) (``"mean"``: Bangachev's code). The relative-bias parameterisation
(arXiv 2509.18552 Def. 1) is L_RB(U, V; t, b_rel) = L(U, V; t, t b_rel).

Gradients, with G_ij = dL/dz_ij = r * dw.softplus/dq * dq/dz and S = U V^T:

    dL/dU = t G V,   dL/dV = t G^T U,   dL/dt = sum_ij G_ij S_ij,   dL/db = -sum_ij G_ij,
    dL/d(log t) = t dL/dt;  at fixed b_rel: dL/dt = sum G S + b_rel dL/db, dL/db_rel = t dL/db.

``chunk_size`` evaluates rows in blocks of that many anchors: memory O(chunk * M), results equal
to the dense path up to the order of summation. Every block is computed as if all its pairs were
negatives, then its (at most chunk) positive entries are replaced by their exact values, so no
label matrix or mask is ever built. Where a plugin registers a loop primitive for the array
library (:mod:`sigref.loops`, e.g. ``lax.scan`` under ``jax.jit``) the equal blocks are driven by
it, so a compiled graph does not grow with N / chunk_size; otherwise by a Python loop.

Under ``jax.jit`` (traced arrays) the value checks on t, b, U and V (finite, t > 0) are skipped
and the shape, dtype and option checks still raise (see :mod:`sigref._arrays`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import array_api_extra as xpx
from array_api_compat import device

from sigref._arrays import check_embeddings, namespace, param, positive_int
from sigref.fused import PairOptions, pass_for
from sigref.loops import Fold, fold_for
from sigref.losses._result import LossResult, sum_to_shape

__all__ = ["REDUCTIONS", "relative_bias_loss", "relative_bias_loss_and_grad", "sigmoid_loss", "sigmoid_loss_and_grad"]

REDUCTIONS = ("sum", "per_anchor", "mean")

#: ``chunk_size="auto"``: rows per block such that a block holds about 2^22 pairs (16 MiB per
#: float32 temporary: cache-friendly, and below glibc's 32 MiB mmap ceiling, see sigref.hostmem).
AUTO_CHUNK_ELEMENTS = 2**22


@dataclasses.dataclass(frozen=True)
class _Options:
    reduction: str
    pair: PairOptions  # gamma, detach_weight, keep_above: what the elementwise pass needs
    negatives_only: bool
    chunk_size: int | str | None


def _positive_correction(xp: Any, z_flat: Any, f_flat: Any, diag: Any, opt: _Options, want_grad: bool) -> tuple[Any, Any | None]:
    """The pass treated the positive pairs (the flat ``diag`` entries z_ii) as negatives: the value's
    correction sum(f_pos - f_neg) over them and dL/dz at them (q = -z_ii; positives are always kept,
    with the plain loss under filtering), as fresh arrays, not views of the block."""
    zd = _take(xp, z_flat, diag)
    pair = PairOptions() if opt.pair.keep_above is not None else opt.pair
    f_pos, fp_pos, _ = pass_for(zd)(xp, -zd, pair, want_grad)
    return xp.sum(f_pos - _take(xp, f_flat, diag), axis=-1), (-fp_pos if want_grad else None)


def _diagonal_slice(xp: Any, c: int, m: int, r0: Any) -> Any:
    """Flat indices of entries (k, r0 + k), k < c, in a row-major (c, m) block: a slice for a Python
    int ``r0``, an integer index array for an array ``r0`` (a block start traced by a fold)."""
    if isinstance(r0, int):
        return slice(r0, r0 + (c - 1) * (m + 1) + 1, m + 1)
    return r0 + (m + 1) * xp.arange(c, device=device(r0))


def _take(xp: Any, flat: Any, diag: Any) -> Any:
    return flat[..., diag] if isinstance(diag, slice) else xp.take(flat, diag, axis=-1)


def _block(xp: Any, Ub: Any, V: Any, t4: Any, b4: Any, r0: Any, scale: float, opt: _Options, want_grad: bool, want_diag: bool) -> dict[str, Any]:
    """Loss contributions of anchor rows r0 .. r0 + c of one block against all of V."""
    z = (t4 * Ub) @ xp.matrix_transpose(V) - b4  # t scales the c x d rows, not the c x M block
    f, fp, keep = pass_for(z)(xp, z, opt.pair, want_grad)
    c, m = z.shape[-2], z.shape[-1]
    lead = z.shape[:-2]
    diag = _diagonal_slice(xp, c, m, r0)
    value = xp.sum(f, axis=(-2, -1))
    if not opt.negatives_only:
        correction, g_pos_d = _positive_correction(xp, xp.reshape(z, (*lead, c * m)), xp.reshape(f, (*lead, c * m)), diag, opt, want_grad)
        value = value + correction
    out: dict[str, Any] = {"value": scale * value}
    if want_diag:
        out |= _block_diagnostics(xp, z, keep, diag, opt)
    if not want_grad:
        return out
    del z, f, keep  # the products below need only fp: the block's logits and loss terms are freed first
    # G = dL/dz / scale; the reduction scale is applied to the small results, not to G
    G = xp.reshape(fp, (*lead, c * m))
    if not opt.negatives_only:
        G = xpx.at(G, (..., diag)).set(g_pos_d)
    out["G"] = scale * xp.sum(G, axis=-1)
    G = xp.reshape(G, (*lead, c, m))
    GV = G @ V
    # sum_ij G_ij <u_i, v_j> = sum_i <u_i, (G V)_i>: no second pass over the block
    out["GS"] = scale * xp.sum(xp.vecdot(Ub, GV), axis=-1)
    ts = t4 * scale
    out["U"] = ts * GV
    out["V"] = xp.matrix_transpose(G) @ (ts * Ub)  # scale the c x d rows, not the M x d product
    return out


def _block_diagnostics(xp: Any, z: Any, keep: Any, diag: Any, opt: _Options) -> dict[str, Any]:
    lead, c, m = z.shape[:-2], z.shape[-2], z.shape[-1]
    inf = math.inf

    def off_diagonal(x: Any, fill: float) -> Any:
        if opt.negatives_only:
            return x
        flat = xpx.at(xp.reshape(x, (*lead, c * m)), (..., diag)).set(fill, copy=True)
        return xp.reshape(flat, x.shape)

    d: dict[str, Any] = {
        "neg_logit_min": xp.min(off_diagonal(z, inf), axis=(-2, -1)),
        "neg_logit_max": xp.max(off_diagonal(z, -inf), axis=(-2, -1)),
        "neg_logit_sum": xp.sum(off_diagonal(z, 0.0), axis=(-2, -1)),
    }
    if not opt.negatives_only:
        zd = _take(xp, xp.reshape(z, (*lead, c * m)), diag)
        d |= {
            "pos_logit_min": xp.min(zd, axis=-1),
            "pos_logit_max": xp.max(zd, axis=-1),
            "pos_logit_sum": xp.sum(zd, axis=-1),
        }
    if keep is not None:
        kept = xp.astype(off_diagonal(keep, False), z.dtype)
        d["kept_negatives"] = xp.sum(kept, axis=(-2, -1))
    return d


def _combine(xp: Any, acc: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    for key, val in part.items():
        if key not in acc:
            acc[key] = val
        elif key.endswith("_min"):
            acc[key] = xp.minimum(acc[key], val)
        elif key.endswith("_max"):
            acc[key] = xp.maximum(acc[key], val)
        else:  # in place where the library allows it: no second N x d gradient per block
            acc[key] = xpx.at(acc[key])[...].add(val)
    return acc


def _finish_diagnostics(xp: Any, acc: dict[str, Any], n: int, m: int, opt: _Options, t: Any, b: Any) -> dict[str, Any]:
    n_neg = n * m - (0 if opt.negatives_only else n)
    d = {
        "neg_logit_min": acc["neg_logit_min"],
        "neg_logit_mean": acc["neg_logit_sum"] / n_neg,
        "neg_logit_max": acc["neg_logit_max"],
    }
    if not opt.negatives_only:
        d |= {
            "pos_logit_min": acc["pos_logit_min"],
            "pos_logit_mean": acc["pos_logit_sum"] / n,
            "pos_logit_max": acc["pos_logit_max"],
            # arXiv 2509.18552 Sec. 2: margin and optimal relative bias of the batch, from the
            # extreme logits (s = (z + b) / t is increasing in z)
            "margin": (acc["pos_logit_min"] - acc["neg_logit_max"]) / (2 * t),
            "b_rel_star": ((acc["pos_logit_min"] + acc["neg_logit_max"]) / 2 + b) / t,
        }
    if "kept_negatives" in acc:
        kept = acc["kept_negatives"] + (0 if opt.negatives_only else n)
        d["kept_fraction"] = kept / (n * m)
    else:
        d["kept_fraction"] = xp.ones_like(acc["neg_logit_sum"])
    return d


def _validate(U: Any, V: Any, t: Any, b: Any, b_rel: Any, *, reduction: str, gamma: float, detach_weight: bool,
              filter_threshold: float | None, negatives_only: bool, chunk_size: int | str | None) -> tuple[Any, Any, Any, _Options]:
    xp = namespace(U=U, V=V, t=t, b=b, b_rel=b_rel)
    check_embeddings(xp, U, V, paired=not negatives_only, min_pairs=1)  # N = 1: one rank's share of a batch
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not (0.0 <= gamma < math.inf):
        raise ValueError(f"gamma must be a finite number >= 0, got {gamma!r}")
    if filter_threshold is not None and (not isinstance(filter_threshold, (int, float)) or not (0.0 < filter_threshold < 1.0)):
        raise ValueError(f"filter_threshold must be in (0, 1) or None, got {filter_threshold!r}")
    if chunk_size is not None and chunk_size != "auto":
        positive_int("chunk_size", chunk_size)
    if (b is None) == (b_rel is None):
        raise TypeError("give exactly one of b (bias) and b_rel (relative bias, b = t * b_rel)")
    t_arr = param(xp, "t", t, U, positive=True)
    bias = param(xp, "b" if b is not None else "b_rel", b if b is not None else b_rel, U)
    pair = PairOptions.mscl(gamma, filter_threshold=filter_threshold, detach_weight=detach_weight)
    opt = _Options(reduction, pair, bool(negatives_only), chunk_size)
    return xp, t_arr, bias, opt


def _looped_blocks(xp: Any, U: Any, V: Any, t4: Any, b4: Any, step: int, scale: float, opt: _Options, want_grad: bool,
                   want_diag: bool) -> tuple[dict[str, Any], Any]:
    """Every block in a Python loop: the accumulated sums and dL/dU (None without gradients)."""
    n = U.shape[-2]
    acc: dict[str, Any] = {}
    dU = None
    for r0 in range(0, n, step):
        part = _block(xp, U[..., r0 : min(r0 + step, n), :], V, t4, b4, r0, scale, opt, want_grad, want_diag)
        if want_grad:  # the rows of dL/dU written into one array as the blocks come (no list to concatenate)
            rows = part.pop("U")
            if dU is None:
                dU = rows if step >= n else xp.zeros((*rows.shape[:-2], n, rows.shape[-1]), dtype=rows.dtype, device=device(rows))
            if step < n:
                dU = xpx.at(dU)[..., r0 : r0 + rows.shape[-2], :].set(rows)
        acc = _combine(xp, acc, part)
    return acc, dU


def _folded_blocks(xp: Any, fold: Fold, U: Any, V: Any, t4: Any, b4: Any, step: int, scale: float, opt: _Options,
                   want_grad: bool, want_diag: bool) -> tuple[dict[str, Any], Any]:
    """Blocks 1 .. K-1 of ``step`` rows through the plugin's ``fold`` (:mod:`sigref.loops`); block 0
    (which gives the running sums their shapes) and the remainder of n mod step rows outside it."""
    n, d = U.shape[-2], U.shape[-1]
    k = n // step
    lead = U.shape[:-2]

    def run(Ub: Any, r0: Any) -> tuple[dict[str, Any], tuple[Any, ...]]:
        part = _block(xp, Ub, V, t4, b4, r0, scale, opt, want_grad, want_diag)
        return part, ((part.pop("U"),) if want_grad else ())

    def body(carry: dict[str, Any], x: tuple[Any, Any]) -> tuple[dict[str, Any], tuple[Any, ...]]:
        part, rows = run(*x)
        return _combine(xp, dict(carry), part), rows

    acc, rows0 = run(U[..., :step, :], 0)
    blocks = xp.moveaxis(xp.reshape(U[..., step : k * step, :], (*lead, k - 1, step, d)), -3, 0)
    starts = step * xp.arange(1, k, device=device(U))
    acc, ys = fold(body, acc, (blocks, starts))
    rows = [*rows0]
    if want_grad:  # (K-1, ..., step, d) -> (..., (K-1) step, d)
        middle = ys[0]
        rows.append(xp.reshape(xp.moveaxis(middle, 0, -3), (*middle.shape[1:-2], (k - 1) * step, middle.shape[-1])))
    if k * step < n:
        part, last = run(U[..., k * step :, :], k * step)
        acc = _combine(xp, acc, part)
        rows += [*last]
    return acc, (xp.concat(rows, axis=-2) if want_grad else None)


def _evaluate(U: Any, V: Any, t: Any, b: Any, b_rel: Any, want_grad: bool, want_diag: bool, **options: Any) -> LossResult:
    xp, t_arr, bias, opt = _validate(U, V, t, b, b_rel, **options)
    relative = b_rel is not None
    n, m = U.shape[-2], V.shape[-2]
    t4 = t_arr[..., None, None]
    b4 = (t_arr * bias if relative else bias)[..., None, None]
    scale = {"sum": 1.0, "per_anchor": 1.0 / n, "mean": 1.0 / (n * m)}[opt.reduction]
    step = AUTO_CHUNK_ELEMENTS // m if opt.chunk_size == "auto" else opt.chunk_size or n
    step = max(1, min(step, n))
    fold = fold_for(U)  # looked up on every call: it also loads the library's plugin (pytree registrations)
    if fold is not None and n // step >= 3:
        acc, dU = _folded_blocks(xp, fold, U, V, t4, b4, step, scale, opt, want_grad, want_diag)
    else:
        acc, dU = _looped_blocks(xp, U, V, t4, b4, step, scale, opt, want_grad, want_diag)
    value = acc.pop("value")
    diagnostics = _finish_diagnostics(xp, acc, n, m, opt, t4[..., 0, 0], b4[..., 0, 0]) if want_diag else None
    if not want_grad:
        return LossResult(value=value, grad={}, diagnostics=diagnostics)
    dt = acc["GS"]  # dL/dt at fixed b
    db = -acc["G"]
    grad = {"U": sum_to_shape(xp, dU, U.shape), "V": sum_to_shape(xp, acc["V"], V.shape)}
    if relative:
        grad["t"] = sum_to_shape(xp, dt + bias * db, t_arr.shape)
        grad["b_rel"] = sum_to_shape(xp, t_arr * db, bias.shape)
    else:
        grad["t"] = sum_to_shape(xp, dt, t_arr.shape)
        grad["b"] = sum_to_shape(xp, db, bias.shape)
    grad["log_t"] = t_arr * grad["t"]
    return LossResult(value=value, grad=grad, diagnostics=diagnostics)


def sigmoid_loss(U: Any, V: Any, t: Any, b: Any = None, *, b_rel: Any = None, reduction: str = "per_anchor",
                 gamma: float = 0.0, detach_weight: bool = False, filter_threshold: float | None = None,
                 negatives_only: bool = False, chunk_size: int | str | None = None) -> Any:
    """Sigmoid contrastive loss (1) of unit rows ``U``, ``V`` of shape (..., N, d); returns shape (...).

    Parameters
    ----------
    t : inverse temperature, > 0 (float or array broadcastable to the batch shape).
    b : bias, subtracted from t<u, v>; or ``b_rel`` (keyword): relative bias, b = t * b_rel.
    reduction : "sum" | "per_anchor" (divide by N) | "mean" (divide by N M).
    gamma : MSCL confidence penalty; 0 is the plain loss.
    detach_weight : treat sigma(q)^gamma as a constant in the gradient.
    filter_threshold : MSCL hard-negative filtering threshold in (0, 1), or None.
    negatives_only : every pair is a negative (a block of another rank's embeddings); then
        U and V may hold different numbers of rows.
    chunk_size : anchors per row block; memory O(chunk_size * M) instead of O(N M). ``"auto"``
        picks about 2^22 / M rows (the fastest setting on CPUs); None evaluates one dense block.
    """
    return _evaluate(U, V, t, b, b_rel, False, False, reduction=reduction, gamma=gamma, detach_weight=detach_weight,
                     filter_threshold=filter_threshold, negatives_only=negatives_only, chunk_size=chunk_size).value


def sigmoid_loss_and_grad(U: Any, V: Any, t: Any, b: Any = None, *, b_rel: Any = None, reduction: str = "per_anchor",
                          gamma: float = 0.0, detach_weight: bool = False, filter_threshold: float | None = None,
                          negatives_only: bool = False, chunk_size: int | str | None = None,
                          diagnostics: bool = False) -> LossResult:
    """Value and analytic gradients of :func:`sigmoid_loss` (same arguments).

    ``grad`` has keys "U", "V", "t", "log_t" and "b" (or "b_rel" when the relative bias was
    given; "t" is then the derivative at fixed b_rel). With ``diagnostics=True`` the result
    also carries min/mean/max positive and negative logits, the batch's margin m* and b*_rel
    (arXiv 2509.18552 Sec. 2) and the fraction of pairs kept by filtering.
    """
    return _evaluate(U, V, t, b, b_rel, True, diagnostics, reduction=reduction, gamma=gamma, detach_weight=detach_weight,
                     filter_threshold=filter_threshold, negatives_only=negatives_only, chunk_size=chunk_size)


def logit_diagnostics(U: Any, V: Any, t: Any, b: Any = None, *, b_rel: Any = None, gamma: float = 0.0,
                      filter_threshold: float | None = None, negatives_only: bool = False,
                      chunk_size: int | str | None = None) -> dict[str, Any]:
    """The diagnostics of :func:`sigmoid_loss_and_grad` alone (no gradients computed)."""
    return _evaluate(U, V, t, b, b_rel, False, True, reduction="sum", gamma=gamma, detach_weight=False,
                     filter_threshold=filter_threshold, negatives_only=negatives_only, chunk_size=chunk_size).diagnostics


def relative_bias_loss(U: Any, V: Any, t: Any, b_rel: Any, **options: Any) -> Any:
    """L_RB(U, V; t, b_rel) = L(U, V; t, t b_rel) (arXiv 2509.18552 Def. 1)."""
    return sigmoid_loss(U, V, t, b_rel=b_rel, **options)


def relative_bias_loss_and_grad(U: Any, V: Any, t: Any, b_rel: Any, **options: Any) -> LossResult:
    """Value and gradients of :func:`relative_bias_loss`; grad keys "U", "V", "t", "log_t", "b_rel"."""
    return sigmoid_loss_and_grad(U, V, t, b_rel=b_rel, **options)

