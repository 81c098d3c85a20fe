r"""Array-API optimisers for the synthetic experiments: sphere projection, SGD and Adam.

All state is plain arrays of the parameters' namespace, updated functionally, with leading
batch axes allowed everywhere so that a grid of runs trains as one computation. Projected
gradient descent on the sphere alternates a gradient step with :func:`~sigref.optim.project_to_sphere`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import array_api_compat

from sigref.types import Array

__all__ = ["Adam", "project_to_sphere"]


def project_to_sphere(X: Array) -> Array:
    r"""Scale the rows of ``X`` to unit Euclidean norm: the projection onto :math:`S^{d-1}`.

    .. math::

        x_i \mapsto \frac{x_i}{\lVert x_i \rVert_2},

    the nearest point of the unit sphere to each row (the last axis).

    Parameters
    ----------
    X : Array, shape (..., d)
        Real floating rows, none of them zero (a zero row gives NaN).

    Returns
    -------
    Array, shape (..., d)
        The normalised rows, of the library and dtype of ``X``.

    Raises
    ------
    TypeError
        If ``X`` is not an array of an array-API library.

    See Also
    --------
    sigref.sampling.uniform_sphere : Random points on the sphere.

    Examples
    --------
    >>> import numpy as np
    >>> from sigref.optim import project_to_sphere
    >>> project_to_sphere(np.array([[3.0, 4.0], [0.0, -2.0]])).tolist()
    [[0.6, 0.8], [0.0, -1.0]]
    """
    xp = array_api_compat.array_namespace(X)
    return X / xp.linalg.vector_norm(X, axis=-1, keepdims=True)


@dataclass
class Adam:
    r"""Adam (Kingma & Ba) over a dict of named arrays, as ``torch.optim.Adam``.

    Each :meth:`step` updates, for every named gradient :math:`g` at step :math:`k`,

    .. math::

        m &\leftarrow \beta_1 m + (1 - \beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \\
        \theta &\leftarrow \theta - \eta \, \frac{m / (1 - \beta_1^k)}{\sqrt{v / (1 - \beta_2^k)} + \epsilon},

    with bias-corrected moments [1]_ and no weight decay. The moments live on the instance (one
    pair per parameter name, created at the first step); the parameters are returned, not
    modified in place.

    Parameters
    ----------
    lr : float or dict of str to float, optional
        Learning rate :math:`\eta` (default 1e-2), or one per parameter name.
    beta1 : float, optional
        Decay :math:`\beta_1` of the first moment (default 0.9).
    beta2 : float, optional
        Decay :math:`\beta_2` of the second moment (default 0.999).
    eps : float, optional
        :math:`\epsilon` added to the root of the second moment (default 1e-8).

    Attributes
    ----------
    t : int
        Steps taken so far (:math:`k` after the next step is ``t + 1``).
    m : dict of str to Array
        First moments by parameter name.
    v : dict of str to Array
        Second moments by parameter name.

    See Also
    --------
    sigref.optim.project_to_sphere : The projection of projected gradient descent.

    References
    ----------
    .. [1] D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization", arXiv:1412.6980,
       https://arxiv.org/abs/1412.6980

    Examples
    --------
    Minimise :math:`\lVert x \rVert^2`; the first step moves every coordinate by about the
    learning rate:

    >>> import numpy as np
    >>> from sigref.optim import Adam
    >>> opt = Adam(lr=0.1)
    >>> params = {"x": np.array([1.0, -2.0])}
    >>> params = opt.step(params, {"x": 2.0 * params["x"]})
    >>> [round(float(x), 6) for x in params["x"]], opt.t
    ([0.9, -1.9], 1)
    >>> for _ in range(99):
    ...     params = opt.step(params, {"x": 2.0 * params["x"]})
    >>> bool(np.all(np.abs(params["x"]) < 0.01))
    True
    """

    lr: float | dict[str, float] = 1e-2
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        self.t = 0
        self.m: dict[str, Any] = {}
        self.v: dict[str, Any] = {}

    def step(self, params: dict[str, Array], grads: dict[str, Array]) -> dict[str, Array]:
        r"""Take one Adam step and return the updated parameters.

        Every parameter named in ``grads`` is updated; the others are returned unchanged. The
        step counter and the moments of the instance advance.

        Parameters
        ----------
        params : dict of str to Array
            The current parameters by name.
        grads : dict of str to Array
            The gradients by name, each of its parameter's shape and library.

        Returns
        -------
        dict of str to Array
            A new dict of the parameters after the step.

        Raises
        ------
        KeyError
            If a name in ``grads`` is missing from ``params`` (or from ``lr`` when that is a dict).

        See Also
        --------
        sigref.optim.project_to_sphere : Re-project sphere-constrained parameters after the step.

        Examples
        --------
        >>> import numpy as np
        >>> from sigref.optim import Adam
        >>> out = Adam(lr={"a": 0.5, "b": 0.1}).step({"a": np.array(1.0), "b": np.array(1.0)},
        ...                                           {"a": np.array(3.0), "b": np.array(-3.0)})
        >>> round(float(out["a"]), 6), round(float(out["b"]), 6)
        (0.5, 1.1)
        """
        self.t += 1
        c1 = 1.0 - self.beta1**self.t
        c2 = 1.0 - self.beta2**self.t
        out = dict(params)
        for name, g in grads.items():
            xp = array_api_compat.array_namespace(g)
            m = self.m.get(name, xp.zeros_like(g))
            v = self.v.get(name, xp.zeros_like(g))
            m = self.beta1 * m + (1.0 - self.beta1) * g
            v = self.beta2 * v + (1.0 - self.beta2) * (g * g)
            self.m[name], self.v[name] = m, v
            lr = self.lr[name] if isinstance(self.lr, dict) else self.lr
            out[name] = params[name] - lr * (m / c1) / (xp.sqrt(v / c2) + self.eps)
        return out
