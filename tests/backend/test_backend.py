"""Backend registry: discovery, precedence, clear errors, third-party plugins by entry point alone."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import sigref
from sigref.backend import BackendError, available_backends, get_backend, use_backend


def test_core_backends_are_registered_and_usable():
    avail = available_backends()
    assert avail["numpy"] is None
    assert avail["array_api_strict"] is None
    b = get_backend("numpy", dtype="float32")
    x = b.asarray([1.0, 2.0])
    assert x.dtype == np.float32 and isinstance(x, np.ndarray)
    assert b.to_numpy(x).tolist() == [1.0, 2.0]


def test_precedence_explicit_over_context_over_env(monkeypatch):
    monkeypatch.setenv("SIGREF_BACKEND", "array_api_strict")
    monkeypatch.setenv("SIGREF_DTYPE", "float32")
    assert get_backend().name == "array_api_strict"
    assert get_backend().dtype_name == "float32"
    with use_backend("numpy", dtype="float64") as ctx:
        assert ctx.name == "numpy"
        assert get_backend().name == "numpy" and get_backend().dtype_name == "float64"
        assert get_backend("array_api_strict").name == "array_api_strict"
    assert get_backend().name == "array_api_strict"
    monkeypatch.delenv("SIGREF_BACKEND")
    monkeypatch.delenv("SIGREF_DTYPE")
    assert get_backend().name == "numpy" and get_backend().dtype_name == "float64"


def test_unknown_backend_names_the_available_ones():
    with pytest.raises(BackendError, match=r"unknown backend 'jaxx'.*numpy"):
        get_backend("jaxx")


def test_unavailable_backend_says_why():
    reason = available_backends().get("cupy")
    if reason is None:
        pytest.skip("cupy is available here")
    with pytest.raises(BackendError, match=r"backend 'cupy' is unavailable \(.*(cupy|CUDA).*\); available: .*numpy"):
        get_backend("cupy")


def test_bad_dtype_and_device_are_errors():
    with pytest.raises(BackendError, match="dtype must be one of"):
        get_backend("numpy", dtype="float16")
    with pytest.raises(BackendError, match="has no device 'cuda:7'"):
        get_backend("numpy", device="cuda:7")


def test_torch_backend_devices_and_dtypes():
    pytest.importorskip("torch")
    b = get_backend("torch", device="cpu", dtype="float32")
    x = b.asarray(np.arange(3.0))
    assert str(x.dtype) == "torch.float32" and x.device.type == "cpu"
    assert b.has_autograd
    ints = b.asarray(np.arange(3))
    assert str(ints.dtype) == "torch.int64"


def test_third_party_backend_by_entry_point_alone(tmp_path: Path):
    """A distribution that only declares an entry point registers a new backend name."""
    (tmp_path / "npalias_plugin.py").write_text(
        "from sigref.backend import BackendSpec\nBACKEND = BackendSpec(name='npalias', module='numpy')\n"
    )
    dist = tmp_path / "npalias_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: npalias-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[sigref.backends]\nnpalias = npalias_plugin:BACKEND\n")
    script = textwrap.dedent(
        """
        import numpy as np
        from sigref import get_backend, available_backends
        from sigref.losses import sigmoid_loss
        b = get_backend("npalias")
        U = b.asarray(np.eye(3))
        print(available_backends()["npalias"], b.name, float(sigmoid_loss(U, U, 10.0, 5.0, reduction="sum")))
        """
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    none, name, value = out.split()
    assert (none, name) == ("None", "npalias")
    assert float(value) == pytest.approx(9 * np.log1p(np.exp(-5.0)), rel=1e-14)
    info = subprocess.run([sys.executable, "-m", "sigref.cli", "info"], env=env, capture_output=True, text=True, check=True).stdout
    assert "npalias" in info


def test_version_is_exposed():
    assert sigref.__version__
