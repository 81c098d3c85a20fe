"""Tests of the sigref-numba plugin: skipped, with the reason, where it is not installed."""

import pytest

pytest.importorskip("sigref_numba.fused", reason="sigref-numba is not installed (pip install -e backends/numba)")
