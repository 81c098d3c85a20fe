"""sigref: the reference implementation of the sigmoid contrastive loss and its theory.

The numerics are written once on the Python array API and run on NumPy, array-api-strict,
PyTorch and CuPy; see :mod:`sigref.backend` for choosing where arrays are created.
"""

from typing import Any

__version__ = "0.1.0"

__all__ = ["Backend", "BackendError", "available_backends", "get_backend", "use_backend"]


def __getattr__(name: str) -> Any:
    # Loaded on first use, so that ``sigref.__main__`` can configure the host before NumPy loads.
    if name in __all__:
        from sigref import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'sigref' has no attribute {name!r}")
