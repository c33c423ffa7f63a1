"""Faults on forwarded traffic (record, live): the client sees the fault, the cassette the truth.

An answered fault (http, reset, timeout) is decided before the upstream is called:
nothing is forwarded, nothing written. A shaping fault (cut, ttft, ...) reads the
upstream's whole answer first, records it as it came, then plays it shaped. The
``X-Llmreel-Fault`` header is never forwarded nor written. Proved against the real
llama.cpp server and, where the upstream must show what it received, the faulty one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import openai
import pytest
import requests

import llmreel
from fault_helpers import Arrival
from upstreams.faulty import FaultyUpstream
from upstreams.llamacpp import LlamaCppServer

PROMPT = [{"role": "user", "content": "Name three colours."}]


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.json"))


@pytest.mark.llamacpp
def test_an_answered_fault_reaches_neither_the_upstream_nor_the_cassette(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    client = openai.OpenAI(base_url=f"{llamacpp_running.base_url}/v1", api_key="k", max_retries=1)

    def ask() -> str | None:
        reply = client.chat.completions.create(
            model=llamacpp_running.model,
            messages=PROMPT,
            max_tokens=8,
            temperature=0,  # type: ignore[arg-type]
        )
        return reply.choices[0].message.content

    with client, llmreel.use_cassette(tmp_path, mode="record", faults="http=500,first=1") as c:
        live = ask()
        assert [(e.outcome, e.status) for e in c.journal] == [("fault", 500), ("recorded", 200)]
        (recording,) = _files(tmp_path)
        assert llmreel.load_file(recording).response.status == 200
        with llamacpp_running.stopped(), llmreel.use_cassette(tmp_path) as replayed:
            assert ask() == live
    assert replayed.played == 1


@pytest.mark.llamacpp
def test_a_cut_stream_is_recorded_whole_while_the_client_sees_it_break(
    llamacpp_running: LlamaCppServer, tmp_path: Path
) -> None:
    client = openai.OpenAI(base_url=f"{llamacpp_running.base_url}/v1", api_key="k", max_retries=0)

    def stream() -> Arrival:
        return Arrival.of(
            lambda: client.chat.completions.create(
                model=llamacpp_running.model,
                messages=PROMPT,  # type: ignore[arg-type]
                max_tokens=12,
                temperature=0,
                stream=True,
            )
        )

    with client:
        with llmreel.use_cassette(tmp_path, mode="record", faults="cut=3") as cassette:
            cut = stream()
        assert len(cut.items) == 3 and isinstance(cut.error, openai.APIConnectionError)
        (entry,) = cassette.journal
        assert (entry.outcome, entry.fault) == ("recorded", "cut=3")
        (recording,) = _files(tmp_path)
        recorded = llmreel.load_file(recording).response
        assert recorded.complete and recorded.events[-1].data == "[DONE]"
        with llamacpp_running.stopped(), llmreel.use_cassette(tmp_path):
            whole = stream()
    assert whole.error is None and len(whole.items) == len(recorded.events) - 1 > 3
    assert [c.model_dump() for c in whole.items[:3]] == [c.model_dump() for c in cut.items]


def test_the_fault_header_is_never_forwarded_nor_written(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    headers = {"X-Llmreel-Fault": "ttft=0.2"}
    with (
        llmreel.use_cassette(tmp_path, mode="record") as cassette,
        openai.OpenAI(
            base_url=f"{faulty.base_url}/v1", api_key="k", max_retries=0, default_headers=headers
        ) as client,
    ):
        reply = client.chat.completions.create(model="m", messages=PROMPT)  # type: ignore[arg-type]
    assert reply.choices[0].message.content == "Name three colours. Name three"
    assert "x-llmreel-fault" not in faulty.last.headers
    (recording,) = _files(tmp_path)
    assert "x-llmreel-fault" not in llmreel.load_file(recording).request.headers
    assert "x-llmreel-fault" not in recording.read_text().lower()
    assert cassette.journal[0].fault == "ttft=0.2"


def test_live_traffic_is_shaped_for_requests_and_aiohttp_and_nothing_is_written(
    faulty: FaultyUpstream, tmp_path: Path
) -> None:
    url = f"{faulty.base_url}/v1/chat/completions"
    body = {"model": "m", "messages": PROMPT, "stream": True}
    cut = {"X-Llmreel-Fault": "cut=2"}

    async def with_aiohttp() -> list[bytes]:
        lines: list[bytes] = []
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=body, headers=cut) as r,
        ):
            with pytest.raises(aiohttp.ClientPayloadError):
                async for line in r.content:
                    lines.append(line)
        return lines

    with llmreel.use_cassette(tmp_path / "live", mode="live") as cassette:
        with requests.post(url, json=body, headers=cut, stream=True) as r:
            got: list[bytes] = []
            with pytest.raises(requests.exceptions.ChunkedEncodingError):
                got.extend(r.iter_lines())
        lines = asyncio.run(with_aiohttp())
    for received in (got, lines):
        assert len([line for line in received if line.startswith(b"data:")]) == 2
    assert [(e.outcome, e.fault) for e in cassette.journal] == [("live", "cut=2")] * 2
    assert all("x-llmreel-fault" not in r.headers for r in faulty.received)
    assert not (tmp_path / "live").exists() or not _files(tmp_path / "live")
