"""Per-device memory of the sharded loss (XLA's compiled memory analysis, deterministic for a program):
the ring holds O((N/W)^2), the all-gather O((N/W) N), the dense loss O(N^2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ring_memory_is_quadratic_in_the_rows_per_device(tmp_path):
    out = tmp_path / "memory"
    subprocess.run([sys.executable, "-m", "sigref_jax.device_memory", "--devices", "4", "--n", "256", "1024", "--d", "16", "--out", str(out)],
                   check=True, cwd=ROOT, capture_output=True, timeout=600)
    rows = {(r["N"], r["loss"]): r["temp_bytes"] for r in json.loads((out / "device_memory.json").read_text())["rows"]}
    growth = rows[(1024, "ring")] / rows[(256, "ring")]
    assert 8 < growth < 32, growth  # (N/W)^2: x16 for x4 rows per device
    for mode in ("ring", "all_gather"):  # each of the 4 devices holds less than the dense loss's one device
        assert rows[(1024, mode)] < rows[(1024, "dense")] / 2, (mode, rows)
    assert (out / "manifest.json").exists() and "sigref_jax.device_memory" in (out / "device_memory.md").read_text()
