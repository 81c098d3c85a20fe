"""The value-and-gradient record every loss returns, and shape helpers shared by the losses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["LossResult", "sum_to_shape"]


@dataclass(frozen=True)
class LossResult:
    """``value`` (batch shape) and ``grad[name]``: the derivative of the value with respect to
    each named argument, with that argument's shape. ``diagnostics`` is a dict of batch-shaped
    arrays when requested, else ``None``."""

    value: Any
    grad: dict[str, Any]
    diagnostics: dict[str, Any] | None = None


def sum_to_shape(xp: Any, g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes that broadcasting added to an array of ``shape``."""
    lead = g.ndim - len(shape)
    if lead > 0:
        g = xp.sum(g, axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    return g
