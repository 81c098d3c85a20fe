"""Conformance of torch implementations: skipped, with the reason, where torch or sigref-torch is missing."""

import pytest

pytest.importorskip("torch", reason="torch is not installed (pip install -e backends/torch)")
pytest.importorskip("sigref_torch", reason="sigref-torch is not installed (pip install -e backends/torch)")
