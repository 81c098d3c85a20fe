"""Sphinx configuration of the sigref site: ``make docs`` builds it into docs/_build/html.

Everything renders offline: MathJax 3 is served from the site's own ``_static/mathjax`` (package
``sphinx-mathjax-offline``), no intersphinx, no CDN. The API pages are generated from each module's
``__all__`` by ``docs/_ext/sigref_apidoc.py`` into ``docs/api/generated`` (git-ignored).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
os.environ.setdefault("SIGREF_TORCH_COMPILE", "0")  # importing the torch plugin must not compile anything

from sigref_apidoc import MOCK_IMPORTS, MODULES  # noqa: E402

import sigref  # noqa: E402

project = "sigref"
author = "the sigref authors"
copyright = "the sigref authors, MIT license"
release = version = sigref.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax 3 copied into _static/mathjax; sets mathjax_path to it
    "numpydoc",
    "myst_parser",
    "sphinx_copybutton",
    "sigref_apidoc",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "_templates", "**/.ipynb_checkpoints"]
templates_path = ["_templates"]

# ------------------------------------------------------------------------------------------ markdown (myst)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# ------------------------------------------------------------------------------------------ API (autodoc, numpydoc)
autosummary_generate = False  # the pages are written by sigref_apidoc, not by autosummary's stub generator
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
python_use_unqualified_type_names = True
autodoc_type_aliases = {"Array": "sigref.types.Array", "Scalar": "sigref.types.Scalar"}
# CuPy is not installed where the docs are built; sigref_cupy imports it lazily, this keeps any direct import buildable.
autodoc_mock_imports = MOCK_IMPORTS

numpydoc_show_class_members = False  # autodoc's :members: documents them; numpydoc's tables would need stubs
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "Array": "sigref.types.Array",
    "Scalar": "sigref.types.Scalar",
    "array": "sigref.types.Array",
    "scalar": "sigref.types.Scalar",
    # numpydoc's defaults point these at intersphinx targets (python:float, numpy:array_like), which this offline
    # build does not have: plain names instead (builtins need no link; the rest is in nitpick_ignore_regex below).
    **{name: name for name in ("float", "int", "str", "dict", "list", "tuple", "bool", "None", "True", "False", "callable",
                               "iterable", "sequence", "generator", "contextmanager", "namedtuple")},
    "boolean": "bool",
    "string": "str",
    "array_like": "numpy.typing.ArrayLike",
    "array-like": "numpy.typing.ArrayLike",
    "ndarray": "numpy.ndarray",
    "np.ndarray": "numpy.ndarray",
}
numpydoc_xref_ignore = "all"  # only the aliases above (and sigref's classes, added below) become links
numpydoc_validation_checks: set[str] = set()

# ------------------------------------------------------------------------------------------ cross references
nitpicky = True
# No intersphinx (the build is offline): names of other libraries stay plain text.
_STDLIB = "|".join(sorted(sys.stdlib_module_names))
nitpick_ignore_regex = [
    # other libraries and the standard library: no intersphinx, so their names stay plain text
    (r"py:.*", rf"(numpy|np|torch|jax|jnp|jaxlib|cupy|cp|scipy|matplotlib|numba|array_api_compat|array_api_strict|"
               rf"array_api_extra|safetensors|sklearn|open_clip|tqdm|{_STDLIB})(\..*)?"),
    (r"py:.*", r"(True|False|None|callable|iterable|sequence|generator|contextmanager|namedtuple|Ellipsis|\.\.\.)"),
    # private modules and names (a leading underscore) are not documented on purpose
    (r"py:.*", r"(.*\.)?_[A-Za-z0-9].*"),
    (r"py:.*", r"(Tensor|ndarray|Figure|Axes|Path|PathLike|ModuleType|Module|Parameter|Generator|Mesh|Namespace|"
               r"ArgumentParser|EntryPoint|Callable|Iterator|Iterable|Sequence|Mapping|TypeAlias|Any|Device|DTypeLike|"
               r"dtype|device|Colormap|Future|Popen|TextIO|NamedTuple|ContextVar|PartitionSpec|Tracer)"),
]


def _sigref_class_aliases() -> dict[str, str]:
    """Short class names of sigref's documented classes -> their documented target (links in Parameters types)."""
    from sigref_apidoc import collect

    out: dict[str, str] = {}
    for page in collect(MODULES).values():
        for e in page.entries:
            if e.kind in ("class", "exception") and e.home == page.module:
                out.setdefault(e.name, e.target)
    return out


numpydoc_xref_aliases.update(_sigref_class_aliases())

# ------------------------------------------------------------------------------------------ HTML
html_theme = "pydata_sphinx_theme"
html_title = f"sigref {release}"
html_static_path = ["_static"]
html_css_files = ["sigref.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "header_links_before_dropdown": 5,
    "icon_links": [],
    "use_edit_page_button": False,
    "show_nav_level": 1,
}
html_sidebars = {"*": [], "results/*": []}  # the narrative pages have no section navigation: give the text the room
html_last_updated_fmt = None
html_copy_source = False
html_show_sourcelink = False
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
