"""Provenance of the result folders: each command that writes a folder of ``reference_results/``
leaves a ``manifest.json`` beside its files saying what wrote them, from which code, where and when."""

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

MANIFEST_NAME = "manifest.json"


def source_commit() -> str | None:
    """The git commit of the source tree sigref runs from (``+dirty`` with uncommitted changes), or None."""
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
    """``argv`` with absolute paths under the working directory made relative and other absolute
    paths reduced to their last component: records carry no paths of the machine they ran on."""
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
    """``program argv...`` as a shell line, through :func:`portable_argv`."""
    return shlex.join([program, *portable_argv(argv)])


def manifest(command: str, **extra: Any) -> dict[str, Any]:
    """The manifest of a folder written by ``command``: sigref version and commit, host, UTC date."""
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
    """Write ``directory/manifest.json`` (see :func:`manifest`); returns its path."""
    path = Path(directory) / MANIFEST_NAME
    path.write_text(json.dumps(manifest(command, **extra), indent=1) + "\n")
    return path
