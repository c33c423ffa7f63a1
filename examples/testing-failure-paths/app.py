"""A tiny LLM application and how it copes when the provider misbehaves.

Four recipes from docs/testing-failure-paths.md, each a thin layer over a real
SDK: answering despite rate limits, falling back to another model when one is
overloaded, keeping what a broken stream delivered, and answering within a
time budget. ``LLM_BASE_URL`` points at the model server while recording;
replayed, the tests need none.
"""

from __future__ import annotations

import os

import anthropic
import openai

PRIMARY = "big-model"
FALLBACK = "small-model"


def base_url() -> str:
    return os.environ.get("LLM_BASE_URL", "http://127.0.0.1:8080").rstrip("/")


def model() -> str:
    return os.environ.get("LLM_MODEL", "smollm2")


def openai_client() -> openai.OpenAI:
    # max_retries=2 is the SDK's default: a 429 or 5xx is retried twice, honouring Retry-After.
    return openai.OpenAI(base_url=base_url() + "/v1", api_key="not-needed", max_retries=2)


def anthropic_client() -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base_url(), api_key="not-needed", max_retries=2)


def _ask(question: str) -> list[openai.types.chat.ChatCompletionMessageParam]:
    return [{"role": "user", "content": question}]


# Recipe 1: retry on 429. The SDK retries by itself; the app only decides how often.
def answer(client: openai.OpenAI, question: str) -> str:
    reply = client.chat.completions.create(
        model=model(), messages=_ask(question), max_tokens=24, temperature=0
    )
    return (reply.choices[0].message.content or "").strip()


# Recipe 2: fall back to another model when the first is overloaded (HTTP 529).
def haiku(client: anthropic.Anthropic, topic: str) -> tuple[str, str]:
    for name in (PRIMARY, FALLBACK):
        try:
            message = client.messages.create(
                model=name,
                max_tokens=32,
                messages=[{"role": "user", "content": f"Write a haiku about {topic}."}],
            )
        except anthropic.APIStatusError as exc:
            if exc.status_code != 529:  # only "overloaded" moves on to the next model
                raise
            continue
        text = "".join(block.text for block in message.content if block.type == "text")
        return name, text
    raise RuntimeError(f"every model is overloaded: {PRIMARY}, {FALLBACK}")


# Recipe 3: a stream that breaks keeps what arrived, and says it is incomplete.
def stream_answer(client: openai.OpenAI, question: str) -> tuple[str, bool]:
    parts: list[str] = []
    stream = client.chat.completions.create(
        model=model(), messages=_ask(question), max_tokens=24, temperature=0, stream=True
    )
    try:
        for chunk in stream:
            if chunk.choices:
                parts.append(chunk.choices[0].delta.content or "")
    except openai.APIConnectionError:
        return "".join(parts), False
    return "".join(parts), True


# Recipe 4: a time budget; no answer in time means None, and the caller falls back.
def answer_within(client: openai.OpenAI, question: str, seconds: float) -> str | None:
    try:
        return answer(client.with_options(timeout=seconds, max_retries=0), question)
    except openai.APITimeoutError:
        return None
