r"""A conformance run's result: one row per case, loss variant and dtype; the table, JSON, and assertions.

:func:`sigref.conform.conform` returns a :class:`Report` holding one :class:`Row` per golden
conformance case, loss variant (:math:`\gamma`) and dtype. A row *agrees* when every output of every
configuration of the case is within its tolerance; the report *conforms* (:attr:`Report.ok`) when
every row that ran agrees and at least one ran.

Examples
--------
>>> from sigref.conform import Report, Row, get_convention
>>> rows = [Row("conform_n2", 0.0, "float64", "agrees", 0.0, 6.0e-8, "values only"),
...         Row("conform_n2", 0.0, "float32", "differs", 1.0e-2, 1.4e-3, "value, config 0")]
>>> report = Report("mypkg:loss", get_convention("paper"), "numpy", "cpu", "values only", 1, rows)
>>> report.ok, sorted(report.failing())
(False, ['conform_n2:float32'])
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from sigref.conform.conventions import Convention

__all__ = ["STATUSES", "Report", "Row", "summary_table"]

#: The statuses of a :class:`Row`: within tolerance, outside it, raised (or did not run), skipped.
STATUSES = ("agrees", "differs", "fails", "skipped")


@dataclass(frozen=True)
class Row:
    r"""The result of one golden case, loss variant and dtype.

    Errors are normalised entry by entry, :math:`|got - want| / (|want| + \max|want|)`, per
    configuration, and compared with the output's tolerance
    :math:`\mathrm{rtol} = C \sqrt{\varepsilon}` (:func:`sigref.golden.rtol_for`).

    Parameters
    ----------
    case : str
        The golden conformance case.
    gamma : float
        The loss variant (0: the plain loss).
    dtype : str
        ``"float64"`` or ``"float32"``.
    status : str
        ``"agrees"`` (every output within its tolerance), ``"differs"``, ``"fails"`` (the
        implementation raised, or did not run) or ``"skipped"``.
    error : float, default nan
        The worst normalised error (of the entry with the largest error / rtol).
    rtol : float, default nan
        The tolerance of that entry's output.
    where : str, default ""
        For ``"differs"``: the output, entry and configuration of the worst error; for ``"fails"``:
        the exception; for ``"skipped"``: why; otherwise a note (e.g. ``"values only"``).
    errors : dict of str to float, optional
        The worst normalised error of every output compared, by output name.
    by_config : tuple of float, default ()
        The worst error / rtol of each configuration (> 1: that configuration differs).

    Examples
    --------
    >>> from sigref.conform import Row
    >>> row = Row("conform_extreme", 0.5, "float32", "differs", 3.1e-2, 2.8e-3, "d/d tau, config 1")
    >>> row.id, row.ok
    ('conform_extreme[gamma=0.5]:float32', False)
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
        """Whether the row passes: it agrees, or it was skipped."""
        return self.status in ("agrees", "skipped")


@dataclass(frozen=True)
class Report:
    """The result of a conformance run of one implementation.

    Returned by :func:`sigref.conform.conform`; :meth:`table` is what ``sigref conform`` prints and
    :meth:`to_json` what ``--json`` writes.

    Parameters
    ----------
    target : str
        The implementation, as ``MODULE:CALLABLE`` when it has one.
    convention : Convention
        Its convention (with the reduction that was checked).
    framework : str
        The backend whose arrays it took.
    device : str
        The device.
    gradients : str
        How gradients were obtained, or why they were not checked.
    world_size : int
        The number of processes (1: a single process).
    rows : list of Row
        One per case, loss variant and dtype.
    notes : tuple of str, default ()
        What happened outside the rows (e.g. why the ranks stopped).

    Examples
    --------
    >>> from sigref.conform import Report, Row, get_convention
    >>> rows = [Row("conform_n2", 0.0, "float64", "agrees", 0.0, 6.0e-8, "values only"),
    ...         Row("conform_n2", 0.0, "float32", "differs", 1.0e-2, 1.4e-3, "value, config 0")]
    >>> report = Report("mypkg:loss", get_convention("paper"), "numpy", "cpu", "values only", 1, rows)
    >>> print(report.table().splitlines()[-1])
    1 agrees, 1 differs of 2: DOES NOT CONFORM
    """

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
        """The status of every row by its :attr:`Row.id`.

        Row ids are unique within a report, so this summarises every row of ``rows``.

        Returns
        -------
        dict of str to str
            Row id -> status.

        Examples
        --------
        >>> from sigref.conform import Report, Row, get_convention
        >>> rows = [Row("conform_n2", 0.0, "float64", "agrees", 0.0, 6.0e-8, "values only"),
        ...         Row("conform_n2", 0.0, "float32", "differs", 1.0e-2, 1.4e-3, "value, config 0")]
        >>> report = Report("mypkg:loss", get_convention("paper"), "numpy", "cpu", "values only", 1, rows)
        >>> report.statuses()
        {'conform_n2:float64': 'agrees', 'conform_n2:float32': 'differs'}
        """
        return {r.id: r.status for r in self.rows}

    def failing(self) -> set[str]:
        """The ids of the rows that differ or fail.

        :func:`sigref.conform.assert_conforms` compares them with its ``known_failures``.

        Returns
        -------
        set of str
            The ids (:attr:`Row.id`).

        Examples
        --------
        >>> from sigref.conform import Report, Row, get_convention
        >>> rows = [Row("conform_n2", 0.0, "float64", "agrees", 0.0, 6.0e-8, "values only"),
        ...         Row("conform_n2", 0.0, "float32", "differs", 1.0e-2, 1.4e-3, "value, config 0")]
        >>> report = Report("mypkg:loss", get_convention("paper"), "numpy", "cpu", "values only", 1, rows)
        >>> report.failing()
        {'conform_n2:float32'}
        """
        return {r.id for r in self.rows if not r.ok}

    def table(self) -> str:
        """The report as the text table that ``sigref conform`` prints.

        A header with the target, the convention and its mapping, the framework and how gradients
        were checked; one line per row (case, gamma, dtype, status, error, rtol, where); the notes;
        and a summary line ending in ``CONFORMS`` or ``DOES NOT CONFORM``.

        Returns
        -------
        str
            The table, without a trailing newline.

        Examples
        --------
        >>> from sigref.conform import Report, Row, get_convention
        >>> rows = [Row("conform_n2", 0.0, "float64", "agrees", 0.0, 6.0e-8, "values only"),
        ...         Row("conform_n2", 0.0, "float32", "differs", 1.0e-2, 1.4e-3, "value, config 0")]
        >>> report = Report("mypkg:loss", get_convention("paper"), "numpy", "cpu", "values only", 1, rows)
        >>> for line in report.table().splitlines()[4:]:
        ...     print(line)
        conform_n2               0 float64  agrees    0.00e+00  6.00e-08  values only
        conform_n2               0 float32  differs   1.00e-02  1.40e-03  value, config 0
        1 agrees, 1 differs of 2: DOES NOT CONFORM
        """
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
        """The report as JSON (``sigref conform --json``).

        An object with the target, the convention's name and mapping, the framework, device,
        gradients, world size, ``ok``, the notes and one record per row (its fields and id;
        non-finite errors as null).

        Returns
        -------
        str
            The JSON text (indented by 1).

        Examples
        --------
        >>> import json
        >>> from sigref.conform import Report, Row, get_convention
        >>> rows = [Row("conform_n2", 0.0, "float64", "agrees", 0.0, 6.0e-8, "values only"),
        ...         Row("conform_n2", 0.0, "float32", "differs", 1.0e-2, 1.4e-3, "value, config 0")]
        >>> report = Report("mypkg:loss", get_convention("paper"), "numpy", "cpu", "values only", 1, rows)
        >>> record = json.loads(report.to_json())
        >>> record["ok"], record["convention"], record["rows"][1]["id"]
        (False, 'paper', 'conform_n2:float32')
        """
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


#: The cell symbols of :func:`summary_table` by status.
SYMBOLS = {"agrees": "✓", "differs": "✗", "fails": "!", "skipped": "–"}


def summary_table(reports: dict[str, Report]) -> str:
    """A markdown table of several reports: one line per implementation and loss variant, one column per case.

    Each cell holds the statuses in float64 then float32 (✓ agrees, ✗ differs, ! fails, – skipped);
    the convention column adds the loss variant, a reduction other than per-anchor and the number
    of ranks.

    Parameters
    ----------
    reports : dict of str to Report
        Implementation label -> its report.

    Returns
    -------
    str
        The markdown table, without a trailing newline.

    Examples
    --------
    >>> from sigref.conform import Report, Row, get_convention
    >>> rows = [Row("conform_n2", 0.0, "float64", "agrees", 0.0, 6.0e-8, "values only"),
    ...         Row("conform_n2", 0.0, "float32", "differs", 1.0e-2, 1.4e-3, "value, config 0")]
    >>> report = Report("mypkg:loss", get_convention("paper"), "numpy", "cpu", "values only", 1, rows)
    >>> from sigref.conform import summary_table
    >>> print(summary_table({"mine": report}))
    | implementation | convention | n2 |
    |---|---|---|
    | mine | paper | ✓ ✗ |
    """
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
