"""pytest over docs/: the ``>>>`` examples of the pages run as doctests (``--doctest-glob=*.md`` in pyproject.toml).

The Sphinx configuration, its extension, the generated pages and the build output are not test modules; the
complete examples under examples/ run through tests/docs/test_examples.py. A page whose examples need an optional
library that is not installed is skipped with the reason.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from _pytest.doctest import DoctestTextfile

collect_ignore = ["conf.py"]
collect_ignore_glob = ["_ext/*", "_build/*", "api/*", "examples/*"]

#: page -> the libraries its examples import
NEEDS = {"torch.md": ("torch", "sigref_torch")}


class SkippedPage(pytest.File):
    """Stands in for the examples of a page that cannot run here; collecting it reports the skip."""

    reason = ""

    def collect(self):
        pytest.skip(self.reason)


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    collectors = yield
    missing = [m for m in NEEDS.get(file_path.name, ()) if importlib.util.find_spec(m) is None]
    if not missing or not any(isinstance(c, DoctestTextfile) for c in collectors):
        return collectors
    skipped = SkippedPage.from_parent(parent, path=file_path)
    skipped.reason = f"the examples of docs/{file_path.name} need {', '.join(missing)}, which is not installed"
    return [c for c in collectors if not isinstance(c, DoctestTextfile)] + [skipped]
