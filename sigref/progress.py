"""Progress bars for long work (tqdm on stderr; silent when disabled)."""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm

__all__ = ["progress"]


def progress(iterable: Any = None, *, total: int | None = None, desc: str = "", enabled: bool = True) -> Any:
    return tqdm(iterable, total=total, desc=desc, disable=not enabled, leave=False, dynamic_ncols=True)
