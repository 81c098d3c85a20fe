"""Tests of the SSL path of sigref-torch: skipped, with the reason, where it is not installed."""

import pytest

pytest.importorskip("torch", reason="torch is not installed (pip install -e 'backends/torch[ssl]')")
pytest.importorskip("torchvision", reason="torchvision is not installed (pip install -e 'backends/torch[ssl]')")
pytest.importorskip("sigref_torch.ssl", reason="sigref-torch is not installed (pip install -e 'backends/torch[ssl]')")
