"""Tests of the sigref-jax plugin: skipped, with the reason, where it is not installed."""

import pytest

pytest.importorskip("jax", reason="jax is not installed (pip install -e backends/jax)")
pytest.importorskip("sigref_jax", reason="sigref-jax is not installed (pip install -e backends/jax)")
import sigref_jax.backend  # noqa: F401  (turns on jax_enable_x64 before any array is made)
