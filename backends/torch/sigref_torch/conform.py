"""``sigref conform`` on torch: gradients by autograd, and gloo process groups for distributed runs.

Registered as the ``torch`` hook of the entry-point group ``sigref.conform``
(:class:`sigref.conform.Framework`). :func:`launch` starts ``world_size`` spawned processes joined by
``torch.distributed`` with the gloo backend (a file store in a temporary directory, no port), kept
for later launches of the same size; each imports the target and runs its rank's calls in step with
the others: forward, backward, then a one-element all-reduce of "how many ranks raised?", so that a
failure on some ranks stops all of them at the same call instead of leaving the others waiting in an
exchange. A call that raised on every rank (typically an argument check, before any exchange) does
not stop the run. A spawned process imports the caller's ``__main__``: a script that calls
``conform(..., world_size=W)`` needs the ``if __name__ == "__main__":`` guard.

Single-process calls go through :func:`value_and_grad`, and :func:`recognise` lets
``sigref conform`` take torch modules and sigref_torch's own losses without options.

Examples
--------
>>> from sigref.conform import Framework
>>> from sigref_torch.conform import FRAMEWORK
>>> isinstance(FRAMEWORK, Framework), FRAMEWORK.name
(True, 'torch')
"""

from __future__ import annotations

import atexit
import datetime
import os
import queue as queue_module
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sigref.backend import get_backend
from sigref.conform.target import Framework, Outcome, resolve

__all__ = ["FRAMEWORK", "close", "launch", "recognise", "value_and_grad"]


def value_and_grad(fn: Callable[..., Any], args: tuple[torch.Tensor, ...], kwargs: dict[str, Any]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Evaluate a torch loss and its gradient in each argument, by autograd.

    Calls ``fn(*args, **kwargs)`` with every floating tensor of ``args`` replaced by a fresh leaf
    that requires grad (the caller's tensors are not touched), and differentiates the sum of the
    value (a batched loss of shape (...) gives the gradient of its sum).

    Parameters
    ----------
    fn : callable
        The loss, ``fn(*args, **kwargs) -> torch.Tensor``.
    args : tuple of torch.Tensor
        The positional arguments, e.g. ``(U, V, t, b)``; every one a tensor.
    kwargs : dict
        Keyword arguments passed through unchanged.

    Returns
    -------
    value : torch.Tensor
        The value, detached.
    grads : tuple of torch.Tensor
        The gradient of ``value.sum()`` in each of ``args``, of its shape: zeros for an argument
        the loss does not use or that is not floating.

    Raises
    ------
    TypeError
        If ``fn`` does not return a ``torch.Tensor``, or returns one without an autograd graph (it
        does not depend differentiably on its arguments).

    Examples
    --------
    >>> import torch
    >>> from sigref.sampling import uniform_sphere
    >>> from sigref_torch import sigmoid_loss
    >>> from sigref_torch.conform import value_and_grad
    >>> U = torch.tensor(uniform_sphere(0, (4, 3)))
    >>> V = torch.tensor(uniform_sphere(1, (4, 3)))
    >>> t = b = torch.tensor(10.0, dtype=torch.float64)
    >>> value, grads = value_and_grad(sigmoid_loss, (U, V, t, b), {})
    >>> print(f"{value.item():.6f} {grads[3].item():.6f}", [tuple(g.shape) for g in grads])
    12.303664 0.910936 [(4, 3), (4, 3), (), ()]
    """
    leaves = tuple(a.detach().clone().requires_grad_(True) if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args)
    with torch.enable_grad():
        value = fn(*leaves, **kwargs)
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"the loss must be a torch.Tensor, got {type(value).__name__}")
        if not value.requires_grad:
            raise TypeError("the loss carries no autograd graph: it does not depend differentiably on its arguments")
        inputs = [x for x in leaves if isinstance(x, torch.Tensor) and x.requires_grad]
        grads = iter(torch.autograd.grad(value.sum(), inputs, allow_unused=True))
    out = []
    for x in leaves:
        g = next(grads) if isinstance(x, torch.Tensor) and x.requires_grad else None
        out.append(torch.zeros_like(x) if g is None else g)
    return value.detach(), tuple(out)


def recognise(obj: Any) -> dict[str, Any] | None:
    """The declaration ``sigref conform`` needs for a torch callable, or None for others.

    ``torch.nn.Module`` classes and instances are torch callables (convention and batch axes
    then come from the command line); sigref_torch's own losses also declare their convention:
    :func:`sigref_torch.bridge.sigmoid_loss` the papers' (``"paper"``, batch axes),
    :func:`sigref_torch.bridge.siglip_loss` open_clip's (``"open_clip"``, batch axes) and
    :func:`sigref_torch.distributed.distributed_sigmoid_loss` the papers' (no batch axes).

    Parameters
    ----------
    obj : object
        The loaded target of ``sigref conform``.

    Returns
    -------
    dict or None
        ``{"framework": "torch"}``, with ``"convention"`` and ``"batch_axes"`` for sigref_torch's
        losses; None when ``obj`` is none of these.

    Examples
    --------
    >>> import torch
    >>> from sigref_torch import siglip_loss
    >>> from sigref_torch.conform import recognise
    >>> recognise(siglip_loss)
    {'framework': 'torch', 'convention': 'open_clip', 'batch_axes': True}
    >>> recognise(torch.nn.Linear)
    {'framework': 'torch'}
    >>> recognise(len) is None
    True
    """
    from sigref_torch import bridge, distributed

    if isinstance(obj, torch.nn.Module) or (isinstance(obj, type) and issubclass(obj, torch.nn.Module)):
        return {"framework": "torch"}
    own = ((bridge.sigmoid_loss, "paper", True), (bridge.siglip_loss, "open_clip", True), (distributed.distributed_sigmoid_loss, "paper", False))
    for fn, convention, batch_axes in own:
        if obj is fn:
            return {"framework": "torch", "convention": convention, "batch_axes": batch_axes}
    return None


def _run_call(fn: Callable[..., Any], dtype: str, device: str, args: tuple[np.ndarray, ...], kwargs: dict[str, Any]) -> Outcome:
    backend = get_backend("torch", device=device, dtype=dtype)
    try:
        value, grads = value_and_grad(fn, tuple(backend.asarray(a) for a in args), kwargs)
        return Outcome(value=value.detach().cpu().double().numpy(), grads=tuple(g.detach().cpu().double().numpy() for g in grads))
    except Exception as exc:  # reported as this call's result; the ranks then stop together
        return Outcome(error=_brief(exc))


def _brief(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def _count(flag: bool) -> int:
    """How many ranks have ``flag`` set (an all-reduce: every rank is past the same point)."""
    t = torch.tensor([int(flag)])
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return int(t.item())


def _run_job(rank: int, world_size: int, target: dict[str, Any], calls: list[Any], device: str, report: Callable[..., None]) -> str | None:
    """One launch on this rank: load the target, run the calls in step with the other ranks. Returns
    why the calls stopped early (None: all ran); raises when a collective of its own fails."""
    try:
        fn = resolve(target["spec"], target["init"], rank=rank, world_size=world_size).fn
        error = None
    except Exception as exc:
        fn, error = None, f"could not load {target['spec']}: {_brief(exc)}"
    if _count(error is not None):
        return error or "stopped: another rank could not load the target"
    for i, (dtype, args, kwargs) in enumerate(calls):
        outcome = _run_call(fn, dtype, device, args, target["kwargs"] | kwargs)
        report(i, outcome)
        raised = _count(outcome.error is not None)
        if 0 < raised < world_size:  # the others may have sent what no one received: the group is out of step
            return f"stopped: {raised} of {world_size} ranks raised in call {i}, so the later calls did not run"
    return None


def _rank_main(rank: int, world_size: int, init_method: str, timeout_s: float, jobs: Any, results: Any) -> None:
    """A rank's process: join the group, then run the jobs that arrive until None (or the group breaks)."""
    torch.set_num_threads(1)
    job_id = -1
    try:
        dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=world_size,
                                timeout=datetime.timedelta(seconds=timeout_s))
    except Exception as exc:
        results.put(("broken", rank, job_id, f"could not join the process group: {_brief(exc)}"))
        return
    try:
        while (job := jobs.get()) is not None:
            job_id, target, calls, device = job
            message = _run_job(rank, world_size, target, calls, device,
                               lambda i, outcome, job_id=job_id: results.put(("result", rank, job_id, (i, outcome))))
            results.put(("done", rank, job_id, message))
    except Exception as exc:  # a collective of the hook itself failed (a peer died or timed out): the group is unusable
        results.put(("broken", rank, job_id, f"stopped by {_brief(exc)}"))
    finally:
        dist.destroy_process_group()


class _Ranks:
    """``world_size`` spawned processes joined in one gloo group (a file store, no port), kept for the
    next launch of the same size: importing torch and the target in every process is most of a launch."""

    def __init__(self, world_size: int, timeout_s: float) -> None:
        ctx = mp.get_context("spawn")
        self.world_size, self.timeout_s = world_size, timeout_s
        self._tmp = tempfile.TemporaryDirectory(prefix="sigref-conform-")
        init_method = f"file://{os.path.join(self._tmp.name, 'store')}"
        self.jobs = [ctx.Queue() for _ in range(world_size)]
        self.results = ctx.Queue()
        self.procs = [ctx.Process(target=_rank_main, args=(r, world_size, init_method, timeout_s, self.jobs[r], self.results), daemon=True)
                      for r in range(world_size)]
        for p in self.procs:
            p.start()
        self.next_job = 0
        self.broken = False

    def run(self, target: dict[str, Any], calls: list[list[Any]], device: str) -> tuple[list[list[Outcome | None]], list[str | None]]:
        job = self.next_job
        self.next_job += 1
        for r in range(self.world_size):
            self.jobs[r].put((job, target, calls[r], device))
        outcomes: list[list[Outcome | None]] = [[None] * len(c) for c in calls]
        done: dict[int, str | None] = {}
        silence = self.timeout_s + 60
        last_word = time.monotonic()
        while len(done) < self.world_size:
            try:
                kind, rank, job_id, payload = self.results.get(timeout=1.0)
            except queue_module.Empty:
                for r, p in enumerate(self.procs):
                    if r not in done and p.exitcode is not None:  # died without a word (killed, crashed)
                        done[r], self.broken = f"died (exit code {p.exitcode})", True
                if time.monotonic() - last_word > silence:
                    for r in set(range(self.world_size)) - set(done):
                        done[r] = f"sent nothing for {silence:.0f} s and was stopped (an exchange that never completed?)"
                    self.broken = True
                continue
            last_word = time.monotonic()
            if job_id != job and kind != "broken":
                continue  # left over from an earlier launch
            if kind == "result":
                i, outcome = payload
                outcomes[rank][i] = outcome
            else:
                done[rank] = payload
                self.broken |= kind == "broken"
        return outcomes, [done.get(r) for r in range(self.world_size)]

    def close(self) -> None:
        for q in self.jobs:
            q.put(None)
        for p in self.procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
                p.join(timeout=10)
        self._tmp.cleanup()


_RANKS: dict[tuple[int, float], _Ranks] = {}


@atexit.register
def close() -> None:
    """Stop the processes that :func:`launch` keeps for later launches.

    Registered with :mod:`atexit`; calling it earlier is harmless (the next :func:`launch` starts
    new processes).

    Examples
    --------
    >>> from sigref_torch.conform import close
    >>> close()
    """
    while _RANKS:
        _RANKS.popitem()[1].close()


def launch(target: dict[str, Any], world_size: int, calls: list[list[Any]], *, device: str = "cpu",
           timeout_s: float = 120.0) -> tuple[list[list[Outcome | None]], list[str | None]]:
    """Run ``calls[r]`` on rank ``r`` of a gloo group of ``world_size`` processes.

    The processes are started on the first launch of a (world size, timeout) and reused by the next
    ones of this process; a group that broke (a peer died, an exchange timed out) is replaced. Each
    rank loads the target, then runs its calls in step with the others (module docstring): forward
    and backward by :func:`value_and_grad`, then an all-reduce of how many ranks raised.

    Parameters
    ----------
    target : dict
        ``{"spec": "MODULE:CALLABLE", "init": {...}, "kwargs": {...}}``: the callable to load on
        every rank (``init``: constructor arguments of a class target), and keyword arguments
        added to every call.
    world_size : int
        Number of processes.
    calls : list of list
        ``calls[r]``: rank ``r``'s calls, each ``(dtype, args, kwargs)`` with ``dtype``
        ``"float32"`` or ``"float64"`` and ``args`` host (NumPy) arrays, moved to torch tensors of
        that dtype on the rank. Every rank must have the same number of calls.
    device : str, default "cpu"
        Only ``"cpu"``: gloo runs on the CPU.
    timeout_s : float, default 120.0
        The process group's timeout for an exchange, in seconds.

    Returns
    -------
    outcomes : list of list of sigref.conform.Outcome or None
        ``outcomes[r][i]``: the value and gradients (host float64 arrays) of call ``i`` on rank
        ``r``, or the error it raised; None where the call did not run.
    rank_errors : list of str or None
        Per rank: why its calls stopped early (another rank raised, a peer died, the target did not
        load), or None when all ran.

    Raises
    ------
    ValueError
        If ``device`` is not ``"cpu"``.

    See Also
    --------
    sigref.conform.Framework : The hook this function is the ``launch`` of.

    Examples
    --------
    Each launch spawns ``world_size`` processes that import torch (seconds), so this is not run
    here; in a script, under the ``if __name__ == "__main__":`` guard:

    >>> import numpy as np
    >>> from sigref.sampling import uniform_sphere
    >>> from sigref_torch.conform import launch
    >>> U, V, t, b = uniform_sphere(0, (4, 3)), uniform_sphere(1, (4, 3)), np.array(10.0), np.array(10.0)
    >>> target = {"spec": "sigref_torch.distributed:distributed_sigmoid_loss", "init": {}, "kwargs": {}}
    >>> outcomes, rank_errors = launch(target, 1, [[("float64", (U, V, t, b), {})]])  # doctest: +SKIP
    >>> rank_errors, round(float(outcomes[0][0].value), 6)  # doctest: +SKIP
    ([None], 12.303664)

    With one rank this is the single-process value, which :func:`value_and_grad` gives in this
    process:

    >>> import torch
    >>> from sigref_torch.conform import value_and_grad
    >>> from sigref_torch.distributed import distributed_sigmoid_loss
    >>> value, _ = value_and_grad(distributed_sigmoid_loss, tuple(torch.tensor(a) for a in (U, V, t, b)), {})
    >>> print(f"{value.item():.6f}")
    12.303664
    """
    if device != "cpu":
        raise ValueError(f"distributed conformance runs gloo processes on the CPU; got device {device!r}")
    key = (world_size, float(timeout_s))
    if key not in _RANKS:
        _RANKS[key] = _Ranks(world_size, timeout_s)
    ranks = _RANKS[key]
    try:
        return ranks.run(target, calls, device)
    finally:
        if ranks.broken:
            _RANKS.pop(key).close()


#: The torch hook of ``sigref conform`` (entry point ``torch`` of the group ``sigref.conform``).
FRAMEWORK = Framework(name="torch", value_and_grad=value_and_grad, recognise=recognise, launch=launch)
