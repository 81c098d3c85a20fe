"""The CuPy backend on a GPU: host copies, the golden check in both dtypes, the bench's memory probe."""

from __future__ import annotations

import numpy as np
import pytest

from sigref import golden
from sigref.backend import get_backend, to_numpy


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_golden_check_on_cupy(dtype):
    backend = get_backend("cupy", dtype=dtype)
    rows = golden.check(backend)
    bad = [r for r in rows if not r.ok]
    assert rows and not bad, golden.format_table(bad, backend)


def test_arrays_round_trip_through_the_registry():
    backend = get_backend("cupy", dtype="float64")
    host = np.linspace(-1.0, 1.0, 7)
    x = backend.asarray(host)
    assert type(x).__module__.split(".")[0] == "cupy"
    np.testing.assert_array_equal(to_numpy(x), host)
    backend.synchronize()


def test_the_bench_loads_the_cupy_plugin():
    import sys

    from sigref import bench

    errors = bench.load_plugins(["cupy"])
    assert "sigref_cupy.bench" not in errors and "sigref_cupy.bench" in sys.modules
