"""``llmreel serve`` keys requests with the same canonical rules as the in-process transports.

An upload recorded in-process (through the openai SDK and ``use_cassette``) replays
through the server with another random boundary; ``--canonical-off`` switches rules off
there too, and ``/_llmreel/health`` says which rules are in force.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

import llmreel
from server_helpers import serving
from upstreams.openai_files import FakeOpenAIFiles
from upstreams.serving import run_app


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[Path]:
    upstream = FakeOpenAIFiles()
    with run_app(upstream.app) as base_url:
        client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-test", max_retries=0)
        with client, llmreel.use_cassette(tmp_path / "uploads", mode="record"):
            client.files.create(file=("notes.txt", b"hello"), purpose="assistants")
    yield tmp_path


def _upload(base_url: str) -> openai.types.FileObject:
    with openai.OpenAI(
        base_url=f"{base_url}/v1",
        api_key="sk-test",
        max_retries=0,
        default_headers={"X-Llmreel-Cassette": "uploads"},
    ) as client:
        return client.files.create(file=("notes.txt", b"hello"), purpose="assistants")


def test_an_upload_recorded_in_process_replays_through_the_server(recorded: Path) -> None:
    with serving(recorded) as server:
        assert _upload(server.base_url).filename == "notes.txt"
        health = httpx.get(f"{server.base_url}/_llmreel/health").json()
    assert (
        health["canonical_rules"][0] == "multipart-form@1" and len(health["canonical_rules"]) == 6
    )


def test_canonical_off_on_the_server_keys_the_upload_by_its_bytes(recorded: Path) -> None:
    with serving(recorded, canonical_off=("multipart-form",)) as server:
        with pytest.raises(openai.NotFoundError, match="raw_sha256"):
            _upload(server.base_url)
        health = httpx.get(f"{server.base_url}/_llmreel/health").json()
    assert "multipart-form@1" not in health["canonical_rules"]


def test_an_unknown_rule_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(llmreel.ConfigError, match="--canonical-off: unknown canonical rule"):
        llmreel.server.ServerConfig.build(tmp_path, canonical_off=("no-such-rule",))
