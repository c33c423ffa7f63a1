"""The code under test: a translator and a storyteller over an OpenAI-compatible server.

Recorded against llama.cpp (serving SmolLM2) on 127.0.0.1:8080; ``LLM_BASE_URL``
points elsewhere. The cassettes hold the URL they were recorded with, and
pytest-recording matches on it (method, scheme, host, port, path, query), so
replay uses the same one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import openai


def client() -> openai.OpenAI:
    base = os.environ.get("LLM_BASE_URL", "http://127.0.0.1:8080").rstrip("/")
    return openai.OpenAI(base_url=base + "/v1", api_key=os.environ.get("OPENAI_API_KEY", "none"))


def translate(c: openai.OpenAI, word: str, language: str) -> str:
    reply = c.chat.completions.create(
        model="smollm2",
        messages=[
            {"role": "system", "content": "Answer with one word."},
            {"role": "user", "content": f"Translate '{word}' into {language}."},
        ],
        max_tokens=8,
        temperature=0,
    )
    return (reply.choices[0].message.content or "").strip()


def story(c: openai.OpenAI, subject: str) -> Iterator[str]:
    """A very short story, streamed: the pieces as they arrive."""
    stream = c.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": f"Tell a two-sentence story about {subject}."}],
        max_tokens=40,
        temperature=0,
        stream=True,
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content
