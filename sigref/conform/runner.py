r"""Feed the golden conformance cases to an implementation and compare its value and gradients.

For every case of :mod:`sigref.golden.cases.conform` (read only after its sha256 was verified
against the manifest), every loss variant (:math:`\gamma`) of the convention and every dtype, the
implementation is called once per configuration with :math:`(N, d)` rows (or once with the whole
batch, for the batch case), its arguments in its own convention
(:meth:`sigref.conform.Convention.arguments_for`), converted to its framework through the backend
registry (:meth:`sigref.backend.Backend.asarray`). Its value and, where the framework has an
autograd hook (:class:`sigref.conform.Framework`), its gradients in all four arguments are
compared with the goldens mapped into that convention (:meth:`sigref.conform.Convention.expected`),
entry by entry:

.. math::

    \mathrm{error} = \frac{|\mathrm{got} - \mathrm{want}|}{|\mathrm{want}| + \max|\mathrm{want}|}
    \le \mathrm{rtol} = C \sqrt{\varepsilon(\mathrm{dtype})},

with :math:`C` the golden's tolerance class of that output (``reduction`` for values,
``gradient`` for gradients), per configuration, so that a small loss is not judged against a
large one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sigref._arrays import positive_int
from sigref.backend import Backend, get_backend, to_numpy
from sigref.conform.conventions import Convention, get_convention
from sigref.conform.report import Report, Row
from sigref.conform.target import Framework, Outcome, Target, frameworks, resolve
from sigref.golden import store
from sigref.golden.case import rtol_for, select
from sigref.golden.cases.conform import BATCH_CASES, CASES, OUTPUTS

__all__ = ["DTYPES", "Call", "Planned", "assert_conforms", "conform"]

#: The dtypes a conformance run checks, by default both.
DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class Call:
    """One invocation of the implementation under test, with what it should return.

    Planned from a golden case and a convention before anything is called; the distributed
    runner splits its rows between the ranks.

    Parameters
    ----------
    args : tuple of numpy.ndarray
        The four arguments in the implementation's convention, host float64.
    kwargs : dict
        Its keywords (``gamma`` for a modulated variant, and the run's extra keywords).
    expected : dict of str to numpy.ndarray
        The expected ``"value"`` and gradients, by argument name.
    classes : dict of str to str
        The tolerance class of each of them, by the same names.
    config : str
        A description of the configuration for the report.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.conform.runner import Call
    >>> U = np.eye(2)
    >>> call = Call((U, U, np.float64(10.0), np.float64(10.0)), {}, {"value": np.float64(0.7)},
    ...             {"value": "reduction"}, "config 0: t=10, b=10")
    >>> call.args[0].shape, call.config
    ((2, 2), 'config 0: t=10, b=10')
    """

    args: tuple[np.ndarray, ...]
    kwargs: dict[str, Any]
    expected: dict[str, np.ndarray]
    classes: dict[str, str]
    config: str


@dataclass(frozen=True)
class Planned:
    """One report row to produce: its calls, or its verdict already.

    A planned row with a ``verdict`` is not called: the case is skipped, or its golden file failed
    verification.

    Parameters
    ----------
    case : str
        The golden conformance case.
    gamma : float
        The loss variant.
    dtype : str
        ``"float64"`` or ``"float32"``.
    calls : list of Call
        The calls to make.
    verdict : Row or None, default None
        The row already decided, if any.

    Examples
    --------
    >>> from sigref.conform import Row
    >>> from sigref.conform.runner import Planned
    >>> planned = Planned("conform_batch_axes", 0.0, "float64", [], Row("conform_batch_axes", 0.0, "float64", "skipped"))
    >>> planned.verdict.status
    'skipped'
    """

    case: str
    gamma: float
    dtype: str
    calls: list[Call]
    verdict: Row | None = None


def _fmt(x: np.ndarray) -> str:
    return f"{float(x):.4g}" if np.ndim(x) == 0 else f"shape {list(np.shape(x))}"


def plan_calls(case: str, inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray], convention: Convention, gamma: float,
               kwargs: dict[str, Any]) -> list[Call]:
    """The calls of one case and loss variant: one per configuration, or one for a batch case."""
    golden_case = select([case])[0]
    prefix = f"gamma{gamma:g}_"
    classes_by_output = {name: golden_case.tolerance_class(prefix + name) for name in OUTPUTS}
    u, v, scale, bias = convention.arguments
    classes = {"value": classes_by_output["value"], u: classes_by_output["grad_U"], v: classes_by_output["grad_V"],
               scale: classes_by_output["grad_log_t" if convention.log_scale else "grad_t"], bias: classes_by_output["grad_b"]}
    call_kwargs = dict(kwargs) | ({"gamma": gamma} if gamma else {})
    n = inputs["U"].shape[-2]
    if case in BATCH_CASES:
        configs = [(..., f"batch {list(inputs['t'].shape)}")]
    else:
        configs = [(k, "") for k in range(inputs["t"].shape[0])]
    calls = []
    for index, label in configs:
        args = convention.arguments_for(inputs["U"][index], inputs["V"][index], inputs["t"][index], inputs["b"][index])
        golden = {name: outputs[prefix + name][index] for name in OUTPUTS}
        if not label:
            label = f"config {index}: {scale}={_fmt(args[2])}, {bias}={_fmt(args[3])}"
        calls.append(Call(args, call_kwargs, convention.expected(golden, n), classes, label))
    return calls


def evaluate(fn: Callable[..., Any], call: Call, backend: Backend, hook: Framework | None) -> Outcome:
    """Call ``fn`` on ``call``'s arguments moved to ``backend``; value (and gradients with a hook) on the host."""
    try:
        args = tuple(backend.asarray(a) for a in call.args)
        if hook is None:
            return Outcome(value=np.asarray(to_numpy(fn(*args, **call.kwargs)), dtype=np.float64))
        value, grads = hook.value_and_grad(fn, args, call.kwargs)
        return Outcome(value=np.asarray(to_numpy(value), dtype=np.float64),
                       grads=tuple(np.asarray(to_numpy(g), dtype=np.float64) for g in grads))
    except Exception as exc:  # the implementation's failure is a result, reported per case
        return Outcome(error=f"{type(exc).__name__}: {exc}")


def tangent_part(g: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """g - <g, x> x per row: the part of a gradient that moves along the unit sphere at rows x."""
    return g - np.sum(g * rows, axis=-1, keepdims=True) * rows


def _worst(got: np.ndarray, want: np.ndarray) -> tuple[float, tuple[int, ...] | str]:
    """Max of |got - want| / (|want| + max|want|) (NaN counts as infinite) and where it occurs."""
    if got.shape != want.shape:
        return math.inf, f"shape {list(got.shape)}, expected {list(want.shape)}"
    if got.size == 0:
        return 0.0, ()
    scale = float(np.max(np.abs(want)))
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(got - want) / (np.abs(want) + scale + np.finfo(np.float64).tiny)
    err = np.where(got == want, 0.0, err)
    err = np.where(np.isnan(err), math.inf, err)
    at = np.unravel_index(int(np.argmax(err)), err.shape)
    return float(err[at]), tuple(int(i) for i in at)


def compare(outcome: Outcome, call: Call, convention: Convention, dtype: str, *, tangent: bool = False,
            describe_row: Callable[[str, int], str] | None = None) -> tuple[float, float, float, str, dict[str, float]]:
    """(worst error / rtol, worst error, its rtol, where, worst error per output) of one call."""
    labels = ["value"] + (list(convention.arguments) if outcome.grads is not None else [])
    got_by_label = {"value": outcome.value} | dict(zip(convention.arguments, outcome.grads or ()))
    worst = (0.0, 0.0, rtol_for(call.classes["value"], dtype), "")
    errors = {}
    for i, label in enumerate(labels):
        got, want = got_by_label[label], call.expected[label]
        if tangent and 1 <= i <= 2 and got.shape == want.shape:
            got, want = tangent_part(got, call.args[i - 1]), tangent_part(want, call.args[i - 1])
        err, at = _worst(got, want)
        rtol = rtol_for(call.classes[label], dtype)
        errors[label] = err
        if err / rtol > worst[0]:
            if isinstance(at, str):
                where = f"{label}: {at}"
            elif 1 <= i <= 2 and describe_row is not None:
                where = f"d/d {label}[{at[-2]}, {at[-1]}] ({describe_row(label, at[-2])})"
            else:
                where = ("d/d " if i else "") + label + (f"[{', '.join(map(str, at))}]" if at else "")
            if not isinstance(at, str) and not np.isfinite(got[at]):
                where += f" = {float(got[at])}"
            worst = (err / rtol, err, rtol, where)
    return worst[0], worst[1], worst[2], worst[3], errors


def row_for(case: str, gamma: float, dtype: str, calls: Sequence[Call], outcomes: Sequence[Outcome | None], convention: Convention,
            *, tangent: bool = False, describe_row: Callable[[str, int], str] | None = None, note: str = "") -> Row:
    """The report row of one case x variant x dtype from its calls' outcomes."""
    worst: tuple[float, float, float, str] = (-1.0, math.nan, math.nan, "")
    errors: dict[str, float] = {}
    ratios = []
    for call, outcome in zip(calls, outcomes):
        if outcome is None:
            return Row(case, gamma, dtype, "fails", where=f"{call.config}: not run ({note or 'no result'})")
        if outcome.error is not None:
            return Row(case, gamma, dtype, "fails", where=f"{call.config}: {outcome.error}")
        ratio, err, rtol, where, errs = compare(outcome, call, convention, dtype, tangent=tangent, describe_row=describe_row)
        ratios.append(ratio)
        for k, e in errs.items():
            errors[k] = max(errors.get(k, 0.0), e)
        if ratio > worst[0]:
            worst = (ratio, err, rtol, f"{where}, {call.config}" if where else call.config)
    status = "agrees" if worst[0] <= 1.0 else "differs"
    where = note
    if status == "differs":
        bad = [k for k, r in enumerate(ratios) if r > 1.0]
        if len(ratios) > 1:
            where = worst[3] + (f" (configs {', '.join(map(str, bad))} of {len(ratios)} differ)" if len(bad) > 1 else
                                f" (config {bad[0]} of {len(ratios)} differs)")
        else:
            where = worst[3]
    return Row(case, gamma, dtype, status, worst[1], worst[2], where, errors, tuple(ratios))


def _options(target: Target, convention: Any, framework: str | None, batch_axes: bool | None) -> tuple[Convention, str, bool]:
    declared = target.declaration
    name = convention if convention is not None else declared.get("convention")
    if name is None:
        raise ValueError(f"{target.label}: name its convention (--convention paper, siglip, open_clip or mscl; "
                         "see sigref conform --conventions) or declare it with sigref.conform.declare")
    resolved = get_convention(name)
    framework = framework or declared.get("framework")
    if framework is None:
        raise ValueError(f"{target.label}: name the array library it takes (--framework torch, jax, numpy, cupy, ...) "
                         "or declare it with sigref.conform.declare")
    return resolved, framework, bool(declared.get("batch_axes", False) if batch_axes is None else batch_axes)


def conform(target: Any, convention: str | Convention | None = None, *, framework: str | None = None, device: str | None = None,
            dtypes: Iterable[str] = DTYPES, cases: Iterable[str] | None = None, reduction: str | None = None,
            batch_axes: bool | None = None, tangent: bool = False, world_size: int = 1, init: dict[str, Any] | None = None,
            kwargs: dict[str, Any] | None = None, directory: Path | None = None, timeout_s: float = 120.0) -> Report:
    r"""Check a sigmoid-loss implementation against the golden conformance cases.

    The target is resolved (:func:`sigref.conform.resolve`) and its convention and framework taken
    from the arguments or its declaration. For each selected case, loss variant of the convention
    and dtype, the golden file is verified, the calls are planned in the target's convention
    (:mod:`sigref.conform.runner`), made on the framework's arrays, and the results compared within
    the golden tolerances. Exceptions raised by the implementation, and golden files that fail
    verification, are ``"fails"`` rows, not exceptions.

    The inputs are mapped by the convention: ``paper`` takes :math:`(U, V, t, b)`; ``siglip`` and
    ``mscl`` take :math:`(U, V, \log t, -b)`; ``open_clip`` takes :math:`(U, V, t, -b)`; ``mscl``
    is also called with ``gamma=1.0`` and ``gamma=0.5`` (:mod:`sigref.conform.conventions`).

    Parameters
    ----------
    target : callable or str
        The callable, or ``"MODULE:CALLABLE"``; a class is instantiated (with ``init``).
    convention : str or Convention or None, optional
        ``"paper"``, ``"siglip"``, ``"open_clip"``, ``"mscl"`` or a :class:`Convention`; default
        the target's declaration.
    framework : str or None, optional
        The backend whose arrays it takes (``"torch"``, ``"jax"``, ``"numpy"``, ...); default its
        declaration, else a framework hook that recognises it.
    device : str or None, optional
        The framework's device; default its first.
    dtypes : iterable of str or str, default ("float64", "float32")
        The dtypes to check, from :data:`DTYPES`.
    cases : iterable of str or None, optional
        Golden conformance case names; default all.
    reduction : str or None, optional
        Override the convention's reduction (``"per_anchor"``, ``"sum"`` or ``"mean"``).
    batch_axes : bool or None, optional
        It accepts leading batch axes; default its declaration, else False (the batch case is
        skipped).
    tangent : bool, default False
        Compare embedding gradients projected on the unit sphere's tangent space, for
        implementations that L2-normalise their inputs.
    world_size : int, default 1
        Above 1, run it in that many processes, each on its rank's rows, and compare the
        DDP-averaged results (:mod:`sigref.conform.distributed`).
    init : dict or None, optional
        Constructor keywords of a class target.
    kwargs : dict or None, optional
        Extra keywords of every call (``gamma`` is set by the convention).
    directory : pathlib.Path or None, optional
        The golden directory; default :func:`sigref.golden.default_dir`.
    timeout_s : float, default 120.0
        Seconds a distributed exchange may wait for a peer.

    Returns
    -------
    Report
        One row per case, loss variant and dtype.

    Raises
    ------
    ValueError
        When ``world_size`` is not a positive integer, ``timeout_s`` not a positive finite number,
        ``dtypes`` empty or outside :data:`DTYPES`, a case unknown, the target cannot be imported,
        its convention or framework is neither given nor declared, ``init`` is given for a
        non-class target, a ``sigref.conform`` hook fails to load, or a distributed run lacks a
        launching hook or an importable target.
    TypeError
        When the target is not callable or its class cannot be instantiated with ``init``.
    sigref.backend.BackendError
        When the framework is not a usable backend (or has no such device).

    See Also
    --------
    assert_conforms : The same, as an assertion for a test suite.

    Examples
    --------
    A run imports every framework hook of ``sigref.conform`` (torch, where installed), which takes
    seconds, so it is not run here. A NumPy loss in the papers' convention is checked in values
    (NumPy has no autograd hook) by::

        from sigref.conform import conform
        from sigref.losses import sigmoid_loss

        report = conform(sigmoid_loss, "paper", framework="numpy", cases=["conform_n2"])
        print(report.table())  # conform_n2 agrees in float64 and float32: CONFORMS

    The cases such a run feeds the callable:

    >>> from sigref.golden.cases.conform import CASES
    >>> [case.name for case in CASES]  # doctest: +NORMALIZE_WHITESPACE
    ['conform_n2', 'conform_init', 'conform_trained', 'conform_extreme', 'conform_uneven',
     'conform_large', 'conform_batch_axes']
    """
    positive_int("world_size", world_size)
    if not (isinstance(timeout_s, (int, float)) and 0 < timeout_s < math.inf):
        raise ValueError(f"timeout_s must be a number of seconds > 0, got {timeout_s!r}")
    dtypes = [dtypes] if isinstance(dtypes, str) else list(dtypes)
    if not dtypes or any(d not in DTYPES for d in dtypes):
        raise ValueError(f"dtypes: expected a non-empty selection of {list(DTYPES)}, got {dtypes!r}")
    resolved = resolve(target, init, instantiate=world_size == 1)
    conv, fw_name, batch = _options(resolved, convention, framework, batch_axes)
    conv = conv.with_reduction(reduction)
    backends = {dt: get_backend(fw_name, device=device, dtype=dt) for dt in dtypes}
    hook = frameworks().get(fw_name)
    gradients = f"autograd ({fw_name}), in {', '.join(conv.arguments)}" if hook else \
        f"not checked ({fw_name} has no sigref.conform hook): values only"
    names = [c.name for c in CASES] if cases is None else list(cases)
    unknown = sorted(set(names) - {c.name for c in CASES})
    if unknown:
        raise ValueError(f"unknown conformance case(s) {unknown}; known: {[c.name for c in CASES]}")
    directory = Path(directory or store.default_dir())
    try:
        manifest: dict[str, Any] | store.GoldenFileError = store.read_manifest(directory)
    except store.GoldenFileError as exc:
        manifest = exc
    planned: list[Planned] = []
    for case in names:
        try:
            if isinstance(manifest, store.GoldenFileError):
                raise manifest
            inputs, outputs = store.verified_load(directory, case, manifest)
        except store.GoldenFileError as exc:
            planned += [Planned(case, g, dt, [], Row(case, g, dt, "fails", where=f"golden file: {exc}")) for g in conv.gammas for dt in dtypes]
            continue
        n = inputs["U"].shape[-2]
        for gamma in conv.gammas:
            calls = plan_calls(case, inputs, outputs, conv, gamma, kwargs or {})
            for dt in dtypes:
                skip = ""
                if case in BATCH_CASES and (world_size > 1 or not batch):
                    skip = "distributed runs take (n, d) rows" if world_size > 1 else \
                        "the callable does not declare leading batch axes (declare batch_axes=True, or pass --batch-axes)"
                elif n % world_size:
                    skip = f"N = {n} does not split into {world_size} equal rank shares"
                planned.append(Planned(case, gamma, dt, calls, Row(case, gamma, dt, "skipped", where=skip) if skip else None))
    if world_size > 1:
        from sigref.conform.distributed import run_ranks

        rows, notes = run_ranks(resolved, init or {}, kwargs or {}, hook, fw_name, planned, conv, world_size, device=device,
                                tangent=tangent, timeout_s=timeout_s)
    else:
        rows, notes = [], ()
        for p in planned:
            if p.verdict is not None:
                rows.append(p.verdict)
                continue
            outcomes = [evaluate(resolved.fn, call, backends[p.dtype], hook) for call in p.calls]
            rows.append(row_for(p.case, p.gamma, p.dtype, p.calls, outcomes, conv, tangent=tangent, note="" if hook else "values only"))
    return Report(resolved.label, conv, fw_name, str(backends[dtypes[0]].device), gradients, world_size, rows, notes)


def assert_conforms(target: Any, convention: str | Convention | None = None, *, known_failures: Iterable[str] = (),
                    **options: Any) -> Report:
    """Run :func:`conform` and raise AssertionError unless the implementation conforms.

    Every row must agree, except the rows named in ``known_failures``, which must then differ or
    fail: strictly, a known failure that agrees is an error too, so that a fix is noticed. A run
    in which no case ran is an error as well. For a downstream test suite::

        def test_my_loss_conforms():
            assert_conforms("mypkg.loss:sigmoid_loss", "open_clip", framework="torch")

    Parameters
    ----------
    target : callable or str
        As for :func:`conform`.
    convention : str or Convention or None, optional
        As for :func:`conform`.
    known_failures : iterable of str, default ()
        Row ids (:attr:`sigref.conform.Row.id`) expected to differ or fail, e.g.
        ``"conform_extreme:float32"`` or ``"conform_extreme[gamma=0.5]:float32"``.
    **options
        The keyword arguments of :func:`conform`.

    Returns
    -------
    Report
        The report, when it conforms.

    Raises
    ------
    AssertionError
        With the problems and the report's table: rows that do not conform, known failures that
        now agree or name no row, or no case run.
    ValueError
        For the invalid options for which :func:`conform` raises it (likewise its TypeError and
        :class:`sigref.backend.BackendError`).

    Examples
    --------
    Like :func:`conform`, a run takes seconds and is not run here. The ids that ``known_failures``
    takes are those of the report's rows:

    >>> from sigref.conform import Row
    >>> Row("conform_extreme", 0.0, "float32", "differs").id
    'conform_extreme:float32'
    """
    report = conform(target, convention, **options)
    known = set(known_failures)
    unknown = known - {r.id for r in report.rows}
    unexpected = report.failing() - known
    fixed = known - report.failing() - unknown
    problems = []
    if unknown:
        problems.append(f"known_failures names rows that do not exist: {sorted(unknown)}")
    if unexpected:
        problems.append(f"these rows do not conform: {sorted(unexpected)}")
    if fixed:
        problems.append(f"these known failures now agree (remove them from known_failures): {sorted(fixed)}")
    if all(r.status == "skipped" for r in report.rows):
        problems.append("no case ran")
    if problems:
        raise AssertionError("\n".join([*problems, report.table()]))
    return report
