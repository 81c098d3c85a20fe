"""Names for the types in sigref's public signatures."""

from __future__ import annotations

from typing import Any, TypeAlias

__all__ = ["Array", "Scalar"]

#: An array of any library implementing the Python array API standard (NumPy, CuPy, PyTorch, JAX,
#: array-api-strict), or one that ``array_api_compat`` wraps; the library is read from the argument.
#: Shapes are written in the docstrings, e.g. ``(..., N, d)``.
Array: TypeAlias = Any

#: A Python float or a 0-d :data:`Array` (traced under ``jax.jit``): t, b, gamma and the like.
Scalar: TypeAlias = Any
