"""``llmreel serve`` recording: real upstreams, real SDKs, real sockets, real failures.

Record against the real llama.cpp server and replay with it stopped; stream through a
slow upstream without buffering; 200 concurrent streaming clients in record-if-missing;
upstream down, upstream errors, upstream cut mid-stream, client gone mid-stream; SIGTERM
while a stream is in flight; and recordings that cross adapters (server <-> in-process).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx
import ollama
import openai
import pytest

import llmreel
from llmreel.formats import load_file
from llmreel.model.interaction import Interaction
from llmreel.server import OUTCOME_HEADER
from server_helpers import cli_server, serving
from upstreams.fake_ollama import FakeOllama
from upstreams.faulty import FaultyUpstream, tokens_for
from upstreams.llamacpp import LlamaCppServer
from upstreams.serving import free_port, run_app


def _recordings(directory: Path) -> list[Interaction]:
    files = sorted(p for p in directory.rglob("*.json") if ".llmreel" not in p.parts)
    return [load_file(p) for p in files]


def _leftovers(directory: Path) -> list[Path]:
    """Temporary files a crashed or interrupted write would leave behind."""
    return [p for p in directory.rglob("*") if p.name.endswith(".partial")]


def _wait_for_recordings(directory: Path, count: int, timeout: float = 10.0) -> list[Interaction]:
    deadline = time.monotonic() + timeout
    while True:
        found = _recordings(directory) if directory.exists() else []
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def _chat_body(text: str, *, model: str = "faulty", stream: bool = True) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], "stream": stream}


def _sse_text(raw: str) -> str:
    out = []
    for line in raw.splitlines():
        if line.startswith("data: {"):
            choice = json.loads(line[6:])["choices"]
            if choice:
                out.append(choice[0]["delta"].get("content") or "")
    return "".join(out)


# --------------------------------------------------------------------------- real llama.cpp

PROMPT = [{"role": "user", "content": "Name three colours."}]


def _llamacpp_calls(base: str) -> dict[str, Any]:
    """The same calls, recorded then replayed: openai stream + not, anthropic stream, embeddings."""
    out: dict[str, Any] = {}
    with openai.OpenAI(base_url=f"{base}/v1", api_key="sk-local", max_retries=0) as client:
        stream = client.chat.completions.create(
            model="smollm2", messages=PROMPT, stream=True, max_tokens=8, temperature=0
        )
        out["stream"] = [c.model_dump(mode="json") for c in stream]
        whole = client.chat.completions.create(
            model="smollm2", messages=PROMPT, max_tokens=8, temperature=0
        )
        out["whole"] = whole.model_dump(mode="json")
        emb = client.embeddings.create(model="smollm2", input="colours")
        out["embedding"] = emb.data[0].embedding[:8]
    with anthropic.Anthropic(base_url=base, api_key="local", max_retries=0) as aclient:
        events = aclient.messages.create(
            model="smollm2", max_tokens=8, messages=PROMPT, stream=True
        )
        out["anthropic"] = [e.model_dump(mode="json") for e in events]
    return out


@pytest.mark.llamacpp
def test_record_against_real_llamacpp_then_replay_with_no_upstream(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    cassette = tmp_path / "cassette"
    with serving(cassette, mode="record-if-missing", upstream=llamacpp_running.base_url) as server:
        recorded = _llamacpp_calls(server.base_url)
        stats = httpx.get(f"{server.base_url}/_llmreel/stats").json()["total"]
    assert stats["recorded"] == 4 and stats["hits"] == 0, stats
    text = "".join(
        c["choices"][0]["delta"].get("content") or "" for c in recorded["stream"] if c["choices"]
    )
    assert text.strip()
    files = _recordings(cassette)
    assert len(files) == 4
    for f in files:
        # An SDK may hang up the moment it has its last event, a hair before the upstream's
        # own end of stream reaches the server: that recording is honestly marked as cut by
        # the client, and it must still hold every event (the replay below proves it).
        assert f.response.complete or "client" in (f.response.error or ""), f.response.error
    assert all(
        "authorization" not in {k.lower() for k in f.request.headers}
        or f.request.headers.get("authorization") != "Bearer sk-local"
        for f in files
    )
    assert "sk-local" not in "".join(p.read_text() for p in cassette.glob("*.json"))

    # The upstream is gone (nothing listens there): record-if-missing answers every call from
    # the cassette. (tests/server/test_server_node.py does the same with llama.cpp itself stopped.)
    dead = f"http://127.0.0.1:{free_port()}"
    with serving(cassette, mode="record-if-missing", upstream=dead) as server:
        replayed = _llamacpp_calls(server.base_url)
        stats = httpx.get(f"{server.base_url}/_llmreel/stats").json()["total"]
    assert replayed == recorded
    assert stats["hits"] == 4 and stats["recorded"] == 0 and stats["errors"] == 0


# --------------------------------------------------------------------------- streaming, timing


def _first_event_and_end(
    url: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[float, float, str]:
    with httpx.Client(timeout=30) as client:
        started = time.perf_counter()
        first = 0.0
        chunks: list[bytes] = []
        with client.stream("POST", url, json=body, headers=headers) as response:
            for chunk in response.iter_raw():
                if not chunks:
                    first = time.perf_counter() - started
                chunks.append(chunk)
        return first, time.perf_counter() - started, b"".join(chunks).decode()


def test_slow_upstream_streams_through_without_buffering(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    """First event long before the upstream finishes, byte-identical to going direct.

    How many milliseconds the server adds to the first byte is measured in bench/ (record
    overhead), never asserted here: timings on a loaded CI box are not a test.
    """
    slow = {"x-fault": "slow", "x-fault-events": "6", "x-fault-delay-ms": "60"}
    direct_ttfb: list[float] = []
    proxy_ttfb: list[float] = []
    with serving(tmp_path / "c", mode="record", upstream=faulty.base_url) as server:
        for i in range(7):
            body = _chat_body(f"slow question {i}")
            d_first, _, d_text = _first_event_and_end(
                f"{faulty.base_url}/v1/chat/completions", body, slow
            )
            p_first, p_total, p_text = _first_event_and_end(
                f"{server.base_url}/v1/chat/completions", body, slow
            )
            direct_ttfb.append(d_first)
            proxy_ttfb.append(p_first)
            assert p_text == d_text  # byte-identical stream
            # The upstream needs ~5 x 60 ms after its first event: that arrived long before.
            assert p_first < p_total - 0.2
    # The best of several runs: the server's own cost, not the scheduler noise of a busy box.
    overhead_ms = (min(proxy_ttfb) - min(direct_ttfb)) * 1000
    print(
        f"TTFB direct min {min(direct_ttfb) * 1000:.1f} / median "
        f"{statistics.median(direct_ttfb) * 1000:.1f} ms, through llmreel min "
        f"{min(proxy_ttfb) * 1000:.1f} / median {statistics.median(proxy_ttfb) * 1000:.1f} ms "
        f"(+{overhead_ms:.1f} ms)"
    )
    recordings = _recordings(tmp_path / "c")
    assert len(recordings) == 7
    events = recordings[0].response.events
    gaps = [b.t - a.t for a, b in itertools.pairwise(events)]
    assert statistics.median(gaps) > 0.05  # arrival times are the upstream's, not ours


def test_replay_is_fast_by_default_and_paced_when_asked(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    slow = {"x-fault": "slow", "x-fault-events": "6", "x-fault-delay-ms": "60"}
    body = _chat_body("pace me")
    cassette = tmp_path / "c"
    with serving(cassette, mode="record", upstream=faulty.base_url) as server:
        _, recorded_total, recorded = _first_event_and_end(
            f"{server.base_url}/v1/chat/completions", body, slow
        )
    with serving(cassette, on_exhausted="repeat") as server:
        _, fast_total, fast = _first_event_and_end(
            f"{server.base_url}/v1/chat/completions", body, {}
        )
    with serving(cassette, pace="recorded") as server:
        _, paced_total, paced = _first_event_and_end(
            f"{server.base_url}/v1/chat/completions", body, {}
        )
    assert fast == paced == recorded
    assert recorded_total > 0.3
    assert fast_total < recorded_total / 2
    assert paced_total > 0.8 * recorded_total


# --------------------------------------------------------------------------- concurrency


def test_200_concurrent_streaming_clients_record_if_missing(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    """Every response right, every recording present and valid, nothing duplicated or lost."""
    cassette = tmp_path / "shared"
    prompts = [f"question number {i}" for i in range(190)] + ["the same question"] * 10

    async def run_all(base: str) -> list[str]:
        limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

            async def one(text: str) -> str:
                async with client.stream(
                    "POST",
                    "/v1/chat/completions",
                    json=_chat_body(text),
                    headers={"x-llmreel-cassette": "shared"},
                ) as response:
                    assert response.status_code == 200
                    return "".join([chunk async for chunk in response.aiter_text()])

            return await asyncio.gather(*(one(p) for p in prompts))

    with serving(tmp_path, mode="record-if-missing", upstream=faulty.base_url) as server:
        started = time.perf_counter()
        first = asyncio.run(run_all(server.base_url))
        elapsed = time.perf_counter() - started
        stats = httpx.get(f"{server.base_url}/_llmreel/stats", params={"cassette": "shared"}).json()
    print(f"200 concurrent record-if-missing streams: {elapsed:.2f} s")
    for prompt, raw in zip(prompts, first, strict=True):
        assert _sse_text(raw) == "".join(tokens_for(_chat_body(prompt), 5))
        assert raw.endswith("data: [DONE]\n\n")
    assert len(faulty.received) == 200  # every request forwarded exactly once
    assert (stats["recorded"], stats["errors"], stats["in_flight"]) == (200, 0, 0)
    recordings = _recordings(cassette)
    assert len(recordings) == 200
    assert all(r.response.complete and len(r.response.events) == 8 for r in recordings)
    by_key: dict[str, list[int]] = {}
    for r in recordings:
        by_key.setdefault(r.key, []).append(r.position)
    assert len(by_key) == 191
    assert sorted(len(v) for v in by_key.values())[-1] == 10
    assert all(sorted(v) == list(range(len(v))) for v in by_key.values())
    assert not _leftovers(tmp_path)

    # The same 200 again, replay only (no upstream at all): the same bytes.
    with serving(tmp_path, mode="replay") as server:
        second = asyncio.run(run_all(server.base_url))
    assert second == first


# --------------------------------------------------------------------------- failures


def test_upstream_down_gives_502_naming_it_and_records_nothing(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with serving(tmp_path / "c", mode="record", upstream=dead) as server:
        with (
            openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x", max_retries=0) as c,
            pytest.raises(openai.APIStatusError) as err,
        ):
            c.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        stats = httpx.get(f"{server.base_url}/_llmreel/stats").json()["total"]
    assert err.value.status_code == 502
    body = err.value.body
    assert isinstance(body, dict) and body["code"] == "llmreel_upstream_error"
    assert dead in body["message"] and "ConnectError" in body["message"]
    assert stats["errors"] == 1 and stats["recorded"] == 0
    assert not (tmp_path / "c").exists() or not list((tmp_path / "c").iterdir())


def test_upstream_error_is_passed_through_recorded_and_replayed(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    messages = [{"role": "user", "content": "too many"}]
    outcomes = []
    for mode in ("record", "replay"):
        with (
            serving(tmp_path, mode=mode, upstream=faulty.base_url) as server,
            openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x", max_retries=0) as c,
            pytest.raises(openai.RateLimitError) as err,
        ):
            c.chat.completions.create(model="fault-429", messages=messages)
        outcomes.append(err.value)
    recorded, replayed = outcomes
    assert recorded.response.headers["retry-after"] == "1"
    assert recorded.response.headers[OUTCOME_HEADER] == "recorded"
    assert replayed.response.headers[OUTCOME_HEADER] == "hit"
    assert replayed.body == recorded.body
    assert replayed.response.headers["retry-after"] == "1"
    (only,) = _recordings(tmp_path)
    assert only.response.status == 429 and only.response.complete
    assert len(faulty.received) == 1


def test_a_cookie_set_by_the_upstream_is_not_sent_on_other_clients_requests(
    tmp_path: Path,
) -> None:
    # The server forwards for many clients over one pool: a Set-Cookie in one response
    # must reach that client, never be replayed by the proxy on anyone's next request.
    seen: list[str | None] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        headers = dict(scope["headers"])
        seen.append(headers[b"cookie"].decode() if b"cookie" in headers else None)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"set-cookie", b"session=first-client; Path=/"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b'{"ok": true}'})

    with (
        run_app(app) as upstream,
        serving(tmp_path, mode="live", upstream=upstream) as server,
    ):
        first = httpx.post(f"{server.base_url}/v1/echo", json={"n": 1})
        second = httpx.post(f"{server.base_url}/v1/echo", json={"n": 2})
    assert first.headers["set-cookie"] == "session=first-client; Path=/"
    assert second.status_code == 200
    assert seen == [None, None]


def test_client_leaving_mid_stream_leaves_a_correct_incomplete_recording(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    slow = {"x-fault": "slow", "x-fault-events": "30", "x-fault-delay-ms": "50"}
    with serving(tmp_path, mode="record", upstream=faulty.base_url) as server:
        with (
            httpx.Client(timeout=10) as client,
            client.stream(
                "POST",
                f"{server.base_url}/v1/chat/completions",
                json=_chat_body("leave early"),
                headers=slow,
            ) as response,
        ):
            seen = ""
            for text in response.iter_text():
                seen += text
                if seen.count("\n\n") >= 3:
                    break
        (recording,) = _wait_for_recordings(tmp_path, 1)
        stats = httpx.get(f"{server.base_url}/_llmreel/stats").json()["total"]
    assert not recording.response.complete
    assert "client disconnected" in (recording.response.error or "")
    events = recording.response.events
    assert 3 <= len(events) < 20
    # What was recorded is exactly what the upstream sent, in order.
    tokens = tokens_for(_chat_body("leave early"), 30)
    contents = [json.loads(e.data or "{}")["choices"][0]["delta"].get("content") for e in events]
    assert contents == ["", *tokens[: len(events) - 1]]
    assert stats["in_flight"] == 0 and stats["recorded"] == 1


def test_upstream_cut_mid_stream_reaches_the_client_and_is_recorded_incomplete(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    with serving(tmp_path, mode="record", upstream=faulty.base_url) as server:
        with (
            httpx.Client(timeout=10) as client,
            pytest.raises(httpx.RemoteProtocolError),
            client.stream(
                "POST",
                f"{server.base_url}/v1/chat/completions",
                json=_chat_body("cut me"),
                headers={"x-fault": "cut", "x-fault-after": "3"},
            ) as response,
        ):
            for _ in response.iter_raw():
                pass
        (recording,) = _wait_for_recordings(tmp_path, 1)
    assert not recording.response.complete
    assert "failed mid-response" in (recording.response.error or "")
    assert faulty.base_url in (recording.response.error or "")
    assert len(recording.response.events) == 3


# --------------------------------------------------------------------------- shutdown


def _stream_in_thread(
    url: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[threading.Thread, dict[str, Any], threading.Event]:
    result: dict[str, Any] = {"text": "", "error": None}
    first = threading.Event()

    def run() -> None:
        try:
            with (
                httpx.Client(timeout=30) as client,
                client.stream("POST", url, json=body, headers=headers) as response,
            ):
                for text in response.iter_text():
                    result["text"] += text
                    first.set()
        except httpx.HTTPError as exc:
            result["error"] = exc
        finally:
            first.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result, first


def test_sigterm_lets_an_in_flight_stream_finish_and_writes_it(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    cassette = tmp_path / "c"
    args = ["--dir", str(cassette), "--mode", "record", "--upstream", faulty.base_url]
    with cli_server(args, tmp_path) as server:
        thread, result, first = _stream_in_thread(
            f"{server.base_url}/v1/chat/completions",
            _chat_body("finish me"),
            {"x-fault": "slow", "x-fault-events": "8", "x-fault-delay-ms": "100"},
        )
        assert first.wait(10)
        server.proc.send_signal(signal.SIGTERM)
        rc = server.proc.wait(timeout=30)
        thread.join(10)
    assert result["error"] is None
    assert result["text"].endswith("data: [DONE]\n\n")
    (recording,) = _recordings(cassette)
    assert recording.response.complete and len(recording.response.events) == 11
    assert not _leftovers(tmp_path)
    assert rc in (0, -signal.SIGTERM), server.output()
    assert "outcome=recorded status=200" in server.output()


def test_sigterm_cuts_a_stalled_stream_after_the_grace_and_writes_it_incomplete(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    cassette = tmp_path / "c"
    args = [
        "--dir",
        str(cassette),
        "--mode",
        "record",
        "--upstream",
        faulty.base_url,
        "--shutdown-grace",
        "0.5",
    ]
    with cli_server(args, tmp_path) as server:
        thread, result, first = _stream_in_thread(
            f"{server.base_url}/v1/chat/completions",
            _chat_body("stall"),
            {"x-fault": "stall", "x-fault-after": "2", "x-fault-stall": "30"},
        )
        assert first.wait(10)
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=30)
        stopped_in = time.monotonic() - started
        thread.join(10)
    assert stopped_in < 5
    assert isinstance(result["error"], httpx.RemoteProtocolError)  # cut, not silently ended
    (recording,) = _recordings(cassette)
    assert not recording.response.complete
    assert "server shut down" in (recording.response.error or "")
    assert len(recording.response.events) == 2
    assert not _leftovers(tmp_path)


# --------------------------------------------------------------------------- across adapters


def test_recorded_through_server_replays_in_process_and_back(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    messages = [{"role": "user", "content": "one engine many adapters"}]
    with (
        serving(tmp_path / "a", mode="record", upstream=faulty.base_url) as server,
        openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x", max_retries=0) as c,
    ):
        via_server = [
            x.model_dump()
            for x in c.chat.completions.create(model="faulty", messages=messages, stream=True)
        ]
    with (
        llmreel.use_cassette(tmp_path / "a", mode="replay") as session,
        openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="x", max_retries=0) as c,
    ):
        in_process = [
            x.model_dump()
            for x in c.chat.completions.create(model="faulty", messages=messages, stream=True)
        ]
    assert in_process == via_server and session.played == 1

    messages2 = [{"role": "user", "content": "and back again"}]
    with (
        llmreel.use_cassette(tmp_path / "b", mode="record"),
        openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="x", max_retries=0) as c,
    ):
        recorded = c.chat.completions.create(model="faulty", messages=messages2)
    with (
        serving(tmp_path / "b") as server,
        openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x", max_retries=0) as c,
    ):
        replayed = c.chat.completions.create(model="faulty", messages=messages2)
    assert replayed.model_dump() == recorded.model_dump()


def test_ollama_ndjson_stream_records_and_replays_line_by_line(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    messages = [{"role": "user", "content": "why is the sky blue"}]
    results = []
    for mode in ("record", "replay"):
        with (
            serving(tmp_path, mode=mode, upstream=fake_ollama.base_url) as server,
            ollama.Client(host=server.base_url) as client,
        ):
            results.append(
                [
                    p.model_dump()
                    for p in client.chat(model="llama3.2", messages=messages, stream=True)
                ]
            )
    recorded, replayed = results
    assert replayed == recorded and len(recorded) > 2 and recorded[-1]["done"] is True
    (recording,) = _recordings(tmp_path)
    assert recording.response.stream == "ndjson"
    assert len(recording.response.events) == len(recorded)
