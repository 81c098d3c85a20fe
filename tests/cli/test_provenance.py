"""Result folders say what wrote them: manifest.json with the command, version, commit, host and date,
and no record carries a path of the machine it ran on."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sigref.cli import main
from sigref.provenance import MANIFEST_NAME, describe_command, portable_argv

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "reference_results"


def test_paths_in_a_command_are_made_portable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["bench", "--out", str(tmp_path / "a" / "b"), "--merge", "/elsewhere/run1/bench.json", "rel/x", "--n", "4"]
    assert portable_argv(argv) == ["bench", "--out", "a/b", "--merge", "bench.json", "rel/x", "--n", "4"]
    assert describe_command(["analyze", "/data/my U.npy"]) == "sigref analyze 'my U.npy'"


def test_reproduce_writes_a_manifest(tmp_path, capsys):
    assert main(["reproduce", "lee2024", "--quick", "--no-progress", "--out", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "lee2024" / MANIFEST_NAME).read_text())
    assert manifest["command"].startswith("sigref reproduce lee2024 --quick --no-progress --out ")
    assert str(tmp_path) not in manifest["command"]
    assert manifest["sigref_version"] and manifest["host"]["machine"] and manifest["date"].startswith("20")
    assert manifest["backend"] == "numpy" and manifest["dtype"] == "float64"


def test_every_result_folder_has_a_manifest():
    """Every folder of reference_results that holds results (files, not only subfolders) says what wrote them,
    itself or through the folder above it (reference_results/ssl/metrics: the ssl run's)."""
    holding = [p for p in RESULTS.rglob("*") if p.is_dir() and any(f.is_file() for f in p.iterdir())]
    assert holding
    manifests = {"MANIFEST.json" if folder.name == "golden" else MANIFEST_NAME for folder in holding}  # golden: its own

    def owner(folder: Path) -> Path:
        while not any((folder / name).exists() for name in manifests):
            assert folder != RESULTS, f"{folder}: no manifest.json in it or above it"
            folder = folder.parent
        return folder

    for folder in {owner(f) for f in holding}:
        name = "MANIFEST.json" if folder.name == "golden" else MANIFEST_NAME
        manifest = json.loads((folder / name).read_text())
        if folder.name != "golden":
            assert manifest["command"].startswith(("sigref ", "python -m sigref")), folder
            assert {"sigref_version", "commit", "host", "date"} <= set(manifest), folder


def test_no_record_holds_a_path_of_the_machine_it_ran_on():
    host_path = re.compile(r"(?<![\w.])/(tmp|home|root|work|usr|opt|mnt|Users|var)/")
    for path in RESULTS.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".md", ".csv"):
            match = host_path.search(path.read_text())
            assert match is None, f"{path.relative_to(ROOT)} holds a host path near {match.group(0)!r}"
