r"""The sigmoid contrastive loss, its modulated (MSCL) and filtered variants, with analytic gradients.

For paired unit embeddings :math:`U = (u_1, \dots, u_N)` and :math:`V = (v_1, \dots, v_M)` (rows;
leading batch axes allowed), inverse temperature :math:`t > 0` and bias :math:`b`, the logits are
(the papers' convention, :math:`b` subtracted)

.. math::

    z_{ij} = t \langle u_i, v_j \rangle - b;

pair :math:`(i, i)` is positive and every :math:`(i, j \ne i)` negative. With
:math:`q_{ij} = -z_{ii}` on positives and :math:`q_{ij} = z_{ij}` on negatives, the per-pair loss
is :math:`\operatorname{softplus}(q) = -\log\sigma(-q)`, and

.. math::

    L(U, V; t, b) = r \sum_{i, j} w(q_{ij}) \operatorname{softplus}(q_{ij}),

- plain (Zhai et al. arXiv 2303.15343; Lee et al. arXiv 2402.12613 Sec. 1.2; Bangachev et al.
  arXiv 2509.18552 eq. 1): :math:`w = 1`;
- modulated (MSCL, Basara): :math:`w = (1 - \sigma(y z))^\gamma = \sigma(q)^\gamma` with labels
  :math:`y = \pm 1`, computed as :math:`\exp(\gamma \log\sigma(q))`; gradients flow through
  :math:`w` unless ``detach_weight``;
- filtered (MSCL): the plain loss over the kept pairs, every positive and the negatives with
  :math:`\sigma(q)^\gamma > \text{threshold}`, still normalised by :math:`r` (not by the number kept).

The reduction factor :math:`r` is 1 (``"sum"``, Bangachev's paper), :math:`1/N`
(``"per_anchor"``: SigLIP, Lee's code) or :math:`1/(N M)` (``"mean"``: Bangachev's code). The
relative-bias parameterisation (arXiv 2509.18552 Def. 1) is
:math:`L_{RB}(U, V; t, b_{rel}) = L(U, V; t, t\, b_{rel})`.

Gradients, with :math:`G_{ij} = \partial L / \partial z_{ij} = r \, \frac{d(w \operatorname{softplus})}{dq} \frac{dq}{dz}`
and :math:`S = U V^\top`:

.. math::

    \frac{\partial L}{\partial U} &= t\, G V, \qquad
    \frac{\partial L}{\partial V} = t\, G^\top U, \qquad
    \frac{\partial L}{\partial t} = \sum_{ij} G_{ij} S_{ij}, \qquad
    \frac{\partial L}{\partial b} = -\sum_{ij} G_{ij}, \\
    \frac{\partial L}{\partial \log t} &= t \frac{\partial L}{\partial t}; \qquad
    \text{at fixed } b_{rel}: \
    \frac{\partial L}{\partial t} = \sum_{ij} G_{ij} S_{ij} + b_{rel} \frac{\partial L}{\partial b}, \quad
    \frac{\partial L}{\partial b_{rel}} = t \frac{\partial L}{\partial b}.

``chunk_size`` evaluates rows in blocks of that many anchors: memory :math:`O(\text{chunk} \cdot M)`,
results equal to the dense path up to the order of summation. Every block is computed as if all
its pairs were negatives, then its (at most chunk) positive entries are replaced by their exact
values, so no label matrix or mask is ever built. Where a plugin registers a loop primitive for
the array library (:mod:`sigref.loops`, e.g. ``lax.scan`` under ``jax.jit``) the equal blocks are
driven by it, so a compiled graph does not grow with N / chunk_size; otherwise by a Python loop.

Under ``jax.jit`` (traced arrays) the value checks on t, b, U and V (finite, t > 0) are skipped
and the shape, dtype and option checks still raise (see ``sigref._arrays``).
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
from sigref.types import Array, Scalar

__all__ = ["REDUCTIONS", "logit_diagnostics", "relative_bias_loss", "relative_bias_loss_and_grad", "sigmoid_loss",
           "sigmoid_loss_and_grad"]

#: The accepted ``reduction`` values and their factor r: ``"sum"`` (r = 1, arXiv 2509.18552),
#: ``"per_anchor"`` (r = 1/N: SigLIP, arXiv 2303.15343, and arXiv 2402.12613) and ``"mean"``
#: (r = 1/(N M), the code of arXiv 2509.18552).
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


def _positive_terms(xp: Any, z_flat: Any, diag: Any, opt: _Options, want_grad: bool) -> tuple[Any, Any | None]:
    """The pass treated the positive pairs (the flat ``diag`` entries z_ii) as negatives: their loss
    terms and dL/dz at them (q = -z_ii; positives are always kept, with the plain loss under
    filtering), as fresh arrays, not views of the block."""
    zd = _take(xp, z_flat, diag)
    pair = PairOptions() if opt.pair.keep_above is not None else opt.pair
    f_pos, fp_pos, _ = pass_for(zd)(xp, -zd, pair, want_grad)
    return f_pos, (-fp_pos if want_grad else None)


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
    if not opt.negatives_only:
        # The positives' terms replace the block's entries before summing: adding softplus(-z_ii) -
        # softplus(z_ii) = -z_ii to the sum instead would cancel (float32 at t = 1e4: a relative 3e-4).
        f_pos, g_pos_d = _positive_terms(xp, xp.reshape(z, (*lead, c * m)), diag, opt, want_grad)
        f = xp.reshape(xpx.at(xp.reshape(f, (*lead, c * m)), (..., diag)).set(f_pos), f.shape)
    out: dict[str, Any] = {"value": scale * xp.sum(f, axis=(-2, -1))}
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


def sigmoid_loss(U: Array, V: Array, t: Scalar | Array, b: Scalar | Array | None = None, *, b_rel: Scalar | Array | None = None,
                 reduction: str = "per_anchor", gamma: float = 0.0, detach_weight: bool = False, filter_threshold: float | None = None,
                 negatives_only: bool = False, chunk_size: int | str | None = None) -> Array:
    r"""Compute the sigmoid contrastive loss of paired embeddings (plain, MSCL-modulated or filtered).

    With logits :math:`z_{ij} = t \langle u_i, v_j \rangle - b`, :math:`q_{ii} = -z_{ii}` on the
    positive pairs and :math:`q_{ij} = z_{ij}` on the negative pairs :math:`i \ne j`,

    .. math::

        L(U, V; t, b) = r \sum_{i=1}^{N} \Big[ w(q_{ii}) \operatorname{softplus}(b - t \langle u_i, v_i \rangle)
            + \sum_{j \ne i} w(q_{ij}) \operatorname{softplus}(t \langle u_i, v_j \rangle - b) \Big],

    with :math:`r = 1, 1/N, 1/(N M)` for ``reduction="sum"``, ``"per_anchor"``, ``"mean"``. The
    plain loss of SigLIP [1]_, Lee et al. [2]_ and Bangachev et al. [3]_ has :math:`w = 1`;
    MSCL [4]_ modulates each pair by the confidence penalty

    .. math::

        w(q) = (1 - \sigma(y z))^{\gamma} = \sigma(q)^{\gamma}, \qquad y = \pm 1,

    (computed as :math:`\exp(\gamma \log\sigma(q))`), and under hard-negative filtering applies the
    plain loss to every positive and to the negatives with :math:`\sigma(q)^{\gamma} > \text{threshold}`
    only, still with the factor :math:`r`. With ``b_rel`` the logits are
    :math:`t (\langle u_i, v_j \rangle - b_{rel})`, the relative-bias loss of [3]_ (Def. 1).

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Anchor embeddings :math:`u_i` as rows, real floating; unit rows in the papers' setting
        (the norms are not checked). Leading batch axes are allowed.
    V : Array, shape (..., N, d)
        Paired embeddings :math:`v_j`: the dtype and d of ``U``, a batch shape that broadcasts with
        that of ``U``; shape (..., M, d) with ``negatives_only``.
    t : float or Array
        Inverse temperature :math:`t > 0`: a number or an array broadcastable to the batch shape.
    b : float or Array, optional
        Bias :math:`b`, subtracted from :math:`t \langle u, v \rangle`: a number or a batch-shaped
        array. Give exactly one of ``b`` and ``b_rel``.
    b_rel : float or Array, optional
        Relative bias :math:`b_{rel}` (keyword only); the logits then use :math:`b = t\, b_{rel}`.
    reduction : {"per_anchor", "sum", "mean"}, optional
        The factor :math:`r`: ``"per_anchor"`` (default) divides the sum over all pairs by N,
        ``"sum"`` keeps it, ``"mean"`` divides by N M (see ``sigref.losses.REDUCTIONS``).
    gamma : float, optional
        MSCL confidence penalty :math:`\gamma \ge 0`; 0 (default) is the plain loss.
    detach_weight : bool, optional
        Treat :math:`\sigma(q)^{\gamma}` as a constant in the gradient (matters only for
        :func:`sigref.losses.sigmoid_loss_and_grad`).
    filter_threshold : float or None, optional
        MSCL hard-negative filtering threshold in (0, 1), or None (default: no filtering). With
        ``gamma = 0`` every pair is kept.
    negatives_only : bool, optional
        Treat every pair as a negative (a block of another rank's embeddings in a distributed
        loss); then ``U`` and ``V`` may hold different numbers N and M of rows.
    chunk_size : int or "auto" or None, optional
        Anchors per row block, c: memory :math:`O(c M)` instead of :math:`O(N M)`, the same value
        up to the order of summation. ``"auto"`` picks about :math:`2^{22} / M` rows (the fastest
        setting on CPUs); None (default) evaluates one dense block.

    Returns
    -------
    Array, shape (...)
        The loss for each batch index (the broadcast batch shape of ``U``, ``V``, ``t`` and ``b``),
        in the dtype of ``U``; 0-d without batch axes.

    Raises
    ------
    TypeError
        If the arrays come from different array libraries; if ``U`` or ``V`` is not a real
        floating array, or they differ in dtype; if ``t``, ``b`` or ``b_rel`` is a bool or a
        non-floating array; if both or neither of ``b`` and ``b_rel`` are given.
    ValueError
        If ``U`` or ``V`` has fewer than two axes, their d differ, their batch shapes do not
        broadcast, or (unless ``negatives_only``) their N differ; if ``reduction``,
        ``gamma`` (finite, >= 0), ``filter_threshold`` (in (0, 1)) or ``chunk_size`` (an integer
        >= 1 or ``"auto"``) is invalid; if ``t`` is not > 0, or ``U``, ``V``, ``t``, ``b`` hold NaN
        or infinity (value checks, skipped for traced arrays under ``jax.jit``).

    See Also
    --------
    sigref.losses.sigmoid_loss_and_grad : The value with its analytic gradients.
    sigref.losses.relative_bias_loss : The loss in the relative-bias parameterisation.
    sigref.losses.siglip_loss : The same loss in SigLIP's ``(logit_scale, logit_bias)`` convention.

    References
    ----------
    .. [1] X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
       Pre-Training", arXiv:2303.15343, https://arxiv.org/abs/2303.15343
    .. [2] C. Lee, J. Chang, J. Sohn, "Analysis of Using Sigmoid Loss for Contrastive Learning",
       arXiv:2402.12613, https://arxiv.org/abs/2402.12613
    .. [3] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552
    .. [4] F. Basara, "Modulated Sigmoid Contrastive Loss for Vision" (MSCL), reference code at
       https://github.com/filipbasara0/sigmoid-contrastive-loss

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.losses import sigmoid_loss
    >>> from sigref.optim import project_to_sphere
    >>> from sigref.sampling import uniform_sphere
    >>> U = uniform_sphere(0, (4, 3))
    >>> V = project_to_sphere(U + 0.3 * uniform_sphere(1, (4, 3)))
    >>> L = sigmoid_loss(U, V, 5.0, 2.0)
    >>> print(f"{float(L):.6f}")
    1.351919

    The same number from the definition, with labels :math:`y = 2I - 1` and :math:`q = -y z`:

    >>> z = 5.0 * U @ V.T - 2.0
    >>> y = 2.0 * np.eye(4) - 1.0
    >>> print(f"{np.logaddexp(0.0, -y * z).sum() / 4:.6f}")
    1.351919

    ``"sum"`` is N times ``"per_anchor"``, which is N times ``"mean"`` here (M = N = 4):

    >>> s = sigmoid_loss(U, V, 5.0, 2.0, reduction="sum")
    >>> m = sigmoid_loss(U, V, 5.0, 2.0, reduction="mean")
    >>> print(round(float(s / L), 9), round(float(L / m), 9))
    4.0 4.0

    Orthonormal pairs at SigLIP's initialisation t = b = 10 have :math:`z_{ii} = 0` and
    :math:`z_{ij} = -10`, so the loss is :math:`\log 2 + (N - 1) \operatorname{softplus}(-10)`:

    >>> E = np.eye(4)
    >>> print(f"{float(sigmoid_loss(E, E, 10.0, 10.0)):.6f}", f"{np.log(2.0) + 3 * np.log1p(np.exp(-10.0)):.6f}")
    0.693283 0.693283

    MSCL's weighting lowers the loss; chunking does not change it; batch axes give one loss each:

    >>> print(f"{float(sigmoid_loss(U, V, 5.0, 2.0, gamma=1.0)):.6f}")
    0.864613
    >>> bool(np.isclose(sigmoid_loss(U, V, 5.0, 2.0, chunk_size=3), L, rtol=1e-14, atol=0.0))
    True
    >>> sigmoid_loss(uniform_sphere(2, (3, 4, 3)), uniform_sphere(3, (3, 4, 3)), np.array([1.0, 5.0, 10.0]), 2.0).shape
    (3,)
    """
    return _evaluate(U, V, t, b, b_rel, False, False, reduction=reduction, gamma=gamma, detach_weight=detach_weight,
                     filter_threshold=filter_threshold, negatives_only=negatives_only, chunk_size=chunk_size).value


def sigmoid_loss_and_grad(U: Array, V: Array, t: Scalar | Array, b: Scalar | Array | None = None, *, b_rel: Scalar | Array | None = None,
                          reduction: str = "per_anchor", gamma: float = 0.0, detach_weight: bool = False,
                          filter_threshold: float | None = None, negatives_only: bool = False, chunk_size: int | str | None = None,
                          diagnostics: bool = False) -> LossResult:
    r"""Compute the sigmoid loss and its analytic gradients, optionally with logit diagnostics.

    The value is that of :func:`sigref.losses.sigmoid_loss`. With
    :math:`G_{ij} = \partial L / \partial z_{ij}` and :math:`S = U V^\top`, the gradients are

    .. math::

        \frac{\partial L}{\partial U} = t\, G V, \qquad
        \frac{\partial L}{\partial V} = t\, G^\top U, \qquad
        \frac{\partial L}{\partial t} = \sum_{ij} G_{ij} S_{ij}, \qquad
        \frac{\partial L}{\partial b} = -\sum_{ij} G_{ij},

    and :math:`\partial L / \partial \log t = t\, \partial L / \partial t`. With ``b_rel``
    (:math:`b = t\, b_{rel}`) the derivatives are taken at fixed :math:`b_{rel}`:
    :math:`\partial L / \partial t = \sum_{ij} G_{ij} S_{ij} + b_{rel}\, \partial L / \partial b` and
    :math:`\partial L / \partial b_{rel} = t\, \partial L / \partial b`. The diagnostics report the
    extreme and mean logits and, from them (:math:`s_{ij} = \langle u_i, v_j \rangle`), the batch's
    margin and optimal relative bias of Bangachev et al. [1]_ (Sec. 2):

    .. math::

        m^* = \tfrac12 \big(\min_i s_{ii} - \max_{i \ne j} s_{ij}\big), \qquad
        b^*_{rel} = \tfrac12 \big(\min_i s_{ii} + \max_{i \ne j} s_{ij}\big).

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Anchor embeddings, as in :func:`sigref.losses.sigmoid_loss`.
    V : Array, shape (..., N, d)
        Paired embeddings (shape (..., M, d) with ``negatives_only``).
    t : float or Array
        Inverse temperature :math:`t > 0`, a number or batch-shaped.
    b : float or Array, optional
        Bias :math:`b`; give exactly one of ``b`` and ``b_rel``.
    b_rel : float or Array, optional
        Relative bias, :math:`b = t\, b_{rel}`; the gradient then has ``"b_rel"`` instead of ``"b"``.
    reduction : {"per_anchor", "sum", "mean"}, optional
        The reduction factor r (1/N, 1, 1/(N M)); default ``"per_anchor"``.
    gamma : float, optional
        MSCL confidence penalty :math:`\gamma \ge 0` (default 0: the plain loss).
    detach_weight : bool, optional
        Treat the weight :math:`\sigma(q)^{\gamma}` as a constant in the gradient.
    filter_threshold : float or None, optional
        MSCL hard-negative filtering threshold in (0, 1), or None (no filtering).
    negatives_only : bool, optional
        Every pair is a negative; ``U`` and ``V`` may then hold different numbers of rows.
    chunk_size : int or "auto" or None, optional
        Anchors per row block, c (memory :math:`O(c M)`), ``"auto"``, or None
        (one dense block).
    diagnostics : bool, optional
        Also return the logit diagnostics (default False).

    Returns
    -------
    LossResult
        ``value``: the loss, shape (...). ``grad``: a dict with ``"U"`` and ``"V"`` (the shapes of
        ``U`` and ``V``), ``"t"`` and ``"log_t"`` (the shape of ``t``, 0-d for a number) and
        ``"b"`` or ``"b_rel"`` (the shape of that argument). ``diagnostics``: None, or with
        ``diagnostics=True`` a dict of batch-shaped arrays ``"pos_logit_min"``,
        ``"pos_logit_mean"``, ``"pos_logit_max"`` (over :math:`z_{ii}`), ``"neg_logit_min"``,
        ``"neg_logit_mean"``, ``"neg_logit_max"`` (over :math:`z_{ij}, i \ne j`), ``"margin"``
        (:math:`m^*`), ``"b_rel_star"`` (:math:`b^*_{rel}`) and ``"kept_fraction"`` (the fraction
        of the N M pairs kept by filtering, 1 without it); with ``negatives_only`` the positive
        entries, margin and ``b_rel_star`` are absent.

    Raises
    ------
    TypeError
        As :func:`sigref.losses.sigmoid_loss`: mixed array libraries, non-floating or mismatched
        dtypes, a bool or non-floating ``t``/``b``/``b_rel``, both or neither of ``b`` and ``b_rel``.
    ValueError
        As :func:`sigref.losses.sigmoid_loss`: bad shapes, options or values (t <= 0, NaN, infinity).

    See Also
    --------
    sigref.losses.sigmoid_loss : The value alone.
    sigref.losses.logit_diagnostics : The diagnostics alone.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.losses import sigmoid_loss, sigmoid_loss_and_grad
    >>> from sigref.optim import project_to_sphere
    >>> from sigref.sampling import uniform_sphere
    >>> U = uniform_sphere(0, (4, 3))
    >>> V = project_to_sphere(U + 0.3 * uniform_sphere(1, (4, 3)))
    >>> res = sigmoid_loss_and_grad(U, V, 5.0, 2.0)
    >>> sorted(res.grad), res.grad["U"].shape
    (['U', 'V', 'b', 'log_t', 't'], (4, 3))
    >>> print(f"{float(res.value):.6f} {float(res.grad['b']):.6f} {float(res.grad['t']):.6f}")
    1.351919 -0.700118 0.325625

    The derivative in b agrees with a central difference:

    >>> h = 1e-6
    >>> fd = (sigmoid_loss(U, V, 5.0, 2.0 + h) - sigmoid_loss(U, V, 5.0, 2.0 - h)) / (2 * h)
    >>> print(f"{float(fd):.6f}")
    -0.700118

    The margin of this batch is positive: every positive similarity exceeds every negative one.

    >>> d = sigmoid_loss_and_grad(U, V, 5.0, 2.0, diagnostics=True).diagnostics
    >>> print(f"{float(d['margin']):.6f} {float(d['b_rel_star']):.6f}")
    0.080435 0.873566
    """
    return _evaluate(U, V, t, b, b_rel, True, diagnostics, reduction=reduction, gamma=gamma, detach_weight=detach_weight,
                     filter_threshold=filter_threshold, negatives_only=negatives_only, chunk_size=chunk_size)


def logit_diagnostics(U: Array, V: Array, t: Scalar | Array, b: Scalar | Array | None = None, *, b_rel: Scalar | Array | None = None,
                      gamma: float = 0.0, filter_threshold: float | None = None, negatives_only: bool = False,
                      chunk_size: int | str | None = None) -> dict[str, Array]:
    r"""Compute the logit diagnostics of :func:`sigref.losses.sigmoid_loss_and_grad` alone.

    No gradients are computed: the extreme and mean logits :math:`z_{ij} = t \langle u_i, v_j \rangle - b`
    of the positive and negative pairs, the margin
    :math:`m^* = (\min_i s_{ii} - \max_{i \ne j} s_{ij}) / 2` and the optimal relative bias
    :math:`b^*_{rel} = (\min_i s_{ii} + \max_{i \ne j} s_{ij}) / 2` of Bangachev et al. [1]_
    (Sec. 2; :math:`s_{ij} = \langle u_i, v_j \rangle`), and the fraction of pairs kept by filtering.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Anchor embeddings, as in :func:`sigref.losses.sigmoid_loss`.
    V : Array, shape (..., N, d)
        Paired embeddings (shape (..., M, d) with ``negatives_only``).
    t : float or Array
        Inverse temperature :math:`t > 0`.
    b : float or Array, optional
        Bias :math:`b`; give exactly one of ``b`` and ``b_rel``.
    b_rel : float or Array, optional
        Relative bias, :math:`b = t\, b_{rel}`.
    gamma : float, optional
        MSCL exponent :math:`\gamma`: with ``filter_threshold`` it decides which negatives are kept.
    filter_threshold : float or None, optional
        MSCL filtering threshold in (0, 1), or None (then ``"kept_fraction"`` is 1).
    negatives_only : bool, optional
        Every pair is a negative (no positive entries, margin or ``b_rel_star`` in the result).
    chunk_size : int or "auto" or None, optional
        Anchors per row block, ``"auto"``, or None (one dense block).

    Returns
    -------
    dict of str to Array
        Batch-shaped arrays ``"neg_logit_min"``, ``"neg_logit_mean"``, ``"neg_logit_max"``,
        ``"pos_logit_min"``, ``"pos_logit_mean"``, ``"pos_logit_max"``, ``"margin"``,
        ``"b_rel_star"`` and ``"kept_fraction"``.

    Raises
    ------
    TypeError
        As :func:`sigref.losses.sigmoid_loss` (array libraries, dtypes, ``b``/``b_rel``).
    ValueError
        As :func:`sigref.losses.sigmoid_loss` (shapes, options, values).

    See Also
    --------
    sigref.losses.sigmoid_loss_and_grad : The loss and gradients, with these diagnostics on request.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.losses import logit_diagnostics
    >>> from sigref.optim import project_to_sphere
    >>> from sigref.sampling import uniform_sphere
    >>> U = uniform_sphere(0, (4, 3))
    >>> V = project_to_sphere(U + 0.3 * uniform_sphere(1, (4, 3)))
    >>> d = logit_diagnostics(U, V, 5.0, 2.0)
    >>> print({k: round(float(v), 4) for k, v in d.items() if k.startswith("pos")})
    {'pos_logit_min': 2.77, 'pos_logit_mean': 2.7854, 'pos_logit_max': 2.8236}

    The margin from the similarities directly:

    >>> S = U @ V.T
    >>> neg = S[~np.eye(4, dtype=bool)]
    >>> print(f"{(S.diagonal().min() - neg.max()) / 2:.6f} {float(d['margin']):.6f}")
    0.080435 0.080435
    """
    return _evaluate(U, V, t, b, b_rel, False, True, reduction="sum", gamma=gamma, detach_weight=False,
                     filter_threshold=filter_threshold, negatives_only=negatives_only, chunk_size=chunk_size).diagnostics


def relative_bias_loss(U: Array, V: Array, t: Scalar | Array, b_rel: Scalar | Array, **options: Any) -> Array:
    r"""Compute the sigmoid loss in the relative-bias parameterisation of Bangachev et al.

    Definition 1 of [1]_:

    .. math::

        L_{RB}(U, V; t, b_{rel}) = L(U, V; t, t\, b_{rel})
            = r \Big[ \sum_i \operatorname{softplus}\big(-t (s_{ii} - b_{rel})\big)
            + \sum_{i \ne j} \operatorname{softplus}\big(t (s_{ij} - b_{rel})\big) \Big],

    with :math:`s_{ij} = \langle u_i, v_j \rangle`: the bias is measured in units of the
    similarity, so that :math:`b_{rel}` stays fixed while :math:`t` grows.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Anchor embeddings (unit rows), as in :func:`sigref.losses.sigmoid_loss`.
    V : Array, shape (..., N, d)
        Paired embeddings.
    t : float or Array
        Inverse temperature :math:`t > 0`.
    b_rel : float or Array
        Relative bias :math:`b_{rel}`, a number or batch-shaped array.
    **options
        The keyword options of :func:`sigref.losses.sigmoid_loss` (``reduction``, ``gamma``,
        ``chunk_size``, ...); ``b`` is not allowed.

    Returns
    -------
    Array, shape (...)
        The loss for each batch index.

    Raises
    ------
    TypeError
        As :func:`sigref.losses.sigmoid_loss`; also if ``b`` is passed in ``options``.
    ValueError
        As :func:`sigref.losses.sigmoid_loss`.

    See Also
    --------
    sigref.losses.relative_bias_loss_and_grad : The value with its gradients.

    References
    ----------
    .. [1] K. Bangachev, G. Bresler, I. Noman, Y. Polyanskiy, "Global Minimizers of Sigmoid
       Contrastive Loss", arXiv:2509.18552, https://arxiv.org/abs/2509.18552

    Examples
    --------
    >>> from sigref.losses import relative_bias_loss, sigmoid_loss
    >>> from sigref.optim import project_to_sphere
    >>> from sigref.sampling import uniform_sphere
    >>> U = uniform_sphere(0, (4, 3))
    >>> V = project_to_sphere(U + 0.3 * uniform_sphere(1, (4, 3)))
    >>> L_rb = relative_bias_loss(U, V, 5.0, 0.4, reduction="sum")
    >>> print(f"{float(L_rb):.6f} {float(sigmoid_loss(U, V, 5.0, 5.0 * 0.4, reduction='sum')):.6f}")
    5.407677 5.407677
    """
    return sigmoid_loss(U, V, t, b_rel=b_rel, **options)


def relative_bias_loss_and_grad(U: Array, V: Array, t: Scalar | Array, b_rel: Scalar | Array, **options: Any) -> LossResult:
    r"""Compute the relative-bias loss and its gradients at fixed relative bias.

    The value is :math:`L_{RB}(U, V; t, b_{rel}) = L(U, V; t, t\, b_{rel})`
    (:func:`sigref.losses.relative_bias_loss`); with :math:`b = t\, b_{rel}`,

    .. math::

        \frac{\partial L_{RB}}{\partial t} = \frac{\partial L}{\partial t}\Big|_b
            + b_{rel} \frac{\partial L}{\partial b}, \qquad
        \frac{\partial L_{RB}}{\partial b_{rel}} = t \frac{\partial L}{\partial b}.

    Parameters
    ----------
    U : Array, shape (..., N, d)
        Anchor embeddings, as in :func:`sigref.losses.sigmoid_loss`.
    V : Array, shape (..., N, d)
        Paired embeddings.
    t : float or Array
        Inverse temperature :math:`t > 0`.
    b_rel : float or Array
        Relative bias :math:`b_{rel}`.
    **options
        The keyword options of :func:`sigref.losses.sigmoid_loss_and_grad` (``reduction``,
        ``gamma``, ``chunk_size``, ``diagnostics``, ...); ``b`` is not allowed.

    Returns
    -------
    LossResult
        ``value`` of shape (...); ``grad`` with keys ``"U"``, ``"V"``, ``"t"`` (at fixed
        :math:`b_{rel}`), ``"log_t"`` and ``"b_rel"``; ``diagnostics`` as in
        :func:`sigref.losses.sigmoid_loss_and_grad`.

    Raises
    ------
    TypeError
        As :func:`sigref.losses.sigmoid_loss`; also if ``b`` is passed in ``options``.
    ValueError
        As :func:`sigref.losses.sigmoid_loss`.

    See Also
    --------
    sigref.losses.sigmoid_loss_and_grad : The same gradients in the :math:`(t, b)` parameterisation.

    Examples
    --------
    The derivative in t at fixed :math:`b_{rel}` against a central difference:

    >>> from sigref.losses import relative_bias_loss, relative_bias_loss_and_grad
    >>> from sigref.optim import project_to_sphere
    >>> from sigref.sampling import uniform_sphere
    >>> U = uniform_sphere(0, (4, 3))
    >>> V = project_to_sphere(U + 0.3 * uniform_sphere(1, (4, 3)))
    >>> res = relative_bias_loss_and_grad(U, V, 5.0, 0.4)
    >>> sorted(res.grad)
    ['U', 'V', 'b_rel', 'log_t', 't']
    >>> h = 1e-6
    >>> fd = (relative_bias_loss(U, V, 5.0 + h, 0.4) - relative_bias_loss(U, V, 5.0 - h, 0.4)) / (2 * h)
    >>> print(f"{float(res.grad['t']):.6f} {float(fd):.6f}")
    0.045577 0.045577
    """
    return sigmoid_loss_and_grad(U, V, t, b_rel=b_rel, **options)
