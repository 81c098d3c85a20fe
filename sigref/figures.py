"""Figures without pyplot: no global backend is chosen and no figure is registered anywhere, so
the library never changes the caller's matplotlib state and needs no display."""

from __future__ import annotations

from typing import Any

__all__ = ["colormap", "subplots"]


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], **kwargs: Any) -> tuple[Any, Any]:
    """``(figure, axes)`` as ``pyplot.subplots`` returns them, on a standalone ``Figure`` (``savefig`` renders with Agg)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def colormap(name: str) -> Any:
    """The registered colormap ``name`` (a callable from [0, 1] to RGBA)."""
    import matplotlib

    return matplotlib.colormaps[name]
