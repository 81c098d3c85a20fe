"""A conformance run's result: one row per case, loss variant and dtype; the table, JSON, and assertions."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from sigref.conform.conventions import Convention

__all__ = ["STATUSES", "Report", "Row", "summary_table"]

STATUSES = ("agrees", "differs", "fails", "skipped")


@dataclass(frozen=True)
class Row:
    """One case x loss variant x dtype.

    ``status``: "agrees" (every output within its tolerance), "differs" (``error`` is the worst
    normalised error |got - want| / (|want| + max|want|), ``rtol`` its output's tolerance, ``where``
    the output, entry and configuration), "fails" (``where`` holds the exception) or "skipped"
    (``where`` says why). ``errors`` holds the worst normalised error of every output compared and
    ``by_config`` the worst error / rtol of each configuration (> 1: that configuration differs).
    """

    case: str
    gamma: float
    dtype: str
    status: str
    error: float = math.nan
    rtol: float = math.nan
    where: str = ""
    errors: dict[str, float] = field(default_factory=dict)
    by_config: tuple[float, ...] = ()

    @property
    def id(self) -> str:
        """``case:dtype``, or ``case[gamma=g]:dtype`` for a modulated variant."""
        return f"{self.case}[gamma={self.gamma:g}]:{self.dtype}" if self.gamma else f"{self.case}:{self.dtype}"

    @property
    def ok(self) -> bool:
        return self.status in ("agrees", "skipped")


@dataclass(frozen=True)
class Report:
    target: str
    convention: Convention
    framework: str
    device: str
    gradients: str  # how gradients were obtained, or why they were not checked
    world_size: int
    rows: list[Row]
    notes: tuple[str, ...] = ()  # what happened outside the rows (e.g. why the ranks stopped)

    @property
    def ok(self) -> bool:
        """Every case that ran agrees, and at least one ran."""
        return all(r.ok for r in self.rows) and any(r.status == "agrees" for r in self.rows)

    def statuses(self) -> dict[str, str]:
        return {r.id: r.status for r in self.rows}

    def failing(self) -> set[str]:
        """Ids of the rows that differ or fail."""
        return {r.id for r in self.rows if not r.ok}

    def table(self) -> str:
        c = self.convention
        procs = f"{self.world_size} processes (DDP-averaged gradients)" if self.world_size > 1 else "1 process"
        lines = [
            f"sigref conform {self.target}",
            f"  convention {c.name}: {c.signature()}; {c.mapping()}",
            f"  framework {self.framework} ({self.device}); gradients: {self.gradients}; {procs}",
            f"{'case':20s} {'gamma':>5s} {'dtype':8s} {'status':8s} {'error':>9s} {'rtol':>9s}  where",
        ]
        for r in self.rows:
            err = "" if math.isnan(r.error) else f"{r.error:9.2e}"
            rtol = "" if math.isnan(r.rtol) else f"{r.rtol:9.2e}"
            lines.append(f"{r.case:20s} {r.gamma:5g} {r.dtype:8s} {r.status:8s} {err:>9s} {rtol:>9s}  {r.where}")
        counts = {s: sum(r.status == s for r in self.rows) for s in STATUSES}
        lines += [f"note: {note}" for note in self.notes]
        lines.append(", ".join(f"{n} {s}" for s, n in counts.items() if n) + f" of {len(self.rows)}: "
                     + ("CONFORMS" if self.ok else "DOES NOT CONFORM"))
        return "\n".join(lines)

    def to_json(self) -> str:
        def finite(x: float) -> float | None:
            return x if math.isfinite(x) else None

        record: dict[str, Any] = {
            "target": self.target,
            "convention": self.convention.name,
            "mapping": self.convention.mapping(),
            "framework": self.framework,
            "device": self.device,
            "gradients": self.gradients,
            "world_size": self.world_size,
            "ok": self.ok,
            "notes": list(self.notes),
            "rows": [
                {"id": r.id, "case": r.case, "gamma": r.gamma, "dtype": r.dtype, "status": r.status, "error": finite(r.error),
                 "rtol": finite(r.rtol), "where": r.where, "errors": {k: finite(v) for k, v in r.errors.items()},
                 "by_config": [finite(x) for x in r.by_config]}
                for r in self.rows
            ],
        }
        return json.dumps(record, indent=1)


SYMBOLS = {"agrees": "✓", "differs": "✗", "fails": "!", "skipped": "–"}


def summary_table(reports: dict[str, Report]) -> str:
    """A markdown table of several reports: one line per implementation (and loss variant), one column
    per case, each cell the statuses in float64 then float32 (✓ agrees, ✗ differs, ! fails, – skipped)."""
    cases = list(dict.fromkeys(r.case for report in reports.values() for r in report.rows))
    lines = ["| implementation | convention | " + " | ".join(c.removeprefix("conform_") for c in cases) + " |",
             "|---|---|" + "---|" * len(cases)]
    for name, report in reports.items():
        for gamma in dict.fromkeys(r.gamma for r in report.rows):
            cells = []
            for case in cases:
                by_dtype = {r.dtype: r.status for r in report.rows if r.case == case and r.gamma == gamma}
                cells.append(" ".join(SYMBOLS[by_dtype[d]] for d in ("float64", "float32") if d in by_dtype))
            convention = report.convention.name + (f", gamma {gamma:g}" if gamma else "")
            if report.convention.reduction != "per_anchor":
                convention += f", {report.convention.reduction}"
            if report.world_size > 1:
                convention += f", {report.world_size} ranks"
            lines.append(f"| {name} | {convention} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
