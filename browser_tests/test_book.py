"""The published book (``make book``) in a real headless browser: the system's Chromium,
driven by Playwright.

The test builds nothing: it serves ``build/book/html/`` of the current settings (the work
dir's ``build/``) on a free port of 127.0.0.1 and checks that the landing page lists every
chapter in order, that a chapter shows its figures and an audio player, that a docstring's
"Notebook:" link in the API reference leads to its chapter, and that the search page finds
"spectrogram". Requests that leave 127.0.0.1 are refused, so the book is also shown to work
offline (the pages' only outside asset is MathJax, for chapters with formulas).

Without Playwright or Chromium the tests are skipped, unless ``GENRE_BROWSER_REQUIRED=1``
makes that a failure; without a built book they are skipped unless ``GENRE_BOOK_REQUIRED=1``
does (``make book-test`` sets both; ``make browser-test`` runs this file too, before CI builds
the book, so it sets only the first). ``GENRE_CHROMIUM``
names the browser binary when it is not ``chromium`` on the PATH; ``GENRE_SCREENSHOT_BOOK``
is where a screenshot of chapter 04 is saved (none by default).
"""
from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# `make book-test` sets this too; `make browser-test` (the whole folder, which CI runs before it
# builds the book) does not, so there a missing book is a skip, a missing browser a failure
BOOK_REQUIRED = os.environ.get("GENRE_BOOK_REQUIRED") == "1"
TIMEOUT_MS = 30_000
ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no line per request in the test output
        pass


@pytest.fixture(scope="module")
def site():
    """The built book, served from a thread on a free port of 127.0.0.1."""
    from genre_lib.config import get_settings

    html = get_settings().build_dir / "book" / "html"
    if not (html / "index.html").is_file():
        what = (f"no book in {html}: run `make book` first (with the same GENRE_PROFILE and "
                "GENRE_WORK_DIR as this test)")
        if BOOK_REQUIRED:
            pytest.fail(f"{what} (GENRE_BOOK_REQUIRED=1)", pytrace=False)
        pytest.skip(what)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def page(browser, site):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    outside = []

    def local_only(route):
        if route.request.url.startswith(site):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    page.outside = outside
    yield page
    page.close()


def test_the_landing_page_lists_every_chapter_in_order(page, site):
    page.goto(site + "/index.html")
    assert "Music genre classification" in page.title()
    rows = page.locator("table").first.locator("tbody tr")
    assert rows.count() == len(CHAPTERS)
    linked = page.eval_on_selector_all(
        "table tbody tr td:first-child a", "links => links.map(a => a.getAttribute('href'))")
    assert linked == [f"notebooks/{stem}.html" for stem in CHAPTERS]
    # every row states its times (from docs/instructors.md) and what it builds on
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert len(cells) == 4 and all(c.strip() for c in cells), cells
    nav = page.eval_on_selector_all("nav a.reference.internal",
                                    "links => links.map(a => a.getAttribute('href'))")
    assert [h for h in nav if h.startswith("notebooks/")] == [f"notebooks/{stem}.html" for stem in CHAPTERS]
    assert page.outside == []  # nothing from outside 127.0.0.1


def test_a_chapter_shows_its_figures_an_audio_player_and_its_references(page, site):
    page.goto(site + f"/notebooks/{CHAPTERS[0]}.html")
    page.wait_for_function("Array.from(document.images).every(img => img.complete)")
    widths = page.eval_on_selector_all("article img", "imgs => imgs.map(img => img.naturalWidth)")
    assert len(widths) >= 3 and min(widths) > 0, widths
    assert page.locator("audio").count() >= 1
    assert page.get_attribute("audio source", "src").startswith("data:audio/wav;base64,")
    page.wait_for_function("document.querySelector('audio').duration > 0")  # the clip decodes
    references = page.locator("section#references")
    assert references.locator(".citation, [role=doc-biblioentry], .label").count() >= 1
    assert "[tzanetakis2002musical]" in references.inner_text()
    assert all("mathjax" in url for url in page.outside), page.outside  # formulas: MathJax's CDN


def test_a_docstring_notebook_line_leads_to_its_chapter(page, site):
    page.goto(site + "/api/genre_lib.audio.html")
    link = page.locator("p:has-text('Notebook:') a.reference.internal").first
    target = link.inner_text()
    assert target.endswith(".ipynb")
    link.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/notebooks/{target.removesuffix('.ipynb')}.html")
    assert page.locator("h1").first.inner_text().startswith(target[:2])


def test_the_search_page_finds_spectrogram(page, site):
    page.goto(site + "/search.html?q=spectrogram")
    page.wait_for_selector("#search-results ul.search li")
    hits = page.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
    assert any("/notebooks/" in h for h in hits), hits


def test_screenshot_of_a_chapter(page, site):
    """Chapter 04 at its first figure, saved where GENRE_SCREENSHOT_BOOK says (default: beside
    the book, ``build/book/chapter_04.png``); the page must show a figure in the shot."""
    from genre_lib.config import get_settings

    target = os.environ.get("GENRE_SCREENSHOT_BOOK") or str(get_settings().build_dir / "book" /
                                                            "chapter_04.png")
    stem = next(s for s in CHAPTERS if s.startswith("04"))
    page.goto(site + f"/notebooks/{stem}.html")
    page.wait_for_function("Array.from(document.images).every(img => img.complete)")
    page.locator("article img").first.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -260)")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=target)
    assert Path(target).stat().st_size > 10_000
