r"""Golden reference results: regeneration on NumPy float64, verified checks on any backend.

A golden *case* (:class:`Case`) names a computation of sigref: deterministic host inputs (float64,
fixed seeds) and a function that computes its outputs on a backend. Its golden file
``reference_results/golden/<name>.npz`` holds the inputs beside the outputs that NumPy float64
computed from them, so any backend can recompute the outputs from the stored inputs and be
compared with them. The cases live in :mod:`sigref.golden.cases`, one module per topic
(:data:`CASE_MODULES`).

.. rubric:: Files and manifest

A golden directory holds one ``<case>.npz`` per case, with the arrays ``in__<name>`` (inputs)
and ``out__<name>`` (outputs) and no pickles, and ``MANIFEST.json``, which records for every case
what it pins, the sha256 of its file, the shapes of its inputs and outputs, the tolerance class
and largest magnitude of each output, and whether it is checked in float32
(:mod:`sigref.golden.store`). Every file is verified against the sha256 in the manifest before a
byte of it is used.

.. rubric:: Tolerances

Each output has a tolerance class with a constant :math:`C` (:data:`TOLERANCE_CLASSES`: exact 1,
reduction 4, gradient 8, solver 100, trajectory 1000). A recomputed output agrees with the golden
one when, entry by entry,

.. math::

    |\mathrm{got} - \mathrm{want}| \le C \sqrt{\varepsilon}\,
    \bigl(|\mathrm{want}| + \max |\mathrm{want}|\bigr),

with :math:`\varepsilon` the machine epsilon of the dtype checked (:func:`rtol_for`).

.. rubric:: Commands

* :func:`check` verifies every file against the manifest (a changed, missing, unreadable, unlisted
  or extra file is a named failure), then recomputes every case on a backend and dtype from the
  stored inputs and compares; :func:`format_table` and :func:`report_json` present the result.
* :func:`regen` writes byte-identical files when nothing changed, replaces each file atomically,
  and refuses (:class:`RegenRefused`) to overwrite committed values that a recomputation
  contradicts unless ``force=True``.

Examples
--------
>>> from sigref import golden
>>> from sigref.backend import get_backend
>>> rows = golden.check(get_backend("numpy", dtype="float64"), names=["lee2024_thresholds"])
>>> [(row.output, row.status) for row in rows]
[('T_anti', 'ok'), ('T_etf', 'ok')]
"""

from sigref.golden.case import CASE_MODULES, TOLERANCE_CLASSES, Case, all_cases, rtol_for
from sigref.golden.check import CheckRow, check, compare, format_table, report_json
from sigref.golden.regen import RegenRefused, RegenResult, regen
from sigref.golden.store import PACKAGED_DIR, SOURCE_DIR, GoldenFileError, default_dir, verified_load

__all__ = ["CASE_MODULES", "PACKAGED_DIR", "SOURCE_DIR", "TOLERANCE_CLASSES", "Case", "CheckRow", "GoldenFileError", "RegenRefused",
           "RegenResult", "all_cases", "check", "compare", "default_dir", "format_table", "regen", "report_json", "rtol_for",
           "verified_load"]
