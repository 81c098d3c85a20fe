"""The value-and-gradient record every loss returns, and shape helpers shared by the losses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sigref.types import Array

__all__ = ["LossResult", "sum_to_shape"]


@dataclass(frozen=True)
class LossResult:
    """The value and analytic gradients of a loss, returned by every ``*_and_grad`` function.

    A frozen record: ``value`` has the batch shape of the inputs, and ``grad[name]`` is the
    derivative of the (summed) value with respect to the argument called ``name``, with that
    argument's shape. Which names appear is stated by each loss (e.g. ``"U"``, ``"V"``, ``"t"``,
    ``"log_t"``, ``"b"`` for :func:`sigref.losses.sigmoid_loss_and_grad`).

    Parameters
    ----------
    value : Array, shape (...)
        The loss for each batch index.
    grad : dict of str to Array
        The gradient with respect to each named argument, of that argument's shape.
    diagnostics : dict of str to Array or None, optional
        Batch-shaped diagnostics when they were requested (``diagnostics=True``), else None.

    See Also
    --------
    sigref.losses.sigmoid_loss_and_grad : The loss whose record carries diagnostics.

    Examples
    --------
    >>> from sigref.losses import sigmoid_loss_and_grad
    >>> from sigref.sampling import uniform_sphere
    >>> U = uniform_sphere(0, (4, 3))
    >>> res = sigmoid_loss_and_grad(U, U, 10.0, 10.0)
    >>> type(res).__name__, res.value.shape, res.grad["U"].shape, res.diagnostics
    ('LossResult', (), (4, 3), None)
    """

    value: Array
    grad: dict[str, Array]
    diagnostics: dict[str, Array] | None = None


def sum_to_shape(xp: Any, g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes that broadcasting added to an array of ``shape``."""
    lead = g.ndim - len(shape)
    if lead > 0:
        g = xp.sum(g, axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    return g
