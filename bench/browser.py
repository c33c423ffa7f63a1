"""Debian's headless Chromium through Playwright, for the inspector benchmark and screenshot.

The system browser only (``/usr/bin/chromium``, installed by ``make test`` as root, or
``apt-get install -y chromium``); Playwright's own browser download is never used.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

CHROMIUM = Path(os.environ.get("LLMREEL_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        raise SystemExit(
            f"{CHROMIUM} is missing: apt-get install -y chromium (or run `make test` as root)"
        )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
