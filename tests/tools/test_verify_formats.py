"""``llmreel verify`` on cassettes written by another tool: vcrpy, around the real SDKs.

vcrpy keeps a streamed body as one string; llmreel reads it back into events, so a vcrpy
cassette of an OpenAI SSE stream or an Ollama NDJSON stream is verified like any
recording, and stays read-only. Upstreams: the in-process fault upstream (OpenAI) and
the fake Ollama, alone and behind the drifting proxy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ollama
import openai
import pytest
import vcr
from typer.testing import CliRunner

from llmreel.cli import app
from upstreams.drifting import DriftingProxy
from upstreams.fake_ollama import FakeOllama
from upstreams.faulty import FaultyUpstream
from upstreams.serving import run_app

runner = CliRunner()
MESSAGES: Any = [{"role": "user", "content": "count the little red boxes"}]


def verify(*args: str | Path) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["verify", *map(str, args), "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def drifting_faulty(faulty: FaultyUpstream) -> Iterator[str]:
    with run_app(DriftingProxy(faulty.base_url).app) as url:
        yield url


@pytest.fixture
def drifting_ollama(fake_ollama: FakeOllama) -> Iterator[str]:
    with run_app(DriftingProxy(fake_ollama.base_url).app) as url:
        yield url


def test_a_vcrpy_cassette_of_openai_calls_verifies_and_stays_read_only(
    faulty: FaultyUpstream, drifting_faulty: str, tmp_path: Path
) -> None:
    cassette = tmp_path / "test_chat.yaml"
    client = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="sk-test", max_retries=0)
    with vcr.VCR(record_mode="all").use_cassette(str(cassette)), client:
        list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
        client.chat.completions.create(model="m", messages=MESSAGES)
    original = cassette.read_bytes()

    code, doc = verify(cassette, "--upstream", faulty.base_url)
    assert code == 0, doc["recordings"]
    assert [(r["file"], r["format"], r["streamed"]) for r in doc["recordings"]] == [
        ("test_chat.yaml#0", "vcrpy", True),
        ("test_chat.yaml#1", "vcrpy", False),
    ]
    code, doc = verify(cassette, "--upstream", f"{drifting_faulty}/add-field", "--update")
    assert code == 1
    stream, plain = doc["recordings"]
    assert stream["drift"] == [
        "events: new field `choices[].delta.reasoning_content` (string)",
        "events: new field `service_tier` (string)",
    ]
    assert plain["drift"] == ["body: new field `service_tier` (string)"]
    assert all("vcrpy cassettes are read-only" in r["not_written"] for r in doc["recordings"])
    assert cassette.read_bytes() == original


def test_a_vcrpy_cassette_of_an_ollama_ndjson_stream_verifies(
    fake_ollama: FakeOllama, drifting_ollama: str, tmp_path: Path
) -> None:
    cassette = tmp_path / "test_ollama.yaml"
    client = ollama.Client(host=fake_ollama.base_url)
    with vcr.VCR(record_mode="all").use_cassette(str(cassette)):
        list(client.chat(model="llama3.2", messages=MESSAGES, stream=True))
    client.close()

    code, doc = verify(cassette, "--upstream", fake_ollama.base_url)
    assert code == 0, doc["recordings"]
    [r] = doc["recordings"]
    assert (r["endpoint"], r["streamed"]) == ("/api/chat", True)
    code, doc = verify(cassette, "--upstream", f"{drifting_ollama}/add-field,rename-event")
    assert code == 1
    assert doc["recordings"][0]["drift"] == ["events: new field `service_tier` (string)"]
