"""Figures without pyplot.

No global backend is chosen and no figure is registered anywhere, so the library never changes
the caller's matplotlib state and needs no display; matplotlib is imported on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["colormap", "subplots"]


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], **kwargs: Any) -> tuple[Any, Any]:
    """Create a figure and its axes, as ``pyplot.subplots`` returns them, on a standalone figure.

    The figure is a ``matplotlib.figure.Figure`` that pyplot does not know about: it is freed
    with its last reference, and ``savefig`` renders it with Agg.

    Parameters
    ----------
    nrows, ncols : int, default 1
        The grid of axes.
    figsize : tuple of float
        Width and height in inches.
    **kwargs
        Passed to ``Figure.subplots`` (``sharex``, ``squeeze``, ``gridspec_kw``, ...).

    Returns
    -------
    figure : matplotlib.figure.Figure
        The figure.
    axes : matplotlib.axes.Axes or numpy.ndarray
        One axes, or an array of them, as ``pyplot.subplots`` returns.

    Examples
    --------
    >>> from sigref.figures import subplots
    >>> fig, axes = subplots(1, 2, figsize=(4.0, 2.0))
    >>> type(fig).__name__, axes.shape
    ('Figure', (2,))
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def colormap(name: str) -> Any:
    """The registered matplotlib colormap called ``name``.

    Looked up in ``matplotlib.colormaps``, without pyplot.

    Parameters
    ----------
    name : str
        A colormap name (``"viridis"``, ``"RdBu_r"``, ...).

    Returns
    -------
    matplotlib.colors.Colormap
        A callable from [0, 1] to RGBA tuples.

    Raises
    ------
    KeyError
        When no colormap has that name.

    Examples
    --------
    >>> from sigref.figures import colormap
    >>> [round(float(c), 3) for c in colormap("gray")(1.0)]
    [1.0, 1.0, 1.0, 1.0]
    """
    import matplotlib

    return matplotlib.colormaps[name]
