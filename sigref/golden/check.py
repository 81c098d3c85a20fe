r"""``sigref golden check``: recompute every case on a backend and compare with the verified goldens.

Before anything is compared, every file is checked against the sha256 that ``MANIFEST.json``
records; a changed, missing, unreadable, unlisted or extra file is a failure row that names it
(:class:`sigref.golden.GoldenFileError`). Each case is then recomputed on the backend from its
*stored* inputs, and an output agrees when, everywhere,

.. math::

    |\mathrm{got} - \mathrm{want}| \le \mathrm{rtol}\,\bigl(|\mathrm{want}| + \max|\mathrm{want}|\bigr),
    \qquad \mathrm{rtol} = C \sqrt{\varepsilon(\mathrm{dtype})},

with :math:`C` its tolerance class (:data:`sigref.golden.TOLERANCE_CLASSES`). The result is one
:class:`CheckRow` per output (or per case, for a skipped case or a failure).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sigref.backend import Backend
from sigref.golden import store
from sigref.golden.case import all_cases, compute_host, rtol_for, select

__all__ = ["CheckRow", "check", "compare", "format_table", "report_json"]


@dataclass(frozen=True)
class CheckRow:
    r"""One line of a golden check: an output of a case, or a whole case or file.

    :func:`check` returns a list of these; :attr:`ok` is what decides the exit status of
    ``sigref golden check``.

    Parameters
    ----------
    case : str
        The case name (or the file name, for an extra file or the manifest).
    output : str
        The output name; ``"*"`` for a row about the whole case.
    error : float
        The largest normalised error :math:`|got - want| / (|want| + \max|want|)` over the
        output's entries (:func:`compare`); ``inf`` for failures.
    rtol : float
        The output's tolerance (:func:`sigref.golden.rtol_for`); 0 for whole-case rows.
    status : str
        ``"ok"``, ``"MISMATCH"``, ``"skipped: <reason>"`` or ``"error: <message>"``.
    problem : str or None, default None
        For failures: the integrity problem (the ``problem`` of a :class:`sigref.golden.GoldenFileError`) or
        ``"compute"`` (the computation raised or lacked an output).

    Examples
    --------
    >>> from sigref.golden import CheckRow
    >>> CheckRow("losses_sigmoid", "sum_value", 2.0e-10, 6.0e-8, "ok").ok
    True
    >>> CheckRow("losses_sigmoid", "*", float("inf"), 0.0, "error: missing", "missing").ok
    False
    """

    case: str
    output: str
    error: float  # max over entries of |got - want| / (|want| + max|want|)
    rtol: float
    status: str  # "ok", "MISMATCH", "skipped: <reason>", "error: <message>"
    problem: str | None = None  # integrity problem (see store.GoldenFileError) or "compute"

    @property
    def ok(self) -> bool:
        """Whether the row passes: the output agrees, or the case was skipped."""
        return self.status == "ok" or self.status.startswith("skipped")


def compare(got: np.ndarray, want: np.ndarray, rtol: float) -> float:
    r"""The largest normalised error of ``got`` against ``want``, to be compared with ``rtol``.

    .. math::

        \max_k \frac{|\mathrm{got}_k - \mathrm{want}_k|}{|\mathrm{want}_k| + \max_l |\mathrm{want}_l|},

    with entries that are equal, or NaN in both, counting 0, and a NaN error (``got`` NaN where
    ``want`` is not, infinities of opposite sign) counting infinite.

    Parameters
    ----------
    got : numpy.ndarray
        The recomputed output.
    want : numpy.ndarray
        The golden output.
    rtol : float
        The tolerance the result will be compared with (not used in the computation).

    Returns
    -------
    float
        The error; ``inf`` when the shapes differ, 0 for empty arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.golden import compare
    >>> f"{compare(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]), 1e-8):.2e}"
    '2.50e-10'
    >>> compare(np.array([np.nan]), np.array([1.0]), 1e-8), compare(np.zeros(2), np.zeros(3), 1e-8)
    (inf, inf)
    """
    if got.shape != want.shape:
        return float("inf")
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(got - want) / (np.abs(want) + scale + np.finfo(np.float64).tiny)
    err = np.where(np.isnan(got) & np.isnan(want) | (got == want), 0.0, err)
    err = np.where(np.isnan(err), np.inf, err)
    return float(np.max(err)) if err.size else 0.0


def _failure(case: str, exc: store.GoldenFileError) -> CheckRow:
    return CheckRow(case, "*", float("inf"), 0.0, f"error: {exc}", exc.problem)


def check(backend: Backend, directory: Path | None = None, names: Iterable[str] | None = None) -> list[CheckRow]:
    """Verify the golden files, recompute the selected cases on ``backend`` and compare.

    In order: the manifest is read (a missing or unreadable one is the only row); extra files and
    stale manifest entries in ``directory`` are failure rows; each selected case's file is verified
    against its sha256 (also for cases that are then skipped); a case is skipped on a backend named
    in its ``backends_reason`` and, in float32, when it has a ``float32_reason``; otherwise it is
    recomputed from the stored inputs (:func:`sigref.golden.case.compute_host`) and every stored
    output is compared within its tolerance class. Failures are rows, not exceptions: an exception
    raised by a case's computation is an ``"error: ..."`` row and the check goes on.

    Parameters
    ----------
    backend : Backend
        Where, and in which dtype, to recompute (a :class:`sigref.backend.Backend`).
    directory : pathlib.Path or None, optional
        The golden directory; default :func:`sigref.golden.default_dir`.
    names : iterable of str or None, optional
        The cases to check; default every case.

    Returns
    -------
    list of CheckRow
        One row per compared output, skipped case or failure.

    Raises
    ------
    ValueError
        When ``names`` holds a name that is no case.

    See Also
    --------
    format_table, report_json : Present the rows.

    Examples
    --------
    >>> from sigref import golden
    >>> from sigref.backend import get_backend
    >>> rows = golden.check(get_backend("numpy", dtype="float32"), names=["lee2024_thresholds"])
    >>> [(row.output, row.status) for row in rows], all(row.ok for row in rows)
    ([('T_anti', 'ok'), ('T_etf', 'ok')], True)
    """
    directory = Path(directory or store.default_dir())
    cases = select(names)
    try:
        manifest = store.read_manifest(directory)
    except store.GoldenFileError as exc:
        return [_failure(store.MANIFEST, exc)]
    rows = [_failure(name, e) for name, e in store.extra_files(directory, manifest, {c.name for c in all_cases()})]
    for case in cases:
        try:  # integrity first: a skipped case's file is still verified
            inputs, want = store.verified_load(directory, case.name, manifest)
        except store.GoldenFileError as exc:
            rows.append(_failure(case.name, exc))
            continue
        skip = case.backends_reason.get(backend.name) or (case.float32_reason if backend.dtype_name == "float32" else None)
        if skip:
            rows.append(CheckRow(case.name, "*", 0.0, 0.0, f"skipped: {skip}"))
            continue
        try:
            got = compute_host(case, backend, inputs)
        except Exception as exc:  # reported per case, the check goes on
            rows.append(CheckRow(case.name, "*", float("inf"), 0.0, f"error: {type(exc).__name__}: {exc}", "compute"))
            continue
        for key in sorted(want):
            rtol = rtol_for(case.tolerance_class(key), backend.dtype_name)
            if key not in got:
                rows.append(CheckRow(case.name, key, float("inf"), rtol, "error: output missing", "compute"))
                continue
            err = compare(got[key], want[key], rtol)
            rows.append(CheckRow(case.name, key, err, rtol, "ok" if err <= rtol else "MISMATCH"))
    return rows


def format_table(rows: list[CheckRow], backend: Backend) -> str:
    """The rows of a check as the text table that ``sigref golden check`` prints.

    A header naming the backend, one line per row (case, output, error, rtol, status) and a
    summary line counting the rows that agree and those that failed.

    Parameters
    ----------
    rows : list of CheckRow
        The result of :func:`check`.
    backend : Backend
        The backend it ran on.

    Returns
    -------
    str
        The table, without a trailing newline.

    Examples
    --------
    >>> from sigref import golden
    >>> from sigref.backend import get_backend
    >>> backend = get_backend("numpy", dtype="float64")
    >>> lines = golden.format_table(golden.check(backend, names=["lee2024_thresholds"]), backend).splitlines()
    >>> print(lines[0]); print(lines[-1])
    golden check on numpy (cpu, float64)
    2 of 2 outputs agree
    """
    head = f"golden check on {backend.name} ({backend.device}, {backend.dtype_name})"
    lines = [head, f"{'case':40s} {'output':22s} {'error':>10s} {'rtol':>10s}  status"]
    for r in rows:
        lines.append(f"{r.case:40s} {r.output:22s} {r.error:10.2e} {r.rtol:10.2e}  {r.status}")
    bad = sum(not r.ok for r in rows)
    lines.append(f"{len(rows) - bad} of {len(rows)} outputs agree" + (f"; {bad} FAILED" if bad else ""))
    return "\n".join(lines)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def report_json(rows: list[CheckRow], backend: Backend, directory: Path | None = None) -> str:
    """The rows of a check as JSON for CI.

    An object with the backend, device, dtype and directory, ``ok`` (every row passes), ``counts``
    of rows ``ok``, ``skipped`` and ``failed``, and ``rows``: one record per row with its fields
    and ``ok`` (non-finite errors as null).

    Parameters
    ----------
    rows : list of CheckRow
        The result of :func:`check`.
    backend : Backend
        The backend it ran on.
    directory : pathlib.Path or None, optional
        The golden directory it read; default :func:`sigref.golden.default_dir`.

    Returns
    -------
    str
        The JSON text (indented by 1).

    Examples
    --------
    >>> import json
    >>> from sigref import golden
    >>> from sigref.backend import get_backend
    >>> backend = get_backend("numpy", dtype="float64")
    >>> report = json.loads(golden.report_json(golden.check(backend, names=["lee2024_thresholds"]), backend))
    >>> report["ok"], report["counts"]
    (True, {'ok': 2, 'skipped': 0, 'failed': 0})
    """
    report: dict[str, Any] = {
        "backend": backend.name,
        "device": str(backend.device),
        "dtype": backend.dtype_name,
        "directory": str(Path(directory or store.default_dir())),
        "ok": all(r.ok for r in rows),
        "counts": {
            "ok": sum(r.status == "ok" for r in rows),
            "skipped": sum(r.status.startswith("skipped") for r in rows),
            "failed": sum(not r.ok for r in rows),
        },
        "rows": [
            {"case": r.case, "output": r.output, "error": _finite(r.error), "rtol": r.rtol, "status": r.status, "ok": r.ok, "problem": r.problem}
            for r in rows
        ],
    }
    return json.dumps(report, indent=1)
