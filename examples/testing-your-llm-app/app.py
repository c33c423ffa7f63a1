"""A tiny LLM application: the code under test in this example.

Three features, each a thin layer over a real SDK, the way real apps are
written: a summary (openai, non-streaming), a sentiment label (openai, the
model's free text mapped to a fixed set), and a streamed haiku (anthropic).
The model server is whatever ``LLM_BASE_URL`` points at: a local llama.cpp or
Ollama while recording, nothing at all when the tests replay.
"""

from __future__ import annotations

import os

import anthropic
import openai

LABELS = ("positive", "negative", "neutral")


def base_url() -> str:
    return os.environ.get("LLM_BASE_URL", "http://127.0.0.1:8080").rstrip("/")


def model() -> str:
    return os.environ.get("LLM_MODEL", "smollm2")


def openai_client() -> openai.OpenAI:
    # A local model server needs no key; the SDK insists on one anyway.
    return openai.OpenAI(
        base_url=base_url() + "/v1", api_key=os.environ.get("OPENAI_API_KEY", "not-needed")
    )


def anthropic_client() -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=base_url(), api_key=os.environ.get("ANTHROPIC_API_KEY", "not-needed")
    )


def summarize(client: openai.OpenAI, text: str) -> str:
    reply = client.chat.completions.create(
        model=model(),
        temperature=0,
        max_tokens=48,
        messages=[
            {"role": "system", "content": "Summarize the user's text in one short sentence."},
            {"role": "user", "content": text},
        ],
    )
    return (reply.choices[0].message.content or "").strip()


def sentiment(client: openai.OpenAI, text: str) -> str:
    reply = client.chat.completions.create(
        model=model(),
        temperature=0,
        max_tokens=8,
        messages=[
            {
                "role": "system",
                "content": "Answer with one word: positive, negative or neutral.",
            },
            {"role": "user", "content": text},
        ],
    )
    answer = (reply.choices[0].message.content or "").lower()
    return next((label for label in LABELS if label in answer), "neutral")


def haiku(client: anthropic.Anthropic, topic: str) -> list[str]:
    """A haiku about ``topic``, streamed; returns the text pieces as they arrived."""
    pieces: list[str] = []
    with client.messages.stream(
        model=model(),
        max_tokens=40,
        messages=[{"role": "user", "content": f"Write a haiku about {topic}."}],
    ) as stream:
        pieces.extend(stream.text_stream)
    return pieces


async def chat_stream(client: openai.AsyncOpenAI, question: str) -> str:
    stream = await client.chat.completions.create(
        model=model(),
        temperature=0,
        max_tokens=32,
        stream=True,
        messages=[{"role": "user", "content": question}],
    )
    parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
    return "".join(parts)
