"""A miss never passes a test: ``use_cassette`` fails the block at its end, unless told not to.

The issue's case: a test that expects an HTTP error passed on llmreel's miss 404. Also:
recording through an inner transport whose response is already read (the
``MockTransport`` users write for fakes) records it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import httpx
import httpx2
import openai
import pytest

import llmreel
from llmreel import ConfigError, ReplayMissError

MSGS: Any = [{"role": "user", "content": "Name a colour."}]
ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Blue."}, "finish_reason": "stop"}
    ],
}


def _client(handler: Any = None) -> openai.OpenAI:
    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=ANSWER)

    transport = httpx2.MockTransport(handler or answer)
    return openai.OpenAI(
        api_key="sk-test",
        base_url="http://fake.test/v1",
        http_client=httpx2.Client(transport=transport),
        max_retries=0,
    )


def test_a_swallowed_miss_fails_the_block_at_its_end(tmp_path: Path) -> None:
    client = _client()
    with (
        pytest.raises(ReplayMissError) as err,
        llmreel.use_cassette(tmp_path, mode="replay"),
        # Code under test that treats any API error as "the model said no".
        contextlib.suppress(openai.NotFoundError),
    ):
        client.chat.completions.create(model="m", messages=MSGS)
    message = str(err.value)
    assert message.startswith("1 request(s) in this use_cassette block got no recording")
    assert "The first miss:\nreplay miss: no recording" in message
    assert "on_miss='respond'" in message


def test_on_miss_respond_lets_the_block_pass_with_the_404(tmp_path: Path) -> None:
    client = _client()
    with (
        llmreel.use_cassette(tmp_path, mode="replay", on_miss="respond") as session,
        pytest.raises(openai.NotFoundError, match="replay miss"),
    ):
        client.chat.completions.create(model="m", messages=MSGS)
    assert len(session.misses) == 1


def test_on_miss_raise_raises_at_the_call(tmp_path: Path) -> None:
    client = _client()
    with (
        pytest.raises(ReplayMissError, match="replay miss"),
        llmreel.use_cassette(tmp_path, mode="replay", on_miss="raise"),
    ):
        client.chat.completions.create(model="m", messages=MSGS)


def test_an_error_raised_in_the_block_is_kept_and_the_misses_noted(tmp_path: Path) -> None:
    client = _client()
    with pytest.raises(RuntimeError) as err, llmreel.use_cassette(tmp_path, mode="replay"):
        try:
            client.chat.completions.create(model="m", messages=MSGS)
        except openai.NotFoundError as exc:
            raise RuntimeError("the app gave up") from exc
    assert any("got no recording" in note for note in err.value.__notes__)


def test_a_bad_on_miss_is_refused_where_it_is_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'fail' \\(default"):
        llmreel.use_cassette(tmp_path, on_miss="ignore")  # type: ignore[arg-type]


@pytest.mark.parametrize("stack", ["httpx", "httpx2"])
def test_a_mock_transport_response_already_read_is_recorded(stack: str, tmp_path: Path) -> None:
    mod: Any = httpx if stack == "httpx" else httpx2
    calls: list[str] = []

    def fake(request: Any) -> Any:
        calls.append(request.url.path)
        return mod.Response(200, json={"fake": True, "n": len(calls)})

    with mod.Client(transport=mod.MockTransport(fake)) as client:
        with llmreel.use_cassette(tmp_path, mode="record") as rec:
            live = client.post("http://fake.test/v1/embeddings", json={"input": "x"}).json()
        assert rec.recorded == 1 and live == {"fake": True, "n": 1}
        (written,) = tmp_path.glob("*.json")
        assert '"fake":true' in written.read_text()
        with llmreel.use_cassette(tmp_path, mode="replay") as rep:
            again = client.post("http://fake.test/v1/embeddings", json={"input": "x"}).json()
    assert again == live and rep.played == 1 and calls == ["/v1/embeddings"]


@pytest.mark.asyncio
async def test_an_async_mock_transport_response_is_recorded_off_the_loop(tmp_path: Path) -> None:
    async def fake(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=ANSWER)

    client = openai.AsyncOpenAI(
        api_key="sk-test",
        base_url="http://fake.test/v1",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(fake)),
        max_retries=0,
    )
    async with client:
        async with llmreel.use_cassette(tmp_path, mode="record") as rec:
            live = await client.chat.completions.create(model="m", messages=MSGS)
        async with llmreel.use_cassette(tmp_path, mode="replay") as rep:
            again = await client.chat.completions.create(model="m", messages=MSGS)
    assert rec.recorded == 1 and rep.played == 1
    assert again.choices[0].message.content == live.choices[0].message.content == "Blue."
