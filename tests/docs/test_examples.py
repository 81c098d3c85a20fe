"""The complete examples of the documentation run: docs/examples/ddp_train.py under torchrun, on CPU (gloo)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"

pytest.importorskip("torch", reason="the DDP example needs torch (pip install -e backends/torch)")
pytest.importorskip("sigref_torch", reason="the DDP example needs the torch plugin (pip install -e backends/torch)")


def _run(args: list[str]) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SIGREF_TORCH_COMPILE": "0"}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=240, env=env, cwd=EXAMPLES.parents[1])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _losses(out: str) -> list[float]:
    return [float(m) for m in re.findall(r"loss (\S+)", out)]


def test_ddp_example_trains_under_torchrun() -> None:
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not on PATH")
    out = _run([torchrun, "--standalone", "--nproc-per-node", "2", str(EXAMPLES / "ddp_train.py"), "--steps", "20"])
    losses = _losses(out)
    assert len(losses) == 2, out  # steps 10 and 20, printed by rank 0 only
    assert all(x == x and x < 20 for x in losses) and losses[1] < losses[0], out


def test_ddp_example_runs_on_one_process_too() -> None:
    out = _run([sys.executable, str(EXAMPLES / "ddp_train.py"), "--steps", "10", "--mode", "all_gather", "--chunk-size", "16"])
    assert len(_losses(out)) == 1, out
