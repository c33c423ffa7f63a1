"""Screenshots of the inspector for the README: ``python -m bench.ui_screenshot``.

Builds the test corpus (the seed, recordings made through the openai SDK against the
test upstream, the public llama-stack conformance files), serves it with ``llmreel ui``
on a free port, and has headless Chromium take ``docs/ui-browse.png`` and
``docs/ui-timeline.png``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import expect

from bench.browser import chromium
from bench.common import REPO
from llmreel.ui.run import UiThread

sys.path.insert(0, str(REPO / "tests"))
from ui_helpers import build_corpus

DOCS = REPO / "docs"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="llmreel-shot-") as tmp:
        build_corpus(Path(tmp) / "cassettes")
        os.chdir(tmp)  # the page shows the directory as given: a short relative name
        with UiThread(Path("cassettes")) as ui, chromium() as browser:
            context = browser.new_context(viewport={"width": 1200, "height": 720})
            page = context.new_page()
            page.goto(ui.url + "#/")
            page.locator("#results tbody tr").nth(5).wait_for()
            page.screenshot(path=str(DOCS / "ui-browse.png"))
            stalled = next(r for r in ui.app.index.rows() if "one two three" in r.preview)
            page.goto(ui.url + f"#/r/{quote(stalled.id)}")
            expect(page.locator("svg.timeline .ev")).not_to_have_count(0)
            page.locator("#timeline").scroll_into_view_if_needed()
            page.locator("#timeline").screenshot(path=str(DOCS / "ui-timeline.png"))
            context.close()
    print(f"wrote {DOCS / 'ui-browse.png'} and {DOCS / 'ui-timeline.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
