"""The vendor SDKs (openai, anthropic, ollama), sync and async, streamed and not, offline.

Recorded against the real llama.cpp server (OpenAI and Anthropic APIs) or the fake Ollama
upstream (Ollama's native NDJSON API), then replayed inside ``block_network(allow=())``:
every socket connect is refused, loopback included, so the SDKs can only have been answered
by the cassette. SDK retries are off so a miss cannot hide behind back-off.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import anthropic
import ollama
import openai
import pytest

import llmreel
from llmreel.intercept.guard import block_network
from upstreams.fake_ollama import FakeOllama
from upstreams.llamacpp import LlamaCppServer

MESSAGES: Any = [{"role": "user", "content": "Name a planet."}]


def offline() -> Any:
    return block_network(allow=())


def _dump(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_dump(o) for o in obj]
    return obj.model_dump(mode="json")


@pytest.mark.llamacpp
@pytest.mark.asyncio
async def test_openai_sync_and_async_stream_and_not_replay_offline(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    base = f"{llamacpp_running.base_url}/v1"
    sync = openai.OpenAI(base_url=base, api_key="sk-test", max_retries=0)
    aio = openai.AsyncOpenAI(base_url=base, api_key="sk-test", max_retries=0)
    kw: dict[str, Any] = dict(
        model=llamacpp_running.model, messages=MESSAGES, max_tokens=6, temperature=0
    )

    def sync_calls() -> list[Any]:
        return [
            _dump(sync.chat.completions.create(**kw)),
            _dump(list(sync.chat.completions.create(**kw, stream=True))),
        ]

    async def calls() -> list[Any]:
        # The sync client blocks: it runs off the event loop, as an async app would call it.
        out = await asyncio.to_thread(sync_calls)
        out.append(_dump(await aio.chat.completions.create(**kw, seed=1)))
        stream = await aio.chat.completions.create(**kw, seed=1, stream=True)
        out.append(_dump([c async for c in stream]))
        return out

    async with aio:
        with sync:
            async with llmreel.use_cassette(tmp_path, mode="record") as rec:
                live = await calls()
            assert rec.recorded == 4
            with offline():
                async with llmreel.use_cassette(tmp_path, mode="replay") as rep:
                    assert await calls() == live
    assert rep.played == 4 and not rep.misses


@pytest.mark.llamacpp
@pytest.mark.asyncio
async def test_anthropic_messages_sync_async_and_stream_events_replay_offline(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    sync = anthropic.Anthropic(
        base_url=llamacpp_running.base_url, api_key="sk-ant-test", max_retries=0
    )
    aio = anthropic.AsyncAnthropic(
        base_url=llamacpp_running.base_url, api_key="sk-ant-test", max_retries=0
    )
    # anthropic 2.x has no temperature argument; the llama.cpp upstream samples greedily.
    kw: dict[str, Any] = dict(model=llamacpp_running.model, max_tokens=6, messages=MESSAGES)

    def sync_calls() -> list[Any]:
        out = [_dump(sync.messages.create(**kw))]
        with sync.messages.stream(**kw) as stream:
            out.append([e.type for e in stream])
            out.append(_dump(stream.get_final_message()))
        return out

    async def calls() -> list[Any]:
        out = await asyncio.to_thread(sync_calls)  # the sync client, off the event loop
        out.append(_dump(await aio.messages.create(**kw, system="Be brief.")))
        return out

    async with aio:
        with sync:
            async with llmreel.use_cassette(tmp_path, mode="record") as rec:
                live = await calls()
            assert rec.recorded == 3
            assert live[1][0] == "message_start" and "message_stop" in live[1]
            with offline():
                async with llmreel.use_cassette(tmp_path, mode="replay") as rep:
                    assert await calls() == live
    assert rep.played == 3


@pytest.mark.asyncio
async def test_ollama_native_sync_and_async_stream_replay_offline(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    sync = ollama.Client(host=fake_ollama.base_url)
    aio = ollama.AsyncClient(host=fake_ollama.base_url)
    msgs = [{"role": "user", "content": "hello there"}]

    def sync_calls() -> list[Any]:
        return [
            sync.chat(model="smollm2:135m", messages=msgs).model_dump(),
            [c.model_dump() for c in sync.chat("smollm2:135m", msgs, stream=True)],
        ]

    async def calls() -> list[Any]:
        out = await asyncio.to_thread(sync_calls)  # the sync client, off the event loop
        out.append((await aio.generate(model="smollm2:135m", prompt="hi")).model_dump())
        stream = await aio.chat(model="smollm2:135m", messages=msgs, stream=True)
        out.append([c.model_dump() async for c in stream])
        return out

    try:
        async with llmreel.use_cassette(tmp_path, mode="record") as rec:
            live = await calls()
        # The sync and async streamed chats are one request sent twice: a sequence of two.
        assert rec.recorded == 4 and len(list(tmp_path.glob("*.json"))) == 4
        with offline():
            async with llmreel.use_cassette(tmp_path, mode="replay") as rep:
                assert await calls() == live
        assert rep.played == 4
    finally:
        sync.close()
        await aio.close()
