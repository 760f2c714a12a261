"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against pytest-django's live_server.

Never `playwright install`: the browser is the system one. Select or deselect these tests with -m browser.
Screenshots are test artefacts: `screenshot(name)` is their path in ARTEFACTS (`test-artefacts/screenshots/` in
the checkout, or $DMS_TEST_ARTEFACTS), kept after the run for a person or a CI job to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API keeps an asyncio loop in the test thread, and Django then refuses ORM calls there
# (SynchronousOnlyOperation). The test's own ORM calls are ordinary synchronous code: allow them. Test-only.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 20_000
ARTEFACTS = Path(os.environ.get("DMS_TEST_ARTEFACTS", Path(__file__).resolve().parents[2] / "test-artefacts"))


def screenshot(name: str) -> str:
    """Where to save the screenshot `name` (e.g. "route-map.png"): in ARTEFACTS/screenshots, created if missing."""
    folder = ARTEFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / name)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium); deselect with -m 'not browser'")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()
