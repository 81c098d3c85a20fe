"""sigref: the reference implementation of the sigmoid contrastive loss and its theory.

The numerics are written once on the Python array API and run on NumPy, array-api-strict,
PyTorch and CuPy; see :mod:`sigref.backend` for choosing where arrays are created.
"""

from sigref.backend import Backend, BackendError, available_backends, get_backend, use_backend

__version__ = "0.1.0"

__all__ = ["Backend", "BackendError", "available_backends", "get_backend", "use_backend"]
