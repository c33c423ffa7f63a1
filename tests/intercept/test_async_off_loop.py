"""The async adapters never block their event loop, proven under blockbuster.

Every async test runs under the ``_async_tests_never_block_their_loop`` fixture
(tests/conftest.py): a blocking call made on the loop's thread with llmreel's in-process
adapters on the stack raises ``BlockingError``. These tests walk the paths that used to
block (the issue's suite saw 113 misses turn into ``BlockingError``): opening a cassette, a
hit that loads its file, a miss that re-reads the directory and explains itself, a
recording written when the stream ends, through httpx2 (openai), httpx and aiohttp.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import httpx
import openai
import pytest
from blockbuster import BlockingError

import llmreel
from upstreams.faulty import FaultyUpstream

MSGS = [{"role": "user", "content": "the quick brown fox jumps"}]


@pytest.mark.asyncio
async def test_the_detector_is_on_a_sync_enter_on_the_loop_is_caught(tmp_path: Path) -> None:
    # The control: entering a cassette with a plain `with` lists its directory on the loop.
    with pytest.raises(BlockingError), llmreel.use_cassette(tmp_path):
        pass


@pytest.mark.asyncio
async def test_openai_async_record_then_replay_then_miss_never_block(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    async with openai.AsyncOpenAI(
        base_url=f"{faulty.base_url}/v1", api_key="sk-test", max_retries=0
    ) as client:

        async def ask(text: str) -> str:
            stream = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": text}], stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

        # A recording written when the stream ends (a file write), then a second request
        # of the same block on a fresh cassette directory listing.
        async with llmreel.use_cassette(tmp_path, mode="record-if-missing") as rec:
            live = [await ask("one two three"), await ask("four five six")]
        assert rec.recorded == 2 and len(list(tmp_path.glob("*.json"))) == 2

        # A new block: each hit loads its file first (off the loop), then from memory.
        async with llmreel.use_cassette(tmp_path, mode="replay") as rep:
            replayed = [await ask("one two three"), await ask("four five six")]
        assert replayed == live and rep.played == 2

        # A miss re-reads the directory and explains itself, off the loop; the block fails.
        with pytest.raises(llmreel.ReplayMissError, match="the quick"):
            async with llmreel.use_cassette(tmp_path, mode="replay"):
                with pytest.raises(openai.NotFoundError):
                    await ask("the quick brown fox")


@pytest.mark.asyncio
async def test_concurrent_async_replays_share_the_loop(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    url = f"{faulty.base_url}/v1/chat/completions"
    bodies = [{"model": "m", "messages": [{"role": "user", "content": f"n {i}"}]} for i in range(8)]
    async with httpx.AsyncClient() as client:
        async with llmreel.use_cassette(tmp_path, mode="record"):
            live = [(await client.post(url, json=b)).json() for b in bodies]
        async with llmreel.use_cassette(tmp_path, mode="replay") as rep:
            replayed = await asyncio.gather(*(client.post(url, json=b) for b in bodies))
    assert [r.json() for r in replayed] == live and rep.played == 8


@pytest.mark.asyncio
async def test_aiohttp_record_replay_and_miss_never_block(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    url = f"{faulty.base_url}/v1/chat/completions"
    body = {"model": "m", "messages": MSGS, "stream": True}

    async def post(payload: dict[str, object]) -> tuple[int, bytes]:
        async with aiohttp.ClientSession() as session, session.post(url, json=payload) as resp:
            return resp.status, await resp.read()

    async with llmreel.use_cassette(tmp_path, mode="record") as rec:
        live = await post(body)
    assert rec.recorded == 1 and live[0] == 200
    async with llmreel.use_cassette(tmp_path, mode="replay") as rep:
        assert await post(body) == live
    assert rep.played == 1
    async with llmreel.use_cassette(tmp_path, mode="replay", on_miss="respond") as miss:
        status, text = await post({**body, "messages": [{"role": "user", "content": "other"}]})
    assert status == 404 and b"replay miss" in text and miss.misses
