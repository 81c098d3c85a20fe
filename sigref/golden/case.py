"""A golden case (what it pins, its deterministic inputs, how sigref computes it) and the registry of cases."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sigref.backend import Backend

__all__ = ["CASE_MODULES", "TOLERANCE_CLASSES", "Case", "all_cases", "compute_host", "rtol_for", "select"]

#: C in rtol = C * sqrt(eps(dtype)): 1.5e-8 * C in float64, 3.5e-4 * C in float32.
TOLERANCE_CLASSES = {
    "exact": 1.0,  # closed forms and elementwise values
    "reduction": 4.0,  # sums over N^2 terms
    "gradient": 8.0,  # analytic gradients (sums of products of reductions)
    "solver": 100.0,  # iterative solvers, LPs, roots
    "trajectory": 1000.0,  # short fixed-step training runs
}

CASE_MODULES = ("losses", "lee2024", "bangachev2025", "conform")


def rtol_for(tolerance_class: str, dtype_name: str) -> float:
    """rtol = C * sqrt(eps(dtype)) of a tolerance class."""
    eps = float(np.finfo(np.float32 if dtype_name == "float32" else np.float64).eps)
    return TOLERANCE_CLASSES[tolerance_class] * eps**0.5


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


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for mod in CASE_MODULES:
        cases.extend(importlib.import_module(f"sigref.golden.cases.{mod}").CASES)
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise RuntimeError(f"duplicate golden case names: {sorted(dup)}")
    return cases


def select(names: Iterable[str] | None) -> list[Case]:
    """The cases called ``names`` (every case when None or empty); ValueError naming unknown ones."""
    cases = all_cases()
    if not names:
        return cases
    by_name = {c.name: c for c in cases}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown golden case(s) {unknown}; known: {sorted(by_name)}")
    return [by_name[n] for n in names]


def compute_host(case: Case, backend: Backend, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The case's outputs computed on ``backend`` from host ``inputs``, copied back as float64."""
    arrays = {k: backend.asarray(v) for k, v in inputs.items()}
    return {k: backend.to_numpy(v).astype(np.float64) for k, v in case.compute(backend, arrays).items()}
