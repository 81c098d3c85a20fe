"""Test matrix: every numeric test runs on each backend of the matrix.

The matrix is ``numpy, array_api_strict, torch, torch-cuda, cupy`` unless ``--backend`` (repeatable)
or ``SIGREF_TEST_BACKENDS`` (comma list) names others, ``jax`` among them: eager JAX compiles every
operation for each new shape, which makes the whole matrix several times slower, so by default the
JAX plugin is covered by ``tests/jax`` (goldens in both dtypes, jit, the bridge, shard_map). A backend of the default matrix that is
unavailable here is *skipped with its reason* (visible with ``-rs``); one asked for explicitly
is an error, so a GPU run cannot pass by skipping.

Fixtures: ``backend`` (float64 on each backend) and ``backend_any`` (each backend x float32,
float64). Inputs are drawn on the host with NumPy and moved with ``backend.asarray``.
"""

from __future__ import annotations

import os

import pytest

from sigref.backend import BackendError, available_backends, get_backend

MATRIX = {
    "numpy": ("numpy", None),
    "array_api_strict": ("array_api_strict", None),
    "torch": ("torch", "cpu"),
    "torch-cuda": ("torch", "cuda"),
    "cupy": ("cupy", None),
    "jax": ("jax", "cpu"),
}
DEFAULT = [entry for entry in MATRIX if entry != "jax"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backend", action="append", default=None, help=f"run numeric tests on these: {list(MATRIX)}")


def _requested(config: pytest.Config) -> list[str] | None:
    names = config.getoption("--backend") or [
        n.strip() for n in os.environ.get("SIGREF_TEST_BACKENDS", "").split(",") if n.strip()
    ]
    if not names or names == ["all"]:
        return None
    unknown = [n for n in names if n not in MATRIX]
    if unknown:
        raise pytest.UsageError(f"unknown test backend(s) {unknown}; choose from {list(MATRIX)}")
    return names


def _make(request: pytest.FixtureRequest, entry: str, dtype: str):
    name, device = MATRIX[entry]
    explicit = _requested(request.config) is not None
    reason = available_backends().get(name, f"{name} is not installed")
    if reason is None and device == "cuda":
        try:
            return get_backend(name, device=device, dtype=dtype)
        except BackendError as exc:
            reason = f"no CUDA device ({exc})"
    if reason is not None:
        if explicit:
            pytest.fail(f"backend {entry} was requested but is unavailable: {reason}")
        pytest.skip(f"{entry} unavailable: {reason}")
    return get_backend(name, device=device, dtype=dtype)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    entries = _requested(metafunc.config) or DEFAULT
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend_entry", entries, indirect=False, scope="session")
    if "backend_any" in metafunc.fixturenames:
        combos = [(e, d) for e in entries for d in ("float64", "float32")]
        metafunc.parametrize("backend_combo", combos, ids=[f"{e}-{d}" for e, d in combos], scope="session")


@pytest.fixture
def backend(request: pytest.FixtureRequest, backend_entry: str):
    return _make(request, backend_entry, "float64")


@pytest.fixture
def backend_any(request: pytest.FixtureRequest, backend_combo: tuple[str, str]):
    return _make(request, *backend_combo)


@pytest.fixture
def torch_one_thread():
    """Tiny tensors: one intra-op thread is fastest, and far faster on a shared, busy machine."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
