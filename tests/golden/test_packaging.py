"""The goldens ship inside the wheel: ``sigref golden check`` passes from a wheel installed in a fresh
venv (no source tree on the path), and the packaged copy is byte-identical to reference_results/golden."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from sigref import golden

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(out)], check=True, capture_output=True, text=True)
    (path,) = out.glob("sigref-*.whl")
    return path


def test_the_wheel_carries_every_golden_file_unchanged(wheel: Path) -> None:
    manifest = json.loads((golden.SOURCE_DIR / "MANIFEST.json").read_text())
    with zipfile.ZipFile(wheel) as zf:
        packaged = {Path(n).name: zf.read(n) for n in zf.namelist() if n.startswith("sigref/golden/data/")}
    assert set(packaged) == {f"{name}.npz" for name in manifest} | {"MANIFEST.json"}
    assert packaged["MANIFEST.json"] == (golden.SOURCE_DIR / "MANIFEST.json").read_bytes()
    for name, entry in manifest.items():
        assert hashlib.sha256(packaged[f"{name}.npz"]).hexdigest() == entry["sha256"], name


@pytest.mark.slow
def test_golden_check_passes_from_a_wheel_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True, text=True)
    where = subprocess.run([str(python), "-c", "from sigref import golden; print(golden.default_dir())"], cwd=tmp_path,
                           check=True, capture_output=True, text=True).stdout.strip()
    assert Path(where).parent.name == "golden" and str(env_dir) in where  # the packaged copy, not this checkout
    out = subprocess.run([str(env_dir / "bin" / "sigref"), "golden", "check"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    n = sum(len(entry["outputs"]) for entry in json.loads((golden.SOURCE_DIR / "MANIFEST.json").read_text()).values())
    assert f"{n} of {n} outputs agree" in out.stdout
    regen = subprocess.run([str(env_dir / "bin" / "sigref"), "golden", "regen"], cwd=tmp_path, capture_output=True, text=True)
    assert regen.returncode == 2 and "not a source tree" in regen.stderr  # an installed copy is never rewritten
