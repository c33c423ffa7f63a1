"""6. The inspector on a large corpus: the first page of Browse and a search, in a real browser.

The corpus: ``tests/synthetic_corpus.py`` (3,300 llama-stack files of both generations,
built from the public conformance recordings, with broken and stale-named files), plus
the public conformance files and any llama-stack samples next to the checkout. The
inspector (``llmreel ui``) indexes it once; then, in headless Chromium:

- **browse**: open the page and wait for the first 100 rows (navigation to rows drawn);
- **search**: type a word into the search box and wait for the narrowed list.

Both are timed end to end in the browser, and their server side alone over HTTP. The
side-by-side reference is what a search costs without an index: ``llmreel ls --grep``
reads and parses every file (the CLI's own code path, in process).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from bench.browser import chromium
from bench.common import REPO, log, write_result
from llmreel.tools.catalog import find_files, load_many
from llmreel.tools.summary import prompt_text
from llmreel.ui.run import UiThread

sys.path.insert(0, str(REPO / "tests"))
from synthetic_corpus import build, conformance_dir

TARGET_S = 2.0
WORDS = ["weather", "capital", "variant 1234", "tool", "numbers"]


def _corpus(root: Path, files: int) -> dict[str, Any]:
    info = build(root / "synthetic", files)
    conf = conformance_dir()
    extra = 0
    if conf is not None:
        shutil.copytree(conf / "llama-stack", root / "conformance")
        extra += len(list((root / "conformance").rglob("*.json")))
    samples = REPO.parent / "notes" / "llama-stack-samples"
    if samples.is_dir():
        shutil.copytree(samples, root / "samples", ignore=shutil.ignore_patterns("*.md"))
        extra += len(list((root / "samples").rglob("*.json")))
    return {"synthetic": info["files"], "broken": len(info["broken"]), "real_samples": extra}


# The page's CSP forbids evaluated strings, so every wait is a locator (polled by Playwright).


def _browse(page: Any, url: str) -> float:
    started = time.perf_counter()
    page.goto(url + "#/")
    page.locator("#results tbody tr").nth(99).wait_for()
    return time.perf_counter() - started


def _search(page: Any, url: str, word: str) -> float:
    page.goto(url + "#/")
    page.locator("#results tbody tr").nth(99).wait_for()
    before = page.get_attribute("#count", "data-total")
    started = time.perf_counter()
    page.fill("#f-q", word)
    expect(page.locator("#count")).not_to_have_attribute("data-total", before, timeout=30_000)
    elapsed = time.perf_counter() - started
    assert word.split()[0] in page.evaluate("location.hash")
    return elapsed


def _grep_without_index(root: Path, word: str) -> float:
    started = time.perf_counter()
    hits = 0
    for item in load_many(find_files([root], include_yaml=True)):
        for inter in item.interactions:
            hits += word in prompt_text(inter.request.body).lower()
    return time.perf_counter() - started


def run(quick: bool = False) -> dict[str, Any]:
    files = 1000 if quick else 3300
    reps = 3 if quick else 5
    with tempfile.TemporaryDirectory(prefix="llmreel-ui-bench-") as tmp:
        root = Path(tmp)
        log(f"ui: building a corpus of {files} synthetic files plus the real samples")
        corpus = _corpus(root, files)
        started = time.perf_counter()
        with UiThread(root) as ui:
            index_s = time.perf_counter() - started
            total = ui.app.index.facets()["total"]
            log(f"ui: indexed {total} recordings in {index_s:.2f}s")
            api_page, api_search = [], []
            with httpx.Client() as client:
                for word in WORDS[:reps]:
                    t = time.perf_counter()
                    client.get(ui.url + "api/recordings", params={"limit": 100}).raise_for_status()
                    api_page.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    client.get(ui.url + "api/recordings", params={"q": word, "limit": 100})
                    api_search.append(time.perf_counter() - t)
            browse, search = [], []
            with chromium() as browser:
                for word in WORDS[:reps]:
                    context = browser.new_context(viewport={"width": 1280, "height": 900})
                    page = context.new_page()
                    browse.append(_browse(page, ui.url))
                    search.append(_search(page, ui.url, word))
                    context.close()
        grep = [_grep_without_index(root, w) for w in WORDS[:2]]
    med = statistics.median
    result = {
        "params": {"quick": quick, "files": files, "reps": reps},
        "corpus": {**corpus, "recordings": total},
        "index_build_s": index_s,
        "browser": {
            "browse_first_100_s": {"median": med(browse), "max": max(browse), "all": browse},
            "search_s": {"median": med(search), "max": max(search), "all": search},
        },
        "api": {"first_page_s": med(api_page), "search_s": med(api_search)},
        "reference": {"ls_grep_full_read_s": med(grep)},
        "ratios": {"search_api_over_full_read": med(api_search) / med(grep)},
        "target_s": TARGET_S,
    }
    write_result("ui", result)
    log(
        f"ui: browse first 100 {med(browse):.3f}s (max {max(browse):.3f}), search "
        f"{med(search):.3f}s (max {max(search):.3f}); server side {med(api_page) * 1e3:.1f} ms / "
        f"{med(api_search) * 1e3:.1f} ms; full re-read {med(grep):.2f}s"
    )
    return result


if __name__ == "__main__":
    run("--quick" in sys.argv)
