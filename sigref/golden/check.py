"""``sigref golden check``: recompute every case on a backend and compare with the verified goldens.

An output agrees when ``|got - want| <= rtol * (|want| + max|want|)`` everywhere, with
``rtol = C * sqrt(eps(dtype))`` and ``C`` its tolerance class (:data:`sigref.golden.TOLERANCE_CLASSES`).
Before anything is compared, every file is checked against the sha256 that ``MANIFEST.json`` records;
a changed, missing, unreadable, unlisted or extra file is a failure row that names it.
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
    case: str
    output: str
    error: float  # max over entries of |got - want| / (|want| + max|want|)
    rtol: float
    status: str  # "ok", "MISMATCH", "skipped: <reason>", "error: <message>"
    problem: str | None = None  # integrity problem (see store.GoldenFileError) or "compute"

    @property
    def ok(self) -> bool:
        return self.status == "ok" or self.status.startswith("skipped")


def compare(got: np.ndarray, want: np.ndarray, rtol: float) -> float:
    """Max normalised error |got - want| / (|want| + max|want|), in units of 1 (compare to rtol);
    inf when the shapes differ or ``got`` is NaN where ``want`` is not."""
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
    """Verify the selected golden files against ``MANIFEST.json``, recompute each case on ``backend``
    and compare. Extra files and stale manifest entries in ``directory`` are failures too."""
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
    """The check as JSON for CI: one record per row (non-finite errors as null) and a summary."""
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
