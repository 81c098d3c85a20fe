"""Provenance of the result folders: what wrote them, from which code, where and when.

Each command that writes a folder of ``reference_results/`` leaves a ``manifest.json``
(:data:`MANIFEST_NAME`) beside its files (:func:`write_manifest`). The record names the command
line (with machine-specific paths removed, :func:`portable_argv`), the sigref version and git
commit, the host (system, machine, Python, CPU count) and the UTC date, plus any fields the
command adds.

Examples
--------
>>> from sigref.provenance import manifest
>>> record = manifest("sigref golden check", backend="numpy")
>>> sorted(record)
['backend', 'command', 'commit', 'date', 'host', 'sigref_version']
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_NAME", "describe_command", "manifest", "portable_argv", "source_commit", "write_manifest"]

#: The file name of a result folder's provenance record.
MANIFEST_NAME = "manifest.json"


def source_commit() -> str | None:
    """The git commit of the source tree sigref runs from, or None.

    Read with ``git rev-parse HEAD``; ``+dirty`` is appended when tracked files have uncommitted
    changes (untracked files are ignored). None when sigref does not run from a git checkout or
    git is unavailable.

    Returns
    -------
    str or None
        The 40-digit commit, possibly followed by ``+dirty``.

    Examples
    --------
    >>> from sigref.provenance import source_commit
    >>> commit = source_commit()
    >>> commit is None or len(commit.removesuffix("+dirty")) == 40
    True
    """
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def portable_argv(argv: Sequence[str]) -> list[str]:
    """Remove the machine's paths from a command line.

    Absolute paths under the working directory are made relative to it and other absolute paths
    are reduced to their last component, so that records carry no paths of the machine they ran
    on. Other arguments are unchanged.

    Parameters
    ----------
    argv : sequence of str
        The command-line arguments.

    Returns
    -------
    list of str
        The portable arguments.

    Examples
    --------
    >>> import os
    >>> from sigref.provenance import portable_argv
    >>> portable_argv(["--out", os.path.join(os.getcwd(), "results", "run.json"), "--seed", "3"])
    ['--out', 'results/run.json', '--seed', '3']
    """
    cwd = Path.cwd()

    def clean(arg: str) -> str:
        path = Path(arg)
        if not path.is_absolute():
            return arg
        try:
            return str(path.relative_to(cwd))
        except ValueError:
            return path.name

    return [clean(a) for a in argv]


def describe_command(argv: Sequence[str], program: str = "sigref") -> str:
    """The command line ``program argv...`` as one shell-quoted string.

    The arguments go through :func:`portable_argv` first.

    Parameters
    ----------
    argv : sequence of str
        The command-line arguments (without the program).
    program : str, default "sigref"
        The program name.

    Returns
    -------
    str
        The command, quoted for a POSIX shell.

    Examples
    --------
    >>> from sigref.provenance import describe_command
    >>> describe_command(["golden", "check", "--case", "losses sigmoid"])
    "sigref golden check --case 'losses sigmoid'"
    """
    return shlex.join([program, *portable_argv(argv)])


def manifest(command: str, **extra: Any) -> dict[str, Any]:
    """The provenance record of a folder written by ``command``.

    The keys are ``command``, ``sigref_version``, ``commit`` (:func:`source_commit`), ``host``
    (``system``, ``machine``, ``python``, ``cpus``) and ``date`` (UTC, ISO 8601, to the second),
    then the ``extra`` fields, which may replace them.

    Parameters
    ----------
    command : str
        The command line (see :func:`describe_command`).
    **extra
        Further JSON-serialisable fields.

    Returns
    -------
    dict
        The record.

    Examples
    --------
    >>> from sigref.provenance import manifest
    >>> record = manifest("sigref bench", repeats=5)
    >>> record["command"], record["repeats"], sorted(record["host"])
    ('sigref bench', 5, ['cpus', 'machine', 'python', 'system'])
    """
    import sigref

    uname = platform.uname()
    return {
        "command": command,
        "sigref_version": sigref.__version__,
        "commit": source_commit(),
        "host": {"system": uname.system, "machine": uname.machine, "python": platform.python_version(),
                 "cpus": os.cpu_count()},
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **extra,
    }


def write_manifest(directory: str | Path, command: str, **extra: Any) -> Path:
    """Write the provenance record of ``directory`` to ``directory/manifest.json``.

    The record is :func:`manifest` of ``command`` and ``extra``, as indented JSON; an existing
    file is replaced.

    Parameters
    ----------
    directory : str or pathlib.Path
        The result folder; it must exist.
    command : str
        The command line that wrote it.
    **extra
        Further JSON-serialisable fields.

    Returns
    -------
    pathlib.Path
        The path of the manifest.

    Raises
    ------
    OSError
        When the file cannot be written.
    TypeError
        When a field is not JSON-serialisable.

    Examples
    --------
    >>> import json
    >>> import tempfile
    >>> from sigref.provenance import write_manifest
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_manifest(tmp, "sigref golden regen")
    ...     print(path.name, json.loads(path.read_text())["command"])
    manifest.json sigref golden regen
    """
    path = Path(directory) / MANIFEST_NAME
    path.write_text(json.dumps(manifest(command, **extra), indent=1) + "\n")
    return path
