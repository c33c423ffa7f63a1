"""Provider coverage: Gemini REST, Azure OpenAI, the Responses API (streaming and background
polling), Anthropic tool use, and the provider table that keeps keys out of matches and off disk.

Gemini and Azure paths are not served by llama.cpp: Gemini is the fake upstream in
``upstreams/gemini.py`` (real SSE with delays); Azure is llama.cpp behind the path-rewriting
front in ``upstreams/azure.py``. Replays run inside ``block_network(allow=())``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import httpx
import openai
import pytest
import requests

import llmreel
from llmreel.intercept.guard import block_network
from llmreel.matching import DEFAULT_IGNORED_QUERY, Matcher
from llmreel.model.interaction import Request
from llmreel.providers.error_shapes import family_of
from llmreel.providers.table import CREDENTIAL_HEADERS, IGNORED_QUERY, PROVIDERS, provider_for
from llmreel.redaction import CREDENTIAL_HEADERS as REDACTED_HEADERS
from upstreams.azure import AzureFront
from upstreams.gemini import FakeGemini
from upstreams.llamacpp import LlamaCppServer
from upstreams.responses_bg import BackgroundResponses
from upstreams.serving import run_app

GEMINI_KEY = "AIzaSyFAKE-not-a-real-key-0123456789abc"  # shaped like a Google key on purpose


def offline() -> Any:
    return block_network(allow=())


def _all_text(path: Path) -> str:
    return "\n".join(p.read_text() for p in path.rglob("*.json"))


@pytest.fixture
def gemini() -> Iterator[FakeGemini]:
    upstream = FakeGemini(delay=0.01)
    with run_app(upstream.app) as base_url:
        upstream.base_url = base_url
        yield upstream


@pytest.fixture
def azure(llamacpp_running: LlamaCppServer) -> Iterator[AzureFront]:
    front = AzureFront(llamacpp_running.base_url, llamacpp_running.model)
    with run_app(front.app) as base_url:
        front.base_url = base_url
        yield front


# --------------------------------------------------------------------------- Gemini


def _gemini_body(text: str) -> dict[str, Any]:
    return {
        "contents": [{"role": "user", "parts": [{"text": text}]}],
        "generationConfig": {"maxOutputTokens": 16, "temperature": 0},
    }


def test_gemini_generate_and_stream_sse_replay_offline_without_the_key_on_disk(
    gemini: FakeGemini, tmp_path: Path
) -> None:
    base = f"{gemini.base_url}/v1beta/models/gemini-2.0-flash"
    body = _gemini_body("tell me about rivers")

    async def aio_stream(key_header: str) -> list[bytes]:
        url = f"{base}:streamGenerateContent?alt=sse"
        async with (
            aiohttp.ClientSession() as s,
            s.post(url, json=body, headers={"x-goog-api-key": key_header}) as r,
        ):
            # Replay writes SSE line ends as LF; Google sends CRLF. Compare the lines' content.
            return [line.strip() async for line in r.content if line.strip()]

    def calls(key: str) -> list[Any]:
        plain = requests.post(f"{base}:generateContent", params={"key": key}, json=body)
        with httpx.Client() as c:
            counted = c.post(f"{base}:countTokens?key={key}", json=body).json()
        return [plain.status_code, plain.json(), counted, asyncio.run(aio_stream(key))]

    with llmreel.use_cassette(tmp_path, mode="record") as rec:
        live = calls(GEMINI_KEY)
    assert rec.recorded == 3 and gemini.keys_seen == [GEMINI_KEY] * 3  # forwarded upstream
    assert live[0] == 200 and live[1]["candidates"][0]["content"]["parts"][0]["text"]
    assert len(live[3]) == 6 and all(line.startswith(b"data: {") for line in live[3])
    assert GEMINI_KEY not in _all_text(tmp_path)  # ... and never written

    # The key is not part of the match: a different key (or a CI placeholder) replays.
    with offline(), llmreel.use_cassette(tmp_path, mode="replay") as rep:
        assert calls("AIza-ci-placeholder") == live
    assert rep.played == 3


def test_gemini_alt_sse_and_model_in_path_are_part_of_the_match(
    gemini: FakeGemini, tmp_path: Path
) -> None:
    base = f"{gemini.base_url}/v1beta/models"
    body = _gemini_body("hello")
    headers = {"x-goog-api-key": GEMINI_KEY}
    with llmreel.use_cassette(tmp_path, mode="record"):
        requests.post(f"{base}/g1:streamGenerateContent?alt=sse", json=body, headers=headers)
    with offline(), llmreel.use_cassette(tmp_path, mode="replay", on_miss="respond"):
        as_array = requests.post(f"{base}/g1:streamGenerateContent", json=body, headers=headers)
        other_model = requests.post(
            f"{base}/g2:streamGenerateContent?alt=sse", json=body, headers=headers
        )
        same = requests.post(f"{base}/g1:streamGenerateContent?alt=sse", json=body)
    for miss in (as_array, other_model):
        assert miss.status_code == 404
        error = miss.json()["error"]  # Gemini's error shape: code, message, status
        assert error["status"] == "NOT_FOUND" and "replay miss" in error["message"]
    assert same.status_code == 200 and same.text.count("data: ") == 3


def test_gemini_function_call_replays_offline(gemini: FakeGemini, tmp_path: Path) -> None:
    url = f"{gemini.base_url}/v1beta/models/g:generateContent"
    body = {
        **_gemini_body("what is the weather in Paris?"),
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "parameters": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                        },
                    }
                ]
            }
        ],
    }
    with llmreel.use_cassette(tmp_path, mode="record"):
        live = requests.post(url, json=body, headers={"x-goog-api-key": GEMINI_KEY}).json()
    assert live["candidates"][0]["content"]["parts"][0]["functionCall"]["name"] == "get_weather"
    with offline(), llmreel.use_cassette(tmp_path, mode="replay"):
        assert requests.post(url, json=body, headers={"x-goog-api-key": "x"}).json() == live


# --------------------------------------------------------------------------- Azure OpenAI


@pytest.mark.llamacpp
@pytest.mark.asyncio
async def test_azure_openai_deployment_paths_replay_offline_without_the_api_key(
    azure: AzureFront, tmp_path: Path
) -> None:
    def clients(key: str, version: str) -> tuple[openai.AzureOpenAI, openai.AsyncAzureOpenAI]:
        kw: dict[str, Any] = dict(
            azure_endpoint=azure.base_url, api_key=key, api_version=version, max_retries=0
        )
        return openai.AzureOpenAI(**kw), openai.AsyncAzureOpenAI(**kw)

    msgs: Any = [{"role": "user", "content": "Name a planet."}]
    kw: dict[str, Any] = dict(model="smollm2", messages=msgs, max_tokens=6, temperature=0)

    async def calls(key: str, version: str = "2024-10-21") -> list[Any]:
        sync, aio = clients(key, version)
        async with aio:
            with sync:
                # The sync client blocks: off the event loop, as an async app would call it.
                chunks = await asyncio.to_thread(
                    lambda: list(sync.chat.completions.create(**kw, stream=True))
                )
            reply = await aio.chat.completions.create(**kw)
        return [[c.model_dump() for c in chunks], reply.model_dump()]

    azure_key = "0123456789abcdef0123456789abcdef"
    async with llmreel.use_cassette(tmp_path, mode="record") as rec:
        live = await calls(azure_key)
    assert rec.recorded == 2 and azure.api_keys_seen == [azure_key] * 2
    assert live[1]["choices"][0]["message"]["content"]
    files = sorted(tmp_path.glob("*.json"))
    assert azure_key not in _all_text(tmp_path)
    stored = llmreel.load_file(files[0]).request
    assert stored.path == "/openai/deployments/smollm2/chat/completions"
    assert ("api-version", "2024-10-21") in stored.query

    with offline():
        async with llmreel.use_cassette(tmp_path, mode="replay") as rep:
            assert await calls("another-key") == live
    assert rep.played == 2
    # api-version changes the answer, so it is part of the match.
    sync, aio = clients("k", "2025-04-01-preview")
    sync.close()
    with offline(), pytest.raises(llmreel.ReplayMissError, match="replay miss"):
        async with aio, llmreel.use_cassette(tmp_path, mode="replay"):
            with pytest.raises(openai.NotFoundError, match="replay miss"):
                await aio.chat.completions.create(**kw)


# --------------------------------------------------------------------------- Responses API


@pytest.mark.llamacpp
def test_responses_stream_event_types_replay_offline(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    client = openai.OpenAI(
        base_url=f"{llamacpp_running.base_url}/v1", api_key="sk-test", max_retries=0
    )

    def call() -> list[Any]:
        with client.responses.create(
            model=llamacpp_running.model,
            input="Say hi",
            max_output_tokens=6,
            temperature=0,
            stream=True,
        ) as stream:
            events = list(stream)
        return [e.model_dump(mode="json") for e in events]

    with client:
        with llmreel.use_cassette(tmp_path, mode="record"):
            live = call()
        types = [e["type"] for e in live]
        assert types[0] == "response.created" and types[-1] == "response.completed"
        assert "response.output_text.delta" in types
        with offline(), llmreel.use_cassette(tmp_path, mode="replay") as rep:
            assert call() == live
    assert rep.played == 1


def test_responses_background_polling_replays_as_a_sequence(tmp_path: Path) -> None:
    upstream = BackgroundResponses(polls_until_done=2)

    def run(base_url: str) -> list[str]:
        with openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk", max_retries=0) as client:
            created = client.responses.create(model="m", input="hello", background=True)
            statuses = [created.status]
            resp = created
            while resp.status in ("queued", "in_progress"):
                resp = client.responses.retrieve(created.id)
                statuses.append(resp.status)
        return [*statuses, resp.output_text]

    with run_app(upstream.app) as base_url, llmreel.use_cassette(tmp_path, mode="record") as rec:
        live = run(base_url)
        url = base_url
    assert live == ["queued", "in_progress", "in_progress", "completed", "Background says: hello"]
    # Three identical GETs of /v1/responses/{id}: one key, positions 0, 1, 2.
    assert (
        rec.recorded == 4 and len({p.name.rsplit("-", 1)[0] for p in tmp_path.glob("*.json")}) == 2
    )
    with offline(), llmreel.use_cassette(tmp_path, mode="replay") as rep:
        assert run(url) == live
    assert rep.played == 4
    # One poll more than was recorded is an explained miss, not a silent repeat.
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-test", max_retries=0)
    with client, offline(), llmreel.use_cassette(tmp_path, mode="replay", on_miss="respond"):
        client.responses.create(model="m", input="hello", background=True)
        for _ in range(3):
            client.responses.retrieve("resp_bg0001")
        with pytest.raises(openai.NotFoundError, match="was sent 4 times"):
            client.responses.retrieve("resp_bg0001")


# --------------------------------------------------------------------------- Anthropic tools


@pytest.mark.llamacpp
def test_anthropic_tool_use_request_and_stream_events_replay_offline(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    client = anthropic.Anthropic(
        base_url=llamacpp_running.base_url, api_key="sk-ant-test", max_retries=0
    )
    tools: Any = [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    kw: dict[str, Any] = dict(
        model=llamacpp_running.model,
        max_tokens=12,
        tools=tools,
        messages=[{"role": "user", "content": "What is the weather in Paris? Use the tool."}],
    )

    def call() -> list[Any]:
        with client.messages.stream(**kw) as stream:
            events = [e.model_dump(mode="json") for e in stream]
            final = stream.get_final_message().model_dump(mode="json")
        return [events, final]

    with client:
        with llmreel.use_cassette(tmp_path, mode="record"):
            live = call()
        assert live[0][0]["type"] == "message_start" and live[1]["content"]
        with offline(), llmreel.use_cassette(tmp_path, mode="replay") as rep:
            assert call() == live
    assert rep.played == 1
    stored = llmreel.load_file(next(tmp_path.glob("*.json"))).request
    assert stored.body["tools"][0]["name"] == "get_weather"


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize(
    ("path", "name", "family"),
    [
        ("/v1/chat/completions", "openai", "openai"),
        ("/v1/responses", "openai", "openai"),
        ("/v1/responses/resp_123", "openai", "openai"),
        ("/v1/messages", "anthropic", "anthropic"),
        ("/api/chat", "ollama", "ollama"),
        ("/v1beta/models/gemini-2.0-flash:streamGenerateContent", "gemini", "gemini"),
        ("/v1/models/gemini-pro:generateContent", "gemini", "gemini"),
        ("/openai/deployments/gpt4o/chat/completions", "azure-openai", "openai"),
        ("/healthz", "generic", "generic"),
    ],
)
def test_provider_table_recognises_each_api_and_agrees_with_error_shapes(
    path: str, name: str, family: str
) -> None:
    provider = provider_for(path)
    assert (provider.name, provider.family) == (name, family)
    if name != "generic":
        assert family_of(path) == family


def test_every_provider_credential_is_ignored_in_matches_and_redacted_on_disk() -> None:
    assert DEFAULT_IGNORED_QUERY == IGNORED_QUERY
    for provider in PROVIDERS:
        assert provider.ignored_query <= Matcher().ignore_query, provider.name
    assert CREDENTIAL_HEADERS <= REDACTED_HEADERS


def test_key_ignores_credentials_but_keeps_api_version_and_alt() -> None:
    m = Matcher()

    def key(query: list[tuple[str, str]], path: str = "/v1beta/models/g:generateContent") -> str:
        return m.key(Request("POST", "http://x" + path, path, query, {}, {"contents": []}))

    assert key([("key", "a")]) == key([("key", "b")]) == key([])
    assert key([("alt", "sse")]) != key([])
    azure = "/openai/deployments/d/chat/completions"
    assert key([("api-version", "1"), ("api-key", "s")], azure) == key(
        [("api-version", "1")], azure
    )
    assert key([("api-version", "1")], azure) != key([("api-version", "2")], azure)
