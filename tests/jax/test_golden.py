"""Every golden case on JAX, in float64 and float32, against the committed NumPy goldens."""

import pytest

from sigref import golden
from sigref.backend import get_backend


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_golden_check_on_jax(dtype):
    backend = get_backend("jax", dtype=dtype)
    rows = golden.check(backend)
    bad = [r for r in rows if not r.ok]
    assert rows and not bad, golden.format_table(bad, backend)
    assert sum(r.status == "ok" for r in rows) > 0
