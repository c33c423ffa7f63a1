"""The recipes of docs/testing-failure-paths.md: each failure injected by llmreel on replay.

The cassettes were recorded once against a real model server (llama.cpp serving
SmolLM2); the faults are never in them. A test's ``faults=`` spec says what goes
wrong and when, and ``llmreel_cassette.journal`` shows what happened.
"""

from __future__ import annotations

import anthropic
import app
import openai
import pytest

import llmreel

QUESTION = "What is the capital of France?"


# Recipe 1: retry on 429.
@pytest.mark.llmreel(faults="http=429,retry-after=0.2,first=2")
def test_a_rate_limited_question_is_retried_until_answered(
    openai_client: openai.OpenAI, llmreel_cassette: llmreel.CassetteSession
) -> None:
    assert app.answer(openai_client, QUESTION)
    assert [entry.status for entry in llmreel_cassette.journal] == [429, 429, 200]


@pytest.mark.llmreel(faults="http=429,retry-after=0.2")
def test_a_rate_limit_that_outlasts_the_retries_reaches_the_caller(
    openai_client: openai.OpenAI,
) -> None:
    with pytest.raises(openai.RateLimitError):
        app.answer(openai_client, QUESTION)


# Recipe 2: fall back to another model on 529.
@pytest.mark.llmreel(faults="http=529,retry-after=0.1,model=big-model")
def test_an_overloaded_model_falls_back_to_the_other_one(
    anthropic_client: anthropic.Anthropic,
) -> None:
    model, text = app.haiku(anthropic_client, "autumn")
    assert model == app.FALLBACK
    assert text.strip()


@pytest.mark.llmreel(name="haiku", faults="http=529,retry-after=0.1")
def test_when_every_model_is_overloaded_the_app_says_so(
    anthropic_client: anthropic.Anthropic,
) -> None:
    with pytest.raises(RuntimeError, match="every model is overloaded"):
        app.haiku(anthropic_client, "autumn")


# Recipe 3: handling a cut stream.
@pytest.mark.llmreel(name="stream", faults="cut=3")
def test_a_cut_stream_keeps_what_arrived_and_says_so(
    openai_client: openai.OpenAI, llmreel_cassette: llmreel.CassetteSession
) -> None:
    _, complete = app.stream_answer(openai_client, QUESTION)
    assert not complete
    assert llmreel_cassette.journal[0].events == 3  # what the app got before the break


@pytest.mark.llmreel(name="stream")
def test_an_unbroken_stream_is_complete(openai_client: openai.OpenAI) -> None:
    text, complete = app.stream_answer(openai_client, QUESTION)
    assert complete and text


# Recipe 4: a timeout budget.
@pytest.mark.llmreel(name="budget", faults="timeout")
def test_a_provider_that_never_answers_costs_only_the_budget(
    openai_client: openai.OpenAI,
) -> None:
    assert app.answer_within(openai_client, QUESTION, seconds=0.5) is None


@pytest.mark.llmreel(name="budget", faults="ttft=3")
def test_a_first_token_later_than_the_budget_is_given_up_on(
    openai_client: openai.OpenAI,
) -> None:
    assert app.answer_within(openai_client, QUESTION, seconds=0.5) is None


@pytest.mark.llmreel(name="budget")
def test_a_prompt_answer_fits_the_budget(openai_client: openai.OpenAI) -> None:
    assert app.answer_within(openai_client, QUESTION, seconds=10)
