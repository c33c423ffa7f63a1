"""``llmreel serve --max-age/--on-stale``: the server treats stale recordings as transports do."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
import openai
import pytest
from typer.testing import CliRunner

import llmreel
from llmreel.cli import app
from llmreel.engine.freshness import Freshness
from server_helpers import serving
from upstreams.faulty import FaultyUpstream

BODY = {"model": "tiny", "messages": [{"role": "user", "content": "hello there"}]}


@pytest.fixture
def aged(faulty: FaultyUpstream, tmp_path: Path) -> Path:
    """A cassette whose only recording is 200 days old."""
    path = tmp_path / "cassette"
    client = openai.OpenAI(base_url=f"{faulty.base_url}/v1", api_key="sk-test", max_retries=0)
    with llmreel.use_cassette(path, mode="record"), client:
        client.chat.completions.create(**BODY)  # type: ignore[call-overload]
    [file] = path.glob("*.json")
    when = (dt.datetime.now(dt.UTC) - dt.timedelta(days=200)).isoformat(timespec="seconds")
    file.write_text(re.sub(r'"recorded_at":"[^"]*"', f'"recorded_at":"{when}"', file.read_text()))
    return path


def test_the_server_refuses_a_stale_recording_in_the_apis_shape(aged: Path) -> None:
    policy = Freshness(dt.timedelta(days=90), "fail")
    with serving(aged, freshness=policy) as server:
        answer = httpx.post(f"{server.base_url}/v1/chat/completions", json=BODY, timeout=10)
    assert answer.status_code == 404
    message = answer.json()["error"]["message"]
    assert "stale recording: POST /v1/chat/completions (model tiny)" in message
    assert "200 days ago: older than max_age 90d" in message


def test_the_server_replays_a_stale_recording_with_warn_and_logs_it(
    aged: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with serving(aged, freshness=Freshness(dt.timedelta(days=90))) as server:
        answer = httpx.post(f"{server.base_url}/v1/chat/completions", json=BODY, timeout=10)
    assert answer.status_code == 200 and answer.json()["choices"]
    assert any("stale recording replayed" in r.getMessage() for r in caplog.records)


def test_a_bad_max_age_stops_serve_before_it_listens(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--dir", str(tmp_path), "--max-age", "90"])
    assert result.exit_code == 2
    assert "llmreel serve: --max-age: '90' needs a unit" in result.stderr
