"""Tests of the sigref-cupy plugin: skipped, with the reason, where CuPy or a CUDA device is missing."""

import pytest

from sigref.backend import available_backends

_reason = available_backends().get("cupy", "sigref-cupy is not installed (pip install -e 'backends/cupy[cuda13]')")
if _reason is not None:
    pytest.skip(f"cupy unavailable: {_reason}", allow_module_level=True)
