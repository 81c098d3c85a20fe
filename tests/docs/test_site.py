"""The built site, as a reader's browser shows it: math typeset by the bundled MathJax, every image loaded.

``make docs-check`` builds docs/_build/html and runs this file; ``make test`` runs it after its own docs build.
The site is served from 127.0.0.1 by ``http.server`` in a thread and loaded in headless Chromium through
Selenium (Debian's ``chromium`` and ``chromium-driver``). On each page:

* MathJax finished (``MathJax.startup.promise``) and left ``mjx-container`` elements, and no raw ``\\(`` or
  ``\\[`` delimiter is visible in the text outside code (pages with math: the conventions, numerics, chunking,
  torch, MSCL, plugin and paper pages, the landing page, two API pages, and any other page holding math);
* every ``<img>`` finished loading with a nonzero natural width;
* every resource the page fetched came from the local server (the site renders offline).

Skipped with the reason when the site is not built or Chromium, its driver or Selenium is missing.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

SITE = Path(__file__).resolve().parents[2] / "docs" / "_build" / "html"
CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), shutil.which("google-chrome")) if p), None)
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--window-size=1280,2000"]

#: pages that must hold typeset math; every page is checked for raw TeX, images and foreign resources
MATH_PAGES = {"index.html", "conventions.html", "numerics.html", "chunking.html", "torch.html", "mscl.html", "plugins.html",
              "lee2024.html", "bangachev2025.html", "api/generated/sigref.numerics.html", "api/generated/sigref.losses.html"}


def _pages() -> list[str]:
    """The narrative pages, the committed results, the API index and the pages of MATH_PAGES."""
    if not SITE.exists():
        return sorted(MATH_PAGES)
    skip = {"genindex.html", "search.html", "py-modindex.html"}
    found = {p.name for p in SITE.glob("*.html") if p.name not in skip}
    found |= {f"results/{p.name}" for p in SITE.glob("results/*.html")}
    return sorted(found | {"api/index.html"} | MATH_PAGES)


PAGES = _pages()


def _missing() -> str | None:
    if not (SITE / "index.html").exists():
        return f"the site is not built ({SITE} has no index.html): run make docs"
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "chromium or chromedriver is not installed (Debian: apt-get install chromium chromium-driver; make docs-check does)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[docs]')"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="sigref-chromium-")
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


_WAIT_FOR_PAGE = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images).map(img => img.complete ? Promise.resolve() :
    new Promise(resolve => { img.addEventListener('load', resolve); img.addEventListener('error', resolve); }));
const math = (window.MathJax && MathJax.startup && MathJax.startup.promise) ? MathJax.startup.promise : Promise.resolve();
Promise.all([math, ...images]).then(() => done(true), err => done('error: ' + err));
"""

_STATE = """
const main = (document.querySelector('main') || document.body).cloneNode(true);
main.querySelectorAll('pre, code, mjx-container, script, style').forEach(e => e.remove());  // raw TeX may be shown in code
return {
    mathjax: !!(window.MathJax && MathJax.version),
    containers: document.querySelectorAll('mjx-container').length,
    mathSpans: document.querySelectorAll('.math').length,
    errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
    text: main.textContent,
    images: Array.from(document.images).map(img => [img.getAttribute('src'), img.complete, img.naturalWidth]),
    resources: performance.getEntriesByType('resource').map(r => r.name),
    mathjaxScripts: Array.from(document.scripts).map(s => s.src).filter(s => s.includes('mathjax')),
};
"""


@pytest.mark.parametrize("page", PAGES)
def test_page_renders(server: str, browser: object, page: str) -> None:
    assert (SITE / page).exists(), f"{page} is missing from the built site"
    browser.get(f"{server}/{page}")
    assert browser.execute_async_script(_WAIT_FOR_PAGE) is True
    state = browser.execute_script(_STATE)
    if page in MATH_PAGES or state["mathSpans"]:
        assert state["mathjax"], f"{page}: MathJax did not load"
        assert state["mathjaxScripts"] and all(s.startswith(server) for s in state["mathjaxScripts"]), state["mathjaxScripts"]
        assert state["containers"] > 0, f"{page}: no mjx-container: the math was not typeset"
        assert state["errors"] == 0, f"{page}: {state['errors']} MathJax errors"
        for raw in ("\\(", "\\)", "\\[", "\\]", "$$"):
            assert raw not in state["text"], f"{page}: raw math delimiter {raw!r} left in the text"
    broken = [src for src, complete, width in state["images"] if not complete or width == 0]
    assert not broken, f"{page}: images that did not load: {broken}"
    foreign = [r for r in state["resources"] if not r.startswith(server) and not r.startswith("data:")]
    assert not foreign, f"{page}: fetched from outside the site: {foreign}"


def test_figures_of_the_papers_are_shown(server: str, browser: object) -> None:
    """The paper pages show the committed figures of reference_results/ (copied into the site by Sphinx)."""
    for page, figure in (("lee2024.html", "fig2_free_embeddings"), ("bangachev2025.html", "region")):
        browser.get(f"{server}/{page}")
        assert browser.execute_async_script(_WAIT_FOR_PAGE) is True
        images = browser.execute_script(_STATE)["images"]
        assert any(figure in src and width > 0 for src, _, width in images), (page, images)
