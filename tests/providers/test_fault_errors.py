"""An injected ``http=STATUS`` answers in the provider's own error shape, with its headers.

Each shape is compared with what a test upstream speaking that API sends for a real
error of its own (the faulty OpenAI/Anthropic upstream's 429 and 529, the fake Ollama's
404, the fake Gemini's 403), and the Gemini one goes through a live cassette to the
fake Gemini's path, so the error reaches a client exactly where a real one would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import llmreel
from llmreel.providers.fault_errors import fault_error_parts
from upstreams.fake_ollama import FakeOllama
from upstreams.faulty import FaultyUpstream
from upstreams.gemini import FakeGemini
from upstreams.serving import run_app


def _shape(value: Any) -> Any:
    """The keys of a JSON document, recursively (values' types only where they are scalars)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items() if k != "request_id"}
    return type(value).__name__ if value is not None else "null"


def _injected(path: str, status: int, **kw: Any) -> tuple[dict[str, str], Any]:
    code, headers, body = fault_error_parts(path, status, **kw)
    assert code == status and dict(headers)["content-length"] == str(len(body))
    return dict(headers), orjson.loads(body)


@pytest.fixture
def gemini() -> Iterator[FakeGemini]:
    upstream = FakeGemini()
    with run_app(upstream.app) as url:
        upstream.base_url = url
        yield upstream


def test_openai_and_anthropic_errors_have_the_shape_their_apis_send(faulty: FaultyUpstream) -> None:
    for path, status, fault in (
        ("/v1/chat/completions", 429, "429"),
        ("/v1/messages", 529, "529"),
        ("/v1/messages", 429, "429"),
    ):
        real = httpx.post(
            faulty.base_url + path,
            json={"model": "m", "messages": [], "max_tokens": 1},
            headers={"x-fault": fault},
            timeout=10,
        )
        headers, body = _injected(path, status, retry_after="2")
        assert real.status_code == status and _shape(body) == _shape(real.json())
        assert headers["retry-after"] == "2" and headers["x-should-retry"] == "true"
    openai_headers, openai_body = _injected("/v1/chat/completions", 429)
    assert openai_body["error"]["code"] == "rate_limit_exceeded"
    assert openai_headers["x-ratelimit-remaining-requests"] == "0"
    assert openai_headers["x-request-id"].startswith("req_llmreel_fault_")
    anthropic_headers, anthropic_body = _injected("/v1/messages", 529)
    assert anthropic_body["error"]["type"] == "overloaded_error"
    assert anthropic_body["request_id"] == anthropic_headers["request-id"]
    _, limited = _injected("/v1/messages", 429)
    assert limited["error"]["type"] == "rate_limit_error"
    never, _ = _injected("/v1/chat/completions", 500, should_retry=False)
    assert never["x-should-retry"] == "false"
    assert _injected("/v1/chat/completions", 400)[0]["x-should-retry"] == "false"


def test_ollama_errors_are_one_string_as_ollama_sends_them(fake_ollama: FakeOllama) -> None:
    real = httpx.post(
        f"{fake_ollama.base_url}/api/chat", json={"model": "missing-model", "messages": []}
    )
    headers, body = _injected("/api/chat", 503)
    assert _shape(body) == _shape(real.json()) == {"error": "str"}
    assert "x-should-retry" not in headers  # the ollama client reads no such header


def test_gemini_errors_reach_a_client_on_geminis_own_path(
    gemini: FakeGemini, tmp_path: Path
) -> None:
    url = f"{gemini.base_url}/v1beta/models/gemini-2.0-flash:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}
    real = httpx.post(url, json=body, timeout=10)  # no API key: Gemini's 403
    with llmreel.use_cassette(tmp_path, mode="live", faults="http=429"), httpx.Client() as c:
        injected = c.post(url, json=body, headers={"x-goog-api-key": "k"})
    assert real.status_code == 403 and injected.status_code == 429
    assert _shape(injected.json()) == _shape(real.json())
    assert injected.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert gemini.requests_seen == 1  # only the unkeyed call reached it
