"""Tests of the app against the real openai and anthropic SDKs, replayed from cassettes.

Every test marked ``llmreel`` gets its own cassette in ``tests/cassettes/test_app/<test>/``.
"""

from __future__ import annotations

import anthropic
import app
import openai
import pytest


@pytest.mark.llmreel
def test_summary_is_one_short_sentence(openai_client: openai.OpenAI) -> None:
    summary = summarize_text(openai_client)
    assert summary
    assert len(summary.split()) <= 48


def summarize_text(client: openai.OpenAI) -> str:
    return app.summarize(
        client,
        "The city council met on Tuesday and voted to add three new bus lines, "
        "which will start running in the spring.",
    )


@pytest.mark.llmreel
@pytest.mark.parametrize(
    "review",
    ["I love this phone, the battery lasts for days!", "The screen cracked after one week."],
)
def test_sentiment_is_one_of_the_labels(openai_client: openai.OpenAI, review: str) -> None:
    assert app.sentiment(openai_client, review) in app.LABELS


@pytest.mark.llmreel
def test_haiku_streams_in_pieces(anthropic_client: anthropic.Anthropic) -> None:
    pieces = app.haiku(anthropic_client, "the sea")
    assert len(pieces) > 3  # a stream, replayed event by event, not one blob
    assert "".join(pieces).strip()


@pytest.mark.llmreel
@pytest.mark.asyncio
async def test_async_streamed_answer(async_openai_client: openai.AsyncOpenAI) -> None:
    answer = await app.chat_stream(async_openai_client, "What is the capital of France?")
    assert answer.strip()


@pytest.mark.llmreel
def test_cassette_fixture_reports_what_was_replayed(
    openai_client: openai.OpenAI, llmreel_cassette: object
) -> None:
    first = summarize_text(openai_client)
    again = summarize_text(openai_client)  # the same request twice: a sequence of two
    assert first == again  # temperature 0: the model said the same thing both times
    if getattr(llmreel_cassette, "mode", None) == "replay":
        assert getattr(llmreel_cassette, "played", 0) == 2
