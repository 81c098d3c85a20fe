"""Generate the API reference and the CLI page of the sigref site at build time.

One page per module of :data:`MODULES` goes to ``docs/api/generated/<module>.rst`` (git-ignored). A name
that several modules export is documented once, on its *home* page: the module that defines it when that
module has a page, else the first module of :data:`MODULES` that exports it; the other pages list it in
their summary table with a link there. References to any exported spelling (``sigref.constellations.margin``
as well as ``sigref.constellations.metrics.margin``, or the defining module's ``sigref.losses.sigmoid.sigmoid_loss``)
resolve to the home page through a ``missing-reference`` handler, so docstrings may cite whichever name reads best.

The public names of a module are its ``__all__``; a module without one exposes the functions and classes it
defines and the upper-case constants it assigns. The CLI page and the computed tables come from :mod:`sigref_pages`.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

#: (section title, modules) in the order of the API index (``api/generated/toc.inc``).
SECTIONS: list[tuple[str, list[str]]] = [
    ("Core", ["sigref", "sigref.types", "sigref.backend", "sigref.numerics", "sigref.fused", "sigref.loops", "sigref.optim",
              "sigref.sampling", "sigref.hostmem"]),
    ("Losses", ["sigref.losses"]),
    ("Lee et al. 2024: the double-constant embedding model", ["sigref.ccem"]),
    ("Bangachev et al. 2025: constellations", [
        "sigref.constellations",
        "sigref.constellations.metrics",
        "sigref.constellations.region",
        "sigref.constellations.codes",
        "sigref.constellations.constructions",
        "sigref.constellations.bounds",
        "sigref.constellations.gap",
        "sigref.constellations.separability",
        "sigref.constellations.analyze",
        "sigref.constellations.io",
        "sigref.constellations.tiles",
        "sigref.constellations.streaming",
        "sigref.constellations.percentiles",
        "sigref.constellations.plots",
    ]),
    ("Goldens", ["sigref.golden", "sigref.golden.case", "sigref.golden.check", "sigref.golden.regen", "sigref.golden.store",
                 "sigref.golden.cases", "sigref.golden.cases.losses", "sigref.golden.cases.lee2024",
                 "sigref.golden.cases.bangachev2025", "sigref.golden.cases.conform"]),
    ("Conformance", ["sigref.conform", "sigref.conform.conventions", "sigref.conform.target", "sigref.conform.runner",
                     "sigref.conform.report", "sigref.conform.distributed", "sigref.conform.cli"]),
    ("Provenance and figures", ["sigref.provenance", "sigref.figures"]),
    ("PyTorch plugin (sigref-torch)", ["sigref_torch", "sigref_torch.bridge", "sigref_torch.distributed", "sigref_torch.fused",
                                       "sigref_torch.conform", "sigref_torch.backend", "sigref_torch.bench"]),
    ("JAX plugin (sigref-jax)", ["sigref_jax", "sigref_jax.bridge", "sigref_jax.distributed", "sigref_jax.loops", "sigref_jax.backend",
                                 "sigref_jax.bench"]),
    ("Numba plugin (sigref-numba)", ["sigref_numba", "sigref_numba.fused"]),
    ("CuPy plugin (sigref-cupy)", ["sigref_cupy", "sigref_cupy.backend", "sigref_cupy.bench"]),
]
MODULES: list[str] = [m for _, group in SECTIONS for m in group]

#: The modules whose public functions and classes must carry complete numpydoc docstrings
#: (tests/docs/test_docstrings.py): the library's own API and the plugins' user-facing modules.
CHECKED_MODULES: list[str] = [
    "sigref", "sigref.types", "sigref.backend", "sigref.numerics", "sigref.fused", "sigref.loops", "sigref.optim",
    "sigref.losses", "sigref.ccem",
    *[m for m in MODULES if m.startswith("sigref.constellations")],
    "sigref.golden", "sigref.conform", "sigref.provenance", "sigref.figures",
    "sigref_torch", "sigref_torch.bridge", "sigref_torch.distributed", "sigref_torch.fused", "sigref_torch.conform",
    "sigref_numba", "sigref_numba.fused", "sigref_cupy", "sigref_cupy.backend",
    "sigref_jax", "sigref_jax.bridge", "sigref_jax.distributed", "sigref_jax.loops",
]


@dataclass
class Entry:
    """One public name of a module: its object, kind and home (the module whose page documents it)."""

    module: str
    name: str
    obj: Any
    kind: str  # "class", "exception", "function" or "data"
    home: str = ""

    @property
    def target(self) -> str:
        return f"{self.home}.{self.name}"


@dataclass
class Page:
    module: str
    entries: list[Entry] = field(default_factory=list)


#: Optional libraries that may be absent where the site is built; a module importing one at its top is imported
#: against Sphinx's mock of it (also ``autodoc_mock_imports`` in conf.py).
MOCK_IMPORTS = ["cupy", "cupyx"]


def _import(name: str) -> ModuleType:
    absent = [m for m in MOCK_IMPORTS if importlib.util.find_spec(m) is None]
    if not absent:
        return importlib.import_module(name)
    from sphinx.ext.autodoc.mock import mock

    with mock(absent):
        return importlib.import_module(name)


def assigned_names(module: ModuleType) -> set[str]:
    """Names a module assigns at its top level (constants, aliases), read from its source."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for t in targets:
            if isinstance(t, ast.Name):
                names.add(t.id)
    return names


def public_names(module: ModuleType) -> list[str]:
    """``__all__``, else the functions and classes the module defines and the constants it assigns."""
    explicit = getattr(module, "__all__", None)
    if explicit is not None:
        return list(explicit)
    names = []
    for name, obj in vars(module).items():
        if name.startswith("_"):
            continue
        defined = (inspect.isclass(obj) or inspect.isfunction(obj)) and getattr(obj, "__module__", None) == module.__name__
        if defined or (name.isupper() and name in assigned_names(module)):
            names.append(name)
    return sorted(names)


def kind_of(obj: Any, name: str | None = None, assigned: set[str] | frozenset[str] = frozenset()) -> str:
    """``"class"``, ``"exception"``, ``"function"`` or ``"data"``; a name the module assigns to an object of
    another name (``Array: TypeAlias = Any``, ``Fold = Callable[...]``) is data, a type alias."""
    if name is not None and name in assigned and getattr(obj, "__name__", None) != name:
        return "data"
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if inspect.isroutine(obj):
        return "function"
    return "data"


def collect(modules: list[str] = MODULES) -> dict[str, Page]:
    """Import every module and assign each public name its home page."""
    imported = {m: _import(m) for m in modules}
    pages = {m: Page(m) for m in modules}
    assigned = {m: assigned_names(mod) for m, mod in imported.items()}
    for m, mod in imported.items():
        for name in public_names(mod):
            obj = getattr(mod, name)
            pages[m].entries.append(Entry(m, name, obj, kind_of(obj, name, assigned[m])))
    for page in pages.values():
        for e in page.entries:
            e.home = _home(e, pages, assigned)
    return pages


def _home(e: Entry, pages: dict[str, Page], assigned: dict[str, set[str]]) -> str:
    exporters = [p.module for p in pages.values() for x in p.entries if x.name == e.name and x.obj is e.obj]
    if e.kind != "data":
        defining = getattr(e.obj, "__module__", None)
        if defining in pages and any(x.name == e.name and x.obj is e.obj for x in pages[defining].entries):
            return defining
    else:
        owners = [m for m in exporters if e.name in assigned[m]]
        if owners:
            return owners[0]
    return exporters[0]


def aliases(pages: dict[str, Page]) -> dict[str, str]:
    """Every spelling of a documented name (exporting modules, defining module) -> its documented target."""
    out: dict[str, str] = {}
    for page in pages.values():
        for e in page.entries:
            out.setdefault(f"{e.module}.{e.name}", e.target)
            defining = getattr(e.obj, "__module__", None) if e.kind != "data" else None
            qualname = getattr(e.obj, "__qualname__", e.name) if e.kind != "data" else e.name
            if isinstance(defining, str) and "<" not in str(qualname):
                out.setdefault(f"{defining}.{qualname}", e.target)
    return {k: v for k, v in out.items() if k != v}


# --------------------------------------------------------------------------------------------- rendering

_KIND_TITLES = [("class", "Classes"), ("exception", "Exceptions"), ("function", "Functions"), ("data", "Constants and types")]


def _data_options(e: Entry) -> list[str]:
    text = repr(e.obj)
    if len(text) > 120 or " at 0x" in text or text.startswith("<") or isinstance(e.obj, dict):
        return ["   :no-value:"]
    return []


def render(page: Page, pages: dict[str, Page]) -> str:
    m = page.module
    title = f"``{m}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {m}", "   :no-members:", "", f".. currentmodule:: {m}", ""]
    submodules = [p for p in pages if p.startswith(m + ".") and "." not in p[len(m) + 1 :]]
    if submodules:
        lines += ["Submodules with pages of their own: " + ", ".join(f":mod:`{s}`" for s in submodules) + ".", ""]
    if page.entries:
        lines += [".. autosummary::", ""]
        for e in page.entries:
            if e.home == m:
                lines.append(f"   {e.name}")
            else:  # autosummary wants names below the current module written relative to it
                lines.append(f"   ~{e.target[len(m) + 1:] if e.target.startswith(m + '.') else e.target}")
        lines.append("")
    elsewhere = [e for e in page.entries if e.home != m]
    if elsewhere:
        lines += ["Names documented on another page (where they are defined): "
                  + ", ".join(f":obj:`~{e.target}`" for e in elsewhere) + ".", ""]
    for kind, heading in _KIND_TITLES:
        own = [e for e in page.entries if e.home == m and e.kind == kind]
        if not own:
            continue
        lines += [heading, "-" * len(heading), ""]
        for e in own:
            if kind in ("class", "exception"):
                lines += [f".. auto{kind}:: {e.name}", "   :members:", "   :undoc-members:", "   :show-inheritance:", ""]
            elif kind == "function":
                lines += [f".. autofunction:: {e.name}", ""]
            else:
                lines += [f".. autodata:: {e.name}", *_data_options(e), ""]
    return "\n".join(lines)


def toc_markdown() -> str:
    """The toctrees of the API index, one per section of :data:`SECTIONS` (included by ``api/index.md``)."""
    parts = []
    for title, modules in SECTIONS:
        parts += ["```{toctree}", f":caption: {title}", ":maxdepth: 1", "", *[f"generated/{m}" for m in modules], "```", ""]
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------- Sphinx hooks


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def generate(app: Any) -> None:
    from sigref_pages import chunking_markdown, cli_markdown, numerics_markdown

    out = Path(app.srcdir) / "api" / "generated"
    out.mkdir(parents=True, exist_ok=True)
    pages = collect()
    wanted = {f"{m}.rst" for m in pages} | {"cli.inc", "toc.inc", "numerics_table.inc", "chunking_table.inc"}
    for stale in out.iterdir():
        if stale.name not in wanted:
            stale.unlink()
    for m, page in pages.items():
        _write_if_changed(out / f"{m}.rst", render(page, pages))
    _write_if_changed(out / "cli.inc", cli_markdown())
    _write_if_changed(out / "toc.inc", toc_markdown())
    _write_if_changed(out / "numerics_table.inc", numerics_markdown())
    _write_if_changed(out / "chunking_table.inc", chunking_markdown())
    app.env.sigref_aliases = aliases(pages)  # type: ignore[attr-defined]
    app.sigref_aliases = app.env.sigref_aliases


#: Modules without an API page whose narrative page documents them: ``:mod:`` references land there.
MODULE_PAGES = {
    "sigref.bench": "bench",
    "sigref.cli": "cli",
    "sigref.experiments.lee2024": "lee2024",
    "sigref.experiments.bangachev2025": "bangachev2025",
    "sigref_torch.ssl": "ssl",
}


def resolve_alias(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve a Python reference that the domain did not find.

    Tried in order, each against the documented names and their aliases (:func:`aliases`): the target as
    written, relative to the node's module and class, relative to the module of the API page it sits on (a
    module docstring's ``:mod:`metrics``` on the page of ``sigref.constellations``), a module that a narrative
    page documents (:data:`MODULE_PAGES`), and the one documented object whose name ends with the target if
    there is exactly one (what ``:class:`.Name``` would find).
    """
    if node.get("refdomain") != "py":
        return None
    table: dict[str, str] = getattr(app, "sigref_aliases", {})
    target = node["reftarget"].lstrip("~")
    if target.startswith("."):
        target = target[1:]
    modules = [node.get("py:module")]
    doc = node.get("refdoc", "")
    if doc.startswith("api/generated/"):
        modules.append(doc[len("api/generated/"):])
    candidates = [target]
    for mod in filter(None, modules):
        candidates.append(f"{mod}.{target}")
        if node.get("py:class"):
            candidates.append(f"{mod}.{node['py:class']}.{target}")
    domain = env.domains["py"]
    reftype = node["reftype"]

    def attempt(name: str) -> Any:
        return domain.resolve_xref(env, node["refdoc"], app.builder, reftype, name, node, contnode)

    for cand in candidates:
        if cand in domain.objects or (reftype == "mod" and cand in domain.modules):
            found = attempt(cand)
            if found is not None:
                return found
        parts = cand.split(".")
        for cut in range(len(parts), 0, -1):  # the longest aliased prefix: Class.method of an aliased class too
            head = ".".join(parts[:cut])
            if head in table:
                found = attempt(".".join([table[head], *parts[cut:]]))
                if found is not None:
                    return found
    if reftype == "mod" and target in MODULE_PAGES:
        from sphinx.util.nodes import make_refnode

        return make_refnode(app.builder, node["refdoc"], MODULE_PAGES[target], "", contnode)
    matches = {name for name in domain.objects if name.endswith("." + target)}
    if len(matches) == 1:
        return attempt(matches.pop())
    return None


_FORWARD_REF = re.compile(r"TypeAliasForwardRef\('([^']+)'\)")
_FACTORY = re.compile(r"\s*=\s*<factory>")


def clean_signature(app: Any, what: str, name: str, obj: Any, options: Any, signature: str | None,
                    return_annotation: str | None) -> tuple[str | None, str | None] | None:
    """Inside generics (``tuple[Array, Array]``) Sphinx prints an aliased annotation as the repr of its
    ``TypeAliasForwardRef``; write the alias's target instead, which then links like a bare ``Array``.
    A dataclass field's ``<factory>`` default becomes ``...``."""
    def clean(text: str | None) -> str | None:
        if not text:
            return text
        # dataclass fields with a default_factory show the sentinel ``<factory>``, which the signature parser rejects
        return _FACTORY.sub("=...", _FORWARD_REF.sub(r"\1", text))

    if not any(s and ("TypeAliasForwardRef" in s or "<factory>" in s) for s in (signature, return_annotation)):
        return None
    return clean(signature), clean(return_annotation)


def drop_type_docstrings(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """A constant without a ``#:`` comment would show the docstring of its type ("Built-in immutable
    sequence." for a tuple): drop it, the value is shown instead."""
    if what not in ("data", "attribute") or inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj):
        return
    own = inspect.getdoc(type(obj))
    if own and "\n".join(lines).strip() == inspect.cleandoc(own).strip():
        lines.clear()


def setup(app: Any) -> dict[str, Any]:
    app.connect("autodoc-process-docstring", drop_type_docstrings, priority=400)  # before numpydoc reformats
    app.connect("builder-inited", generate)
    app.connect("autodoc-process-signature", clean_signature)
    app.connect("missing-reference", resolve_alias)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":  # python docs/_ext/sigref_apidoc.py: the pages and their homes, for a quick look
    for m, page in collect().items():
        print(m, [(e.name, e.home) for e in page.entries if e.home != m], file=sys.stdout)
