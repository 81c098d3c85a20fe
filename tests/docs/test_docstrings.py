"""Every public function and class of the documented modules has a complete numpydoc docstring.

The modules are ``CHECKED_MODULES`` of ``docs/_ext/sigref_apidoc.py`` (the extension that also writes the API
pages), their public names the ``__all__`` of each. For each function and class, parsed with
``numpydoc.docscrape``:

* a one-line **summary**;
* **Parameters** naming every parameter of the signature (``U, V : Array`` documents both; ``*args`` and
  ``**options`` may be written with or without their stars), when it takes any; for a class, the parameters
  of its constructor, which may also be listed under Attributes (dataclasses, named tuples);
* **Returns** (or **Yields** for a generator or context manager) for a function that returns something:
  its return annotation is not ``None``, or, unannotated, its body returns a value; classes are exempt;
* **Examples** with at least one ``>>>`` line (the examples themselves run as doctests, see pyproject.toml).

Constants and type aliases are documented by ``#:`` comments and not checked here. Each object is checked
once, under the name its API page documents it by (the defining module where that has a page). A module
whose optional library is absent is skipped.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

numpydoc_docscrape = pytest.importorskip("numpydoc.docscrape", reason="numpydoc is not installed (pip install -e '.[docs]')")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))
from sigref_apidoc import CHECKED_MODULES, collect  # noqa: E402

OPTIONAL = {"cupy", "cupyx", "torch", "jax", "jaxlib", "numba", "safetensors"}


def _targets() -> list[Any]:
    """One parameter per public function and class, named by its home (the module whose API page documents it)."""
    params: list[Any] = []
    importable = []
    for modname in CHECKED_MODULES:
        try:
            importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in OPTIONAL:
                raise
            params.append(pytest.param(modname, None, id=modname,
                                       marks=pytest.mark.skip(reason=f"{modname} needs {exc.name}, which is not installed")))
            continue
        importable.append(modname)
    seen: set[int] = set()
    for page in collect(importable).values():
        for e in page.entries:
            if e.kind == "data" or id(e.obj) in seen:
                continue
            seen.add(id(e.obj))
            params.append(pytest.param(e.target, e.obj, id=e.target))
    return params


TARGETS = _targets()


def _signature(obj: Any) -> inspect.Signature | None:
    try:
        if inspect.isclass(obj):
            init = obj.__init__
            if init is object.__init__ or (issubclass(obj, BaseException) and init is BaseException.__init__):
                return None
            if issubclass(obj, BaseException) and "__init__" not in vars(obj):
                return None
        return inspect.signature(obj)
    except (TypeError, ValueError):  # builtins and C extensions without a signature
        return None


def _parameter_names(sig: inspect.Signature | None) -> list[str]:
    if sig is None:
        return []
    return [p.name for p in sig.parameters.values() if p.name not in ("self", "cls")]


def _documented(entries: list[Any]) -> set[str]:
    names: set[str] = set()
    for entry in entries:
        for part in entry.name.split(","):
            part = part.strip().lstrip("*")
            if part:
                names.add(part)
    return names


def _returns_value(func: Any) -> bool:
    """Whether a function returns something: its annotation, else a ``return <value>`` / ``yield`` in its own body."""
    try:
        annotation = inspect.signature(func).return_annotation
    except (TypeError, ValueError):
        annotation = inspect.Signature.empty
    if annotation is not inspect.Signature.empty:
        return annotation not in (None, "None", type(None), "NoReturn")
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(func))))
    except (OSError, TypeError, SyntaxError):
        return False
    body = tree.body[0]

    def walk(node: ast.AST) -> bool:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            if isinstance(child, ast.Return) and child.value is not None and not (
                    isinstance(child.value, ast.Constant) and child.value.value is None):
                return True
            if isinstance(child, (ast.Yield, ast.YieldFrom)) or walk(child):
                return True
        return False

    return walk(body)


def problems(obj: Any) -> list[str]:
    """What the numpydoc docstring of a public function or class lacks (empty: complete)."""
    raw = inspect.getdoc(obj) if (inspect.isclass(obj) and "__doc__" in vars(obj)) or not inspect.isclass(obj) else None
    if not raw:
        return ["no docstring"]
    try:
        doc = numpydoc_docscrape.NumpyDocString(raw)
    except Exception as exc:  # numpydoc raises on malformed sections
        return [f"numpydoc cannot parse it: {exc}"]
    out = []
    summary = " ".join(doc["Summary"]).strip()
    if not summary:
        out.append("no one-line summary")
    names = _parameter_names(_signature(obj))
    documented = _documented(doc["Parameters"]) | _documented(doc["Other Parameters"])
    if inspect.isclass(obj):
        documented |= _documented(doc["Attributes"])
    if names and not doc["Parameters"] and not (inspect.isclass(obj) and doc["Attributes"]):
        out.append(f"no Parameters section (takes {', '.join(names)})")
    elif names:
        missing = [n for n in names if n not in documented]
        if missing:
            out.append(f"Parameters does not name {', '.join(missing)}")
    if not inspect.isclass(obj) and _returns_value(obj) and not (doc["Returns"] or doc["Yields"]):
        out.append("no Returns section")
    if not any(line.lstrip().startswith(">>>") for line in doc["Examples"]):
        out.append("no Examples section with >>> lines")
    return out


@pytest.mark.parametrize(("name", "obj"), TARGETS)
def test_numpydoc_complete(name: str, obj: Any) -> None:
    missing = problems(obj)
    assert not missing, f"{name}: " + "; ".join(missing)


def test_the_walk_finds_the_api() -> None:
    """The walk covers the modules of the brief and finds their names (a broken walk would pass vacuously)."""
    ids = {p.id for p in TARGETS}
    for expected in ("sigref.losses.sigmoid_loss", "sigref.ccem.delta_star", "sigref.constellations.metrics.margin",
                     "sigref.numerics.softplus", "sigref.backend.get_backend", "sigref.fused.reference_pass"):
        assert expected in ids, expected
    assert len(ids) > 150


def test_problems_of_a_bare_function() -> None:
    def f(x, *, y=1):
        """Do it."""
        return x

    assert problems(f) == ["Parameters does not name x, y"] or problems(f)[0].startswith("no Parameters")
    assert "no Returns section" in problems(f)
    assert "no Examples section with >>> lines" in problems(f)


def test_problems_of_a_complete_function() -> None:
    def g(U, V, **options):
        """Add two arrays.

        Parameters
        ----------
        U, V : Array
            The arrays.
        **options
            Ignored.

        Returns
        -------
        Array
            Their sum.

        Examples
        --------
        >>> 1 + 1
        2
        """
        return U + V

    def h(x) -> None:
        """Print x.

        Parameters
        ----------
        x : int
            The value.

        Examples
        --------
        >>> print(1)
        1
        """
        print(x)

    assert problems(g) == []
    assert problems(h) == []
