"""The golden files on disk: where they live, their manifest, safe reading and atomic writing.

A golden directory holds one ``<case>.npz`` per case (``in__<name>`` inputs beside ``out__<name>``
outputs, no pickles) and ``MANIFEST.json``, which records each file's sha256. Every read goes through
:func:`verified_load`, which checks the file against its recorded sha256 *before* trusting a byte of
it, so a golden that was edited, truncated or replaced is reported by name instead of being compared
(or crashing the reader with a ``zipfile.BadZipFile``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MANIFEST", "PACKAGED_DIR", "SOURCE_DIR", "GoldenFileError", "atomic_write", "default_dir", "extra_files", "load",
           "read_manifest", "serialize", "sha256", "verified_load"]

MANIFEST = "MANIFEST.json"

#: ``reference_results/golden`` of the source tree (a checkout or an editable install): the truth
#: that ``regen`` writes and the repository commits.
SOURCE_DIR = Path(__file__).resolve().parents[2] / "reference_results" / "golden"
#: the copy of it that a built wheel carries (see setup.py)
PACKAGED_DIR = Path(__file__).resolve().parent / "data"


class GoldenFileError(Exception):
    """A golden file or the manifest cannot be trusted. ``problem`` is one of ``"manifest"``
    (missing or unreadable ``MANIFEST.json``), ``"unlisted"`` (a case the manifest does not record),
    ``"missing"``, ``"changed"`` (sha256 differs from the manifest), ``"unreadable"``, ``"extra"``
    (a file no case or manifest entry accounts for) or ``"stale"`` (a manifest entry of no case)."""

    def __init__(self, problem: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def default_dir() -> Path:
    """Where ``check`` reads the goldens: the source tree's ``reference_results/golden`` when sigref
    runs from one, else the copy packaged in the wheel (``sigref/golden/data``)."""
    if (SOURCE_DIR / MANIFEST).is_file() or not (PACKAGED_DIR / MANIFEST).is_file():
        return SOURCE_DIR
    return PACKAGED_DIR


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def serialize(inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> bytes:
    """The bytes of a golden file: the same arrays always give the same bytes (``np.savez`` stamps
    fixed zip times), which is what keeps regeneration byte-identical."""
    payload = {f"in__{k}": np.asarray(v) for k, v in inputs.items()} | {f"out__{k}": np.asarray(v) for k, v in outputs.items()}
    buffer = io.BytesIO()
    np.savez(buffer, **payload)
    return buffer.getvalue()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``: a reader sees
    the old file or the new one, never a partial one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)  # mkstemp's 0600 would hide it from other users
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        raise GoldenFileError("manifest", f"{path} is missing (run sigref golden regen, or pass the golden directory with --dir)")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GoldenFileError("manifest", f"{path} is unreadable: {type(exc).__name__}: {exc}") from exc
    if not isinstance(manifest, dict) or not all(isinstance(e, dict) and isinstance(e.get("sha256"), str) for e in manifest.values()):
        raise GoldenFileError("manifest", f"{path} is not a golden manifest (an object of case -> {{'sha256': ..., ...}})")
    return manifest


def load(data: bytes, name: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Inputs and outputs of a golden file's bytes; GoldenFileError("unreadable") naming ``name``."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            ins = {k[4:]: npz[k] for k in npz.files if k.startswith("in__")}
            outs = {k[5:]: npz[k] for k in npz.files if k.startswith("out__")}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise GoldenFileError("unreadable", f"{name} is unreadable: {type(exc).__name__}: {exc}") from exc
    if not outs:
        raise GoldenFileError("unreadable", f"{name} holds no outputs (no out__* arrays)")
    return ins, outs


def verified_load(directory: Path, case: str, manifest: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Inputs and outputs of ``<case>.npz`` after its bytes were checked against the manifest's sha256."""
    path = directory / f"{case}.npz"
    if case not in manifest:
        raise GoldenFileError("unlisted", f"{MANIFEST} in {directory} records no entry for {case} (run sigref golden regen)")
    if not path.is_file():
        raise GoldenFileError("missing", f"{path} is missing (restore it, or run sigref golden regen)")
    data = path.read_bytes()
    recorded = manifest[case]["sha256"]
    if sha256(data) != recorded:
        detail = ""
        try:
            load(data, path.name)
        except GoldenFileError as exc:
            detail = f"; it is also {str(exc).removeprefix(path.name + ' is ')}"
        raise GoldenFileError("changed", f"{path.name} was changed: its sha256 {sha256(data)[:16]}... differs from the "
                                         f"{recorded[:16]}... recorded in {MANIFEST}{detail} (restore it, or regenerate with "
                                         "sigref golden regen)")
    return load(data, path.name)


def extra_files(directory: Path, manifest: dict[str, Any], cases: set[str]) -> list[tuple[str, GoldenFileError]]:
    """(name, problem) of every file and manifest entry that no golden case accounts for."""
    problems = []
    for path in sorted(directory.glob("*.npz")):
        if path.stem not in cases and path.stem not in manifest:
            problems.append((path.name, GoldenFileError("extra", f"{path.name} is an extra file: no golden case and no {MANIFEST} entry")))
    for name in sorted(set(manifest) - cases):
        problems.append((name, GoldenFileError("stale", f"{MANIFEST} records {name!r}, which is no golden case (a stale entry)")))
    return problems
