"""sigref: the reference implementation of the sigmoid contrastive loss and its theory.

The numerics are written once on the Python array API and run on NumPy, array-api-strict,
PyTorch, CuPy and JAX; the loss family is in :mod:`sigref.losses`, golden reference results in
:mod:`sigref.golden` and the conformance suite for other implementations in :mod:`sigref.conform`.

The package itself re-exports the backend registry of :mod:`sigref.backend`, which chooses where
arrays are *created* (kernels follow their inputs): :class:`~sigref.backend.Backend`,
:class:`~sigref.backend.BackendError`, :func:`~sigref.backend.available_backends`,
:func:`~sigref.backend.get_backend` and :func:`~sigref.backend.use_backend`. They are imported on
first use, so that ``import sigref`` loads no array library.

Examples
--------
>>> import sigref
>>> sigref.get_backend("numpy", dtype="float64").name
'numpy'
"""

from typing import Any

#: The version of the sigref distribution.
__version__ = "0.1.0"

__all__ = ["Backend", "BackendError", "available_backends", "get_backend", "use_backend"]


def __getattr__(name: str) -> Any:
    # Loaded on first use, so that ``sigref.__main__`` can configure the host before NumPy loads.
    if name in __all__:
        from sigref import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'sigref' has no attribute {name!r}")
