"""Frameworks on top of the SDKs: LiteLLM, LangChain (langchain-openai) and pydantic-ai.

Each test records against the real llama.cpp server, then replays inside
``block_network(allow=())`` (every socket connect refused, loopback included) and checks the
framework hands back the same objects. LiteLLM is the interesting one: its async calls go
through an httpx client whose transport is aiohttp (``LiteLLMAiohttpTransport``), and its
``aiohttp_openai/`` provider uses an aiohttp session directly; both must be recorded exactly
once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# LiteLLM downloads a model price list at import time unless told not to (no network here).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
import openai
from langchain_openai import ChatOpenAI
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

import llmreel
from llmreel.intercept.guard import block_network
from upstreams.llamacpp import LlamaCppServer

pytestmark = [
    pytest.mark.llamacpp,
    # LiteLLM's lazily imported GitHub Copilot module builds a pydantic TypeAdapter over a
    # ReadOnly TypedDict on first use; pydantic warns about it. Not ours to fix.
    pytest.mark.filterwarnings("ignore:Item.* using the `ReadOnly` qualifier:UserWarning"),
]

MESSAGES = [{"role": "user", "content": "Name a color."}]


def offline() -> Any:
    return block_network(allow=())


def _files(path: Path) -> list[str]:
    return sorted(p.name for p in path.glob("*.json"))


# --------------------------------------------------------------------------- LiteLLM


def _litellm_cached_clients() -> list[Any]:
    cache = getattr(litellm.in_memory_llm_clients_cache, "cache_dict", {})
    return list(cache.values())


@pytest.fixture
def litellm_clients_closed() -> Iterator[None]:
    """LiteLLM caches SDK clients process-wide; close the sync ones this test made, then forget
    them all, so no pooled socket outlives the test (pytest turns ResourceWarnings into errors)."""
    yield
    for client in _litellm_cached_clients():
        if isinstance(client, openai.OpenAI):
            client.close()
    litellm.in_memory_llm_clients_cache.flush_cache()


def _litellm_kwargs(server: LlamaCppServer, provider: str = "openai") -> dict[str, Any]:
    return dict(
        model=f"{provider}/{server.model}",
        api_base=f"{server.base_url}/v1",
        api_key="sk-litellm-test",
        messages=MESSAGES,
        max_tokens=6,
        temperature=0,
    )


def _litellm_sync(kw: dict[str, Any]) -> list[Any]:
    r = litellm.completion(**kw)
    chunks = list(litellm.completion(**kw, stream=True))
    return [r.choices[0].message.content, [c.choices[0].delta.content for c in chunks]]


@pytest.fixture
def main_thread_loop_closed() -> Iterator[None]:
    """LiteLLM's sync completion leaves an event loop set on the calling thread (for its async
    logging callbacks) and never closes it; close it so it isn't reported when collected."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loop = asyncio.get_event_loop_policy().get_event_loop()
    if not loop.is_running():
        loop.close()
        asyncio.set_event_loop(None)


@pytest.mark.usefixtures("litellm_clients_closed", "main_thread_loop_closed")
def test_litellm_completion_and_streaming_replay_offline(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    kw = _litellm_kwargs(llamacpp_running)
    with llmreel.use_cassette(tmp_path, mode="record") as rec:
        live = _litellm_sync(kw)
    assert rec.recorded == 2 and len(_files(tmp_path)) == 2
    assert live[0] and "".join(p or "" for p in live[1]) == live[0]
    assert all("sk-litellm-test" not in (tmp_path / f).read_text() for f in _files(tmp_path))
    with offline(), llmreel.use_cassette(tmp_path, mode="replay") as rep:
        assert _litellm_sync(kw) == live
    assert rep.played == 2 and not rep.misses


async def _litellm_async(kw: dict[str, Any]) -> list[Any]:
    r = await litellm.acompletion(**kw)
    stream = await litellm.acompletion(**kw, stream=True)
    parts = [c.choices[0].delta.content async for c in stream]
    return [r.choices[0].message.content, parts]


@pytest.mark.asyncio
@pytest.mark.usefixtures("litellm_clients_closed")
async def test_litellm_acompletion_through_aiohttp_records_once_and_replays_offline(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    kw = _litellm_kwargs(llamacpp_running)
    direct = _litellm_kwargs(llamacpp_running, provider="aiohttp_openai")
    async with llmreel.use_cassette(tmp_path, mode="record") as rec:
        live = await _litellm_async(kw)
        live_direct = (await litellm.acompletion(**direct)).choices[0].message.content
    # httpx over LiteLLM's aiohttp transport, then a bare aiohttp session: one file per call,
    # not two (the aiohttp layer under the httpx one must not record the same call again).
    assert rec.recorded == 3 and len(_files(tmp_path)) == 3
    assert live[0] and live_direct == live[0]
    with offline():
        async with llmreel.use_cassette(tmp_path, mode="replay") as rep:
            assert await _litellm_async(kw) == live
            assert (await litellm.acompletion(**direct)).choices[0].message.content == live_direct
    assert rep.played == 3 and not rep.misses
    # Close the aiohttp sessions and async SDK clients LiteLLM cached, in this event loop.
    await litellm.close_litellm_async_clients()
    for client in _litellm_cached_clients():
        if isinstance(client, openai.AsyncOpenAI):
            await client.close()


# --------------------------------------------------------------------------- LangChain


def test_langchain_chat_openai_invoke_and_stream_replay_offline(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    llm = ChatOpenAI(
        model=llamacpp_running.model,
        base_url=f"{llamacpp_running.base_url}/v1",
        api_key="sk-langchain-test",  # type: ignore[arg-type]
        max_tokens=6,  # type: ignore[call-arg]
        temperature=0,
        max_retries=0,
    )

    def calls() -> list[Any]:
        msg = llm.invoke("Name a color.")
        chunks = [c.content for c in llm.stream("Name a fruit.")]
        return [msg.content, msg.response_metadata.get("finish_reason"), chunks]

    with llmreel.use_cassette(tmp_path, mode="record") as rec:
        live = calls()
    assert rec.recorded == 2 and live[0] and "".join(live[2])
    with offline(), llmreel.use_cassette(tmp_path, mode="replay") as rep:
        assert calls() == live
    assert rep.played == 2


@pytest.mark.asyncio
async def test_langchain_chat_openai_astream_replay_offline(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    llm = ChatOpenAI(
        model=llamacpp_running.model,
        base_url=f"{llamacpp_running.base_url}/v1",
        api_key="sk-langchain-test",  # type: ignore[arg-type]
        max_tokens=6,  # type: ignore[call-arg]
        temperature=0,
        max_retries=0,
    )
    async with llmreel.use_cassette(tmp_path, mode="record") as rec:
        live = [c.content async for c in llm.astream("Name a fruit.")]
        live_msg = (await llm.ainvoke("Name a color.")).content
    assert rec.recorded == 2 and "".join(live)
    with offline():
        async with llmreel.use_cassette(tmp_path, mode="replay") as rep:
            assert [c.content async for c in llm.astream("Name a fruit.")] == live
            assert (await llm.ainvoke("Name a color.")).content == live_msg
    assert rep.played == 2


# --------------------------------------------------------------------------- pydantic-ai


def _agent(server: LlamaCppServer) -> tuple[Agent[None, str], openai.AsyncOpenAI]:
    # Our own client (not pydantic-ai's process-wide cached one), so the test can close it.
    client = openai.AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key="sk-pydantic-test")
    model = OpenAIChatModel(server.model, provider=OpenAIProvider(openai_client=client))
    return Agent(model, model_settings={"max_tokens": 6, "temperature": 0}), client


def test_pydantic_ai_agent_run_sync_replays_offline(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    agent, client = _agent(llamacpp_running)

    def in_own_thread() -> tuple[Any, Any, int, int]:
        # run_sync runs on the thread's current event loop. A thread of our own gets a loop we
        # can close, and leaves alone the main thread's (LiteLLM's sync calls set one there).
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            with llmreel.use_cassette(tmp_path, mode="record") as rec:
                live = agent.run_sync("Name a color.")
            with offline(), llmreel.use_cassette(tmp_path, mode="replay") as rep:
                again = agent.run_sync("Name a color.")
            return live, again, rec.recorded, rep.played
        finally:
            loop.run_until_complete(client.close())
            asyncio.set_event_loop(None)
            loop.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        live, again, recorded, played = pool.submit(in_own_thread).result()
    assert recorded == 1 and live.output
    assert played == 1
    assert again.output == live.output
    assert again.usage.output_tokens == live.usage.output_tokens


@pytest.mark.asyncio
async def test_pydantic_ai_agent_run_stream_replays_offline(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    agent, client = _agent(llamacpp_running)

    async def run() -> list[str]:
        async with agent.run_stream("Name a fruit.") as result:
            # No debouncing: group-by-time would make a fast replay yield fewer, larger pieces.
            return [t async for t in result.stream_text(delta=True, debounce_by=None)]

    async with client:
        async with llmreel.use_cassette(tmp_path, mode="record") as rec:
            live = await run()
        assert rec.recorded == 1 and "".join(live)
        with offline():
            async with llmreel.use_cassette(tmp_path, mode="replay") as rep:
                assert await run() == live
    assert rep.played == 1
