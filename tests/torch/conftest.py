"""Tests of the sigref-torch plugin: skipped, with the reason, where it is not installed."""

import pytest

pytest.importorskip("torch", reason="torch is not installed (pip install -e backends/torch)")
pytest.importorskip("sigref_torch", reason="sigref-torch is not installed (pip install -e backends/torch)")
