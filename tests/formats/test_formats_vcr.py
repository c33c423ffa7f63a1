"""vcrpy / pytest-recording cassettes into llmreel: recorded here with vcrpy itself around real SDK
calls (vcrpy 9 patches httpx2, which openai 3.x uses, and httpx, which ollama uses), imported, and
replayed through llmreel with the same SDKs giving the same objects.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import ollama
import openai
import pytest
import vcr
import yaml

import llmreel
from llmreel.formats.vcr import load_cassette
from llmreel.tools.migrate import import_recordings
from upstreams.fake_ollama import FakeOllama
from upstreams.faulty import FaultyUpstream

MESSAGES: Any = [{"role": "user", "content": "count the little red boxes"}]


def _openai_calls(client: openai.OpenAI) -> dict[str, Any]:
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    plain = client.chat.completions.create(model="m", messages=MESSAGES)
    return {
        "stream": [c.model_dump(mode="json") for c in stream],
        "plain": plain.model_dump(mode="json"),
    }


@pytest.mark.parametrize("serializer", ["yaml", "json"])
def test_vcrpy_cassette_of_a_streaming_openai_call_replays_through_llmreel(
    serializer: str, faulty: FaultyUpstream, tmp_path: Path
) -> None:
    cassette = tmp_path / f"test_chat.{serializer}"
    client = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="sk-test", max_retries=0)
    recorder = vcr.VCR(serializer=serializer, record_mode="all")
    with recorder.use_cassette(str(cassette)), client:
        live = _openai_calls(client)
    assert len(live["stream"]) > 2
    stored = cassette.read_text()
    assert "data: " in stored  # vcrpy kept the SSE body as one string

    result = import_recordings(tmp_path, tmp_path / "llmreel")
    assert result.formats == {"vcrpy": 1} and result.interactions == 2 and not result.skipped
    target = tmp_path / "llmreel" / "test_chat"
    files = sorted(target.glob("*.json"))
    assert len(files) == 2
    text = "".join(f.read_text() for f in files)
    assert "sk-test" not in text  # the Authorization header was redacted on import
    stream_file = next(f for f in files if '"stream":"sse"' in f.read_text())
    events = json.loads(stream_file.read_text())["response"]["events"]
    assert len(events) == len(live["stream"]) + 1  # every chunk is an event, plus [DONE]
    assert events[-1]["data"] == "[DONE]"

    faulty_gone = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="x", max_retries=0)
    with llmreel.use_cassette(target, mode="replay") as session, faulty_gone:
        replayed = _openai_calls(faulty_gone)
    assert replayed == live
    assert session.played == 2


def test_vcrpy_cassette_of_ollama_ndjson_stream_replays_through_llmreel(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    cassette = tmp_path / "cassettes" / "test_ollama.yaml"
    client = ollama.Client(host=fake_ollama.base_url)

    def run(c: ollama.Client) -> list[dict[str, Any]]:
        chunks = c.chat(model="llama3.2", messages=MESSAGES, stream=True)
        return [ch.model_dump(mode="json") for ch in chunks]

    with vcr.VCR(record_mode="all").use_cassette(str(cassette)):
        live = run(client)
    client.close()
    assert len(live) > 2
    [inter] = load_cassette(cassette)
    assert inter.response.stream == "ndjson"
    assert len(inter.response.events) == len(live)

    import_recordings(tmp_path / "cassettes", tmp_path / "llmreel")
    offline = ollama.Client(host="http://127.0.0.1:9")
    with llmreel.use_cassette(tmp_path / "llmreel" / "test_ollama", mode="replay"):
        replayed = run(offline)
    offline.close()
    assert replayed == live


def test_gzip_bodies_old_python2_tags_and_repeated_requests_are_handled(tmp_path: Path) -> None:
    sse = b'data: {"a":1}\n\ndata: {"a":2}\n\ndata: [DONE]\n\n'
    doc = {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "body": '{"model":"m","stream":true}',
                    "headers": {"Authorization": ["Bearer sk-abcdefghijklmnopqrstuvwxyz123456"]},
                    "method": "POST",
                    "uri": "https://api.example.com/v1/chat/completions?api-key=secret123",
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {
                        "Content-Type": ["text/event-stream"],
                        "Content-Encoding": ["gzip"],
                    },
                    "body": {"string": gzip.compress(sse)},
                },
            }
        ]
        * 2,
    }
    path = tmp_path / "src" / "gz.yaml"
    path.parent.mkdir()
    path.write_text(yaml.dump(doc).replace("body: '{", "body: !!python/unicode '{", 1))
    inters = load_cassette(path)
    assert [e.data for e in inters[0].response.events] == ['{"a":1}', '{"a":2}', "[DONE]"]
    assert "content-encoding" not in inters[0].response.headers
    assert inters[0].request.headers["authorization"] == "<redacted>"
    assert "secret123" not in inters[0].request.url
    result = import_recordings(tmp_path / "src", tmp_path / "out")
    positions = sorted(json.loads(p.read_text())["pos"] for p in result.written)
    assert positions == [0, 1]  # the same request twice is a sequence


def test_a_broken_cassette_is_skipped_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "bad.yaml").write_text("interactions: [{request: 3}]\n")
    (tmp_path / "src" / "worse.yaml").write_text("interactions: [\n")
    result = import_recordings(tmp_path / "src", tmp_path / "out")
    reasons = dict(result.skipped)
    assert "needs a 'request' and a 'response'" in reasons[str(tmp_path / "src" / "bad.yaml")]
    assert "not valid YAML" in reasons[str(tmp_path / "src" / "worse.yaml")]
    assert result.interactions == 0
