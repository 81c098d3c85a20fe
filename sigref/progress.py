"""Progress bars for long work (tqdm on stderr; silent when disabled)."""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm

__all__ = ["progress"]


def progress(iterable: Any = None, *, total: int | None = None, desc: str = "", enabled: bool = True) -> Any:
    """Wrap ``iterable`` in a progress bar on stderr, or pass it through silently.

    The bar is ``tqdm.auto.tqdm``; it adapts to the terminal width and is cleared when done
    (``leave=False``).

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over; None for a bar advanced by hand with ``update``.
    total : int or None, optional
        The number of items, when ``iterable`` has no length.
    desc : str, default ""
        The label in front of the bar.
    enabled : bool, default True
        False: no bar is drawn, the items pass through.

    Returns
    -------
    tqdm.auto.tqdm
        The bar: iterate over it as over ``iterable``.

    Examples
    --------
    >>> from sigref.progress import progress
    >>> list(progress(range(3), desc="cases", enabled=False))
    [0, 1, 2]
    """
    return tqdm(iterable, total=total, desc=desc, disable=not enabled, leave=False, dynamic_ncols=True)
