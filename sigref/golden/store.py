"""The golden files on disk: where they live, their manifest, safe reading and atomic writing.

A golden directory holds one ``<case>.npz`` per case and ``MANIFEST.json``:

* ``<case>.npz`` is an uncompressed NumPy archive with the inputs under ``in__<name>`` beside the
  outputs under ``out__<name>`` (at least one output), read with ``allow_pickle=False``. The same
  arrays always give the same bytes (:func:`serialize`).
* ``MANIFEST.json`` maps each case name to a record ``{"what": ..., "sha256": ..., "inputs":
  {name: shape}, "outputs": {name: {"shape": ..., "tolerance": class, "max_abs": ...}},
  "float32": "checked" or the reason it is not}``, written with sorted keys.

Every read goes through :func:`verified_load`, which checks the file against the sha256 that the
manifest records *before* trusting a byte of it, so a golden that was edited, truncated or
replaced is reported by name (:class:`GoldenFileError`) instead of being compared or crashing the
reader with a ``zipfile.BadZipFile``.

Examples
--------
>>> import numpy as np
>>> from sigref.golden import store
>>> data = store.serialize({"x": np.arange(3.0)}, {"y": np.ones(2)})
>>> inputs, outputs = store.load(data, "demo.npz")
>>> inputs["x"].tolist(), outputs["y"].tolist()
([0.0, 1.0, 2.0], [1.0, 1.0])
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

#: The file name of the manifest in a golden directory.
MANIFEST = "MANIFEST.json"

#: ``reference_results/golden`` of the source tree (a checkout or an editable install): the truth
#: that ``regen`` writes and the repository commits.
SOURCE_DIR = Path(__file__).resolve().parents[2] / "reference_results" / "golden"
#: the copy of it that a built wheel carries (see setup.py)
PACKAGED_DIR = Path(__file__).resolve().parent / "data"


class GoldenFileError(Exception):
    """A golden file or the manifest cannot be trusted.

    The message names the file and says how to repair it; ``problem`` classifies it for reports
    (:class:`sigref.golden.CheckRow` carries it).

    Parameters
    ----------
    problem : str
        ``"manifest"`` (``MANIFEST.json`` missing or unreadable), ``"unlisted"`` (a case the
        manifest does not record), ``"missing"`` (no file), ``"changed"`` (its sha256 differs from
        the manifest's), ``"unreadable"`` (not a golden archive), ``"extra"`` (a file that no case
        or manifest entry accounts for) or ``"stale"`` (a manifest entry of no case).
    message : str
        The explanation.

    Attributes
    ----------
    problem : str
        As given.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sigref.golden import GoldenFileError
    >>> from sigref.golden.store import read_manifest
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     try:
    ...         read_manifest(Path(tmp))
    ...     except GoldenFileError as exc:
    ...         print(exc.problem)
    manifest
    """

    def __init__(self, problem: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def default_dir() -> Path:
    """The directory that ``check`` and ``conform`` read the goldens from by default.

    The source tree's ``reference_results/golden`` (:data:`SOURCE_DIR`) when sigref runs from a
    checkout that has its manifest, else the copy packaged in the wheel, ``sigref/golden/data``
    (:data:`PACKAGED_DIR`), when that has one; :data:`SOURCE_DIR` when neither does.

    Returns
    -------
    pathlib.Path
        The golden directory.

    Examples
    --------
    >>> from sigref.golden import PACKAGED_DIR, SOURCE_DIR, default_dir
    >>> default_dir() in (SOURCE_DIR, PACKAGED_DIR)
    True
    """
    if (SOURCE_DIR / MANIFEST).is_file() or not (PACKAGED_DIR / MANIFEST).is_file():
        return SOURCE_DIR
    return PACKAGED_DIR


def sha256(data: bytes) -> str:
    """The SHA-256 digest of ``data`` as 64 hexadecimal digits, as ``MANIFEST.json`` records it.

    A golden file is trusted only when the digest of its bytes equals the recorded one.

    Parameters
    ----------
    data : bytes
        File contents.

    Returns
    -------
    str
        The hex digest.

    Examples
    --------
    >>> from sigref.golden.store import sha256
    >>> sha256(b"")[:16]
    'e3b0c44298fc1c14'
    """
    return hashlib.sha256(data).hexdigest()


def serialize(inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> bytes:
    """The bytes of a golden file holding ``inputs`` and ``outputs``.

    The arrays are stored as ``in__<name>`` and ``out__<name>`` by ``numpy.savez``, which stamps
    fixed zip times: the same arrays always give the same bytes, which is what keeps regeneration
    byte-identical.

    Parameters
    ----------
    inputs : dict of str to numpy.ndarray
        The case's inputs.
    outputs : dict of str to numpy.ndarray
        Its outputs.

    Returns
    -------
    bytes
        The ``.npz`` archive.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.golden.store import serialize
    >>> serialize({"x": np.zeros(2)}, {"y": np.ones(1)}) == serialize({"x": np.zeros(2)}, {"y": np.ones(1)})
    True
    """
    payload = {f"in__{k}": np.asarray(v) for k, v in inputs.items()} | {f"out__{k}": np.asarray(v) for k, v in outputs.items()}
    buffer = io.BytesIO()
    np.savez(buffer, **payload)
    return buffer.getvalue()


def atomic_write(path: Path, data: bytes) -> None:
    """Replace the file ``path`` by ``data`` atomically.

    The data goes to a temporary file beside ``path``, which is renamed over it: a reader sees the
    old file or the new one, never a partial one. The new file keeps the permissions of the old one
    (``0o644`` for a new file); on failure the temporary file is removed.

    Parameters
    ----------
    path : pathlib.Path
        The file to write; its directory must exist.
    data : bytes
        The new contents.

    Raises
    ------
    OSError
        When the directory cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sigref.golden.store import atomic_write
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "a.txt"
    ...     atomic_write(path, b"one")
    ...     atomic_write(path, b"two")
    ...     print(path.read_bytes(), sorted(p.name for p in Path(tmp).iterdir()))
    b'two' ['a.txt']
    """
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
    """The manifest of a golden directory: case name -> its record.

    Only its form is checked here (a JSON object whose entries have a string ``sha256``); the files
    are checked against it by :func:`verified_load`.

    Parameters
    ----------
    directory : pathlib.Path
        A golden directory.

    Returns
    -------
    dict of str to dict
        The parsed ``MANIFEST.json``.

    Raises
    ------
    GoldenFileError
        With problem ``"manifest"`` when the file is missing, unreadable or not a manifest.

    Examples
    --------
    >>> from sigref.golden import default_dir
    >>> from sigref.golden.store import read_manifest
    >>> entry = read_manifest(default_dir())["lee2024_thresholds"]
    >>> sorted(entry), entry["outputs"]["T_etf"]["tolerance"]
    (['float32', 'inputs', 'outputs', 'sha256', 'what'], 'exact')
    """
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
    """Parse the bytes of a golden file into its inputs and outputs.

    Nothing is checked against the manifest here (that is :func:`verified_load`); the archive is
    read without pickles.

    Parameters
    ----------
    data : bytes
        The contents of a ``.npz`` golden file.
    name : str
        The file name, for messages.

    Returns
    -------
    inputs : dict of str to numpy.ndarray
        The ``in__*`` arrays, by name.
    outputs : dict of str to numpy.ndarray
        The ``out__*`` arrays, by name.

    Raises
    ------
    GoldenFileError
        With problem ``"unreadable"`` when the bytes are not a NumPy archive or hold no outputs.

    Examples
    --------
    >>> from sigref.golden.store import GoldenFileError, load
    >>> try:
    ...     load(b"not a zip file", "demo.npz")
    ... except GoldenFileError as exc:
    ...     print(exc.problem)
    unreadable
    """
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
    """Load ``<case>.npz`` after checking its bytes against the sha256 the manifest records.

    The only way sigref reads a golden file: a file that was edited, truncated or replaced since
    the manifest was written is an error naming it, never compared.

    Parameters
    ----------
    directory : pathlib.Path
        The golden directory.
    case : str
        The case name.
    manifest : dict
        Its manifest (:func:`read_manifest`).

    Returns
    -------
    inputs : dict of str to numpy.ndarray
        The stored inputs.
    outputs : dict of str to numpy.ndarray
        The stored outputs.

    Raises
    ------
    GoldenFileError
        With problem ``"unlisted"`` (no manifest entry), ``"missing"`` (no file), ``"changed"``
        (another sha256; the message says whether the file is also unreadable) or
        ``"unreadable"``.

    Examples
    --------
    >>> from sigref.golden import default_dir, verified_load
    >>> from sigref.golden.store import read_manifest
    >>> directory = default_dir()
    >>> inputs, outputs = verified_load(directory, "lee2024_thresholds", read_manifest(directory))
    >>> sorted(inputs), sorted(outputs)
    (['N'], ['T_anti', 'T_etf'])
    """
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
    """The files and manifest entries of a directory that no golden case accounts for.

    A ``.npz`` file that is neither a case nor in the manifest is ``"extra"``; a manifest entry
    that is no case is ``"stale"``.

    Parameters
    ----------
    directory : pathlib.Path
        The golden directory.
    manifest : dict
        Its manifest.
    cases : set of str
        The names of every golden case.

    Returns
    -------
    list of tuple of (str, GoldenFileError)
        ``(file or entry name, error)`` for each, files first, each group sorted.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sigref.golden.store import extra_files
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "old_case.npz").write_bytes(b"")
    ...     found = extra_files(Path(tmp), {"gone": {"sha256": "0" * 64}}, {"a_case"})
    >>> [(name, error.problem) for name, error in found]
    [('old_case.npz', 'extra'), ('gone', 'stale')]
    """
    problems = []
    for path in sorted(directory.glob("*.npz")):
        if path.stem not in cases and path.stem not in manifest:
            problems.append((path.name, GoldenFileError("extra", f"{path.name} is an extra file: no golden case and no {MANIFEST} entry")))
    for name in sorted(set(manifest) - cases):
        problems.append((name, GoldenFileError("stale", f"{MANIFEST} records {name!r}, which is no golden case (a stale entry)")))
    return problems
