"""Distributed conformance: W processes each holding n = N / W rows, checked against the global batch.

Rank r receives its rows U_r, V_r (rows r n .. (r + 1) n - 1 of the golden batch) and the replicated
scale and bias, and returns its rank loss L_r. DistributedDataParallel averages gradients over ranks,
so an implementation conforms when (SigLIP, arXiv 2303.15343, Sec. 3.3, and the per-anchor
normalisation that keeps the mean over ranks equal to the global loss)

    mean_r L_r = L(U, V; t, b),
    dL_r/dU_r / W (every rank's autograd, remote contributions sent back included) = dL/dU at rows of r,
    mean_r dL_r/dt = dL/dt,   mean_r dL_r/db = dL/db,

the right-hand sides being the single-process goldens of the whole batch (open_clip issues 618 and 742
are the failures this catches: a ring that converged poorly, negatives that differed between ranks).
A difference names the rank whose rows differ. The processes are the framework's business
(:attr:`sigref.conform.target.Framework.launch`; the torch plugin starts gloo processes on the CPU).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from sigref.conform.conventions import Convention
from sigref.conform.report import Row
from sigref.conform.runner import Call, Planned, row_for, tangent_part
from sigref.conform.target import Framework, Outcome, Target
from sigref.golden.case import rtol_for

__all__ = ["ddp_average", "run_ranks", "split_rows"]


def split_rows(call: Call, world_size: int) -> list[tuple[np.ndarray, ...]]:
    """Each rank's arguments: its block of rows of both embeddings, the scale and the bias."""
    U, V, scale, bias = call.args
    n = U.shape[0] // world_size
    return [(U[r * n:(r + 1) * n], V[r * n:(r + 1) * n], scale, bias) for r in range(world_size)]


def ddp_average(outcomes: list[Outcome]) -> Outcome:
    """The outcome a DDP-averaged training step sees: mean loss, per-rank embedding gradients
    (each rank owns its rows) divided by W, mean scale and bias gradients."""
    world = len(outcomes)
    value = np.mean([o.value for o in outcomes], axis=0)
    if any(o.grads is None for o in outcomes):
        return Outcome(value=value)
    grads = tuple(np.concatenate([o.grads[i] for o in outcomes], axis=0) / world for i in (0, 1))
    grads += tuple(np.mean([o.grads[i] for o in outcomes], axis=0) for i in (2, 3))
    return Outcome(value=value, grads=grads)


def _ranks_differing(outcome: Outcome, call: Call, convention: Convention, n: int, rtol: dict[str, float], tangent: bool) -> str:
    """Which ranks' rows differ, per embedding argument (e.g. "U rows differ on rank 2")."""
    parts = []
    for i, label in enumerate(convention.arguments[:2]):
        got, want = outcome.grads[i], call.expected[label]
        if tangent:
            got, want = tangent_part(got, call.args[i]), tangent_part(want, call.args[i])
        scale = float(np.max(np.abs(want))) + np.finfo(np.float64).tiny
        with np.errstate(invalid="ignore"):
            bad = ~(np.abs(got - want) <= rtol[label] * (np.abs(want) + scale))
        ranks = sorted({int(row) // n for row in np.nonzero(bad.any(axis=-1))[0]})
        if ranks:
            parts.append(f"{label} rows differ on rank{'s' if len(ranks) > 1 else ''} {', '.join(map(str, ranks))}")
    return "; ".join(parts)


def run_ranks(target: Target, init: dict[str, Any], kwargs: dict[str, Any], hook: Framework | None, framework: str,
              planned: list[Planned], convention: Convention, world_size: int, *,
              device: str | None, tangent: bool, timeout_s: float) -> tuple[list[Row], tuple[str, ...]]:
    """Run every planned call in ``world_size`` processes at once and compare the DDP averages;
    the rows, and notes on ranks that stopped early."""
    if hook is None or hook.launch is None:
        raise ValueError(f"distributed conformance needs a framework hook that launches processes; {framework!r} has none "
                         "(the torch plugin provides one: pip install -e backends/torch)")
    if target.spec is None:
        raise ValueError(f"distributed conformance imports the target in every process: pass it as MODULE:CALLABLE, "
                         f"or define it at module level (got {target.label})")
    work = [(i, c) for i, p in enumerate(planned) if p.verdict is None for c in p.calls]
    rank_calls: list[list[tuple[str, tuple[np.ndarray, ...], dict[str, Any]]]] = [[] for _ in range(world_size)]
    for i, call in work:
        for r, args in enumerate(split_rows(call, world_size)):
            rank_calls[r].append((planned[i].dtype, args, call.kwargs))
    spec = {"spec": target.spec, "init": init, "kwargs": kwargs}
    outcomes, rank_errors = hook.launch(spec, world_size, rank_calls, device=device or "cpu", timeout_s=timeout_s) if work else ([], [])
    by_message: dict[str, list[int]] = {}
    for r, e in enumerate(rank_errors):
        if e:
            by_message.setdefault(e, []).append(r)
    notes = tuple(f"rank{'s' if len(rs) > 1 else ''} {', '.join(map(str, rs))}: {e}" for e, rs in by_message.items())
    stopped = "the ranks stopped at an earlier failure: see the notes" if notes else ""
    by_plan: dict[int, list[Outcome | None]] = {}
    for j, (i, _) in enumerate(work):
        per_rank = [outcomes[r][j] for r in range(world_size)]
        failed = [(r, o) for r, o in enumerate(per_rank) if o is not None and o.error is not None]
        if failed:
            r, o = failed[0]
            merged: Outcome | None = Outcome(error=f"rank {r}: {o.error}")
        elif any(o is None for o in per_rank):
            merged = None
        else:
            merged = ddp_average(per_rank)
        by_plan.setdefault(i, []).append(merged)
    rows = []
    for i, p in enumerate(planned):
        if p.verdict is not None:
            rows.append(p.verdict)
            continue
        case, gamma, dtype, calls = p.case, p.gamma, p.dtype, p.calls
        n = calls[0].args[0].shape[0] // world_size

        def describe_row(label: str, row: int, n: int = n) -> str:
            return f"rank {row // n} row {row % n}"

        results = by_plan[i]
        row = row_for(case, gamma, dtype, calls, results, convention, tangent=tangent, describe_row=describe_row, note=stopped)
        if row.status == "differs":
            rtol = {label: rtol_for(calls[0].classes[label], dtype) for label in convention.arguments[:2]}
            ranks = [_ranks_differing(o, c, convention, n, rtol, tangent) for o, c in zip(results, calls) if o is not None and o.grads is not None]
            ranks = sorted({x for x in ranks if x})
            if ranks:
                row = replace(row, where=f"{row.where}; {' | '.join(ranks)}")
        rows.append(row)
    return rows, notes
