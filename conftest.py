"""Doctest collection of the library and the plugins (``--doctest-modules`` over the ``testpaths`` in pyproject.toml).

Every module of ``sigref/`` and ``backends/*/sigref_*`` is imported for its docstring examples, except two kinds,
which are *skipped with their reason* (``pytest -rs``) instead of failing collection:

* ``__main__`` modules: importing one runs its program;
* modules that import an optional library that is not installed here (CuPy on a machine without CUDA, say).

Any other import error of a library module is a collection error, as it should be.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from _pytest.doctest import DoctestModule

ROOT = Path(__file__).resolve().parent
#: top-level modules of the optional dependencies (the plugins' and extras' libraries)
OPTIONAL = frozenset({"cupy", "cupyx", "cupy_backends", "torch", "torchvision", "jax", "jaxlib", "numba", "safetensors",
                      "sklearn", "open_clip", "array_api_strict"})


def _module_name(path: Path) -> str | None:
    """The import name of a library file: ``sigref/losses/sigmoid.py`` -> ``sigref.losses.sigmoid``,
    ``backends/torch/sigref_torch/bridge.py`` -> ``sigref_torch.bridge``; None outside the library."""
    try:
        rel = path.resolve().relative_to(ROOT)
    except ValueError:
        return None
    parts = list(rel.with_suffix("").parts)
    if parts[:1] == ["backends"] and len(parts) >= 3:
        parts = parts[2:]
    elif parts[:1] != ["sigref"]:
        return None
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def skip_reason(path: Path) -> str | None:
    """Why the doctests of the library file ``path`` cannot run here, or None when they can."""
    name = _module_name(path)
    if name is None:
        return None
    if path.name == "__main__.py":
        return f"{name} is a __main__ module: importing it runs the program"
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in OPTIONAL:
            return f"{name} needs {missing}, which is not installed"
        raise
    return None


class SkippedModule(pytest.File):
    """Stands in for the doctests of a module that cannot be imported here; collecting it reports the skip."""

    reason = ""

    def collect(self):
        pytest.skip(self.reason)


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    collectors = yield
    if _module_name(file_path) is None:  # tests, scripts, docs/conf.py: not library modules, no doctests collected
        return [c for c in collectors if not isinstance(c, DoctestModule)]
    main = file_path.name == "__main__.py" and parent.config.getoption("doctestmodules") and _module_name(file_path) is not None
    if not main and not any(isinstance(c, DoctestModule) for c in collectors):
        return collectors  # pytest itself never collects the doctests of a __main__ module: say so
    reason = skip_reason(file_path)
    if reason is None:
        return collectors
    skipped = SkippedModule.from_parent(parent, path=file_path)
    skipped.reason = reason
    return [c for c in collectors if not isinstance(c, DoctestModule)] + [skipped]
