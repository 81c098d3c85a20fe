"""The goldens are tamper-evident: every check verifies each file against the sha256 in MANIFEST.json
first, and a changed, truncated, missing, extra or unreadable file is a named failure with a non-zero exit
(no traceback). Regeneration refuses to overwrite committed values that a recomputation contradicts."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sigref import golden
from sigref.cli import main

CASE = "losses_siglip"


@pytest.fixture
def goldens(tmp_path: Path) -> Path:
    """A copy of the committed golden directory."""
    directory = tmp_path / "golden"
    shutil.copytree(golden.default_dir(), directory)
    return directory


def _check(directory: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["golden", "check", "--dir", str(directory), "--case", CASE, *extra])
    return code, capsys.readouterr().out


def _rewrite(path: Path, change) -> None:
    with np.load(path) as data:
        payload = {k: data[k] for k in data.files}
    change(payload)
    np.savez(path, **payload)


def _record_sha(directory: Path, case: str) -> None:
    """Update the manifest to the file's current sha256, as a commit of both would."""
    manifest = json.loads((directory / "MANIFEST.json").read_text())
    manifest[case]["sha256"] = hashlib.sha256((directory / f"{case}.npz").read_bytes()).hexdigest()
    (directory / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def test_an_untouched_copy_passes(goldens, capsys):
    code, out = _check(goldens, capsys)
    assert code == 0, out
    assert "outputs agree" in out and "FAILED" not in out


def test_a_relative_change_of_1e12_is_a_named_failure(goldens, capsys):
    """The issue's scenario: one output changed by a relative 1e-12 is far inside the tolerance, so only
    the sha256 can catch it."""
    def nudge(payload):
        payload["out__value"] = payload["out__value"] * (1 + 1e-12)

    _rewrite(goldens / f"{CASE}.npz", nudge)
    code, out = _check(goldens, capsys)
    assert code == 1
    assert f"{CASE}.npz was changed" in out and "recorded in MANIFEST.json" in out


@pytest.mark.parametrize("where", [0.25, 0.5, 0.99])
def test_one_changed_byte_is_a_named_failure(goldens, capsys, where):
    path = goldens / f"{CASE}.npz"
    data = bytearray(path.read_bytes())
    data[int(where * len(data))] ^= 0x01
    path.write_bytes(bytes(data))
    code, out = _check(goldens, capsys)
    assert code == 1 and f"{CASE}.npz was changed" in out


def test_a_truncated_file_is_a_named_failure_without_a_traceback(goldens):
    path = goldens / f"{CASE}.npz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    out = subprocess.run([sys.executable, "-m", "sigref", "golden", "check", "--dir", str(goldens), "--case", CASE],
                         capture_output=True, text=True)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr + out.stdout
    assert f"{CASE}.npz was changed" in out.stdout and "unreadable: BadZipFile" in out.stdout


def test_an_unreadable_file_that_matches_the_manifest_is_a_named_failure(goldens, capsys):
    path = goldens / f"{CASE}.npz"
    path.write_bytes(path.read_bytes()[:100])
    _record_sha(goldens, CASE)
    code, out = _check(goldens, capsys)
    assert code == 1
    assert f"{CASE}.npz is unreadable: BadZipFile" in out


def test_a_missing_file_is_a_named_failure(goldens, capsys):
    (goldens / f"{CASE}.npz").unlink()
    code, out = _check(goldens, capsys)
    assert code == 1 and f"{CASE}.npz is missing" in out


def test_an_extra_file_and_a_stale_entry_are_named_failures(goldens, capsys):
    shutil.copyfile(goldens / f"{CASE}.npz", goldens / "losses_unknown.npz")
    manifest = json.loads((goldens / "MANIFEST.json").read_text())
    manifest["retired_case"] = dict(manifest[CASE])
    (goldens / "MANIFEST.json").write_text(json.dumps(manifest))
    code, out = _check(goldens, capsys)
    assert code == 1
    assert "losses_unknown.npz is an extra file" in out
    assert "records 'retired_case', which is no golden case" in out


@pytest.mark.parametrize("content", [None, "{not json", '["a list"]'])
def test_a_missing_or_unreadable_manifest_is_a_named_failure(goldens, capsys, content):
    manifest = goldens / "MANIFEST.json"
    if content is None:
        manifest.unlink()
    else:
        manifest.write_text(content)
    code, out = _check(goldens, capsys)
    assert code == 1
    assert "MANIFEST.json" in out and ("is missing" in out if content is None else "unreadable" in out or "not a golden manifest" in out)


def test_json_report_names_the_problem(goldens, capsys, tmp_path):
    _rewrite(goldens / f"{CASE}.npz", lambda p: p.update(out__value=p["out__value"] * (1 + 1e-12)))
    report_path = tmp_path / "report.json"
    code, _ = _check(goldens, capsys, "--json", str(report_path))
    report = json.loads(report_path.read_text())
    assert code == 1 and report["ok"] is False and report["counts"]["failed"] == 1
    (row,) = [r for r in report["rows"] if not r["ok"]]
    assert (row["case"], row["problem"], row["error"]) == (CASE, "changed", None)


def test_json_report_of_a_passing_check(goldens, capsys, tmp_path):
    report_path = tmp_path / "report.json"
    code, _ = _check(goldens, capsys, "--json", str(report_path))
    report = json.loads(report_path.read_text())
    assert code == 0 and report["ok"] is True and report["counts"]["failed"] == 0
    assert report["counts"]["ok"] == len(report["rows"]) == len(json.loads((goldens / "MANIFEST.json").read_text())[CASE]["outputs"])


# --- regeneration -------------------------------------------------------------------------------


@pytest.fixture
def regenerated(tmp_path: Path) -> Path:
    directory = tmp_path / "regen"
    golden.regen(directory, [CASE])
    return directory


def _fresh_bytes(tmp_path: Path) -> bytes:
    golden.regen(tmp_path / "fresh", [CASE])
    return (tmp_path / "fresh" / f"{CASE}.npz").read_bytes()


def test_regen_of_an_unchanged_golden_writes_nothing(regenerated):
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in regenerated.iterdir()}
    (result,) = golden.regen(regenerated, [CASE])
    assert result.action == "unchanged" and not result.written
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in regenerated.iterdir()} == before


def test_regen_refuses_to_overwrite_a_contradicted_golden_and_says_what_would_change(regenerated, tmp_path, capsys):
    path = regenerated / f"{CASE}.npz"
    _rewrite(path, lambda p: p.update(out__grad_logit_bias=p["out__grad_logit_bias"] * (1 + 1e-3)))
    _record_sha(regenerated, CASE)  # a committed golden, not a tampered one
    committed = path.read_bytes()
    with pytest.raises(golden.RegenRefused) as info:
        golden.regen(regenerated, [CASE])
    assert "output grad_logit_bias: committed and recomputed values differ by" in str(info.value)
    assert path.read_bytes() == committed
    assert main(["golden", "regen", "--dir", str(regenerated), "--case", CASE]) == 1
    err = capsys.readouterr().err
    assert "refusing to overwrite 1 golden file(s)" in err and "grad_logit_bias" in err and "--force" in err
    assert path.read_bytes() == committed
    assert main(["golden", "regen", "--dir", str(regenerated), "--case", CASE, "--force"]) == 0
    assert "forced" in capsys.readouterr().out
    assert path.read_bytes() == _fresh_bytes(tmp_path)
    assert main(["golden", "check", "--dir", str(regenerated), "--case", CASE]) == 0


def test_regen_refuses_changed_inputs(regenerated):
    _rewrite(regenerated / f"{CASE}.npz", lambda p: p.update(in__t=p["in__t"] + 1.0))
    _record_sha(regenerated, CASE)
    with pytest.raises(golden.RegenRefused, match="input t changed"):
        golden.regen(regenerated, [CASE])


def test_regen_keeps_a_committed_golden_that_agrees_within_tolerance(regenerated):
    """Other bits, same values (another CPU's BLAS): no spurious diff."""
    path = regenerated / f"{CASE}.npz"
    _rewrite(path, lambda p: p.update(out__value=p["out__value"] * (1 + 1e-15)))
    _record_sha(regenerated, CASE)
    committed = path.read_bytes()
    (result,) = golden.regen(regenerated, [CASE])
    assert result.action == "kept" and path.read_bytes() == committed


def test_regen_restores_a_tampered_golden(regenerated, tmp_path):
    """A 1e-12 change that the manifest does not record is tampering: regeneration restores the file."""
    path = regenerated / f"{CASE}.npz"
    _rewrite(path, lambda p: p.update(out__value=p["out__value"] * (1 + 1e-12)))
    (result,) = golden.regen(regenerated, [CASE])
    assert result.action == "restored" and result.written
    assert path.read_bytes() == _fresh_bytes(tmp_path)


def test_regen_refuses_an_unreadable_committed_file_unless_forced(regenerated, tmp_path):
    path = regenerated / f"{CASE}.npz"
    path.write_bytes(path.read_bytes()[:100])
    _record_sha(regenerated, CASE)
    with pytest.raises(golden.RegenRefused, match="cannot be compared"):
        golden.regen(regenerated, [CASE])
    (result,) = golden.regen(regenerated, [CASE], force=True)
    assert result.action == "forced" and path.read_bytes() == _fresh_bytes(tmp_path)


def test_regen_writes_files_readable_by_others(regenerated):
    assert (regenerated / f"{CASE}.npz").stat().st_mode & 0o044 == 0o044


def test_json_on_stdout_is_parseable(goldens, capsys):
    assert main(["golden", "check", "--dir", str(goldens), "--case", CASE, "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ok"] is True and "outputs agree" in captured.err
