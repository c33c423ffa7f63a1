"""The suite's tests, written for pytest-recording: they replay from tests/cassettes/test_app/."""

from __future__ import annotations

import json
from typing import Any

import app
import openai
import pytest


@pytest.mark.vcr
@pytest.mark.parametrize("language", ["French", "German"])
def test_translate(llm: openai.OpenAI, language: str) -> None:
    answer = app.translate(llm, "cat", language)
    assert answer
    assert len(answer) < 80


@pytest.mark.vcr
def test_story_streams_in_pieces(llm: openai.OpenAI) -> None:
    pieces = list(app.story(llm, "a lighthouse"))
    assert len(pieces) > 5
    assert "".join(pieces).strip()


@pytest.mark.vcr
def test_the_cassette_says_what_was_sent(llm: openai.OpenAI, vcr: Any) -> None:
    app.translate(llm, "dog", "Spanish")
    if vcr.record_mode == "none":  # replaying (the default): the one recording played
        assert vcr.play_count == 1 and vcr.all_played
    assert len(vcr.requests) == 1
    sent = json.loads(vcr.requests[0].body)
    assert sent["messages"][1]["content"] == "Translate 'dog' into Spanish."
    assert "authorization" not in vcr.requests[0].headers
