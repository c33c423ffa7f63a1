"""Faults in process (``use_cassette(faults=...)``, ``X-Llmreel-Fault``) seen by the real SDKs.

Replays of recordings nobody here wrote (the seed, the llama-stack conformance
Anthropic and Ollama streams) through the openai, anthropic and ollama SDKs, and the
requests and aiohttp adapters: the SDKs retry, give up, and break exactly as they
would against a provider that misbehaves. Timing is only compared with an unshaped
replay of the same recording in the same test, and only as lower bounds.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import aiohttp
import anthropic
import httpx
import httpx2
import ollama
import openai
import pytest
import requests

import llmreel
from fault_helpers import (
    OVERLOADED,
    SEED_CHUNKS,
    SEED_MESSAGES,
    SEED_MODEL,
    Arrival,
    anthropic_cassette,
    anthropic_payload,
    ollama_cassette,
    ollama_payload,
    seed_cassette,
)

NOWHERE = "http://127.0.0.1:9"  # nothing listens: every answer comes from the cassette


@pytest.fixture
def seed(shared_dir: Path, tmp_path: Path) -> Path:
    return seed_cassette(shared_dir, tmp_path / "seed")


def _openai(**kw: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{NOWHERE}/v1", api_key="sk-test", **kw)  # type: ignore[arg-type]


def _stream(client: openai.OpenAI) -> Arrival:
    return Arrival.of(
        lambda: client.chat.completions.create(
            model=SEED_MODEL, messages=SEED_MESSAGES, stream=True
        )
    )


def test_openai_retries_a_429_with_retry_after_and_succeeds_on_its_third_attempt(
    seed: Path,
) -> None:
    with (
        llmreel.use_cassette(seed, faults="http=429,retry-after=1,first=2") as cassette,
        _openai(max_retries=2) as client,
    ):
        started = time.perf_counter()
        got = _stream(client)
        elapsed = time.perf_counter() - started
    assert got.error is None and len(got.items) == SEED_CHUNKS
    assert elapsed >= 2.0  # two waits of Retry-After: 1 before the third attempt
    first, second, third = cassette.journal
    assert [e.outcome for e in cassette.journal] == ["fault", "fault", "hit"]
    assert (first.status, second.status, third.status) == (429, 429, 200)
    assert first.fault == second.fault == "http=429,retry-after=1,first=2" and third.fault is None
    assert cassette.faults == 2 and cassette.played == 1


def test_openai_raises_rate_limit_error_in_its_own_shape_when_out_of_retries(seed: Path) -> None:
    with (
        llmreel.use_cassette(seed, faults="http=429,retry-after=1,first=2") as cassette,
        _openai(max_retries=1) as client,
        pytest.raises(openai.RateLimitError) as err,
    ):
        client.chat.completions.create(model=SEED_MODEL, messages=SEED_MESSAGES, stream=True)
    exc = err.value
    assert exc.status_code == 429 and exc.code == "rate_limit_exceeded"
    assert exc.request_id is not None and exc.request_id.startswith("req_llmreel_fault_")
    headers = exc.response.headers
    assert headers["retry-after"] == "1" and headers["x-ratelimit-remaining-requests"] == "0"
    assert [e.outcome for e in cassette.journal] == ["fault", "fault"]
    assert cassette.played == 0  # the recording was never used


def test_anthropic_retries_a_529_then_raises_its_overloaded_error(
    shared_dir: Path, tmp_path: Path
) -> None:
    directory = anthropic_cassette(shared_dir, tmp_path / "anthropic")
    payload = anthropic_payload(shared_dir)
    with (
        llmreel.use_cassette(directory, faults="http=529,first=2") as cassette,
        anthropic.Anthropic(base_url=NOWHERE, api_key="ak-test", max_retries=2) as client,
    ):
        events = list(client.messages.create(**payload))
    assert events[-1].type == "message_stop"
    assert [e.status for e in cassette.journal] == [529, 529, 200]
    with (
        llmreel.use_cassette(directory, faults="http=529") as cassette,
        anthropic.Anthropic(base_url=NOWHERE, api_key="ak-test", max_retries=1) as client,
        pytest.raises(OVERLOADED) as err,
    ):
        client.messages.create(**payload)
    assert err.value.status_code == 529  # type: ignore[attr-defined]
    body = err.value.body  # type: ignore[attr-defined]
    assert body["type"] == "error" and body["error"]["type"] == "overloaded_error"
    assert [e.outcome for e in cassette.journal] == ["fault", "fault"]


def test_a_cut_stream_gives_openai_exactly_that_many_chunks_then_raises(seed: Path) -> None:
    with llmreel.use_cassette(seed, faults="cut=10") as cassette, _openai(max_retries=0) as c:
        got = _stream(c)
    assert len(got.items) == 10
    assert isinstance(got.error, openai.APIConnectionError)
    assert isinstance(got.error.__cause__, httpx2.RemoteProtocolError)
    (entry,) = cassette.journal
    assert (entry.outcome, entry.fault, entry.events) == ("hit", "cut=10", 10)
    assert entry.note == "stream broken after event 10 of 47"


def test_a_cut_stream_breaks_the_async_client_too(seed: Path) -> None:
    async def run() -> tuple[int, BaseException | None]:
        count = 0
        async with openai.AsyncOpenAI(
            base_url=f"{NOWHERE}/v1", api_key="k", max_retries=0
        ) as client:
            try:
                stream = await client.chat.completions.create(
                    model=SEED_MODEL, messages=SEED_MESSAGES, stream=True
                )
                async for _ in stream:
                    count += 1
            except openai.APIConnectionError as exc:
                return count, exc
        return count, None

    with llmreel.use_cassette(seed, faults="cut=3"):
        count, error = asyncio.run(run())
    assert count == 3 and error is not None


def test_a_malformed_event_fails_the_sdks_parser_at_that_event(seed: Path) -> None:
    with llmreel.use_cassette(seed, faults="malformed=3"), _openai(max_retries=0) as c:
        got = _stream(c)
    assert len(got.items) == 2 and got.error is not None
    assert not isinstance(got.error, openai.APIConnectionError)  # broken data, not a broken line


def test_stall_ttft_and_tps_shape_the_timing_relative_to_an_unshaped_replay(seed: Path) -> None:
    def replay(faults: str | None) -> Arrival:
        with (
            llmreel.use_cassette(seed, faults=faults, on_exhausted="repeat"),
            _openai(max_retries=0) as client,
        ):
            return _stream(client)

    plain = replay(None)
    stall = replay("stall=10:1.0")
    ttft = replay("ttft=1.0")
    tps = replay("tps=40")
    for shaped in (plain, stall, ttft, tps):
        assert shaped.error is None and len(shaped.items) == SEED_CHUNKS
    # The pause is before the 10th chunk, and at least as long as asked.
    assert stall.longest_gap_before() == 10 and plain.longest_gap_before() != 10
    assert stall.times[9] >= 1.0 > plain.times[9]
    # The first chunk waits; the others follow as fast as unshaped.
    assert ttft.longest_gap_before() == 1 and ttft.times[0] >= 1.0 > plain.times[0]
    # Chunk k is due k/40 s after the first one (the [DONE] event is the 47th).
    assert all(t >= k / 40 for k, t in enumerate(tps.times))
    assert tps.times[-1] >= (SEED_CHUNKS - 1) / 40 > plain.times[-1]


def test_p_with_a_seed_gives_the_same_faults_on_every_run(seed: Path) -> None:
    def run() -> list[bool]:
        faulted = []
        with (
            llmreel.use_cassette(seed, faults="http=500,p=0.2,seed=7", on_exhausted="repeat"),
            _openai(max_retries=0) as client,
        ):
            for _ in range(20):
                try:
                    list(
                        client.chat.completions.create(
                            model=SEED_MODEL, messages=SEED_MESSAGES, stream=True
                        )
                    )
                except openai.InternalServerError:
                    faulted.append(True)
                else:
                    faulted.append(False)
        return faulted

    first, second = run(), run()
    rng = random.Random(7)
    assert first == second == [rng.random() < 0.2 for _ in range(20)]
    assert 0 < sum(first) < 20


def test_reset_and_timeout_raise_the_http_librarys_own_errors(seed: Path) -> None:
    with (
        llmreel.use_cassette(seed, faults="reset") as cassette,
        _openai(max_retries=0) as c,
        pytest.raises(openai.APIConnectionError) as err,
    ):
        c.chat.completions.create(model=SEED_MODEL, messages=SEED_MESSAGES)
    assert isinstance(err.value.__cause__, httpx2.ReadError)
    assert "Connection reset by peer" in str(err.value.__cause__)
    assert [(e.outcome, e.status) for e in cassette.journal] == [("fault", 0)]
    with (
        llmreel.use_cassette(seed, faults="timeout") as cassette,
        _openai(max_retries=0, timeout=0.3) as client,
        pytest.raises(openai.APITimeoutError),
    ):
        client.chat.completions.create(model=SEED_MODEL, messages=SEED_MESSAGES)
    (entry,) = cassette.journal
    assert entry.outcome == "fault" and entry.duration_ms >= 300  # held until it gave up


def test_a_first_token_later_than_the_read_timeout_times_the_client_out(seed: Path) -> None:
    with (
        llmreel.use_cassette(seed, faults="ttft=5") as cassette,
        _openai(max_retries=0, timeout=0.3) as client,
    ):
        got = _stream(client)
    assert got.items == [] and isinstance(got.error, openai.APITimeoutError)
    (entry,) = cassette.journal
    assert entry.note is not None and "read timeout (0.3s) passed first" in entry.note


def test_the_fault_header_applies_to_its_client_only_and_a_bad_one_says_why(seed: Path) -> None:
    with (
        llmreel.use_cassette(seed, on_exhausted="repeat") as cassette,
        _openai(max_retries=0, default_headers={"X-Llmreel-Fault": "cut=5"}) as faulty,
        _openai(max_retries=0) as plain,
    ):
        assert len(_stream(faulty).items) == 5
        assert len(_stream(plain).items) == SEED_CHUNKS
        bad = _openai(max_retries=3, default_headers={"X-Llmreel-Fault": "cut=five"})
        with bad, pytest.raises(openai.BadRequestError) as err:
            bad.chat.completions.create(model=SEED_MODEL, messages=SEED_MESSAGES)
    assert "cut='five' is not a whole number" in str(err.value)
    assert [e.fault for e in cassette.journal] == ["cut=5", None, "cut=five"]
    assert cassette.journal[-1].outcome == "error"  # asked once: x-should-retry: false


def test_ollama_gets_its_own_error_shape_and_cut_ndjson_streams(
    shared_dir: Path, tmp_path: Path
) -> None:
    directory = ollama_cassette(shared_dir, tmp_path / "ollama")
    body = ollama_payload(shared_dir)
    client = ollama.Client(host=NOWHERE)
    with (
        llmreel.use_cassette(directory, faults="http=503"),
        pytest.raises(ollama.ResponseError) as e,
    ):
        list(client.generate(**body))
    assert e.value.status_code == 503 and e.value.error.startswith("server busy")
    with llmreel.use_cassette(directory, faults="cut=1") as cassette:
        got = Arrival.of(lambda: client.generate(**body))
    assert len(got.items) == 1 and isinstance(got.error, httpx.RemoteProtocolError)
    assert cassette.journal[0].note == "stream broken after event 1 of 2"


def test_requests_sees_an_error_answer_a_reset_and_a_cut_body(seed: Path) -> None:
    url = f"{NOWHERE}/v1/chat/completions"
    body = {"model": SEED_MODEL, "messages": SEED_MESSAGES, "stream": True}
    with llmreel.use_cassette(seed, on_exhausted="repeat") as cassette:
        limited = requests.post(url, json=body, headers={"X-Llmreel-Fault": "http=429"})
        assert limited.status_code == 429 and limited.json()["error"]["type"] == "requests"
        with pytest.raises(requests.ConnectionError, match="Connection reset by peer"):
            requests.post(url, json=body, headers={"X-Llmreel-Fault": "reset"})
        with requests.post(url, json=body, headers={"X-Llmreel-Fault": "cut=3"}, stream=True) as r:
            lines = []
            with pytest.raises(requests.exceptions.ChunkedEncodingError):
                for line in r.iter_lines():
                    lines.append(line)
        with pytest.raises(requests.ReadTimeout):
            requests.post(url, json=body, headers={"X-Llmreel-Fault": "timeout"}, timeout=0.2)
    assert [line for line in lines if line] == [line for line in lines if line][:3]
    assert len([line for line in lines if line.startswith(b"data:")]) == 3
    assert [e.outcome for e in cassette.journal] == ["fault", "fault", "hit", "fault"]


def test_aiohttp_sees_an_error_answer_a_reset_a_cut_body_and_a_read_timeout(seed: Path) -> None:
    url = f"{NOWHERE}/v1/chat/completions"
    body = {"model": SEED_MODEL, "messages": SEED_MESSAGES, "stream": True}

    async def run() -> list[bytes]:
        timeout = aiohttp.ClientTimeout(total=30, sock_read=0.2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(url, json=body, headers={"X-Llmreel-Fault": "http=503"}) as r:
                assert r.status == 503 and (await r.json())["error"]["type"] == "server_error"
            with pytest.raises(aiohttp.ClientOSError):
                await session.post(url, json=body, headers={"X-Llmreel-Fault": "reset"})
            with pytest.raises(aiohttp.ServerTimeoutError):
                await session.post(url, json=body, headers={"X-Llmreel-Fault": "timeout"})
            lines: list[bytes] = []
            async with session.post(url, json=body, headers={"X-Llmreel-Fault": "cut=4"}) as r:
                with pytest.raises(aiohttp.ClientPayloadError):
                    async for line in r.content:
                        lines.append(line)
            return lines

    with llmreel.use_cassette(seed, on_exhausted="repeat") as cassette:
        lines = asyncio.run(run())
    assert len([line for line in lines if line.startswith(b"data:")]) == 4
    assert [e.outcome for e in cassette.journal] == ["fault", "fault", "fault", "hit"]
