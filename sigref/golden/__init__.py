"""Golden reference results: regeneration on NumPy float64, verified checks on any backend.

Each :class:`Case` draws its inputs on the host (float64, fixed seed), computes its outputs with
sigref, and is stored as ``reference_results/golden/<name>.npz`` (inputs beside outputs) with an
entry in ``MANIFEST.json`` (sha256, what it pins, tolerance class per output).

* :func:`check` verifies every file against the sha256 in the manifest (a changed, missing,
  unreadable, unlisted or extra file is a named failure), then recomputes every case on a backend
  and dtype from the stored inputs and compares with
  ``|got - want| <= C * sqrt(eps) * (|want| + max|want|)``, ``C`` from :data:`TOLERANCE_CLASSES`;
  :func:`report_json` is the same for CI.
* :func:`regen` writes byte-identical files when nothing changed, replaces each file atomically, and
  refuses (:class:`RegenRefused`) to overwrite committed values that a recomputation contradicts
  unless ``force=True``.

The cases live in :mod:`sigref.golden.cases` (one module per topic); :mod:`sigref.golden.store` reads
and writes the files.
"""

from sigref.golden.case import CASE_MODULES, TOLERANCE_CLASSES, Case, all_cases, rtol_for
from sigref.golden.check import CheckRow, check, compare, format_table, report_json
from sigref.golden.regen import RegenRefused, RegenResult, regen
from sigref.golden.store import PACKAGED_DIR, SOURCE_DIR, GoldenFileError, default_dir, verified_load

__all__ = ["CASE_MODULES", "PACKAGED_DIR", "SOURCE_DIR", "TOLERANCE_CLASSES", "Case", "CheckRow", "GoldenFileError", "RegenRefused",
           "RegenResult", "all_cases", "check", "compare", "default_dir", "format_table", "regen", "report_json", "rtol_for",
           "verified_load"]
