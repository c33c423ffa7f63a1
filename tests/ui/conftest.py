"""Fixtures for the inspector tests: the corpus, the inspector on a thread, a browser page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from llmreel.ui.run import UiThread
from ui_helpers import CHROMIUM, CHROMIUM_ARGS, build_corpus

# Playwright's expectations retry until they hold or time out (5 s by default). On a busy
# 2-core machine a page load plus a search can take longer than that, which is a slow
# machine, not a broken page; the verdict stays the same, only the patience grows.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def ui(corpus: Path) -> Iterator[UiThread]:
    with UiThread(corpus) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright: one per test module (and xdist worker).

    Module-scoped rather than session-wide: Playwright's sync API keeps an event loop of
    its own while it runs, which must be gone before another module's asyncio tests start.
    """
    if not CHROMIUM.exists():
        why = (
            f"{CHROMIUM} is missing: run `make test` as root (it installs Debian's chromium and "
            "chromium-driver), or `apt-get install -y chromium chromium-driver`"
        )
        if os.environ.get("CI") or (hasattr(os, "geteuid") and os.geteuid() == 0):
            pytest.fail(why)  # where the browser can be installed, the tests must run
        pytest.skip(why)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that fails the test on any script error or dialog."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.dialogs = []
    p.errors = []
    p.on("dialog", lambda d: (p.dialogs.append(d.message), d.dismiss()))
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    p.on("console", lambda m: p.errors.append(m.text) if m.type == "error" else None)
    try:
        yield p
        assert p.errors == [], f"script errors on the page: {p.errors}"
        assert p.dialogs == [], f"the page opened dialogs: {p.dialogs}"
    finally:
        context.close()
