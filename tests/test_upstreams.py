"""Proof that the test upstreams speak their wire formats, checked with the real client SDKs.

If these fail, every record/replay test built on the upstreams is meaningless, so they come
first: llama.cpp (openai + anthropic SDKs), the fake Ollama (ollama SDK), the fault injector
(openai + anthropic SDKs, plus raw httpx for timing), and the uvicorn runner itself.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import anthropic
import httpx
import httpx2
import ollama
import openai
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from upstreams.fake_ollama import FakeOllama
from upstreams.faulty import FaultyUpstream
from upstreams.llamacpp import LlamaCppServer
from upstreams.serving import free_port, run_app

HELLO = [{"role": "user", "content": "Say hello in five words."}]

# -- serving --------------------------------------------------------------------------------


def _ticker_app() -> Starlette:
    async def ticks(request: Request) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            import anyio

            for i in range(5):
                if i:
                    await anyio.sleep(0.1)
                yield f"tick {i}\n".encode()

        return StreamingResponse(body(), media_type="text/plain")

    return Starlette(routes=[Route("/ticks", ticks)])


def test_run_app_streams_without_buffering() -> None:
    with run_app(_ticker_app()) as base_url, httpx.Client(base_url=base_url) as client:
        start = time.monotonic()
        arrivals: list[float] = []
        with client.stream("GET", "/ticks") as response:
            for _ in response.iter_raw():
                arrivals.append(time.monotonic() - start)
    # Each chunk arrives on its own, as the app yields it: first early, last ~0.4 s later.
    assert len(arrivals) == 5
    assert arrivals[-1] - arrivals[0] >= 0.35  # the first did not wait for the last


def test_free_port_is_bindable() -> None:
    port = free_port()
    with run_app(_ticker_app(), port=port) as base_url:
        assert base_url == f"http://127.0.0.1:{port}"


# -- llama.cpp (real) -------------------------------------------------------------------------

llamacpp_mark = pytest.mark.llamacpp


@pytest.fixture
def oai(llamacpp_running: LlamaCppServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{llamacpp_running.base_url}/v1", api_key="sk-none") as client:
        yield client


@llamacpp_mark
def test_llamacpp_chat_sync_stream_matches_non_stream(
    oai: openai.OpenAI, llamacpp: LlamaCppServer
) -> None:
    kwargs = {"model": llamacpp.model, "messages": HELLO, "max_tokens": 16, "temperature": 0}
    whole = oai.chat.completions.create(**kwargs)
    text = whole.choices[0].message.content
    assert text
    assert whole.model == llamacpp.model
    assert whole.usage is not None and whole.usage.completion_tokens > 0
    chunks = list(oai.chat.completions.create(stream=True, **kwargs))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 3
    assert streamed == text  # temperature 0, one slot, no prompt cache: deterministic


@llamacpp_mark
@pytest.mark.asyncio
async def test_llamacpp_chat_async(llamacpp_running: LlamaCppServer) -> None:
    base_url = f"{llamacpp_running.base_url}/v1"
    async with openai.AsyncOpenAI(base_url=base_url, api_key="sk-none") as client:
        kwargs = {"model": llamacpp_running.model, "messages": HELLO, "max_tokens": 8}
        whole = await client.chat.completions.create(temperature=0, **kwargs)
        stream = await client.chat.completions.create(stream=True, temperature=0, **kwargs)
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(parts) == whole.choices[0].message.content


@llamacpp_mark
def test_llamacpp_completions(oai: openai.OpenAI, llamacpp: LlamaCppServer) -> None:
    kwargs = {"model": llamacpp.model, "prompt": "Once upon a time", "max_tokens": 8}
    whole = oai.completions.create(temperature=0, **kwargs)
    assert whole.choices[0].text
    assert whole.choices[0].finish_reason == "length"
    chunks = list(oai.completions.create(stream=True, temperature=0, **kwargs))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == whole.choices[0].text


@llamacpp_mark
def test_llamacpp_responses(oai: openai.OpenAI, llamacpp: LlamaCppServer) -> None:
    whole = oai.responses.create(
        model=llamacpp.model, input="Say hi", max_output_tokens=8, temperature=0
    )
    assert whole.output_text
    events = list(
        oai.responses.create(
            model=llamacpp.model, input="Say hi", max_output_tokens=8, temperature=0, stream=True
        )
    )
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == whole.output_text
    assert events[-1].type == "response.completed"


@llamacpp_mark
def test_llamacpp_anthropic_messages(llamacpp_running: LlamaCppServer) -> None:
    with anthropic.Anthropic(base_url=llamacpp_running.base_url, api_key="sk-none") as client:
        # anthropic 2.x has no ``temperature`` parameter; the server defaults to 0 anyway.
        kwargs = {
            "model": llamacpp_running.model,
            "max_tokens": 8,
            "messages": HELLO,
            "extra_body": {"temperature": 0},
        }
        whole = client.messages.create(**kwargs)
        events = list(client.messages.create(stream=True, **kwargs))
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == whole.content[0].text
    assert whole.stop_reason == "max_tokens"


@llamacpp_mark
def test_llamacpp_embeddings(oai: openai.OpenAI, llamacpp: LlamaCppServer) -> None:
    result = oai.embeddings.create(model=llamacpp.model, input=["hello", "world"])
    assert [len(d.embedding) for d in result.data] == [576, 576]
    assert result.data[0].embedding != result.data[1].embedding


@llamacpp_mark
def test_llamacpp_stop_and_restart(llamacpp: LlamaCppServer) -> None:
    url = llamacpp.base_url
    with llamacpp.stopped():
        assert not llamacpp.is_running()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/health", timeout=2)
    assert llamacpp.base_url == url
    assert httpx.get(f"{url}/health", timeout=5).json() == {"status": "ok"}


@llamacpp_mark
def test_llamacpp_reports_its_generation_timings(llamacpp_running: LlamaCppServer) -> None:
    # Speed is measured in bench/, never asserted here; this only proves the server really
    # generated the tokens it was asked for.
    response = httpx.post(
        f"{llamacpp_running.base_url}/v1/chat/completions",
        json={"messages": HELLO, "max_tokens": 32, "temperature": 0},
        timeout=60,
    )
    timings = response.json()["timings"]
    assert timings["predicted_n"] > 0 and timings["predicted_per_second"] > 0
    assert llamacpp_running.startup_seconds is not None


# -- fake Ollama --------------------------------------------------------------------------


def test_fake_ollama_sync_client(fake_ollama: FakeOllama) -> None:
    with ollama.Client(host=fake_ollama.base_url) as client:
        messages = [{"role": "user", "content": "hi there"}]
        whole = client.chat(model="smollm2:135m", messages=messages)
        assert whole.message.content == "You said: hi there"
        assert whole.done and whole.done_reason == "stop" and whole.eval_count == 4
        parts = list(client.chat(model="smollm2:135m", messages=messages, stream=True))
        assert "".join(p.message.content or "" for p in parts) == "You said: hi there"
        assert [p.done for p in parts] == [False] * 4 + [True]
        assert parts[-1].total_duration and parts[-1].prompt_eval_count

        gen = client.generate(model="smollm2:135m", prompt="why", options={"num_predict": 2})
        assert (gen.response, gen.done_reason) == ("You said:", "length")
        assert gen.context
        gen_parts = list(client.generate(model="smollm2:135m", prompt="why", stream=True))
        assert "".join(p.response for p in gen_parts) == "You said: why"

        embed = client.embed(model="all-minilm", input=["a", "b"])
        assert len(embed.embeddings) == 2 and len(embed.embeddings[0]) == 8
        legacy = client.embeddings(model="all-minilm", prompt="a")
        assert list(legacy.embedding) == list(embed.embeddings[0])

        assert client.list().models[0].model == "smollm2:135m"
        assert client.ps().models[0].context_length == 4096
        assert client.show("all-minilm:latest").capabilities == ["embedding"]
        assert client.pull("smollm2:135m").status == "success"
        assert [p.status for p in client.pull("x", stream=True)][-1] == "success"
        with pytest.raises(ollama.ResponseError) as excinfo:
            client.chat(model="missing-model", messages=messages)
        assert excinfo.value.status_code == 404


@pytest.mark.asyncio
async def test_fake_ollama_async_client(fake_ollama: FakeOllama) -> None:
    async with ollama.AsyncClient(host=fake_ollama.base_url) as client:
        messages = [{"role": "user", "content": "yo"}]
        stream = await client.chat(model="smollm2:135m", messages=messages, stream=True)
        parts = [p async for p in stream]
        assert "".join(p.message.content or "" for p in parts) == "You said: yo"
        assert parts[-1].done
        whole = await client.generate(model="smollm2:135m", prompt="yo")
        assert whole.response == "You said: yo"
        embed = await client.embed(model="all-minilm", input="yo")
        assert len(embed.embeddings) == 1


def test_fake_ollama_wire_format() -> None:
    # 50 ms between lines: with client and server threads sharing one GIL, 10 ms gaps are too
    # fine to measure reliably.
    fake = FakeOllama(delay=0.05)
    with run_app(fake.app) as base_url, httpx.Client(base_url=base_url) as client:
        assert client.get("/api/version").json()["version"]
        assert client.get("/").text == "Ollama is running"
        body = {"model": "m", "messages": [{"role": "user", "content": "a b c"}]}
        start = time.monotonic()
        arrivals: list[float] = []
        with client.stream("POST", "/api/chat", json=body) as response:  # stream defaults on
            assert response.headers["content-type"] == "application/x-ndjson"
            lines = []
            for line in response.iter_lines():
                arrivals.append(time.monotonic() - start)
                lines.append(line)
    assert len(lines) == 6  # "You", " said:", " a", " b", " c", final
    assert arrivals[-1] - arrivals[0] >= 0.2
    final = httpx.Response(200, content=lines[-1]).json()
    assert final["done"] is True and final["done_reason"] == "stop" and final["eval_count"] == 5


# -- faulty ---------------------------------------------------------------------------------


@pytest.fixture
def faulty_oai(faulty: FaultyUpstream) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{faulty.base_url}/v1", api_key="sk-test", max_retries=0
    ) as client:
        yield client


def test_faulty_openai_normal(faulty: FaultyUpstream, faulty_oai: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "hi there"}]
    whole = faulty_oai.chat.completions.create(model="m", messages=messages)
    assert whole.choices[0].message.content == "hi there hi there hi"
    chunks = list(
        faulty_oai.chat.completions.create(
            model="m",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "hi there hi there hi"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    # what the upstream saw: the SDK's auth header and the JSON body
    assert faulty.last.headers["authorization"] == "Bearer sk-test"
    assert faulty.last.json["stream"] is True
    assert [r.path for r in faulty.received] == ["/v1/chat/completions"] * 2


def test_faulty_sse_wire_format(faulty: FaultyUpstream) -> None:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    response = httpx.post(f"{faulty.base_url}/v1/chat/completions", json=body)
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    events = response.text.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    assert all(e.startswith("data: {") for e in events[:-2])


@pytest.mark.asyncio
async def test_faulty_slow_stream_first_event_before_end(faulty: FaultyUpstream) -> None:
    async with openai.AsyncOpenAI(
        base_url=f"{faulty.base_url}/v1", api_key="sk-test", max_retries=0
    ) as client:
        start = time.monotonic()
        stream = await client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "slow"}],
            stream=True,
            extra_headers={"X-Fault": "slow"},
        )
        arrivals = [time.monotonic() - start async for _ in stream]
    assert len(arrivals) == 12  # role chunk + 10 content chunks + finish chunk
    assert arrivals[-1] - arrivals[0] >= 1.0  # 11 gaps of 100 ms after the first arrived


def test_faulty_cut_mid_stream(faulty_oai: openai.OpenAI) -> None:
    seen: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in faulty_oai.chat.completions.create(
            model="fault-cut",
            messages=[{"role": "user", "content": "a b c d"}],
            stream=True,
        ):
            seen.append(chunk.choices[0].delta.content or "")
    assert seen == ["", "a", " b"]  # role chunk + 2 content chunks, then the drop
    with pytest.raises(openai.APIConnectionError):
        faulty_oai.chat.completions.create(
            model="fault-cut", messages=[{"role": "user", "content": "x"}]
        )


def test_faulty_stall_times_out(faulty: FaultyUpstream) -> None:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    headers = {"X-Fault": "stall", "X-Fault-Stall": "30"}
    start = time.monotonic()
    with (
        httpx.Client(timeout=httpx.Timeout(5, read=0.3)) as client,
        client.stream(
            "POST", f"{faulty.base_url}/v1/chat/completions", json=body, headers=headers
        ) as response,
    ):
        iterator = response.iter_raw()
        assert next(iterator).startswith(b"data: ")
        with pytest.raises(httpx.ReadTimeout):
            next(iterator)
    assert time.monotonic() - start < 3


def test_faulty_errors(faulty_oai: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "x"}]
    with pytest.raises(openai.RateLimitError) as rate:
        faulty_oai.chat.completions.create(
            model="m",
            messages=messages,
            extra_headers={"X-Fault": "429", "X-Fault-Retry-After": "7"},
        )
    assert rate.value.response.headers["retry-after"] == "7"
    assert rate.value.code == "rate_limit_exceeded"
    for status in (500, 503):
        with pytest.raises(openai.InternalServerError) as server_error:
            faulty_oai.chat.completions.create(model=f"fault-{status}", messages=messages)
        assert server_error.value.status_code == status
        assert server_error.value.type == "server_error"


def test_faulty_fault_times_then_recovers(faulty: FaultyUpstream) -> None:
    # The SDK's own retry gets past a single 429 (Retry-After: 0 keeps it quick).
    with openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="k", max_retries=2) as client:
        whole = client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "ok"}],
            extra_headers={"X-Fault": "429", "X-Fault-Times": "1", "X-Fault-Retry-After": "0"},
        )
    assert whole.choices[0].message.content
    assert len(faulty.received) == 2
    assert faulty.received[1].headers["x-stainless-retry-count"] == "1"


def test_faulty_anthropic(faulty: FaultyUpstream) -> None:
    messages = [{"role": "user", "content": "hello world"}]
    with anthropic.Anthropic(base_url=faulty.base_url, api_key="ak-test", max_retries=0) as client:
        with client.messages.stream(model="m", max_tokens=10, messages=messages) as stream:
            assert "".join(stream.text_stream) == "hello world hello world hello"
        whole = client.messages.create(model="m", max_tokens=10, messages=messages)
        assert whole.content[0].text == "hello world hello world hello"
        with pytest.raises(anthropic.RateLimitError):
            client.messages.create(model="fault-429", max_tokens=10, messages=messages)
        # Unlike openai, anthropic does not wrap errors raised while iterating a stream.
        with pytest.raises((anthropic.APIConnectionError, httpx2.RemoteProtocolError)):
            list(
                client.messages.create(
                    model="fault-cut", max_tokens=10, messages=messages, stream=True
                )
            )
    assert "ak-test" in faulty.last.headers.get(
        "x-api-key", faulty.last.headers.get("authorization", "")
    )
