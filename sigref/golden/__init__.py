"""Golden reference results: regeneration on NumPy float64 and checks on any backend.

Each :class:`Case` draws its inputs on the host (float64, fixed seed), computes its outputs with
sigref, and is stored as ``reference_results/golden/<name>.npz`` (inputs beside outputs) with an
entry in ``MANIFEST.json`` (sha256, what it pins, tolerance class per output). ``regen`` writes
byte-identical files when nothing changed (``np.savez`` stamps fixed zip times) and replaces each
file atomically. ``check`` recomputes every case on a backend and dtype from the stored inputs
and compares with ``|got - want| <= C * sqrt(eps) * (|want| + max|want|)``, ``C`` from
:data:`TOLERANCE_CLASSES`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sigref.backend import Backend, get_backend

__all__ = ["PACKAGED_DIR", "SOURCE_DIR", "TOLERANCE_CLASSES", "Case", "CheckRow", "all_cases", "check", "compare", "default_dir",
           "format_table", "regen"]

#: C in rtol = C * sqrt(eps(dtype)): 1.5e-8 * C in float64, 3.5e-4 * C in float32.
TOLERANCE_CLASSES = {
    "exact": 1.0,  # closed forms and elementwise values
    "reduction": 4.0,  # sums over N^2 terms
    "gradient": 8.0,  # analytic gradients (sums of products of reductions)
    "solver": 100.0,  # iterative solvers, LPs, roots
    "trajectory": 1000.0,  # short fixed-step training runs
}

CASE_MODULES = ("losses", "lee2024", "bangachev2025")


@dataclass(frozen=True)
class Case:
    """One golden file.

    ``inputs()`` returns host arrays (deterministic); ``compute(backend, arrays)`` receives the
    inputs moved to ``backend`` and returns a dict of output arrays on that backend.
    ``tolerance`` is a class name for every output, a dict output -> class name, or a function
    of the output name returning the class name.
    ``float32_reason`` set means the case is checked in float64 only, for that stated reason.
    """

    name: str
    what: str
    inputs: Callable[[], dict[str, np.ndarray]]
    compute: Callable[[Backend, dict[str, Any]], dict[str, Any]]
    tolerance: str | dict[str, str] | Callable[[str], str] = "exact"
    float32_reason: str | None = None
    backends_reason: dict[str, str] = field(default_factory=dict)

    def tolerance_class(self, output: str) -> str:
        if isinstance(self.tolerance, str):
            return self.tolerance
        if callable(self.tolerance):
            return self.tolerance(output)
        return self.tolerance[output]


@dataclass(frozen=True)
class CheckRow:
    case: str
    output: str
    error: float  # max over entries of |got - want| / (|want| + max|want|)
    rtol: float
    status: str  # "ok", "MISMATCH", "skipped: <reason>", "error: <message>"

    @property
    def ok(self) -> bool:
        return self.status == "ok" or self.status.startswith("skipped")


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for mod in CASE_MODULES:
        cases.extend(importlib.import_module(f"sigref.golden.cases.{mod}").CASES)
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise RuntimeError(f"duplicate golden case names: {sorted(dup)}")
    return cases


#: ``reference_results/golden`` of the source tree (a checkout or an editable install): the truth
#: that ``regen`` writes and the repository commits.
SOURCE_DIR = Path(__file__).resolve().parents[2] / "reference_results" / "golden"
#: the copy of it that a built wheel carries (see setup.py)
PACKAGED_DIR = Path(__file__).resolve().parent / "data"


def default_dir() -> Path:
    """Where ``check`` reads the goldens: the source tree's ``reference_results/golden`` when sigref
    runs from one, else the copy packaged in the wheel (``sigref/golden/data``)."""
    if (SOURCE_DIR / "MANIFEST.json").is_file() or not (PACKAGED_DIR / "MANIFEST.json").is_file():
        return SOURCE_DIR
    return PACKAGED_DIR


def _select(names: Iterable[str] | None) -> list[Case]:
    cases = all_cases()
    if not names:
        return cases
    by_name = {c.name: c for c in cases}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown golden case(s) {unknown}; known: {sorted(by_name)}")
    return [by_name[n] for n in names]


def _compute_host(case: Case, backend: Backend, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    arrays = {k: backend.asarray(v) for k, v in inputs.items()}
    return {k: backend.to_numpy(v).astype(np.float64) for k, v in case.compute(backend, arrays).items()}


def _atomic_write(path: Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def regen(directory: Path | None = None, names: Iterable[str] | None = None) -> list[Path]:
    """Recompute the selected cases on NumPy float64 and write their files and the manifest
    (default: the source tree's ``reference_results/golden``; an installed wheel's copy is never rewritten)."""
    if directory is None and not SOURCE_DIR.parent.is_dir():
        raise FileNotFoundError(f"sigref runs from an installed package, not a source tree: no {SOURCE_DIR.parent}; "
                                "regenerate in a checkout, or pass a directory (--dir)")
    directory = Path(directory or SOURCE_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    backend = get_backend("numpy", dtype="float64")
    manifest_path = directory / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    written = []
    for case in _select(names):
        inputs = case.inputs()
        outputs = _compute_host(case, backend, inputs)
        payload = {f"in__{k}": np.asarray(v) for k, v in inputs.items()}
        payload |= {f"out__{k}": v for k, v in outputs.items()}
        path = directory / f"{case.name}.npz"
        _atomic_write(path, functools.partial(np.savez, **payload))
        manifest[case.name] = {
            "what": case.what,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "inputs": {k: list(np.shape(v)) for k, v in inputs.items()},
            "outputs": {
                k: {"shape": list(v.shape), "tolerance": case.tolerance_class(k), "max_abs": float(np.max(np.abs(v)))}
                for k, v in outputs.items()
            },
            "float32": case.float32_reason or "checked",
        }
        written.append(path)
    manifest = dict(sorted(manifest.items()))
    _atomic_write(manifest_path, lambda f: f.write(json.dumps(manifest, indent=1, sort_keys=True) + "\n"), "w")
    return written


def _load(path: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as data:
        ins = {k[4:]: data[k] for k in data.files if k.startswith("in__")}
        outs = {k[5:]: data[k] for k in data.files if k.startswith("out__")}
    return ins, outs


def compare(got: np.ndarray, want: np.ndarray, rtol: float) -> float:
    """Max normalised error |got - want| / (|want| + max|want|), in units of 1 (compare to rtol)."""
    if got.shape != want.shape:
        return float("inf")
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    err = np.abs(got - want) / (np.abs(want) + scale + np.finfo(np.float64).tiny)
    both_nan = np.isnan(got) & np.isnan(want)
    err = np.where(both_nan | (got == want), 0.0, err)
    return float(np.max(err)) if err.size else 0.0


def check(backend: Backend, directory: Path | None = None, names: Iterable[str] | None = None) -> list[CheckRow]:
    """Recompute every selected case on ``backend`` and compare with the stored goldens."""
    directory = Path(directory or default_dir())
    eps = float(np.finfo(np.float32 if backend.dtype_name == "float32" else np.float64).eps)
    rows = []
    for case in _select(names):
        path = directory / f"{case.name}.npz"
        skip = case.backends_reason.get(backend.name) or (
            case.float32_reason if backend.dtype_name == "float32" else None
        )
        if skip:
            rows.append(CheckRow(case.name, "*", 0.0, 0.0, f"skipped: {skip}"))
            continue
        if not path.exists():
            rows.append(CheckRow(case.name, "*", float("inf"), 0.0, f"error: missing {path} (run sigref golden regen)"))
            continue
        inputs, want = _load(path)
        try:
            got = _compute_host(case, backend, inputs)
        except Exception as exc:  # reported per case, the check goes on
            rows.append(CheckRow(case.name, "*", float("inf"), 0.0, f"error: {type(exc).__name__}: {exc}"))
            continue
        for key in sorted(want):
            rtol = TOLERANCE_CLASSES[case.tolerance_class(key)] * eps**0.5
            if key not in got:
                rows.append(CheckRow(case.name, key, float("inf"), rtol, "error: output missing"))
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
