"""``sigref golden regen``: recompute the cases on NumPy float64 and write their files and the manifest.

Regeneration never silently moves a golden. Each case is recomputed and compared with the file on
disk first:

* no file yet: ``new``, written; the same bytes: ``unchanged``, nothing written;
* the inputs, the set of outputs or their shapes differ, an output differs by more than its
  float64 tolerance, or the file is unreadable: the committed values are contradicted, and unless
  ``force`` the whole regeneration is refused (:class:`RegenRefused`, listing what would change)
  before any file is touched;
* only new outputs: ``updated``, written;
* every output within tolerance but with other bits (another CPU's last-bit BLAS differences):
  ``kept`` when the file matches the manifest (no spurious diff), else ``restored`` (a file that does
  not match its recorded sha256 was altered, and the recomputation replaces it).

Every file, and then the manifest, is replaced atomically (:func:`sigref.golden.store.atomic_write`).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from sigref import golden
>>> with tempfile.TemporaryDirectory() as tmp:
...     first = golden.regen(Path(tmp), ["lee2024_thresholds"])
...     again = golden.regen(Path(tmp), ["lee2024_thresholds"])
...     files = sorted(path.name for path in Path(tmp).iterdir())
>>> [r.action for r in first], [r.action for r in again], files
(['new'], ['unchanged'], ['MANIFEST.json', 'lee2024_thresholds.npz'])
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sigref.backend import get_backend
from sigref.golden import store
from sigref.golden.case import Case, compute_host, rtol_for, select
from sigref.golden.check import compare

__all__ = ["RegenRefused", "RegenResult", "regen"]

#: The actions of a :class:`RegenResult` that write the file.
WRITES = ("new", "updated", "restored", "forced")


@dataclass(frozen=True)
class RegenResult:
    """What regeneration did, or would do, to one case's file.

    :func:`regen` returns one per case; a :class:`RegenRefused` carries the whole plan, with the
    contradicted files marked ``"refused"``.

    Parameters
    ----------
    case : str
        The case name.
    path : pathlib.Path
        Its file.
    action : str
        ``"new"`` (no file yet), ``"unchanged"`` (the same bytes), ``"updated"`` (outputs added),
        ``"kept"`` (within tolerance, other bits, the file matches the manifest), ``"restored"``
        (within tolerance but the file did not match the manifest), ``"forced"`` (written over a
        contradiction, or rewritten, by ``force``) or ``"refused"`` (contradicted, not written).
    changes : tuple of str, default ()
        The differences from the file on disk, one line each.

    Examples
    --------
    >>> from pathlib import Path
    >>> from sigref.golden import RegenResult
    >>> result = RegenResult("demo", Path("demo.npz"), "updated", ("output y added",))
    >>> result.written
    True
    >>> print(result.describe())
    updated    demo.npz
               output y added
    """

    case: str
    path: Path
    action: str
    changes: tuple[str, ...] = ()

    @property
    def written(self) -> bool:
        """Whether the action writes the file: ``new``, ``updated``, ``restored`` or ``forced``."""
        return self.action in WRITES

    def describe(self) -> str:
        """The action and the path on one line, then one indented line per change.

        :class:`RegenRefused` lists the refused results this way.

        Returns
        -------
        str
            The description that ``sigref golden regen`` prints.

        Examples
        --------
        >>> from pathlib import Path
        >>> from sigref.golden import RegenResult
        >>> print(RegenResult("demo", Path("demo.npz"), "unchanged").describe())
        unchanged  demo.npz
        """
        head = f"{self.action:10s} {self.path}"
        return "\n".join([head, *(f"           {c}" for c in self.changes)])


class RegenRefused(RuntimeError):
    """Recomputed values contradict committed goldens; nothing was written.

    Raised by :func:`regen` without ``force`` before any file is touched. The message lists every
    refused file with what would change, and says how to accept the changes.

    Parameters
    ----------
    results : list of RegenResult
        The plan for every selected case.

    Attributes
    ----------
    results : list of RegenResult
        As given; those with action ``"refused"`` are the contradicted files.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sigref import golden
    >>> from sigref.golden import store
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "lee2024_thresholds.npz"
    ...     _ = golden.regen(Path(tmp), ["lee2024_thresholds"])
    ...     inputs, outputs = store.load(path.read_bytes(), path.name)
    ...     outputs["T_etf"] = outputs["T_etf"] + 1.0  # a committed value that sigref no longer computes
    ...     _ = path.write_bytes(store.serialize(inputs, outputs))
    ...     try:
    ...         golden.regen(Path(tmp), ["lee2024_thresholds"])
    ...     except golden.RegenRefused as exc:
    ...         print([r.action for r in exc.results], exc.results[0].changes[0].split(":")[0])
    ['refused'] output T_etf
    """

    def __init__(self, results: list[RegenResult]) -> None:
        refused = [r for r in results if r.action == "refused"]
        lines = [f"sigref golden regen: refusing to overwrite {len(refused)} golden file(s) whose recomputation disagrees "
                 "with the committed values; nothing was written. What would change:"]
        lines += [r.describe() for r in refused]
        lines.append("Rerun with --force (regen(..., force=True)) to accept these changes.")
        super().__init__("\n".join(lines))
        self.results = results


def _differences(case: Case, old: bytes, inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> tuple[list[str], list[str]]:
    """(contradictions, harmless differences) between the file bytes ``old`` and a recomputation."""
    try:
        old_in, old_out = store.load(old, f"{case.name}.npz")
    except store.GoldenFileError as exc:
        return [f"the file on disk cannot be compared: {exc}"], []
    contradictions, notes = [], []
    for key in sorted(set(old_in) | set(inputs)):
        if key not in inputs or key not in old_in:
            contradictions.append(f"input {key} {'removed' if key not in inputs else 'added'}")
        elif old_in[key].shape != np.shape(inputs[key]) or not np.array_equal(old_in[key], inputs[key]):
            contradictions.append(f"input {key} changed (shape {list(old_in[key].shape)} -> {list(np.shape(inputs[key]))})")
    for key in sorted(set(old_out) | set(outputs)):
        if key not in outputs:
            contradictions.append(f"output {key} removed")
        elif key not in old_out:
            notes.append(f"output {key} added")
        elif old_out[key].shape != outputs[key].shape:
            contradictions.append(f"output {key}: shape {list(old_out[key].shape)} -> {list(outputs[key].shape)}")
        else:
            rtol = rtol_for(case.tolerance_class(key), "float64")
            err = compare(outputs[key], old_out[key], rtol)
            if err > rtol:
                contradictions.append(f"output {key}: committed and recomputed values differ by {err:.2e} > rtol {rtol:.2e}")
            elif err > 0:
                notes.append(f"output {key}: within tolerance ({err:.1e} <= rtol {rtol:.1e}), other bits")
    return contradictions, notes


def _entry(case: Case, data: bytes) -> dict[str, Any]:
    inputs, outputs = store.load(data, f"{case.name}.npz")
    return {
        "what": case.what,
        "sha256": store.sha256(data),
        "inputs": {k: list(v.shape) for k, v in inputs.items()},
        "outputs": {
            k: {"shape": list(v.shape), "tolerance": case.tolerance_class(k), "max_abs": float(np.max(np.abs(v)))}
            for k, v in outputs.items()
        },
        "float32": case.float32_reason or "checked",
    }


def _plan(case: Case, path: Path, new: bytes, recorded: str | None, force: bool) -> RegenResult:
    if not path.is_file():
        return RegenResult(case.name, path, "new")
    old = path.read_bytes()
    if old == new:
        return RegenResult(case.name, path, "unchanged")
    inputs, outputs = store.load(new, path.name)
    contradictions, notes = _differences(case, old, inputs, outputs)
    if contradictions:
        return RegenResult(case.name, path, "forced" if force else "refused", tuple(contradictions + notes))
    if force or any(n.endswith(" added") for n in notes):
        return RegenResult(case.name, path, "forced" if force else "updated", tuple(notes))
    if recorded == store.sha256(old):
        return RegenResult(case.name, path, "kept", (*notes, "the file matches MANIFEST.json and is kept (--force rewrites it)"))
    return RegenResult(case.name, path, "restored", ("the file did not match the sha256 in MANIFEST.json", *notes))


def regen(directory: Path | None = None, names: Iterable[str] | None = None, *, force: bool = False) -> list[RegenResult]:
    """Recompute the selected cases on NumPy float64 and write their files and the manifest.

    Every case is recomputed from its ``inputs()`` and planned against the file on disk by the
    rules of :mod:`sigref.golden.regen`; only then are the files that change written, each
    atomically, and the manifest entries of the selected cases rebuilt (entries of other cases
    are kept). The manifest is rewritten only when its text changes.

    Parameters
    ----------
    directory : pathlib.Path or None, optional
        The golden directory (created if needed); default the source tree's
        ``reference_results/golden`` (:data:`sigref.golden.SOURCE_DIR`). An installed wheel's
        copy is never rewritten.
    names : iterable of str or None, optional
        The cases; default every case.
    force : bool, default False
        Write over contradicted files too (action ``"forced"``), and rewrite files that differ
        only within tolerance.

    Returns
    -------
    list of RegenResult
        What was done to each case's file.

    Raises
    ------
    RegenRefused
        When a recomputation contradicts a committed file and ``force`` is false; nothing is
        written.
    FileNotFoundError
        When ``directory`` is None and sigref does not run from a source tree.
    ValueError
        When ``names`` holds a name that is no case.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sigref import golden
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     results = golden.regen(Path(tmp), ["lee2024_thresholds"])
    >>> [(r.case, r.action, r.written) for r in results]
    [('lee2024_thresholds', 'new', True)]
    """
    if directory is None and not store.SOURCE_DIR.parent.is_dir():
        raise FileNotFoundError(f"sigref runs from an installed package, not a source tree: no {store.SOURCE_DIR.parent}; "
                                "regenerate in a checkout, or pass a directory (--dir)")
    directory = Path(directory or store.SOURCE_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        manifest = store.read_manifest(directory)
    except store.GoldenFileError:
        manifest = {}  # none yet, or unreadable: rebuilt from the files
    backend = get_backend("numpy", dtype="float64")
    planned = []
    for case in select(names):
        inputs = case.inputs()
        data = store.serialize(inputs, compute_host(case, backend, inputs))
        path = directory / f"{case.name}.npz"
        planned.append((case, data, _plan(case, path, data, manifest.get(case.name, {}).get("sha256"), force)))
    results = [r for _, _, r in planned]
    if any(r.action == "refused" for r in results):
        raise RegenRefused(results)
    for case, data, result in planned:
        if result.written:
            store.atomic_write(result.path, data)
        manifest[case.name] = _entry(case, result.path.read_bytes())
    text = json.dumps(dict(sorted(manifest.items())), indent=1, sort_keys=True) + "\n"
    manifest_path = directory / store.MANIFEST
    if not manifest_path.is_file() or manifest_path.read_bytes() != text.encode():
        store.atomic_write(manifest_path, text.encode())
    return results
