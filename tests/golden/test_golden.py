"""Golden reference results: every case checked on every backend and dtype; regeneration is exact."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from sigref import golden


def test_golden_check_on_every_backend(backend_any):
    rows = golden.check(backend_any)
    bad = [r for r in rows if not r.ok]
    assert rows and not bad, golden.format_table(bad, backend_any)
    assert sum(r.status == "ok" for r in rows) > 0


def test_manifest_describes_the_committed_files():
    committed = golden.default_dir()
    manifest = json.loads((committed / "MANIFEST.json").read_text())
    assert sorted(manifest) == sorted(c.name for c in golden.all_cases())
    for name, entry in manifest.items():
        assert hashlib.sha256((committed / f"{name}.npz").read_bytes()).hexdigest() == entry["sha256"], name


def test_regeneration_is_byte_identical(tmp_path):
    """Two regenerations write the same bytes (no spurious diffs); the float64 check above pins
    the values against the committed files (last-bit BLAS differences between CPUs are allowed)."""
    names = ["losses_sigmoid", "losses_multimodal"]
    first, second = tmp_path / "a", tmp_path / "b"
    golden.regen(first, names)
    golden.regen(second, names)
    for name in names:
        assert (first / f"{name}.npz").read_bytes() == (second / f"{name}.npz").read_bytes()
    assert (first / "MANIFEST.json").read_text() == (second / "MANIFEST.json").read_text()


def test_check_reports_a_mismatch(tmp_path):
    """A committed golden that the code no longer reproduces is named with its output, so the check
    can fail: the file is changed *and* the manifest records its new sha256, as a commit of both would."""
    golden.regen(tmp_path, ["losses_sigmoid"])
    path = tmp_path / "losses_sigmoid.npz"
    with np.load(path) as data:
        payload = {k: data[k] for k in data.files}
    payload["out__sum_value"] = payload["out__sum_value"] * (1 + 1e-6)
    np.savez(path, **payload)
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text())
    manifest["losses_sigmoid"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / "MANIFEST.json").write_text(json.dumps(manifest))
    from sigref.backend import get_backend

    rows = golden.check(get_backend("numpy"), tmp_path, ["losses_sigmoid"])
    bad = [r for r in rows if not r.ok]
    assert [(r.case, r.output, r.status) for r in bad] == [("losses_sigmoid", "sum_value", "MISMATCH")]


def test_unknown_case_is_an_error():
    with pytest.raises(ValueError, match="unknown golden case"):
        golden.check(__import__("sigref").get_backend("numpy"), names=["nope"])
