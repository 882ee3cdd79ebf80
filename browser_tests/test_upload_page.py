"""The upload page in a real headless browser: the system's Chromium, driven by Playwright.

The service runs as a process (``python -m genre_lib serve``) on a free port of 127.0.0.1
with a tiny model trained here in a temporary folder. The browser uploads a song and must
show the genre, a bar per class and a player that can play the clip; a text file and a file
over the upload limit must show a message instead.

This folder is outside ``tests/``, so ``make test`` never needs a browser: ``make
browser-test`` runs it (``.ci/run`` does, after installing Chromium when it is missing).
Without Playwright or Chromium the tests are skipped, unless ``GENRE_BROWSER_REQUIRED=1``
(set by ``make browser-test``) makes that a failure. ``GENRE_CHROMIUM`` names the browser
binary when it is not ``chromium`` on the PATH; ``GENRE_SCREENSHOT`` is where the page with
its result is saved (default: the test's temporary folder).
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

MAX_MB = 2
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A ci-profile dataset and a tiny model in a temporary folder, and test files."""
    pytest.importorskip("tensorflow")
    from genre_lib import audio, training
    from genre_lib.config import get_settings
    from genre_lib.datasets import load_table

    root = tmp_path_factory.mktemp("browser")
    settings = get_settings(dataset="synth", profile="ci", data_dir=root / "data", work_dir=root / "work")
    table = load_table(settings=settings)
    training.load_or_train("page_check", arch="cnn1d_mel", epochs=1, settings=settings)
    song = Path(table.loc[table["split"] == "test", "path"].iloc[0])
    files = {"song": root / song.name, "text": root / "notes.txt", "big": root / "big.wav"}
    shutil.copy2(song, files["song"])
    files["text"].write_text("a shopping list, not a song\n" * 40)
    audio.write_wav(files["big"], np.zeros(int(MAX_MB * 1e6 / 2) + 22050, np.float32))
    env = {"GENRE_PROFILE": "ci", "GENRE_DATASET": "synth", "GENRE_DATA_DIR": str(settings.data_dir),
           "GENRE_WORK_DIR": str(settings.work_dir), "GENRE_MAX_UPLOAD_MB": str(MAX_MB)}
    return env, files


@pytest.fixture(scope="module")
def service(setup):
    from genre_lib.serve import Service

    env, _ = setup
    with Service(model="page_check", env=env) as service:
        yield service


@pytest.fixture
def page(browser, service):
    page = browser.new_page(viewport={"width": 900, "height": 760})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(service.url + "/")
    yield page
    page.close()


def _upload(page, path: Path) -> None:
    page.set_input_files("#file", str(path))
    page.click("#send")


def test_the_page_shows_the_genre_bars_and_a_player(page, service, setup):
    _, files = setup
    expected = httpx.post(service.url + "/predict", files={"file": open(files["song"], "rb")},
                          timeout=60).json()
    started = time.perf_counter()
    _upload(page, files["song"])
    page.wait_for_selector("#result:not([hidden])")
    seconds = time.perf_counter() - started
    answer = page.inner_text("#answer")
    assert answer.startswith(f"Genre: {expected['genre']} ("), answer
    rows = page.locator("#chart .row")
    assert rows.count() == len(expected["probabilities"])
    assert rows.first.get_attribute("data-label") == expected["genre"]
    widths = page.eval_on_selector_all("#chart .bar", "bars => bars.map(b => parseFloat(b.style.width))")
    assert sum(widths) == pytest.approx(100.0, abs=1.0) and widths == sorted(widths, reverse=True)
    assert "page_check" in page.inner_text("#details")
    # the player holds the chosen file and the browser can decode it
    assert page.get_attribute("#player", "src").startswith("blob:")
    page.wait_for_function("document.getElementById('player').duration > 5.5")
    shot = Path(os.environ.get("GENRE_SCREENSHOT") or setup[1]["song"].parent / "serve_page.png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    print(f"upload to drawn result in {seconds:.2f} s; screenshot {shot}")


def test_a_text_file_gets_a_message_instead_of_a_chart(page, setup):
    _upload(page, setup[1]["text"])
    page.wait_for_selector("#status.problem")
    message = page.inner_text("#status")
    assert "notes.txt" in message and "not audio" in message and "(HTTP 415)" in message
    assert page.locator("#result").is_hidden()


def test_a_file_over_the_limit_is_refused_before_it_is_sent(page, setup):
    requests = []
    page.on("request", lambda r: requests.append(r.url) if r.method == "POST" else None)
    _upload(page, setup[1]["big"])
    page.wait_for_selector("#status.problem")
    assert f"up to {MAX_MB} MB" in page.inner_text("#status") and requests == []


def test_choosing_nothing_asks_for_a_file(page):
    page.click("#send")
    page.wait_for_selector("#status.problem")
    assert page.inner_text("#status") == "Choose an audio file first."
