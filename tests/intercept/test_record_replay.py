"""Record against real servers, replay with no network: the caller gets identical objects.

Real parts only: the llama.cpp server (OpenAI chat/completions/embeddings/responses and
Anthropic messages), the fake Ollama upstream for Ollama's native NDJSON API, and the
real openai / anthropic / ollama SDKs through httpx2 and httpx.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import ollama
import openai
import pytest

import llmreel
from upstreams.fake_ollama import FakeOllama
from upstreams.faulty import FaultyUpstream
from upstreams.llamacpp import LlamaCppServer

MESSAGES = [{"role": "user", "content": "Name one planet. Answer in one word."}]


def _dump(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_dump(o) for o in obj]
    return obj.model_dump(mode="json")


def _openai_calls(model: str) -> dict[str, Callable[[openai.OpenAI], Any]]:
    return {
        "chat": lambda c: c.chat.completions.create(
            model=model, messages=MESSAGES, max_tokens=8, temperature=0
        ),  # type: ignore[arg-type]
        "chat-stream": lambda c: list(
            c.chat.completions.create(
                model=model,
                messages=MESSAGES,
                max_tokens=8,
                temperature=0,  # type: ignore[arg-type]
                stream=True,
                stream_options={"include_usage": True},
            )
        ),
        "completion": lambda c: c.completions.create(
            model=model, prompt="The sky is", max_tokens=6, temperature=0
        ),
        "completion-stream": lambda c: list(
            c.completions.create(
                model=model, prompt="The sky is", max_tokens=6, temperature=0, stream=True
            )
        ),
        "embeddings": lambda c: c.embeddings.create(model=model, input=["hello world"]),
        "responses": lambda c: c.responses.create(
            model=model, input="Say hi", max_output_tokens=8, temperature=0
        ),
        "responses-stream": lambda c: list(
            c.responses.create(
                model=model, input="Say hi", max_output_tokens=8, temperature=0, stream=True
            )
        ),
    }


@pytest.mark.llamacpp
@pytest.mark.parametrize("name", sorted(_openai_calls("m")))
def test_openai_record_then_replay_offline(
    name: str, llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    call = _openai_calls(llamacpp_running.model)[name]
    client = openai.OpenAI(base_url=f"{llamacpp_running.base_url}/v1", api_key="sk-test")
    with llmreel.use_cassette(tmp_path, mode="record") as rec:
        live = _dump(call(client))
    assert rec.recorded == 1
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1
    assert "sk-test" not in files[0].read_text()

    with llamacpp_running.stopped(), llmreel.use_cassette(tmp_path, mode="replay") as rep:
        replayed = _dump(call(client))
    assert rep.played == 1 and not rep.misses
    assert replayed == live


@pytest.mark.llamacpp
def test_async_openai_stream_record_then_replay(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    async def run() -> Any:
        # One client per event loop, closed with it: a pooled connection left open when its
        # loop closes would be finalized later, in whichever test runs then.
        base_url = f"{llamacpp_running.base_url}/v1"
        async with openai.AsyncOpenAI(base_url=base_url, api_key="x") as client:
            stream = await client.chat.completions.create(
                model=llamacpp_running.model,
                messages=MESSAGES,  # type: ignore[arg-type]
                max_tokens=8,
                temperature=0,
                stream=True,
            )
            return [c.model_dump(mode="json") async for c in stream]

    async def record() -> Any:
        async with llmreel.use_cassette(tmp_path, mode="record-if-missing"):
            return await run()

    live = asyncio.run(record())
    with llamacpp_running.stopped():

        async def replay() -> Any:
            async with llmreel.use_cassette(tmp_path, mode="replay") as s:
                out = await run()
            assert s.played == 1
            return out

        assert asyncio.run(replay()) == live


@pytest.mark.llamacpp
@pytest.mark.parametrize("stream", [False, True], ids=["message", "stream"])
def test_anthropic_messages_record_then_replay(
    stream: bool, llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    client = anthropic.Anthropic(base_url=llamacpp_running.base_url, api_key="sk-ant-test")

    def call() -> Any:
        out = client.messages.create(
            model=llamacpp_running.model,
            max_tokens=8,
            messages=[{"role": "user", "content": "Say hi"}],
            stream=stream,
        )
        return [e.model_dump(mode="json") for e in out] if stream else out.model_dump(mode="json")

    with llmreel.use_cassette(tmp_path, mode="record"):
        live = call()
    with llamacpp_running.stopped(), llmreel.use_cassette(tmp_path, mode="replay") as s:
        assert call() == live
    assert s.played == 1


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    "call", ["chat", "chat-stream", "generate", "generate-stream", "embed", "list"]
)
def test_ollama_native_record_then_replay(
    call: str, is_async: bool, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    kwargs: dict[str, Any] = {
        "chat": {"model": "llama3.2", "messages": MESSAGES},
        "chat-stream": {"model": "llama3.2", "messages": MESSAGES, "stream": True},
        "generate": {"model": "llama3.2", "prompt": "Why is the sky blue?"},
        "generate-stream": {"model": "llama3.2", "prompt": "Why is the sky blue?", "stream": True},
        "embed": {"model": "all-minilm", "input": ["a", "b"]},
        "list": {},
    }[call]
    method = call.split("-")[0]
    streamed = call.endswith("stream")

    def run() -> Any:
        if is_async:

            async def go() -> Any:
                client = ollama.AsyncClient(host=fake_ollama.base_url)
                try:
                    out = await getattr(client, method)(**kwargs)
                    return [_dump(x) async for x in out] if streamed else _dump(out)
                finally:
                    await client._client.aclose()

            return asyncio.run(go())
        sync_client = ollama.Client(host=fake_ollama.base_url)
        with sync_client._client:
            out = getattr(sync_client, method)(**kwargs)
            return [_dump(x) for x in out] if streamed else _dump(out)

    with llmreel.use_cassette(tmp_path, mode="record"):
        live = run()
    received = len(fake_ollama.received) if hasattr(fake_ollama, "received") else None
    with llmreel.use_cassette(tmp_path, mode="replay") as s:
        assert run() == live
    assert s.played == 1
    if received is not None:
        assert len(fake_ollama.received) == received  # replay never reached the upstream
    if streamed:
        doc = next(tmp_path.glob("*.json")).read_text()
        assert '"stream":"ndjson"' in doc


def test_first_streamed_chunk_reaches_caller_before_upstream_finishes(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    """Record mode never buffers: with events 100 ms apart, the first arrives long before
    the last was sent, and the recording keeps every event with its arrival time."""
    client = openai.OpenAI(
        base_url=f"{faulty.base_url}/v1",
        api_key="x",
        default_headers={"X-Fault": "slow", "X-Fault-Events": "8", "X-Fault-Delay-Ms": "100"},
    )
    with llmreel.use_cassette(tmp_path, mode="record"):
        start = time.perf_counter()
        stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        arrivals = [time.perf_counter() - start for _ in stream]
    assert len(arrivals) >= 8
    assert arrivals[-1] - arrivals[0] > 0.5  # the upstream took its time...
    assert arrivals[0] < arrivals[-1] - 0.5  # ...and the first chunk did not wait for it
    inter = llmreel.load_file(next(tmp_path.glob("*.json")))
    times = [e.t for e in inter.response.events]
    assert times == sorted(times) and times[-1] - times[0] > 0.5
    assert inter.response.events[-1].data == "[DONE]"


def test_replay_paced_at_recorded_timing(faulty: FaultyUpstream, tmp_path: Path) -> None:
    client = openai.OpenAI(
        base_url=f"{faulty.base_url}/v1",
        api_key="x",
        default_headers={"X-Fault": "slow", "X-Fault-Events": "4", "X-Fault-Delay-Ms": "80"},
    )

    def run(pace: Any) -> float:
        with llmreel.use_cassette(tmp_path, mode="record-if-missing", pace=pace):
            start = time.perf_counter()
            list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
            return time.perf_counter() - start

    recorded = run(None)
    fast = run(None)
    paced = run("recorded")
    half = run(0.5)
    # Lower bounds are hard (sleeps never end early); upper bounds leave room for a
    # loaded machine.
    assert recorded > 0.3
    assert fast < recorded / 2
    assert paced > 0.8 * recorded - 0.05
    assert 0.35 * recorded < half < paced


@pytest.mark.parametrize("lib", ["httpx", "httpx2"])
def test_explicit_transports_record_and_replay(
    lib: str, faulty: FaultyUpstream, tmp_path: Path
) -> None:
    mod: Any = httpx if lib == "httpx" else httpx2
    sync_cls = llmreel.HttpxTransport if lib == "httpx" else llmreel.Httpx2Transport
    async_cls = llmreel.AsyncHttpxTransport if lib == "httpx" else llmreel.AsyncHttpx2Transport
    body = {"model": "m", "messages": MESSAGES, "stream": True}
    url = f"{faulty.base_url}/v1/chat/completions"

    rec = llmreel.open_engine(tmp_path, mode="record")
    with mod.Client(transport=sync_cls(rec)) as c:
        live = c.post(url, json=body).text
    assert rec.stats.recorded == 1

    rep = llmreel.open_engine(tmp_path, mode="replay")
    with mod.Client(transport=sync_cls(rep)) as c:
        assert c.post(url, json=body).text == live

    async def replay_async() -> str:
        eng = llmreel.open_engine(tmp_path, mode="replay")
        async with mod.AsyncClient(transport=async_cls(eng)) as ac:
            r = await ac.post(url, json=body)
            return str(r.text)

    assert asyncio.run(replay_async()) == live


def test_clients_created_before_the_cassette_are_intercepted(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    client = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="x")
    with llmreel.use_cassette(tmp_path, mode="record"):
        client.chat.completions.create(model="m", messages=MESSAGES)
    n = len(faulty.received)
    with llmreel.use_cassette(tmp_path, mode="replay") as s:
        client.chat.completions.create(model="m", messages=MESSAGES)
    assert s.played == 1 and len(faulty.received) == n
    # After the block the client talks to the network again.
    client.chat.completions.create(model="m", messages=MESSAGES)
    assert len(faulty.received) == n + 1


def test_requests_in_other_threads_are_intercepted(faulty: FaultyUpstream, tmp_path: Path) -> None:
    import concurrent.futures

    client = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="x")
    prompts = [[{"role": "user", "content": f"question {i}"}] for i in range(8)]
    with (
        llmreel.use_cassette(tmp_path, mode="record") as rec,
        concurrent.futures.ThreadPoolExecutor(4) as pool,
    ):
        live = list(
            pool.map(
                lambda m: client.chat.completions.create(model="m", messages=m).model_dump(),
                prompts,
            )
        )
    assert rec.recorded == 8
    with (
        llmreel.use_cassette(tmp_path, mode="replay") as rep,
        concurrent.futures.ThreadPoolExecutor(4) as pool,
    ):
        again = list(
            pool.map(
                lambda m: client.chat.completions.create(model="m", messages=m).model_dump(),
                prompts,
            )
        )
    assert again == live and rep.played == 8
