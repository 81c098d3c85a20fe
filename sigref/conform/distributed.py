r"""Distributed conformance: :math:`W` processes each holding :math:`n = N / W` rows, checked against the global batch.

Rank :math:`r` receives its rows :math:`U_r, V_r` (rows :math:`rn, \dots, (r + 1)n - 1` of the
golden batch) and the replicated scale and bias, and returns its rank loss :math:`L_r`.
DistributedDataParallel averages gradients over ranks, so an implementation conforms when (SigLIP,
arXiv:2303.15343, Sec. 3.3, with the per-anchor normalisation that keeps the mean over ranks equal
to the global loss)

.. math::

    \frac{1}{W} \sum_r L_r = L(U, V; t, b), \qquad
    \frac{1}{W} \frac{\partial L_r}{\partial U_r} = \frac{\partial L}{\partial U}\Big|_{\text{rows of } r},

    \frac{1}{W} \sum_r \frac{\partial L_r}{\partial t} = \frac{\partial L}{\partial t}, \qquad
    \frac{1}{W} \sum_r \frac{\partial L_r}{\partial b} = \frac{\partial L}{\partial b},

where :math:`\partial L_r / \partial U_r` is rank :math:`r`'s autograd gradient, remote
contributions sent back included, and the right-hand sides are the single-process goldens of the
whole batch (the same for :math:`V`). The failures this catches are those of open_clip issues 618
(a ring that converged poorly) and 742 (negatives that differed between ranks). A difference names
the rank whose rows differ. The processes are the framework's business
(:attr:`sigref.conform.Framework.launch`; the torch plugin starts gloo processes on the CPU).
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
    r"""Split a call's arguments between ``world_size`` ranks.

    Rank :math:`r` gets rows :math:`rn, \dots, (r + 1)n - 1` of both embeddings, with
    :math:`n = N /` ``world_size`` (rounded down; the runner skips cases where :math:`N` does not
    split evenly), and the whole scale and bias.

    Parameters
    ----------
    call : Call
        A planned call on the whole batch (:class:`sigref.conform.runner.Call`).
    world_size : int
        The number of ranks :math:`W`.

    Returns
    -------
    list of tuple of numpy.ndarray
        Rank :math:`r`'s four arguments at index :math:`r`.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.conform.distributed import split_rows
    >>> from sigref.conform.runner import Call
    >>> U = np.arange(8.0).reshape(4, 2)
    >>> parts = split_rows(Call((U, U, np.float64(1.0), np.float64(0.0)), {}, {}, {}, "config 0"), 2)
    >>> [part[0].tolist() for part in parts]
    [[[0.0, 1.0], [2.0, 3.0]], [[4.0, 5.0], [6.0, 7.0]]]
    """
    U, V, scale, bias = call.args
    n = U.shape[0] // world_size
    return [(U[r * n:(r + 1) * n], V[r * n:(r + 1) * n], scale, bias) for r in range(world_size)]


def ddp_average(outcomes: list[Outcome]) -> Outcome:
    """The outcome that a DDP-averaged training step sees, from every rank's outcome.

    The loss is the mean over ranks; the embedding gradients are the ranks' gradients of their own
    rows, concatenated in rank order and divided by :math:`W`; the scale and bias gradients are the
    means over ranks. Without gradients on some rank only the value is kept.

    Parameters
    ----------
    outcomes : list of Outcome
        Rank :math:`r`'s outcome at index :math:`r`, none of them failed.

    Returns
    -------
    Outcome
        The averaged outcome, comparable with the single-process goldens of the whole batch.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.conform import Outcome
    >>> from sigref.conform.distributed import ddp_average
    >>> ones = np.ones((1, 2))
    >>> ranks = [Outcome(np.float64(1.0), (ones, ones, np.float64(0.5), np.float64(1.0))),
    ...          Outcome(np.float64(3.0), (3 * ones, ones, np.float64(1.5), np.float64(2.0)))]
    >>> avg = ddp_average(ranks)
    >>> float(avg.value), avg.grads[0].tolist(), float(avg.grads[2]), float(avg.grads[3])
    (2.0, [[0.5, 0.5], [1.5, 1.5]], 1.0, 1.5)
    """
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
    """Run every planned call in ``world_size`` processes at once and compare the DDP averages.

    Every call that is not already decided is split between the ranks (:func:`split_rows`) and
    all of them are handed to the framework's ``launch`` in one go; each call's per-rank outcomes
    are averaged (:func:`ddp_average`) and compared like a single-process call. A call that failed
    on a rank fails with that rank named; a differing row names the ranks whose embedding rows
    differ.

    Parameters
    ----------
    target : Target
        The resolved implementation; it must have a ``spec`` (every process imports it).
    init : dict
        Constructor keywords of a class target.
    kwargs : dict
        Extra keywords of every call.
    hook : Framework or None
        The framework's conformance hook; it must have ``launch``.
    framework : str
        The framework's name, for messages.
    planned : list of Planned
        The rows to produce.
    convention : Convention
        The implementation's convention.
    world_size : int
        The number of processes.
    device : str or None
        The device of every rank (default ``"cpu"``).
    tangent : bool
        Compare embedding gradients on the sphere's tangent space.
    timeout_s : float
        Seconds an exchange may wait for a peer.

    Returns
    -------
    rows : list of Row
        One per planned row, in order.
    notes : tuple of str
        Why ranks stopped early, grouped by message.

    Raises
    ------
    ValueError
        When ``hook`` has no ``launch`` or the target has no ``MODULE:CALLABLE`` spec.

    Examples
    --------
    >>> from sigref.conform import get_convention
    >>> from sigref.conform.distributed import run_ranks
    >>> from sigref.conform.target import Target
    >>> def my_loss(U, V, t, b):
    ...     return 0.0
    >>> try:
    ...     run_ranks(Target(my_loss, None), {}, {}, None, "numpy", [], get_convention("paper"), 2,
    ...               device=None, tangent=False, timeout_s=10.0)
    ... except ValueError as exc:
    ...     print(str(exc).split(";")[0])
    distributed conformance needs a framework hook that launches processes
    """
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
