"""The headless browser shared by the browser tests: Playwright driving the system's Chromium
(``chromium`` on the PATH, or ``GENRE_CHROMIUM``). Without Playwright or Chromium the tests are
skipped, unless ``GENRE_BROWSER_REQUIRED=1`` (set by ``make browser-test``) makes that a
failure."""
from __future__ import annotations

import os
import shutil

import pytest

REQUIRED = os.environ.get("GENRE_BROWSER_REQUIRED") == "1"


def _missing(what: str):
    if REQUIRED:
        pytest.fail(f"{what} (GENRE_BROWSER_REQUIRED=1)", pytrace=False)
    pytest.skip(what)


def _chromium() -> str | None:
    for name in (os.environ.get("GENRE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (make setup installs it from requirements-dev.txt)")
    executable = _chromium()
    if executable is None:
        _missing("no Chromium found (apt-get install chromium, or set GENRE_CHROMIUM)")
    with sync_playwright() as p:
        # --no-sandbox: Chromium refuses to start its sandbox as root, as in CI containers
        browser = p.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()
