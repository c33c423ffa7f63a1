"""aiohttp and requests by hand, one cassette across every HTTP stack, and the socket guard.

Recordings are made against the real llama.cpp server (or the fake Gemini upstream where
timing matters); every replay runs inside ``block_network(allow=())``, which refuses *any*
socket connect, loopback included, so a replay that touched the network would fail.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import httpx2
import pytest
import requests

import llmreel
from llmreel.exceptions import NetworkBlockedError
from llmreel.intercept.guard import block_network
from upstreams.gemini import FakeGemini
from upstreams.llamacpp import LlamaCppServer
from upstreams.serving import run_app

pytestmark = pytest.mark.llamacpp


def offline() -> Any:
    """Every socket connect and name lookup fails, loopback included."""
    return block_network(allow=())


def chat_body(model: str, *, stream: bool, text: str = "Say hello.") -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": text}],
        "max_tokens": 8,
        "temperature": 0,
        "stream": stream,
    }


def sse_data(lines: list[bytes]) -> list[str]:
    return [ln.decode().strip() for ln in lines if ln.strip()]


@pytest.fixture
def gemini() -> Iterator[FakeGemini]:
    upstream = FakeGemini(delay=0.05)
    with run_app(upstream.app) as base_url:
        upstream.base_url = base_url
        yield upstream


# --------------------------------------------------------------------------- aiohttp


async def _aiohttp_stream_lines(url: str, body: dict[str, Any]) -> tuple[int, list[bytes]]:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as resp:
        return resp.status, [line async for line in resp.content]


async def _aiohttp_stream_iter_any(url: str, body: dict[str, Any]) -> bytes:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as resp:
        return b"".join([chunk async for chunk in resp.content.iter_any()])


async def _aiohttp_json(url: str, body: dict[str, Any]) -> tuple[int, Any, str]:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as resp:
        return resp.status, await resp.json(), await resp.text()


@pytest.mark.asyncio
async def test_aiohttp_stream_and_json_replay_offline_as_recorded(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    url = f"{llamacpp_running.base_url}/v1/chat/completions"
    streamed = chat_body(llamacpp_running.model, stream=True)
    plain = chat_body(llamacpp_running.model, stream=False)
    async with llmreel.use_cassette(tmp_path, mode="record") as rec:
        status, lines = await _aiohttp_stream_lines(url, streamed)
        jstatus, jbody, jtext = await _aiohttp_json(url, plain)
    assert (status, jstatus, rec.recorded) == (200, 200, 2)
    assert sse_data(lines)[-1] == "data: [DONE]"
    assert jbody["choices"][0]["message"]["content"]

    with offline():
        async with llmreel.use_cassette(tmp_path, mode="replay") as rep:
            rstatus, rlines = await _aiohttp_stream_lines(url, streamed)
            rjstatus, rjbody, rjtext = await _aiohttp_json(url, plain)
    assert rep.played == 2 and not rep.misses
    assert (rstatus, rjstatus) == (200, 200)
    assert sse_data(rlines) == sse_data(lines)
    assert rjbody == jbody and json.loads(rjtext) == json.loads(jtext)

    with offline():
        async with llmreel.use_cassette(tmp_path, mode="replay"):
            raw = await _aiohttp_stream_iter_any(url, streamed)
    assert raw.decode().split("\n\n")[:-1] == [ln for ln in sse_data(lines)]


@pytest.mark.asyncio
async def test_aiohttp_record_passes_each_chunk_on_before_the_upstream_finishes(
    gemini: FakeGemini, tmp_path: Path
) -> None:
    url = f"{gemini.base_url}/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    body = {"contents": [{"role": "user", "parts": [{"text": "one two three four five six"}]}]}
    arrivals: list[float] = []
    async with llmreel.use_cassette(tmp_path, mode="record") as rec:
        start = time.perf_counter()
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=body, headers={"x-goog-api-key": "AIzaFAKE"}) as resp,
        ):
            async for line in resp.content:
                if line.startswith(b"data:"):
                    arrivals.append(time.perf_counter() - start)
    assert rec.recorded == 1
    # 8 events 50 ms apart: the first reached us long before the last was sent.
    assert len(arrivals) == 8
    assert arrivals[-1] - arrivals[0] > 0.25
    (file,) = tmp_path.glob("*.json")
    stamps = [ev.t for ev in llmreel.load_file(file).response.events]
    assert len(stamps) == 8 and stamps == sorted(stamps) and stamps[-1] - stamps[0] > 0.25


@pytest.mark.asyncio
async def test_aiohttp_response_closed_early_is_recorded_as_incomplete(
    gemini: FakeGemini, tmp_path: Path
) -> None:
    url = f"{gemini.base_url}/v1beta/models/g:streamGenerateContent?alt=sse&key=AIzaFAKE"
    body = {"contents": [{"parts": [{"text": "a b c d e f g h"}]}]}
    async with llmreel.use_cassette(tmp_path, mode="record"):
        async with aiohttp.ClientSession() as session:
            resp = await session.post(url, json=body)
            first = await resp.content.readline()
            resp.close()
        await asyncio.sleep(0.05)  # let the pump task see the cancellation
    assert first.startswith(b"data:")
    (file,) = tmp_path.glob("*.json")
    recorded = llmreel.load_file(file).response
    assert recorded.complete is False
    assert "closed the response before it ended" in (recorded.error or "")
    assert 1 <= len(recorded.events) < 10


# --------------------------------------------------------------------------- requests


def test_requests_stream_and_json_replay_offline_as_recorded(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    url = f"{llamacpp_running.base_url}/v1/chat/completions"
    streamed = chat_body(llamacpp_running.model, stream=True)
    plain = chat_body(llamacpp_running.model, stream=False)
    with llmreel.use_cassette(tmp_path, mode="record") as rec:
        with requests.post(url, json=streamed, stream=True) as r:
            lines = list(r.iter_lines())
        j = requests.post(url, json=plain)
    assert rec.recorded == 2 and j.status_code == 200
    with offline(), llmreel.use_cassette(tmp_path, mode="replay") as rep:
        with requests.post(url, json=streamed, stream=True) as r:
            rlines = list(r.iter_lines())
            assert r.headers["content-type"].startswith("text/event-stream")
        rj = requests.post(url, json=plain)
    assert rep.played == 2
    assert [ln for ln in rlines if ln] == [ln for ln in lines if ln]
    assert rj.json() == j.json() and rj.status_code == 200

    # iter_content on a stream=True response yields the recorded events one by one.
    with (
        offline(),
        llmreel.use_cassette(tmp_path, mode="replay"),
        requests.Session() as s,
        s.post(url, json=streamed, stream=True) as r,
    ):
        chunks = list(r.iter_content(chunk_size=None))
    assert len(chunks) == len([ln for ln in lines if ln])
    assert all(c.endswith(b"\n\n") for c in chunks)


def test_requests_paced_replay_delivers_events_at_recorded_times(
    gemini: FakeGemini, tmp_path: Path
) -> None:
    url = f"{gemini.base_url}/v1beta/models/g:streamGenerateContent?alt=sse"
    body = {"contents": [{"parts": [{"text": "one two three four"}]}]}
    headers = {"x-goog-api-key": "AIzaFAKE"}
    with (
        llmreel.use_cassette(tmp_path, mode="record"),
        requests.post(url, json=body, headers=headers, stream=True) as r,
    ):
        live = [ln for ln in r.iter_lines() if ln]
    with offline(), llmreel.use_cassette(tmp_path, mode="replay", pace="recorded"):
        start = time.perf_counter()
        seen: list[float] = []
        with requests.post(url, json=body, headers=headers, stream=True) as r:
            for line in r.iter_lines(chunk_size=1):
                if line:
                    seen.append(time.perf_counter() - start)
    assert len(seen) == len(live) == 6
    # 50 ms between events when recorded: the replay spreads them out the same way.
    assert seen[-1] - seen[0] > 0.2


def test_requests_response_closed_early_is_recorded_as_incomplete(
    gemini: FakeGemini, tmp_path: Path
) -> None:
    url = f"{gemini.base_url}/v1beta/models/g:streamGenerateContent?alt=sse&key=AIzaFAKE"
    body = {"contents": [{"parts": [{"text": "a b c d e f g h"}]}]}
    with llmreel.use_cassette(tmp_path, mode="record"):
        r = requests.post(url, json=body, stream=True)
        first = next(r.iter_lines())
        r.close()
    assert first.startswith(b"data:")
    (file,) = tmp_path.glob("*.json")
    recorded = llmreel.load_file(file).response
    assert recorded.complete is False
    assert "closed the response before it ended" in (recorded.error or "")


# --------------------------------------------------------------------------- one cassette


# Generous timeouts: llama.cpp has one slot and the suite runs two workers.
def _httpx_stream(url: str, body: dict[str, Any]) -> list[str]:
    with httpx.Client(timeout=120) as c, c.stream("POST", url, json=body) as r:
        return [ln for ln in r.iter_lines() if ln]


def _httpx2_stream(url: str, body: dict[str, Any]) -> list[str]:
    with httpx2.Client(timeout=120) as c, c.stream("POST", url, json=body) as r:
        return [ln for ln in r.iter_lines() if ln]


def _requests_stream(url: str, body: dict[str, Any]) -> list[str]:
    with requests.post(url, json=body, stream=True) as r:
        return [ln.decode() for ln in r.iter_lines() if ln]


def _aiohttp_stream(url: str, body: dict[str, Any]) -> list[str]:
    _, lines = asyncio.run(_aiohttp_stream_lines(url, body))
    return sse_data(lines)


STACKS: dict[str, Callable[[str, dict[str, Any]], list[str]]] = {
    "httpx": _httpx_stream,
    "httpx2": _httpx2_stream,
    "requests": _requests_stream,
    "aiohttp": _aiohttp_stream,
}


@pytest.mark.parametrize("recorded_with", ["httpx2", "requests", "aiohttp"])
def test_one_cassette_replays_through_every_http_stack(
    recorded_with: str, llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    url = f"{llamacpp_running.base_url}/v1/chat/completions"
    body = chat_body(llamacpp_running.model, stream=True, text=f"Hi from {recorded_with}.")
    with llmreel.use_cassette(tmp_path, mode="record") as rec:
        live = STACKS[recorded_with](url, body)
    assert rec.recorded == 1 and live[-1] == "data: [DONE]"
    for name, call in STACKS.items():
        with offline(), llmreel.use_cassette(tmp_path, mode="replay") as rep:
            assert call(url, body) == live, name
        assert rep.played == 1, name


def test_replay_miss_through_aiohttp_and_requests_is_an_api_shaped_error(
    llamacpp_running: LlamaCppServer, gemini: FakeGemini, tmp_path: Path
) -> None:
    openai_url = f"{llamacpp_running.base_url}/v1/chat/completions"
    gemini_url = f"{gemini.base_url}/v1beta/models/g:generateContent?key=AIzaFAKE"
    with offline(), llmreel.use_cassette(tmp_path, mode="replay", on_miss="respond"):
        r = requests.post(openai_url, json=chat_body("m", stream=False))
        status, body, _ = asyncio.run(_aiohttp_json(gemini_url, {"contents": []}))
    assert r.status_code == 404 and r.headers["x-should-retry"] == "false"
    assert r.json()["error"]["code"] == "llmreel_replay_miss"
    assert "replay miss" in r.json()["error"]["message"]
    assert status == 404
    assert body["error"]["status"] == "NOT_FOUND" and "replay miss" in body["error"]["message"]

    with (
        offline(),
        llmreel.use_cassette(tmp_path, mode="replay", on_miss="raise"),
        pytest.raises(llmreel.ReplayMissError),
    ):
        requests.post(openai_url, json=chat_body("m", stream=False))


def test_passthrough_hosts_reach_the_network_from_requests_and_aiohttp(
    gemini: FakeGemini, tmp_path: Path
) -> None:
    url = f"{gemini.base_url}/v1beta/models/g:generateContent?key=AIzaFAKE"
    body = {"contents": [{"parts": [{"text": "hi"}]}]}
    with llmreel.use_cassette(tmp_path, mode="replay", passthrough_hosts=["127.0.0.1"]) as rep:
        r = requests.post(url, json=body)
        status, _, _ = asyncio.run(_aiohttp_json(url, body))
    assert r.status_code == status == 200 and gemini.requests_seen == 2
    assert rep.played == 0 and not rep.misses and not list(tmp_path.glob("*.json"))


def test_aiohttp_and_requests_are_unpatched_after_the_cassette() -> None:
    send = requests.adapters.HTTPAdapter.send
    request = aiohttp.ClientSession._request
    with llmreel.use_cassette("unused", mode="replay"):
        assert requests.adapters.HTTPAdapter.send is not send
        assert aiohttp.ClientSession._request is not request
    assert requests.adapters.HTTPAdapter.send is send
    assert aiohttp.ClientSession._request is request


# --------------------------------------------------------------------------- the guard


def test_raw_socket_around_every_interceptor_is_reported_with_what_escaped(
    tmp_path: Path,
) -> None:
    with (
        llmreel.use_cassette(tmp_path, mode="replay", block_network=True),
        pytest.raises(NetworkBlockedError) as info,
    ):
        socket.create_connection(("203.0.113.7", 8443), timeout=1)  # TEST-NET-3: never routed
    message = str(info.value)
    assert "203.0.113.7:8443" in message
    assert str(tmp_path) in message  # which cassette was replaying
    assert "went around llmreel's interceptors" in message
    assert "test_ecosystem_http.py" in message  # where the call was made
    assert "allow" in message  # what to do


def test_guard_refuses_name_lookups_before_any_dns_traffic() -> None:
    with block_network(), pytest.raises(NetworkBlockedError, match=r"api\.example\.com:443"):
        socket.getaddrinfo("api.example.com", 443)


def test_guard_allows_loopback_by_default_and_nothing_with_an_empty_allow_list(
    gemini: FakeGemini,
) -> None:
    url = f"{gemini.base_url}/v1beta/models/g:countTokens?key=AIzaFAKE"
    with block_network() as guard:
        assert requests.post(url, json={"contents": []}).status_code == 200
    assert guard.escapes == []
    with offline() as guard, pytest.raises(requests.ConnectionError) as info:
        requests.post(url, json={"contents": []})
    assert guard.escapes == [gemini.base_url.removeprefix("http://")]
    assert "llmreel blocked a network connection" in str(info.value)
    # Restored afterwards.
    assert requests.post(url, json={"contents": []}).status_code == 200


def test_block_network_applies_only_when_replaying(gemini: FakeGemini, tmp_path: Path) -> None:
    url = f"{gemini.base_url}/v1beta/models/g:generateContent?key=AIzaFAKE"
    body = {"contents": [{"parts": [{"text": "hi"}]}]}
    with llmreel.use_cassette(tmp_path, mode="record", block_network=()) as rec:
        assert requests.post(url, json=body).status_code == 200
    assert rec.recorded == 1
    with llmreel.use_cassette(tmp_path, mode="replay", block_network=()) as rep:
        assert requests.post(url, json=body).status_code == 200  # answered by the cassette
        with pytest.raises(NetworkBlockedError):
            socket.create_connection(("127.0.0.1", 9), timeout=1)
    assert rep.played == 1
