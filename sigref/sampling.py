r"""Host-side randomness: every backend sees the same float64 samples (drawn with NumPy).

Samples are drawn on the host with ``numpy.random.default_rng(seed)`` in float64 and moved to a
backend afterwards, so that runs and golden files agree across array libraries.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rng_from", "uniform_sphere"]


def rng_from(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Return a NumPy random generator for a seed, or the generator itself.

    The samplers take their randomness through it, so each accepts a seed (a reproducible
    fresh stream) or a generator (continuing a stream shared by several draws).

    Parameters
    ----------
    seed : int or numpy.random.Generator or None
        A seed for ``numpy.random.default_rng`` (None: fresh entropy), or a generator, which is
        returned as is (so that consecutive draws continue its stream).

    Returns
    -------
    numpy.random.Generator
        The generator.

    See Also
    --------
    sigref.sampling.uniform_sphere : Points on the sphere from such a generator.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.sampling import rng_from
    >>> g = np.random.default_rng(1)
    >>> rng_from(g) is g
    True
    >>> float(rng_from(3).random()) == float(np.random.default_rng(3).random())
    True
    """
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def uniform_sphere(seed: int | np.random.Generator | None, shape: tuple[int, ...]) -> np.ndarray:
    r"""Draw points uniformly on the unit sphere :math:`S^{d-1}` as normalised standard Gaussians.

    .. math::

        x = g / \lVert g \rVert_2, \qquad g \sim \mathcal N(0, I_d),

    is uniform on :math:`S^{d-1}` by the rotation invariance of the Gaussian; one point per row
    (the last axis), in float64 on the host.

    Parameters
    ----------
    seed : int or numpy.random.Generator or None
        Seed or generator (see :func:`sigref.sampling.rng_from`).
    shape : tuple of int
        The output shape (..., N, d); the last axis is the dimension d.

    Returns
    -------
    numpy.ndarray, shape ``shape``
        Float64 unit rows.

    See Also
    --------
    sigref.optim.project_to_sphere : The same normalisation on any array library.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.sampling import uniform_sphere
    >>> X = uniform_sphere(0, (2, 4, 3))
    >>> X.shape, X.dtype.name, bool(np.allclose(np.linalg.norm(X, axis=-1), 1.0))
    ((2, 4, 3), 'float64', True)
    >>> bool(np.array_equal(uniform_sphere(7, (3, 2)), uniform_sphere(np.random.default_rng(7), (3, 2))))
    True
    """
    g = rng_from(seed).standard_normal(shape)
    return g / np.linalg.norm(g, axis=-1, keepdims=True)
