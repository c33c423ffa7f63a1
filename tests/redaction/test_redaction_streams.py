"""A secret cut across stream events is still found: each field is read joined across events.

An upstream that streams ``sk-proj-SplitA`` in one event and the rest of the key in
the next must not get the key onto disk as two harmless-looking events. The
scanner reads every stream field as its client assembles it (the same JSON path
across SSE chunks or NDJSON lines; a plain ``data`` field concatenated), so the
write is refused and names the events. Proven on the scanner directly, then
through the real stack: a real SSE upstream with delays, recorded in process
(the openai SDK streaming) and through ``llmreel serve``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from hostile import Secret, leaks_under, secret_named
from llmreel import SecretLeakError, use_cassette
from llmreel.model.interaction import Event
from llmreel.redaction import SecretScanner
from server_helpers import serving
from upstreams.serving import run_app
from upstreams.streams import NDJSON_MEDIA_TYPE, SSE_MEDIA_TYPE, ChunkStream

# A real key shape from the corpus, cut after "sk-proj-SplitA".
HEAD, TAIL = "sk-proj-SplitA", secret_named("openai-project").value.removeprefix("sk-proj-")
KEY = Secret("split-openai-project", HEAD + TAIL)


def _chunk(content: str, i: int) -> str:
    return orjson.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
        }
    ).decode()


def _pieces(safe: bool = False) -> list[str]:
    if safe:
        return ["No key ", "here, ", "only words."]
    return ["Your key is ", HEAD, TAIL, " — keep it safe."]


def test_a_key_split_across_chat_chunks_is_found_and_names_both_events() -> None:
    events = [Event(t=i / 10, data=_chunk(p, i)) for i, p in enumerate(_pieces())]
    events.append(Event(t=1.0, data="[DONE]"))
    scanner = SecretScanner()
    # No single event holds it.
    assert all(scanner.scan_text(ev.data or "", "e") is None for ev in events)
    found = scanner.scan_events(events)
    assert found is not None and found.kind == "OpenAI-style API key"
    assert found.where == "response.events[1-2].data.choices[0].delta.content"
    assert KEY.core not in found.excerpt


def test_a_key_split_across_plain_sse_data_and_ndjson_lines_is_found() -> None:
    plain = [Event(t=0.0, data=HEAD), Event(t=0.1, data=TAIL)]
    found = SecretScanner().scan_events(plain)
    assert found is not None and found.where == "response.events[0-1].data"
    ndjson = [
        Event(t=0.0, data=orjson.dumps({"message": {"role": "assistant", "content": p}}).decode())
        for p in _pieces()
    ]
    found = SecretScanner().scan_events(ndjson)
    assert found is not None and found.where == "response.events[1-2].data.message.content"


def test_a_split_key_marked_safe_is_written_and_other_fields_are_not_joined() -> None:
    events = [Event(t=0.0, data=_chunk(p, i)) for i, p in enumerate(_pieces())]
    assert SecretScanner(allow=[KEY.value]).scan_events(events) is None
    # Pieces of different fields never join: a key prefix in one field and a long tail in
    # another field of the next event is no secret.
    mixed = [
        Event(t=0.0, data=orjson.dumps({"a": HEAD}).decode()),
        Event(t=0.1, data=orjson.dumps({"b": TAIL}).decode()),
    ]
    assert SecretScanner().scan_events(mixed) is None


# --------------------------------------------------------------------------- real stack


class SplitUpstream:
    """Streams a chat completion whose content carries a key cut into two events."""

    def __init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/api/chat", self._ollama, methods=["POST"]),
            ]
        )

    async def _chat(self, request: Request) -> ChunkStream:
        chunks = [f"data: {_chunk(p, i)}\n\n".encode() for i, p in enumerate(_pieces())]
        chunks.append(b"data: [DONE]\n\n")
        return ChunkStream(chunks, media_type=SSE_MEDIA_TYPE, delay=0.02)

    async def _ollama(self, request: Request) -> ChunkStream:
        safe = bool(orjson.loads(await request.body()).get("safe"))
        lines = [
            orjson.dumps({"model": "m", "message": {"role": "assistant", "content": p}}) + b"\n"
            for p in _pieces(safe)
        ]
        return ChunkStream(lines, media_type=NDJSON_MEDIA_TYPE, delay=0.02)


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with run_app(SplitUpstream().app) as base_url:
        yield base_url


def test_recording_a_split_key_in_process_is_refused_and_nothing_is_written(
    upstream: str, tmp_path: Path
) -> None:
    client = openai.OpenAI(base_url=f"{upstream}/v1", api_key="sk-test", max_retries=0)
    with use_cassette(tmp_path, mode="record"), pytest.raises(SecretLeakError) as err:
        stream = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "key?"}], stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert KEY.value in text  # the client got its stream live
    assert err.value.where == "response.events[1-2].data.choices[0].delta.content"
    assert not list(tmp_path.rglob("*.json")) and leaks_under(tmp_path, [KEY]) == []


def test_recording_a_split_key_through_the_server_writes_nothing(
    upstream: str, tmp_path: Path
) -> None:
    with serving(tmp_path, mode="record", upstream=upstream) as srv:
        for safe in (False, True):
            with httpx.stream(
                "POST",
                f"{srv.base_url}/api/chat",
                json={"model": "m", "messages": [{"role": "user", "content": "?"}], "safe": safe},
                timeout=10,
            ) as r:
                body = b"".join(r.iter_bytes())
            assert r.status_code == 200 and (HEAD.encode() in body) is not safe
    # Only the stream without a key was written.
    [written] = list(tmp_path.rglob("*.json"))
    assert b"only words" in written.read_bytes() and leaks_under(tmp_path, [KEY]) == []
