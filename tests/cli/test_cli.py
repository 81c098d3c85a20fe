"""The sigref command line: info, golden check, errors."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from sigref.backend import available_backends
from sigref.cli import main


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sigref.cli", *args], capture_output=True, text=True)


def test_info_lists_backends_with_reasons():
    out = _run("info")
    assert out.returncode == 0
    assert "numpy" in out.stdout and "array_api_strict" in out.stdout
    for name, reason in available_backends().items():  # every registered one, an unavailable one with its reason
        assert re.search(rf"^  {name} +" + ("unavailable: " if reason else r"\S"), out.stdout, re.MULTILINE), name


def test_golden_check_prints_the_table_and_exits_zero(capsys):
    assert main(["golden", "check", "--case", "losses_sigmoid", "--case", "losses_extreme"]) == 0
    out = capsys.readouterr().out
    assert "golden check on numpy" in out and "outputs agree" in out


def test_unknown_backend_exits_with_a_clear_message(capsys):
    assert main(["golden", "check", "--backend", "nonesuch"]) == 2
    assert "unknown backend 'nonesuch'" in capsys.readouterr().err


def test_regen_refuses_other_backends(capsys):
    assert main(["golden", "regen", "--backend", "array_api_strict"]) == 2
    assert "numpy float64 only" in capsys.readouterr().err


def test_bad_subcommand_is_rejected():
    with pytest.raises(SystemExit):
        main(["frobnicate"])
