"""The inspector in a real headless Chromium (Debian's, driven by Playwright).

Every wait polls the DOM (Playwright's ``expect``); nothing sleeps.
"""

from __future__ import annotations

import contextlib
import importlib.resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import openai
import pytest
from playwright.sync_api import expect

from llmreel.server import ServerConfig, ServerThread
from llmreel.ui.run import UiThread
from ui_helpers import HOSTILE, SEED_ANSWER, SEED_NAME

SEED_ID = f"seed/{SEED_NAME}"


def _open(page: Any, ui: UiThread, hash_: str = "#/") -> None:
    page.goto(ui.url + hash_)
    expect(page.locator("#view")).not_to_contain_text("Loading")


def test_the_seed_answer_is_put_back_together_and_its_timeline_has_46_events(
    page: Any, ui: UiThread
) -> None:
    _open(page, ui, f"#/r/{quote(SEED_ID)}")
    expect(page.locator("#answer")).to_contain_text(SEED_ANSWER)
    expect(page.locator(".messages .msg")).to_have_count(1)
    expect(page.locator(".messages")).to_contain_text("What is the name of the US captial?")
    expect(page.locator("svg.timeline .ev")).to_have_count(46)
    expect(page.locator("#timeline-stats")).to_contain_text("46 events, then [DONE]")
    expect(page.locator("#file-path")).to_contain_text(SEED_ID)
    # The raw file is one click away.
    expect(page.locator("#raw")).to_be_hidden()
    page.click("#raw-toggle")
    expect(page.locator("#raw-file")).to_contain_text(
        '"__type__": "openai.types.chat.chat_completion_chunk'
    )


def test_filtering_by_model_and_searching_narrow_the_list(page: Any, ui: UiThread) -> None:
    _open(page, ui)
    count = page.locator("#count")
    expect(page.locator("#results tbody tr")).not_to_have_count(0)
    everything = int(count.get_attribute("data-total"))
    assert everything >= 5
    page.select_option("#f-model", "alpha-model")
    expect(count).to_have_attribute("data-total", "2")
    expect(page.locator("#results tbody tr")).to_have_count(2)
    for cell in page.locator("#results td.c-model").all_text_contents():
        assert cell == "alpha-model"
    assert "model=alpha-model" in page.evaluate("location.hash")
    page.select_option("#f-model", "")
    expect(count).to_have_attribute("data-total", str(everything))
    page.fill("#f-q", "paris")
    expect(count).to_have_attribute("data-total", "1")
    expect(page.locator("#results td.c-prompt")).to_contain_text("what is the weather in Paris")


def test_recorded_html_shows_as_text_and_runs_nothing(page: Any, ui: UiThread) -> None:
    _open(page, ui, "#/?q=onerror")
    expect(page.locator("#count")).to_have_attribute("data-total", "1")
    expect(page.locator("#results .preview")).to_have_text(HOSTILE)
    page.click("#results a.open")
    expect(page.locator(".messages .text")).to_have_text(HOSTILE)
    expect(page.locator("#answer")).to_contain_text("<script>alert(1)</script>")
    # Had any of it been parsed as HTML, the <img onerror> would have opened a dialog
    # (the page fixture fails the test on any dialog) and these elements would exist.
    assert page.locator("#view script, #view img").count() == 0
    assert page.dialogs == []


def test_keyboard_only(page: Any, ui: UiThread) -> None:
    _open(page, ui)
    expect(page.locator("#results tbody tr")).not_to_have_count(0)
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "f-q"
    page.keyboard.type("washington")
    expect(page.locator("#count")).to_have_attribute("data-total", "1")
    page.keyboard.press("Escape")
    page.locator("body").focus()
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("j")
    expect(page.locator("#results tr.selected")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator("#answer")).to_contain_text(SEED_ANSWER)
    page.keyboard.press("r")
    expect(page.locator("#raw")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#f-q")).to_have_value("washington")


def test_a_narrow_window_needs_no_sideways_scrolling(browser: Any, ui: UiThread) -> None:
    context = browser.new_context(viewport={"width": 380, "height": 800})
    try:
        page = context.new_page()
        for hash_ in ("#/", f"#/r/{quote(SEED_ID)}", "#/usage"):
            page.goto(ui.url + hash_)
            expect(page.locator("#view h1")).to_be_visible()
            expect(page.locator("#view")).not_to_contain_text("Loading")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 380, (hash_, width)
    finally:
        context.close()


def test_usage_page_matches_the_recorded_usage(page: Any, ui: UiThread) -> None:
    doc = httpx.get(ui.url + "api/usage").json()
    beta = next(m for m in doc["models"] if m["model"] == "beta-model")
    _open(page, ui, "#/usage")
    row = page.locator("#usage-models tbody tr", has_text="beta-model")
    expect(row).to_contain_text(f"{beta['total']:,}")
    expect(page.locator("#usage-groups tbody tr", has_text="beta-model")).to_contain_text(
        "/v1/chat/completions"
    )


def _ask(client: openai.OpenAI, question: str) -> str:
    stream = client.chat.completions.create(
        model="llama3.2:3b-instruct-fp16",
        messages=[{"role": "user", "content": question}],
        stream=True,
    )
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def test_live_traffic_is_pushed_to_an_open_page_and_a_miss_shows_the_changed_word(
    page: Any, tmp_path: Path
) -> None:
    seed = importlib.resources.files("llmreel").joinpath("demo_data", "seed", SEED_NAME)
    (tmp_path / SEED_NAME).write_bytes(seed.read_bytes())
    with ServerThread(ServerConfig.build(tmp_path)) as srv:
        page.goto(f"{srv.base_url}/_llmreel/ui/#/live")
        expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
        page.evaluate("window.stillTheSamePage = true")
        client = openai.OpenAI(base_url=f"{srv.base_url}/v1", api_key="sk-none", max_retries=0)
        with client:
            assert _ask(client, "What is the name of the US captial?").startswith(SEED_ANSWER)
            # Within a second of the answer, without reloading: the journal is pushed (SSE).
            hit = page.locator("#live-body tr.entry.outcome-hit")
            expect(hit).to_have_count(1, timeout=1000)
            expect(hit).to_contain_text("POST /v1/chat/completions")
            expect(hit).to_contain_text("llama3.2:3b-instruct-fp16")
            expect(hit.locator("a")).to_have_text(SEED_NAME)
            with pytest.raises(openai.NotFoundError):
                _ask(client, "What is the name of the US capital?")
        miss = page.locator("#live-body tr.entry.outcome-miss")
        expect(miss).to_have_count(1, timeout=1000)
        assert page.evaluate("window.stillTheSamePage") is True
        why = page.locator("#live-body details.miss[open]")
        expect(why.locator(".changed ins")).to_contain_text("capital")
        expect(why.locator(".changed del")).to_contain_text("captial")
        expect(why.locator("pre.diff .add")).to_contain_text("capital")
        # The closest recording is one click away.
        why.locator(".closest a", has_text=SEED_NAME).click()
        expect(page.locator("#answer")).to_contain_text(SEED_ANSWER)


def test_only_problems_on_the_live_page_keeps_injected_faults_and_their_specs(
    page: Any, tmp_path: Path
) -> None:
    seed = importlib.resources.files("llmreel").joinpath("demo_data", "seed", SEED_NAME)
    (tmp_path / SEED_NAME).write_bytes(seed.read_bytes())
    with ServerThread(ServerConfig.build(tmp_path, on_exhausted="repeat")) as srv:
        page.goto(f"{srv.base_url}/_llmreel/ui/#/live")
        expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
        page.check("#live-problems")
        for fault in (None, "cut=3", "http=429"):
            headers = {"X-Llmreel-Fault": fault} if fault else {}
            client = openai.OpenAI(
                base_url=f"{srv.base_url}/v1", api_key="k", max_retries=0, default_headers=headers
            )
            with client, contextlib.suppress(openai.APIError):
                _ask(client, "What is the name of the US captial?")
        rows = page.locator("#live-body tr.entry")
        expect(rows).to_have_count(2, timeout=2000)  # the plain hit is not a problem
        expect(page.locator("#live-body tr.entry.outcome-hit .badge.fault")).to_have_text(
            "fault cut=3"
        )
        expect(page.locator("#live-body tr.entry.outcome-fault")).to_contain_text("429")
        expect(page.locator("#live-body tr.note").first).to_contain_text("injected HTTP 429")
